/* passwords.c: Argon2id under a bound. Each hash takes memlimit bytes and a
 * core for tens of milliseconds, so at most a fixed number run at once; a
 * request waits for a slot only so long, then is told to come back (503),
 * instead of queueing without end while a flood of logins runs. */
#define _GNU_SOURCE /* sem_clockwait: a deadline on the monotonic clock */
#include "app.h"

#include <errno.h>
#include <time.h>

static souk_err_t take_slot(auth_app_t *app)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += app->hash_wait_ms / 1000;
    deadline.tv_nsec += (long)(app->hash_wait_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    while (sem_clockwait(&app->hash_slots, CLOCK_MONOTONIC, &deadline) != 0) {
        if (errno != EINTR) {
            souk_metric_inc(app->hash_busy, NULL, 1);
            return SOUK_ELIMIT;
        }
    }
    return SOUK_OK;
}

souk_err_t auth_hash_password(auth_app_t *app, const char *pw, char out[SOUK_PASSWORD_HASH_MAX])
{
    souk_err_t err = take_slot(app);
    if (err)
        return err;
    err = souk_password_hash(pw, &app->pwhash, out);
    sem_post(&app->hash_slots);
    return err;
}

souk_err_t auth_verify_password(auth_app_t *app, const char *hash, const char *pw, bool *ok)
{
    *ok = false;
    souk_err_t err = take_slot(app);
    if (err)
        return err;
    *ok = souk_password_verify(hash ? hash : app->dummy_hash, pw) && hash;
    sem_post(&app->hash_slots);
    return SOUK_OK;
}
