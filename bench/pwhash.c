/* pwhash.c: raw Argon2id throughput with the parameters auth-service uses by
 * default (crypto_pwhash_str_alg, ARGON2ID13, OPSLIMIT/MEMLIMIT_INTERACTIVE).
 *
 * Runs THREADS threads (default: the number of online cores) that hash for
 * SECONDS seconds (default 5) and prints one line:
 *
 *   threads=2 seconds=5.012 hashes=118 hashes_per_s=23.54 opslimit=2 memlimit_kib=65536
 *
 * A login verifies one hash, and crypto_pwhash_str_verify costs what hashing
 * costs, so this is the ceiling for logins per second on this machine.
 *
 * usage: souk-pwhash-bench [SECONDS [THREADS]]
 */
#include <sodium.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    double deadline;
    unsigned long long ops;
    size_t mem;
    unsigned long hashes;
    double finished;
    int failed;
} worker_t;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *work(void *arg)
{
    worker_t *w = arg;
    char out[crypto_pwhash_STRBYTES];
    static const char pw[] = "correct horse battery staple";
    while (now() < w->deadline) {
        if (crypto_pwhash_str_alg(out, pw, sizeof pw - 1, w->ops, w->mem,
                                  crypto_pwhash_ALG_ARGON2ID13) != 0) {
            w->failed = 1;
            break;
        }
        w->hashes++;
    }
    w->finished = now();
    return NULL;
}

static long parse_arg(const char *s, long lo, long hi, const char *what)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi) {
        fprintf(stderr, "souk-pwhash-bench: %s must be %ld..%ld, not '%s'\n", what, lo, hi, s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    long seconds = 5, nthreads = sysconf(_SC_NPROCESSORS_ONLN);
    if (argc > 3 || (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))) {
        fprintf(stderr, "usage: %s [SECONDS [THREADS]]\n", argv[0]);
        return 2;
    }
    if (argc > 1)
        seconds = parse_arg(argv[1], 1, 600, "SECONDS");
    if (argc > 2)
        nthreads = parse_arg(argv[2], 1, 1024, "THREADS");
    if (nthreads < 1)
        nthreads = 1;
    if (sodium_init() < 0) {
        fprintf(stderr, "souk-pwhash-bench: sodium_init failed\n");
        return 1;
    }

    worker_t *w = calloc((size_t)nthreads, sizeof *w);
    pthread_t *tid = calloc((size_t)nthreads, sizeof *tid);
    if (!w || !tid) {
        fprintf(stderr, "souk-pwhash-bench: out of memory\n");
        return 1;
    }
    double start = now();
    for (long i = 0; i < nthreads; i++) {
        w[i] = (worker_t){.deadline = start + (double)seconds,
                          .ops = crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          .mem = crypto_pwhash_MEMLIMIT_INTERACTIVE};
        if (pthread_create(&tid[i], NULL, work, &w[i]) != 0) {
            fprintf(stderr, "souk-pwhash-bench: cannot start thread %ld\n", i);
            return 1;
        }
    }
    unsigned long total = 0;
    double end = start, rate = 0;
    int failed = 0;
    for (long i = 0; i < nthreads; i++) {
        pthread_join(tid[i], NULL);
        total += w[i].hashes;
        failed |= w[i].failed;
        if (w[i].finished > end)
            end = w[i].finished;
        /* Each thread finishes the hash it started before the deadline, so
         * its rate is over its own elapsed time. */
        if (w[i].finished > start)
            rate += (double)w[i].hashes / (w[i].finished - start);
    }
    if (failed) {
        fprintf(stderr, "souk-pwhash-bench: crypto_pwhash_str_alg failed (out of memory?)\n");
        return 1;
    }
    printf("threads=%ld seconds=%.3f hashes=%lu hashes_per_s=%.2f opslimit=%llu memlimit_kib=%zu\n",
           nthreads, end - start, total, rate,
           (unsigned long long)crypto_pwhash_OPSLIMIT_INTERACTIVE,
           (size_t)crypto_pwhash_MEMLIMIT_INTERACTIVE / 1024);
    free(w);
    free(tid);
    return 0;
}
