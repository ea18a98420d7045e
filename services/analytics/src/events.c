/* events.c: the consumer's handler and the roll-up hook. An order event is
 * checked (an order that cannot be read is a dead letter, never a guess),
 * the order's state in the projection decides what it does (rules.c), and
 * the change is appended to the journal with the event's own day. Product
 * and user events keep their projections. The roll-up (maintain hook, once
 * a second) folds the journal into the figures. */
#include "analytics.h"

#include <stdlib.h>
#include <string.h>

const char *const an_topics[] = {SOUK_TOPIC_ORDERS, SOUK_TOPIC_PRODUCTS, SOUK_TOPIC_USERS, NULL};
const char *const an_types[] = {SOUK_EV_ORDER_PLACED,    SOUK_EV_ORDER_CONFIRMED,
                                SOUK_EV_ORDER_REJECTED,  SOUK_EV_ORDER_CANCELLED,
                                SOUK_EV_PRODUCT_CREATED, SOUK_EV_PRODUCT_UPDATED,
                                SOUK_EV_PRODUCT_DELETED, SOUK_EV_USER_REGISTERED,
                                SOUK_EV_USER_DELETED,    NULL};

static const char *uuid_member(json_t *data, const char *key)
{
    const char *v = json_string_value(json_object_get(data, key));
    return v && souk_uuid_valid(v, strlen(v)) ? v : NULL;
}

/* The event's day ("YYYY-MM-DD"): its CloudEvents time, UTC; the current
 * day only when it has none. false for a time that cannot be read. */
static bool event_day(const souk_event_t *ev, char out[11])
{
    long day;
    bool midnight;
    if (!ev->time[0])
        day = (long)(souk_now_unix() / 86400);
    else if (!an_parse_day(ev->time, &day, &midnight))
        return false;
    an_day_format(day, out);
    return true;
}

/* Checks the lines of an order event; *units gets their sum. */
static bool lines_ok(json_t *items, long long *units)
{
    size_t i;
    json_t *it;
    *units = 0;
    if (!json_is_array(items) || json_array_size(items) == 0 ||
        json_array_size(items) > SOUK_ORDER_MAX_LINES)
        return false;
    json_array_foreach(items, i, it)
    {
        json_t *q = json_object_get(it, "quantity"), *p = json_object_get(it, "unit_price_cents");
        json_t *cat = json_object_get(it, "category");
        if (!uuid_member(it, "product_id") || !json_is_string(json_object_get(it, "name")) ||
            !json_is_integer(q) || json_integer_value(q) < 1 ||
            json_integer_value(q) > SOUK_ORDER_MAX_QUANTITY || !json_is_integer(p) ||
            json_integer_value(p) < 0 || (cat && !json_is_null(cat) && !json_is_string(cat)))
            return false;
        *units += json_integer_value(q);
    }
    return true;
}

static bool currency_ok(const char *c)
{
    return c && strlen(c) == 3 && strspn(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == 3;
}

/* Decides what the event does to an order in state now and stores it. With
 * guarded (the usual case, now assumed rather than read) the change is
 * stored only if the order is in that state: *applied says whether it was. */
static souk_err_t apply(souk_db_conn_t *c, an_order_change_t *ch, const char *type, an_status_t now,
                        bool placed, const char *confirmed_day, const char *lines, bool guarded,
                        bool *applied)
{
    *applied = !guarded;
    ch->action = an_order_action(now, placed, type, &ch->next);
    if (ch->action == AN_IGNORE)
        return SOUK_OK; /* guarded: the order's real state will say */
    ch->placed = ch->action == AN_PLACE;
    ch->confirmed_day = confirmed_day && *confirmed_day ? confirmed_day : ch->day;
    ch->items = ch->action == AN_SELL || ch->action == AN_UNSELL ? lines : NULL;
    return guarded ? store_order_change_assuming(c, ch, now, applied) : store_order_change(c, ch);
}

static souk_err_t on_order(souk_db_conn_t *c, const souk_event_t *ev)
{
    an_order_change_t ch = {0};
    char day[11], confirmed_day[11];
    json_t *total = json_object_get(ev->data, "total_cents");
    json_t *items = json_object_get(ev->data, "items");
    ch.order_id = uuid_member(ev->data, "order_id");
    ch.user_id = uuid_member(ev->data, "user_id");
    ch.currency = json_string_value(json_object_get(ev->data, "currency"));
    if (!ch.order_id || !ch.user_id || !currency_ok(ch.currency) || !json_is_integer(total) ||
        json_integer_value(total) < 0 || !lines_ok(items, &ch.units) || !event_day(ev, day))
        return SOUK_EINVAL;
    ch.total_cents = json_integer_value(total);
    ch.day = day;
    char *lines = json_dumps(items, JSON_COMPACT);
    bool applied = false;
    souk_err_t err = SOUK_OK;
    /* Usually the order is where its event expects it (new for placed,
     * pending for an outcome): one guarded statement does it. Otherwise, and
     * for a cancellation (of a pending or a confirmed order alike), the
     * order's state is read first. */
    if (strcmp(ev->type, SOUK_EV_ORDER_CANCELLED) != 0) {
        an_status_t assumed = strcmp(ev->type, SOUK_EV_ORDER_PLACED) == 0 ? AN_UNSEEN : AN_PENDING;
        err = apply(c, &ch, ev->type, assumed, assumed == AN_PENDING, NULL, lines, true, &applied);
    }
    if (err == SOUK_OK && !applied) {
        an_status_t now;
        bool placed;
        err = store_order_state(c, ch.order_id, &now, &placed, confirmed_day);
        if (err == SOUK_OK)
            err = apply(c, &ch, ev->type, now, placed, confirmed_day, lines, false, &applied);
    }
    free(lines);
    return err;
}

static souk_err_t on_product(souk_db_conn_t *c, const souk_event_t *ev)
{
    const char *id = uuid_member(ev->data, "id");
    if (!id || !ev->time[0])
        return SOUK_EINVAL;
    bool deleted = strcmp(ev->type, SOUK_EV_PRODUCT_DELETED) == 0;
    if (!deleted && !json_is_string(json_object_get(ev->data, "name")))
        return SOUK_EINVAL;
    return store_product_put(c, id, ev->data, deleted, ev->time);
}

static souk_err_t on_user(souk_db_conn_t *c, const souk_event_t *ev)
{
    const char *id = uuid_member(ev->data, "user_id");
    char day[11];
    if (!id || !event_day(ev, day))
        return SOUK_EINVAL;
    if (strcmp(ev->type, SOUK_EV_USER_DELETED) == 0)
        return store_user_deleted(c, id);
    return store_user_registered(c, id, day);
}

souk_err_t an_on_event(souk_db_conn_t *c, const souk_event_t *ev, void *ud)
{
    if (strncmp(ev->type, "souk.order.", 11) == 0)
        return on_order(c, ev);
    if (strncmp(ev->type, "souk.product.", 13) == 0)
        return on_product(c, ev);
    if (strncmp(ev->type, "souk.user.", 10) == 0)
        return on_user(c, ev);
    return SOUK_OK;
}

static souk_err_t rollup_fn(souk_db_conn_t *c, void *ud)
{
    return store_rollup(c, ud);
}

void an_maintain(void *ud)
{
    an_app_t *app = ud;
    long long folded = 0;
    souk_err_t err = souk_db_run(app->db, rollup_fn, &folded);
    if (err && err != SOUK_ECONFLICT) {
        souk_log_warn("roll-up failed: %s; it runs again in a second", souk_strerror(err));
        return;
    }
    if (app->rollups)
        souk_metric_inc(app->rollups, NULL, 1);
    if (app->folded && folded > 0)
        souk_metric_inc(app->folded, NULL, (uint64_t)folded);
}
