/* time.c: clocks and RFC 3339 formatting (UTC only: souk never stores local
 * time). */
#include <souk/core.h>

#include <stdio.h>
#include <time.h>

uint64_t souk_now_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int64_t souk_now_unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t souk_now_unix(void)
{
    return (int64_t)time(NULL);
}

void souk_time_rfc3339(int64_t unix_ms, char out[SOUK_RFC3339_LEN])
{
    time_t secs = (time_t)(unix_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(out, SOUK_RFC3339_LEN, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, SOUK_RFC3339_LEN - n, ".%03dZ", (int)(unix_ms % 1000));
}
