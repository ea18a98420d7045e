/* svc.c: see souk/svc.h. */
#include <souk/svc.h>

#include <string.h>

typedef struct {
    souk_db_pool_t *pool;
    souk_db_conn_t *conn;
} lease_t;

static void lease_end(void *p)
{
    lease_t *l = p;
    souk_db_release(l->pool, l->conn);
}

souk_db_conn_t *souk_svc_conn(souk_http_ctx_t *ctx, souk_db_pool_t *pool)
{
    lease_t *l = souk_arena_alloc(ctx->arena, sizeof(*l));
    l->pool = pool;
    souk_err_t err = souk_db_acquire(pool, &l->conn);
    if (err) {
        souk_svc_fail(ctx, err);
        return NULL;
    }
    souk_arena_defer(ctx->arena, lease_end, l);
    return l->conn;
}

void souk_svc_fail(souk_http_ctx_t *ctx, souk_err_t err)
{
    switch (err) {
    case SOUK_EUNAVAIL:
    case SOUK_ETIMEOUT:
        souk_http_set_header(ctx, "Retry-After", "1");
        souk_http_problem(ctx, 503, "the service is overloaded or its database is unavailable");
        break;
    case SOUK_ENOTFOUND:
        souk_http_problem(ctx, 404, "no such resource");
        break;
    case SOUK_ECONFLICT:
        souk_http_problem(ctx, 409, "the request conflicts with the current state");
        break;
    case SOUK_EINVAL:
        souk_http_problem(ctx, 400, "the request has invalid values");
        break;
    default:
        souk_http_problem(ctx, 500, "internal error");
    }
}

const char *souk_svc_uuid_param(souk_http_ctx_t *ctx, const char *name)
{
    const char *id = souk_http_param(ctx, name);
    if (!id || !souk_uuid_valid(id, strlen(id))) {
        souk_http_problem(ctx, 404, "no such resource");
        return NULL;
    }
    return id;
}
