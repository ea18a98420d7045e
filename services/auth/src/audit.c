/* audit.c: the audit log (ARCHITECTURE.md §4, audit). auth-service records
 * its own entries in the transaction of the action; other services publish
 * theirs as souk.audit.recorded.v1 events through their outbox, which the
 * consumer here stores once each. An event may only speak of its source's
 * own actions (product-service of products, order-service of orders): a
 * service cannot put words in another's mouth. Entries hold who, what, on
 * what, how it ended, from where: never a secret. */
#include "app.h"

#include <souk/svc.h>

#include <string.h>

#define ACTION_MAX 64

const char *const auth_topics[] = {SOUK_TOPIC_AUDIT, NULL};
const char *const auth_types[] = {SOUK_EV_AUDIT_RECORDED, NULL};

souk_err_t auth_audit(souk_db_conn_t *c, const souk_audit_t *a)
{
    return store_audit_insert(c, a, NULL, NULL);
}

/* The action prefix each source may record. */
static bool source_owns(const char *source, const char *action)
{
    static const struct {
        const char *source, *prefix;
    } owners[] = {{SOUK_SOURCE_PRODUCT, "product."}, {SOUK_SOURCE_ORDER, "order."}};
    for (size_t i = 0; i < SOUK_ARRAY_LEN(owners); i++)
        if (strcmp(source, owners[i].source) == 0)
            return strncmp(action, owners[i].prefix, strlen(owners[i].prefix)) == 0;
    return false;
}

static const char *opt_string(json_t *data, const char *name, size_t max, bool *ok)
{
    json_t *v = json_object_get(data, name);
    if (!v || json_is_null(v))
        return NULL;
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max)
        *ok = false;
    return json_string_value(v);
}

/* The entry an event carries; false when it is malformed. */
static bool entry_of(const souk_event_t *ev, souk_audit_t *a)
{
    bool ok = true;
    json_t *d = ev->data;
    const char *type = json_string_value(json_object_get(d, "actor_type"));
    *a = (souk_audit_t){.action = opt_string(d, "action", ACTION_MAX, &ok),
                        .actor_id = opt_string(d, "actor_id", SOUK_UUID_STRLEN, &ok),
                        .actor_client = type && strcmp(type, "client") == 0,
                        .target_type = opt_string(d, "target_type", 32, &ok),
                        .target_id = opt_string(d, "target_id", 128, &ok),
                        .outcome = opt_string(d, "outcome", 16, &ok),
                        .client_ip = opt_string(d, "client_ip", 64, &ok),
                        .request_id = opt_string(d, "request_id", 128, &ok)};
    ok = ok && a->action && a->outcome && type &&
         (strcmp(type, "user") == 0 || strcmp(type, "client") == 0) &&
         (strcmp(a->outcome, "success") == 0 || strcmp(a->outcome, "failure") == 0);
    return ok && (!a->actor_id || souk_uuid_valid(a->actor_id, strlen(a->actor_id)));
}

souk_err_t auth_on_event(souk_db_conn_t *c, const souk_event_t *ev, void *ud)
{
    (void)ud;
    souk_audit_t a;
    if (strcmp(ev->type, SOUK_EV_AUDIT_RECORDED) != 0)
        return SOUK_OK;
    if (!entry_of(ev, &a) || !source_owns(ev->source, a.action))
        return SOUK_EINVAL; /* parked as a dead letter, never stored */
    return store_audit_insert(c, &a, ev->id, ev->time[0] ? ev->time : NULL);
}

/* GET /audit?actor_id=&action=&page=&limit= (audit:read) */
static void do_audit_list(souk_http_ctx_t *ctx, void *ud)
{
    auth_app_t *app = ud;
    souk_claims_t claims;
    if (!auth_require(ctx, app, SOUK_PERM_AUDIT_READ, &claims))
        return;
    souk_valid_t v;
    souk_valid_init(&v);
    souk_page_t page;
    souk_http_page(ctx, &v, &page);
    const char *actor = souk_http_query(ctx, "actor_id");
    const char *action = souk_http_query(ctx, "action");
    if (actor && !souk_uuid_valid(actor, strlen(actor)))
        souk_valid_error(&v, "actor_id", "must be a UUID");
    if (action && (strlen(action) == 0 || strlen(action) > ACTION_MAX))
        souk_valid_error(&v, "action", "must be 1 to %d characters", ACTION_MAX);
    souk_db_conn_t *c = NULL;
    if (!souk_valid_ok(&v)) {
        souk_valid_reply(ctx, &v);
    } else if ((c = souk_svc_conn(ctx, app->db))) {
        json_t *items = NULL;
        long long total = 0;
        souk_err_t err = store_audit_list(c, actor, action, page.page, page.limit, &items, &total);
        if (err)
            souk_svc_fail(ctx, err);
        else
            souk_http_reply_json(ctx, 200, souk_http_page_body(items, &page, total));
    }
    souk_valid_cleanup(&v);
}

void auth_audit_routes_register(souk_http_server_t *srv, auth_app_t *app)
{
    souk_http_route(srv, "GET", "/audit", do_audit_list, app);
}
