/* audit.c: the shape of an audit entry as services hand it to auth-service
 * (an event's data) so every producer spells it the same way. It neither
 * stores nor sends anything: auth-service keeps the log, producers write
 * the event through their own outbox. */
#include <souk/auth.h>

souk_audit_t souk_audit_of(const souk_http_ctx_t *ctx, const souk_claims_t *claims,
                           const char *action, const char *target_type, const char *target_id)
{
    return (souk_audit_t){.action = action,
                          .actor_id = claims ? claims->sub : NULL,
                          .actor_client = claims && claims->client,
                          .target_type = target_type,
                          .target_id = target_id,
                          .outcome = "success",
                          .client_ip = ctx->client_ip,
                          .request_id = ctx->request_id};
}

static json_t *str_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

json_t *souk_audit_json(const souk_audit_t *a)
{
    return json_pack("{s:s, s:o, s:s, s:o, s:o, s:s, s:o, s:o}", "action", a->action, "actor_id",
                     str_or_null(a->actor_id), "actor_type", a->actor_client ? "client" : "user",
                     "target_type", str_or_null(a->target_type), "target_id",
                     str_or_null(a->target_id), "outcome", a->outcome ? a->outcome : "success",
                     "client_ip", str_or_null(a->client_ip), "request_id",
                     str_or_null(a->request_id));
}
