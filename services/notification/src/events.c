/* events.c: the consumer's handler. User events keep the copy of addresses
 * and names current (and erase a deleted user); user.registered and the
 * order outcomes become an in-app notification and the intent to send an
 * email, both recorded in the event's transaction. Nothing here talks SMTP:
 * the sender thread does, after the transaction committed. The inbox and the
 * (event, user) unique keys make a redelivered event change nothing. */
#include "notify.h"

#include <string.h>

#define NAME_MAX_BYTES 512

const char *const notify_topics[] = {SOUK_TOPIC_USERS, SOUK_TOPIC_ORDERS, NULL};
const char *const notify_types[] = {SOUK_EV_USER_REGISTERED,
                                    SOUK_EV_USER_UPDATED,
                                    SOUK_EV_USER_DELETED,
                                    SOUK_EV_ORDER_CONFIRMED,
                                    SOUK_EV_ORDER_REJECTED,
                                    SOUK_EV_ORDER_CANCELLED,
                                    NULL};

static const char *uuid_member(json_t *data, const char *key)
{
    const char *v = json_string_value(json_object_get(data, key));
    return v && souk_uuid_valid(v, strlen(v)) ? v : NULL;
}

/* Renders kind's email for user and records the intent, unless the user's
 * preferences turn it off. */
static souk_err_t queue_email(souk_db_conn_t *c, notify_app_t *app, const souk_event_t *ev,
                              const char *user_id, notify_kind_t kind, json_t *model)
{
    notify_prefs_t prefs;
    souk_err_t err = store_prefs_get(c, user_id, &prefs);
    if (err)
        return err;
    if (!notify_email_wanted(kind, &prefs)) {
        notify_count(app, "email", "skipped");
        return SOUK_OK;
    }
    souk_buf_t subject, text, html;
    err = notify_render(&app->templates[kind], model, &subject, &text, &html);
    if (err == SOUK_OK) {
        notify_email_t e = {.event_id = ev->id,
                            .user_id = user_id,
                            .kind = notify_kind_name(kind),
                            .subject = subject.data ? subject.data : "",
                            .text = text.data ? text.data : "",
                            .html = html.data ? html.data : ""};
        bool created;
        err = store_delivery_insert(c, &e, &created);
    } else {
        err = SOUK_EINVAL; /* a template the model cannot fill will never work */
    }
    souk_buf_cleanup(&subject);
    souk_buf_cleanup(&text);
    souk_buf_cleanup(&html);
    return err;
}

static souk_err_t on_user(souk_db_conn_t *c, notify_app_t *app, const souk_event_t *ev)
{
    const char *user_id = uuid_member(ev->data, "user_id");
    const char *email = json_string_value(json_object_get(ev->data, "email"));
    const char *name = json_string_value(json_object_get(ev->data, "name"));
    if (!user_id)
        return SOUK_EINVAL;
    if (strcmp(ev->type, SOUK_EV_USER_DELETED) == 0)
        return store_user_erase(c, user_id);
    if (!email)
        return SOUK_EINVAL;
    souk_err_t err = store_recipient_put(c, user_id, email, name);
    if (err || strcmp(ev->type, SOUK_EV_USER_REGISTERED) != 0)
        return err;
    json_t *model = notify_model(NOTIFY_WELCOME, ev->data, name, app->shop_url);
    err = queue_email(c, app, ev, user_id, NOTIFY_WELCOME, model);
    json_decref(model);
    return err;
}

static souk_err_t on_order(souk_db_conn_t *c, notify_app_t *app, const souk_event_t *ev,
                           notify_kind_t kind)
{
    const char *user_id = uuid_member(ev->data, "user_id");
    if (!user_id)
        return SOUK_EINVAL;
    char name[NAME_MAX_BYTES], title[256], body[1024];
    bool known, erased;
    souk_err_t err = store_recipient(c, user_id, name, sizeof(name), &known, &erased);
    if (err || erased) /* nothing is kept about a deleted user, not even this */
        return err;
    json_t *model = notify_model(kind, ev->data, name, app->shop_url);
    if (!model)
        return SOUK_EINVAL; /* an order event without its order: a dead letter */
    json_t *data = notify_in_app(kind, model, ev->data, title, sizeof(title), body, sizeof(body));
    const char *type = strchr(ev->type, '.') + 1; /* "order.confirmed.v1" */
    char short_type[40];
    snprintf(short_type, sizeof(short_type), "%.*s", (int)(strrchr(type, '.') - type), type);
    notify_note_t note = {.event_id = ev->id,
                          .user_id = user_id,
                          .type = short_type,
                          .title = title,
                          .body = body,
                          .data = data,
                          .created_at = ev->time};
    bool created = false;
    err = store_note_insert(c, &note, &created);
    if (err == SOUK_OK && created)
        notify_count(app, "in_app", "sent");
    if (err == SOUK_OK)
        err = queue_email(c, app, ev, user_id, kind, model);
    json_decref(data);
    json_decref(model);
    return err;
}

souk_err_t notify_on_event(souk_db_conn_t *c, const souk_event_t *ev, void *ud)
{
    notify_app_t *app = ud;
    if (strncmp(ev->type, "souk.user.", 10) == 0)
        return on_user(c, app, ev);
    notify_kind_t kind;
    if (notify_kind_of(ev->type, &kind) && notify_kind_is_order(kind))
        return on_order(c, app, ev, kind);
    return SOUK_OK; /* placed and future types send nothing */
}
