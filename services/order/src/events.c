/* events.c: order-service's side of the event flow. It publishes
 * souk.order.* through the outbox and consumes inventory outcomes: a
 * reservation confirms a pending order, a rejection rejects it. An order that
 * was cancelled meanwhile stays cancelled (product-service releases the stock
 * when it sees the cancellation). */
#include "order.h"

#include <string.h>

souk_err_t order_emit(souk_db_conn_t *c, const char *what, json_t *order, const char *traceparent)
{
    const char *id = json_string_value(json_object_get(order, "id"));
    char type[64];
    snprintf(type, sizeof(type), "souk.order.%s.v1", what);
    /* The lines as events carry them (with the category); docs/events.md. */
    json_t *items = NULL;
    souk_err_t err = store_order_event_items(c, id, &items);
    if (err)
        return err;
    json_t *data =
        json_pack("{s:s, s:O, s:O, s:o, s:O, s:O}", "order_id", id, "user_id",
                  json_object_get(order, "user_id"), "status", json_object_get(order, "status"),
                  "items", items, "total_cents", json_object_get(order, "total_cents"), "currency",
                  json_object_get(order, "currency"));
    json_t *reason = json_object_get(order, "reason");
    if (json_is_string(reason))
        json_object_set(data, "reason", reason);
    souk_outbox_msg_t m = {.topic = SOUK_TOPIC_ORDERS,
                           .type = type,
                           .key = id,
                           .subject = id,
                           .data = data,
                           .traceparent = traceparent};
    err = souk_outbox_add(c, SOUK_SOURCE_ORDER, &m);
    json_decref(data);
    return err;
}

/* Moves order_id from pending to `to`; anything else is left alone. */
static souk_err_t settle(souk_db_conn_t *c, const char *order_id, order_status_t to,
                         const char *reason, const char *traceparent)
{
    json_t *order = NULL, *updated = NULL;
    souk_err_t err = store_order_get(c, order_id, true, &order);
    if (err == SOUK_ENOTFOUND)
        return SOUK_EINVAL; /* no such order: a dead letter, never a retry */
    if (err)
        return err;
    order_status_t now;
    if (!order_status_parse(json_string_value(json_object_get(order, "status")), &now) ||
        now != ORDER_PENDING || !order_transition_allowed(now, to))
        goto out;
    err = store_order_set_status(c, order_id, to, reason, &updated);
    if (err == SOUK_OK)
        err = order_emit(c, to == ORDER_CONFIRMED ? "confirmed" : "rejected", updated, traceparent);
out:
    json_decref(order);
    json_decref(updated);
    return err;
}

const char *const order_topics[] = {SOUK_TOPIC_INVENTORY, NULL};
const char *const order_types[] = {SOUK_EV_INVENTORY_RESERVED, SOUK_EV_INVENTORY_REJECTED, NULL};

souk_err_t order_on_event(souk_db_conn_t *c, const souk_event_t *ev, void *ud)
{
    const char *order_id = json_string_value(json_object_get(ev->data, "order_id"));
    bool reserved = strcmp(ev->type, SOUK_EV_INVENTORY_RESERVED) == 0;
    bool rejected = strcmp(ev->type, SOUK_EV_INVENTORY_REJECTED) == 0;
    if (!reserved && !rejected)
        return SOUK_OK; /* released and future types need nothing from us */
    if (!order_id || !souk_uuid_valid(order_id, strlen(order_id)))
        return SOUK_EINVAL;
    const char *reason = json_string_value(json_object_get(ev->data, "reason"));
    return settle(c, order_id, reserved ? ORDER_CONFIRMED : ORDER_REJECTED,
                  rejected ? (reason ? reason : "insufficient stock") : NULL, ev->traceparent);
}
