/* rules.c: what an event means to a customer, free of SQL, SMTP and HTTP:
 * which kind of message it asks for, whether preferences let the email go,
 * the model its templates see, the in-app text, and how long to wait after
 * a failed attempt. */
#include "notify.h"

#include <stdio.h>
#include <string.h>

static const char *const kind_names[NOTIFY__KIND_COUNT] = {
    [NOTIFY_WELCOME] = "welcome",
    [NOTIFY_ORDER_CONFIRMED] = "order_confirmed",
    [NOTIFY_ORDER_REJECTED] = "order_rejected",
    [NOTIFY_ORDER_CANCELLED] = "order_cancelled",
};

static const struct {
    const char *type;
    notify_kind_t kind;
} kinds_by_type[] = {
    {SOUK_EV_USER_REGISTERED, NOTIFY_WELCOME},
    {SOUK_EV_ORDER_CONFIRMED, NOTIFY_ORDER_CONFIRMED},
    {SOUK_EV_ORDER_REJECTED, NOTIFY_ORDER_REJECTED},
    {SOUK_EV_ORDER_CANCELLED, NOTIFY_ORDER_CANCELLED},
};

const char *notify_kind_name(notify_kind_t k)
{
    return (unsigned)k < NOTIFY__KIND_COUNT ? kind_names[k] : "unknown";
}

bool notify_kind_of(const char *event_type, notify_kind_t *out)
{
    for (size_t i = 0; event_type && i < SOUK_ARRAY_LEN(kinds_by_type); i++)
        if (strcmp(event_type, kinds_by_type[i].type) == 0) {
            *out = kinds_by_type[i].kind;
            return true;
        }
    return false;
}

bool notify_kind_is_order(notify_kind_t k)
{
    return k == NOTIFY_ORDER_CONFIRMED || k == NOTIFY_ORDER_REJECTED || k == NOTIFY_ORDER_CANCELLED;
}

bool notify_email_wanted(notify_kind_t k, const notify_prefs_t *prefs)
{
    return notify_kind_is_order(k) ? prefs->order_updates : prefs->welcome;
}

void notify_money(long long cents, const char *currency, char *out, size_t cap)
{
    unsigned long long abs =
        cents < 0 ? 0ULL - (unsigned long long)cents : (unsigned long long)cents;
    snprintf(out, cap, "%s%llu.%02llu %s", cents < 0 ? "-" : "", abs / 100, abs % 100,
             currency ? currency : "");
}

static json_t *money(long long cents, const char *currency)
{
    char buf[48];
    notify_money(cents, currency, buf, sizeof(buf));
    return json_string(buf);
}

/* The lines of an order event as the templates show them; NULL when
 * unreadable. *units gets the number of items. */
static json_t *model_items(json_t *items, const char *currency, long long *units)
{
    if (!json_is_array(items) || json_array_size(items) == 0)
        return NULL;
    json_t *out = json_array();
    size_t i;
    json_t *it;
    *units = 0;
    json_array_foreach(items, i, it)
    {
        const char *name = json_string_value(json_object_get(it, "name"));
        json_t *q = json_object_get(it, "quantity"), *p = json_object_get(it, "unit_price_cents");
        if (!name || !json_is_integer(q) || !json_is_integer(p)) {
            json_decref(out);
            return NULL;
        }
        long long qty = json_integer_value(q), price = json_integer_value(p);
        *units += qty;
        json_array_append_new(out, json_pack("{s:s, s:I, s:o, s:o}", "name", name, "quantity",
                                             (json_int_t)qty, "unit_price", money(price, currency),
                                             "line_total", money(price * qty, currency)));
    }
    return out;
}

json_t *notify_model(notify_kind_t k, json_t *data, const char *name, const char *shop_url)
{
    json_t *m = json_pack("{s:s, s:s}", "kind", notify_kind_name(k), "shop_url", shop_url);
    if (name && *name)
        json_object_set_new(m, "name", json_string(name));
    if (!notify_kind_is_order(k))
        return m;
    const char *id = json_string_value(json_object_get(data, "order_id"));
    const char *currency = json_string_value(json_object_get(data, "currency"));
    json_t *total = json_object_get(data, "total_cents");
    long long units = 0;
    json_t *items = id && currency && json_is_integer(total)
                        ? model_items(json_object_get(data, "items"), currency, &units)
                        : NULL;
    if (!items || !souk_uuid_valid(id, strlen(id))) {
        json_decref(items);
        json_decref(m);
        return NULL;
    }
    char ref[9];
    snprintf(ref, sizeof(ref), "%.8s", id);
    for (char *p = ref; *p; p++)
        *p = (char)(*p >= 'a' && *p <= 'f' ? *p - 'a' + 'A' : *p);
    const char *reason = json_string_value(json_object_get(data, "reason"));
    json_object_set_new(m, "order_id", json_string(id));
    json_object_set_new(m, "order_ref", json_string(ref));
    json_object_set_new(m, "items", items);
    json_object_set_new(m, "item_count", json_integer((json_int_t)units));
    json_object_set_new(m, "total", money(json_integer_value(total), currency));
    json_object_set_new(m, "currency", json_string(currency));
    if (k == NOTIFY_ORDER_REJECTED)
        json_object_set_new(m, "reason",
                            json_string(reason && *reason ? reason : "it could not be fulfilled"));
    return m;
}

json_t *notify_in_app(notify_kind_t k, json_t *model, json_t *data, char *title, size_t title_cap,
                      char *body, size_t body_cap)
{
    const char *ref = json_string_value(json_object_get(model, "order_ref"));
    const char *total = json_string_value(json_object_get(model, "total"));
    const char *reason = json_string_value(json_object_get(model, "reason"));
    switch (k) {
    case NOTIFY_ORDER_CONFIRMED:
        snprintf(title, title_cap, "Order %s confirmed", ref);
        snprintf(body, body_cap, "Your order %s (%s) is confirmed and being prepared.", ref, total);
        break;
    case NOTIFY_ORDER_REJECTED:
        snprintf(title, title_cap, "Order %s rejected", ref);
        snprintf(body, body_cap, "Your order %s (%s) could not be accepted: %s.", ref, total,
                 reason);
        break;
    default:
        snprintf(title, title_cap, "Order %s cancelled", ref);
        snprintf(body, body_cap, "Your order %s (%s) has been cancelled.", ref, total);
        break;
    }
    json_t *out = json_pack("{s:O, s:O, s:O, s:O}", "order_id", json_object_get(data, "order_id"),
                            "status", json_object_get(data, "status"), "total_cents",
                            json_object_get(data, "total_cents"), "currency",
                            json_object_get(data, "currency"));
    if (!out) /* a member was absent: keep what there is */
        out = json_pack("{s:O*}", "order_id", json_object_get(data, "order_id"));
    if (k == NOTIFY_ORDER_REJECTED && reason)
        json_object_set_new(out, "reason", json_string(reason));
    return out;
}

souk_err_t notify_render(const notify_templates_t *t, json_t *model, souk_buf_t *subject,
                         souk_buf_t *text, souk_buf_t *html)
{
    souk_buf_init(subject, 1024);
    souk_buf_init(text, NOTIFY_TEMPLATE_MAX_OUT);
    souk_buf_init(html, NOTIFY_TEMPLATE_MAX_OUT);
    souk_err_t err = notify_template_render(t->subject, model, false, subject);
    if (!err)
        err = notify_template_render(t->text, model, false, text);
    if (!err)
        err = notify_template_render(t->html, model, true, html);
    /* a subject is one line: the template file's final newline goes */
    while (!err && subject->len &&
           (subject->data[subject->len - 1] == '\n' || subject->data[subject->len - 1] == '\r'))
        subject->data[--subject->len] = '\0';
    return err;
}

long notify_backoff_ms(int attempts, long base_ms, long max_ms)
{
    long d = base_ms;
    for (int i = 1; i < attempts && d < max_ms; i++)
        d *= 2;
    return d < max_ms ? d : max_ms;
}

notify_next_t notify_after_failure(int attempts, int max_attempts, bool permanent)
{
    return permanent || attempts >= max_attempts ? NOTIFY_GIVE_UP : NOTIFY_RETRY;
}
