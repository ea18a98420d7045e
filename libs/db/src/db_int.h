/* db_int.h: private to libs/db: pool and connection structures. */
#ifndef SOUK_DB_INT_H
#define SOUK_DB_INT_H

#include <pthread.h>
#include <stdio.h>
#include <souk/db.h>

#define SOUK_DB_MAX_PREPARED 128

struct souk_db_conn {
    PGconn *pg;
    size_t nprepared;
    char *prepared[SOUK_DB_MAX_PREPARED]; /* statement names prepared here */
    char sqlstate[6];
    char constraint[64];
};

struct souk_db_pool {
    souk_db_config_t cfg;
    char *conninfo, *app_name, *settings;
    pthread_mutex_t lock;
    pthread_cond_t freed;
    souk_db_conn_t **idle;
    int nidle, open, waiting;
    souk_metric_t *timeouts, *acquire_seconds;
};

#endif
