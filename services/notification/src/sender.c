/* sender.c: the sender thread, the second half of "record the intent, send,
 * mark sent". A round claims due deliveries in one committed statement,
 * then for each: composes the message, sends it with no database connection
 * held and outside any transaction, and marks the outcome (sent; due again
 * after a back-off; or failed for good). A claim that is never marked (the
 * process died mid-send) is taken again once its lease runs out: the only
 * way an email goes twice, and counted as "resent".
 *
 * The thread sleeps on LISTEN notification_deliveries (a trigger NOTIFYs
 * when a row becomes due now) on a connection of its own outside the pool,
 * and looks anyway once a second for retries coming due. */
#include "notify.h"

#include <stdio.h>
#include <string.h>

#define IDLE_WAIT_MS 1000
#define MARK_TRIES   5

struct notify_sender {
    notify_app_t *app;
    pthread_t thread;
    bool started;
    souk_db_conn_t *listen; /* outside the pool; NULL until connected */
    notify_smtp_t *smtp;
};

void notify_count(notify_app_t *app, const char *channel, const char *outcome)
{
    if (app->deliveries)
        souk_metric_inc(app->deliveries, (const char *[]){channel, outcome}, 1);
}

typedef struct {
    notify_app_t *app;
    notify_claimed_t *claims;
    int n;
} claim_t;

static souk_err_t claim_fn(souk_db_conn_t *c, void *ud)
{
    claim_t *x = ud;
    return store_delivery_claim(c, NOTIFY_SEND_BATCH, x->app->sending_lease_s, &x->claims, &x->n);
}

typedef enum { MARK_SENT, MARK_RETRY, MARK_FAILED } mark_kind_t;

typedef struct {
    const notify_claimed_t *d;
    mark_kind_t kind;
    long retry_ms;
    const char *error;
} mark_t;

static souk_err_t mark_fn(souk_db_conn_t *c, void *ud)
{
    mark_t *m = ud;
    souk_err_t err = m->kind == MARK_SENT ? store_delivery_sent(c, m->d->id, m->d->attempts)
                     : m->kind == MARK_RETRY
                         ? store_delivery_retry(c, m->d->id, m->d->attempts, m->retry_ms, m->error)
                         : store_delivery_failed(c, m->d->id, m->d->attempts, m->error);
    /* gone (the user was erased meanwhile) or taken over: nothing to mark */
    return err == SOUK_ENOTFOUND ? SOUK_OK : err;
}

/* Marks the outcome, retrying briefly: an unmarked claim would be sent again
 * once its lease ends. */
static void mark(notify_app_t *app, mark_t *m)
{
    souk_err_t err = SOUK_OK;
    for (int i = 0; i < MARK_TRIES; i++) {
        if ((err = souk_db_run(app->db, mark_fn, m)) == SOUK_OK)
            return;
        long ms = 100L << i;
        nanosleep(&(struct timespec){ms / 1000, (ms % 1000) * 1000000L}, NULL);
    }
    souk_log_error("delivery %s: cannot record its outcome (%s); it will be sent again once its "
                   "lease ends",
                   m->d->id, souk_strerror(err));
}

/* Sends one claimed delivery; returns how it ended. */
static mark_kind_t send_one(notify_app_t *app, const notify_claimed_t *d, char *error, size_t cap)
{
    bool permanent = false;
    souk_err_t err;
    if (!d->to) {
        snprintf(error, cap, "the recipient's address is not known yet");
        err = SOUK_EUNAVAIL;
    } else {
        char mid[80];
        snprintf(mid, sizeof(mid), "%s@souk", d->id);
        notify_mail_t m = {.from = app->smtp_from,
                           .to = d->to,
                           .subject = d->subject ? d->subject : "",
                           .text = d->text ? d->text : "",
                           .html = d->html ? d->html : "",
                           .message_id = mid,
                           .date_unix = d->created_unix};
        souk_buf_t msg;
        souk_buf_init(&msg, NOTIFY_MAIL_MAX);
        err = notify_mime_compose(&m, &msg);
        if (err) {
            snprintf(error, cap, "the message cannot be composed (%s)", souk_strerror(err));
            permanent = true;
        } else {
            err = app->send(app->send_ud, app->from_addr, d->to, msg.data, msg.len, error, cap,
                            &permanent);
        }
        souk_buf_cleanup(&msg);
    }
    if (err == SOUK_OK)
        return MARK_SENT;
    return notify_after_failure(d->attempts, (int)app->max_attempts, permanent) == NOTIFY_GIVE_UP
               ? MARK_FAILED
               : MARK_RETRY;
}

/* One line per attempt; the delivery id and attempt go in the message, the
 * outcome in ECS's event.* fields (the log index maps no others). */
static void log_outcome(const notify_claimed_t *d, mark_kind_t k, const char *error)
{
    char msg[160];
    if (k == MARK_SENT)
        snprintf(msg, sizeof(msg), "email %s sent (attempt %d%s)", d->id, d->attempts,
                 d->resend ? ", a resend after an interrupted attempt" : "");
    else if (k == MARK_RETRY)
        snprintf(msg, sizeof(msg), "email %s not sent (attempt %d); will retry", d->id,
                 d->attempts);
    else
        snprintf(msg, sizeof(msg), "email %s failed for good after %d attempts", d->id,
                 d->attempts);
    json_t *f = json_pack("{s:s, s:s}", "event.action", "email-send", "event.outcome",
                          k == MARK_SENT ? "success" : "failure");
    if (k != MARK_SENT)
        json_object_set_new(f, "error.message", json_string(error));
    souk_log_json(k == MARK_FAILED  ? SOUK_LOG_WARN
                  : k == MARK_RETRY ? SOUK_LOG_INFO
                                    : SOUK_LOG_DEBUG,
                  NULL, msg, f);
    json_decref(f);
}

souk_err_t notify_send_due(notify_app_t *app, int *handled)
{
    claim_t x = {.app = app};
    *handled = 0;
    souk_err_t err = souk_db_run(app->db, claim_fn, &x);
    if (err)
        return err;
    for (int i = 0; i < x.n; i++) {
        const notify_claimed_t *d = &x.claims[i];
        char error[512] = "";
        if (d->resend)
            notify_count(app, "email", "resent");
        mark_t m = {.d = d, .error = error};
        m.kind = send_one(app, d, error, sizeof(error));
        m.retry_ms = notify_backoff_ms(d->attempts, app->retry_base_ms, app->retry_max_ms);
        mark(app, &m);
        notify_count(app, "email",
                     m.kind == MARK_SENT    ? "sent"
                     : m.kind == MARK_RETRY ? "retry"
                                            : "failed");
        log_outcome(d, m.kind, error);
    }
    *handled = x.n;
    store_claims_free(x.claims, x.n);
    return SOUK_OK;
}

/* Waits for a NOTIFY or IDLE_WAIT_MS; reconnects the listener as needed. */
static void wait_for_work(notify_sender_t *s)
{
    notify_app_t *app = s->app;
    bool notified = false;
    if (!s->listen) {
        if (souk_db_connect(app->db, &s->listen) != SOUK_OK ||
            souk_db_listen(s->listen, "notification_deliveries") != SOUK_OK) {
            souk_db_disconnect(s->listen);
            s->listen = NULL;
        }
    }
    if (s->listen && souk_db_wait_notify(s->listen, IDLE_WAIT_MS, NULL, NULL, &notified) == SOUK_OK)
        return;
    souk_db_disconnect(s->listen);
    s->listen = NULL;
    for (int slept = 0; slept < IDLE_WAIT_MS && !atomic_load(&app->stopping); slept += 50)
        nanosleep(&(struct timespec){0, 50 * 1000000L}, NULL);
}

static void *sender_main(void *arg)
{
    notify_sender_t *s = arg;
    notify_app_t *app = s->app;
    while (!atomic_load(&app->stopping)) {
        int handled = 0;
        souk_err_t err = notify_send_due(app, &handled);
        if (err && err != SOUK_EUNAVAIL && err != SOUK_ETIMEOUT)
            souk_log_warn("sender: cannot claim deliveries: %s", souk_strerror(err));
        if (err || handled < NOTIFY_SEND_BATCH)
            wait_for_work(s);
    }
    return NULL;
}

souk_err_t notify_sender_start(notify_app_t *app)
{
    notify_sender_t *s = souk_calloc(1, sizeof(*s));
    s->app = app;
    if (!app->send) {
        s->smtp = notify_smtp_new(app);
        app->send = notify_smtp_send;
        app->send_ud = s->smtp;
    }
    atomic_store(&app->stopping, false);
    app->sender = s;
    if (pthread_create(&s->thread, NULL, sender_main, s) != 0) {
        notify_sender_stop(app);
        return SOUK_EINTERNAL;
    }
    s->started = true;
    return SOUK_OK;
}

void notify_sender_stop(notify_app_t *app)
{
    notify_sender_t *s = app->sender;
    if (!s)
        return;
    atomic_store(&app->stopping, true);
    if (s->started)
        pthread_join(s->thread, NULL);
    souk_db_disconnect(s->listen);
    if (s->smtp) {
        notify_smtp_free(s->smtp);
        app->send = NULL;
        app->send_ud = NULL;
    }
    souk_free(s);
    app->sender = NULL;
}
