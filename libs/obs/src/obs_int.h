/* obs_int.h: private to libs/obs. */
#ifndef SOUK_OBS_INT_H
#define SOUK_OBS_INT_H

#include <souk/obs.h>

/* process.c: a collector of the process_* metrics, read from /proc/self. */
souk_err_t souk_metrics__process(souk_buf_t *out, void *ud);

#endif
