/* process.c: the process metrics every souk process exposes, read from
 * /proc/self at scrape time under the names Prometheus's own client
 * libraries use (process_cpu_seconds_total, process_resident_memory_bytes,
 * ...), so standard dashboards and alerts work on them unchanged. */
#include "obs_int.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* Fields of /proc/self/stat after the command name (which may hold spaces). */
typedef struct {
    unsigned long long utime, stime, starttime, vsize;
    long long rss_pages, threads;
} stat_t;

static bool read_stat(stat_t *s)
{
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    /* state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
     * utime stime cutime cstime priority nice threads itrealvalue starttime
     * vsize rss */
    return p &&
           sscanf(p + 2,
                  "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d "
                  "%lld %*d %llu %llu %lld",
                  &s->utime, &s->stime, &s->threads, &s->starttime, &s->vsize, &s->rss_pages) == 6;
}

static double boot_time(void)
{
    char line[256];
    double btime = 0;
    FILE *f = fopen("/proc/stat", "r");
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "btime %lf", &btime) == 1)
            break;
    if (f)
        fclose(f);
    return btime;
}

static long open_fds(void)
{
    long n = 0;
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return d ? n - 1 : -1; /* not the descriptor opendir itself holds */
}

souk_err_t souk_metrics__process(souk_buf_t *out, void *ud)
{
    stat_t s;
    struct rlimit lim;
    if (!read_stat(&s))
        return SOUK_OK; /* not Linux: nothing to say */
    double hz = (double)sysconf(_SC_CLK_TCK), page = (double)sysconf(_SC_PAGESIZE);
    getrlimit(RLIMIT_NOFILE, &lim);
    return souk_buf_appendf(
        out,
        "# HELP process_cpu_seconds_total User and system CPU time spent in seconds.\n"
        "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total %.2f\n"
        "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
        "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes %.0f\n"
        "# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n"
        "# TYPE process_virtual_memory_bytes gauge\nprocess_virtual_memory_bytes %llu\n"
        "# HELP process_open_fds Number of open file descriptors.\n"
        "# TYPE process_open_fds gauge\nprocess_open_fds %ld\n"
        "# HELP process_max_fds Maximum number of open file descriptors.\n"
        "# TYPE process_max_fds gauge\nprocess_max_fds %llu\n"
        "# HELP process_threads Number of OS threads in the process.\n"
        "# TYPE process_threads gauge\nprocess_threads %lld\n"
        "# HELP process_start_time_seconds Start time of the process since the epoch in "
        "seconds.\n"
        "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds %.2f\n",
        (double)(s.utime + s.stime) / hz, (double)s.rss_pages * page, s.vsize, open_fds(),
        (unsigned long long)lim.rlim_cur, s.threads, boot_time() + (double)s.starttime / hz);
}
