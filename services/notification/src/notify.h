/* notify.h: notification-service's context and modules. It keeps a copy of
 * what it needs from the users topic (address, name), turns order events
 * into in-app notifications and emails, and sends the emails through SMTP
 * with exactly one email per (event, recipient): the intent is recorded
 * first (a deliveries row), a sender thread claims it, sends with no
 * database connection held, and marks it sent. Only a crash between sending
 * and marking can repeat an email, and such a resend is counted.
 *
 * Modules: template.c (the template language), mime.c (the message),
 * rules.c (what an event means: kinds, texts, preferences, back-off),
 * store.c (SQL), events.c (the consumer's handler), smtp.c (libcurl),
 * sender.c (the sender thread), routes.c (HTTP). Rules, templates, MIME and
 * the sender's step are plain functions the unit tests call directly. */
#ifndef NOTIFY_H
#define NOTIFY_H

#include <pthread.h>
#include <souk/auth.h>
#include <souk/bus.h>
#include <souk/db.h>
#include <souk/http.h>
#include <stdatomic.h>

/* ---- template.c: {{name}}, {{#list}}...{{/list}}, {{^name}}...{{/name}} --- */

#define NOTIFY_TEMPLATE_MAX_OUT   (256 * 1024) /* bytes of one rendered part */
#define NOTIFY_TEMPLATE_MAX_DEPTH 4            /* nested sections */

/* Renders tmpl with the members of model (an object): {{key}} is the
 * member's value (strings as they are, integers in decimal, anything else
 * empty), HTML-escaped when html is set; {{#key}}...{{/key}} repeats its
 * body for each element of an array member (each element's members come
 * first in lookups), renders it once for any other present, non-false,
 * non-empty value, and skips it otherwise; {{^key}}...{{/key}} renders when
 * {{#key}} would not. Appends to out (a bounded buffer). SOUK_EINVAL for a
 * malformed template (unclosed tag or section, sections nested too deep),
 * SOUK_ELIMIT when out is full. */
souk_err_t notify_template_render(const char *tmpl, json_t *model, bool html,
                                  souk_buf_t *out) SOUK_MUST_CHECK;

/* ---- mime.c: one email ----------------------------------------------------- */

typedef struct {
    const char *from;        /* header From, e.g. "souk <no-reply@souk.local>" */
    const char *to;          /* the recipient's address */
    const char *subject;     /* UTF-8; line breaks become spaces */
    const char *text, *html; /* the two alternatives, UTF-8 */
    const char *message_id;  /* without <>, e.g. "<delivery id>@souk" */
    int64_t date_unix;       /* the Date header */
} notify_mail_t;

#define NOTIFY_MAIL_MAX (1024 * 1024) /* bytes of a composed message */

/* Composes an RFC 5322 message, multipart/alternative with a text/plain and
 * a text/html part (UTF-8, quoted-printable), CRLF line ends, into out.
 * SOUK_EINVAL when to or from holds a line break or no address;
 * SOUK_ELIMIT when out is full. */
souk_err_t notify_mime_compose(const notify_mail_t *m, souk_buf_t *out) SOUK_MUST_CHECK;
/* Appends the quoted-printable encoding of [s, s+n) (CRLF hard breaks, soft
 * breaks before 76 columns). */
souk_err_t notify_qp_encode(const char *s, size_t n, souk_buf_t *out) SOUK_MUST_CHECK;
/* The address part of "Name <addr>" or of a bare address into out;
 * false when there is none or it holds spaces, line breaks or angle
 * brackets. */
bool notify_mail_address(const char *s, char *out, size_t cap);

/* ---- rules.c: what an event means ---------------------------------------- */

typedef enum {
    NOTIFY_WELCOME,
    NOTIFY_ORDER_CONFIRMED,
    NOTIFY_ORDER_REJECTED,
    NOTIFY_ORDER_CANCELLED,
    NOTIFY__KIND_COUNT
} notify_kind_t;

/* "welcome", "order_confirmed", ...: the kind's name in rows and templates. */
const char *notify_kind_name(notify_kind_t k);
/* The kind an event type asks for; false for types that send nothing. */
bool notify_kind_of(const char *event_type, notify_kind_t *out);
/* Order kinds are "order updates" in the preferences; welcome is "welcome". */
bool notify_kind_is_order(notify_kind_t k);

/* A user's email preferences (both default true). */
typedef struct {
    bool order_updates, welcome;
} notify_prefs_t;

/* Whether an email of kind k goes out under prefs (in-app notifications
 * ignore preferences). */
bool notify_email_wanted(notify_kind_t k, const notify_prefs_t *prefs);

/* Amount in minor units as "12.34 USD" into out. */
void notify_money(long long cents, const char *currency, char *out, size_t cap);

/* The model templates of kind k see, built from the event's data and the
 * recipient's name (NULL when unknown): name, order_id, order_ref, status,
 * reason, items[{name, quantity, unit_price, line_total}], item_count,
 * total, currency, shop_url. A new object; NULL when data lacks what the
 * kind needs (an order without a readable id, total or lines). */
json_t *notify_model(notify_kind_t k, json_t *data, const char *name, const char *shop_url);

/* The in-app notification of an order kind: title and body into the
 * caller's buffers, and a new data object {order_id, status, total_cents,
 * currency, reason?}. */
json_t *notify_in_app(notify_kind_t k, json_t *model, json_t *data, char *title, size_t title_cap,
                      char *body, size_t body_cap);

/* The templates of one kind: subject, text and HTML (static text). */
typedef struct {
    const char *subject, *text, *html;
} notify_templates_t;

/* Renders kind k's three templates with model into the caller's buffers
 * (initialised here; the caller cleans them up, also on error). */
souk_err_t notify_render(const notify_templates_t *t, json_t *model, souk_buf_t *subject,
                         souk_buf_t *text, souk_buf_t *html) SOUK_MUST_CHECK;

/* Milliseconds to wait before attempt number `attempts + 1` after a failed
 * attempt number `attempts` (1-based): base doubled each time, capped. */
long notify_backoff_ms(int attempts, long base_ms, long max_ms);

/* What to do after a failed SMTP attempt. */
typedef enum { NOTIFY_RETRY, NOTIFY_GIVE_UP } notify_next_t;
notify_next_t notify_after_failure(int attempts, int max_attempts, bool permanent);

/* ---- the service ------------------------------------------------------------ */

/* Sends one composed message: SOUK_OK when the server accepted it. On
 * failure error gets a short description and *permanent says whether the
 * server refused it for good (a 5xx reply) rather than being away. */
typedef souk_err_t (*notify_send_fn)(void *ud, const char *from_addr, const char *to_addr,
                                     const char *message, size_t len, char *error, size_t error_cap,
                                     bool *permanent);

typedef struct notify_sender notify_sender_t;

typedef struct {
    souk_db_pool_t *db;
    souk_jwt_verifier_t *verifier;
    const char *smtp_url, *smtp_from, *smtp_user, *smtp_password, *shop_url;
    char from_addr[256]; /* the envelope sender: SMTP_FROM's address */
    long smtp_timeout_ms;
    long max_attempts, retry_base_ms, retry_max_ms, sending_lease_s;
    notify_templates_t templates[NOTIFY__KIND_COUNT];
    notify_send_fn send; /* smtp.c's, or a test's */
    void *send_ud;
    atomic_bool stopping; /* the sender's in-flight send gives up when set */
    notify_sender_t *sender;
    souk_metric_t *deliveries; /* notification_deliveries_total{channel,outcome} */
} notify_app_t;

/* Counts one delivery outcome; channel "email" or "in_app", outcome one of
 * "sent", "retry", "failed", "resent", "skipped". */
void notify_count(notify_app_t *app, const char *channel, const char *outcome);
/* The kinds' templates as embedded at build time (templates/). */
void notify_templates_builtin(notify_templates_t out[NOTIFY__KIND_COUNT]);

/* ---- store.c ---------------------------------------------------------------- */

/* The recipient's name into name (cap bytes; "" when unknown or null);
 * *known says whether the user is known, *erased whether they were
 * deleted. */
souk_err_t store_recipient(souk_db_conn_t *c, const char *user_id, char *name, size_t cap,
                           bool *known, bool *erased) SOUK_MUST_CHECK;
/* Insert or update a recipient; pending emails for them become due now. */
souk_err_t store_recipient_put(souk_db_conn_t *c, const char *user_id, const char *email,
                               const char *name) SOUK_MUST_CHECK;
/* Erases everything kept about the user and remembers the id. */
souk_err_t store_user_erase(souk_db_conn_t *c, const char *user_id) SOUK_MUST_CHECK;
souk_err_t store_prefs_get(souk_db_conn_t *c, const char *user_id,
                           notify_prefs_t *out) SOUK_MUST_CHECK;
souk_err_t store_prefs_put(souk_db_conn_t *c, const char *user_id,
                           const notify_prefs_t *p) SOUK_MUST_CHECK;

typedef struct {
    const char *event_id, *user_id;
    const char *type, *title, *body;
    json_t *data;
    const char *created_at; /* the event's time; NULL: now */
} notify_note_t;
/* Records an in-app notification; *created false when this event already
 * made one for the user. */
souk_err_t store_note_insert(souk_db_conn_t *c, const notify_note_t *n,
                             bool *created) SOUK_MUST_CHECK;
/* A page of the user's notifications, newest first; unread_only filters. */
souk_err_t store_note_list(souk_db_conn_t *c, const char *user_id, bool unread_only,
                           const souk_page_t *p, json_t **items, long long *total) SOUK_MUST_CHECK;
souk_err_t store_note_unread(souk_db_conn_t *c, const char *user_id,
                             long long *count) SOUK_MUST_CHECK;
/* SOUK_ENOTFOUND when the notification is not the user's (or none). */
souk_err_t store_note_read(souk_db_conn_t *c, const char *user_id, const char *id) SOUK_MUST_CHECK;
souk_err_t store_note_read_all(souk_db_conn_t *c, const char *user_id) SOUK_MUST_CHECK;

typedef struct {
    const char *event_id, *user_id, *kind;
    const char *subject, *text, *html;
} notify_email_t;
/* Records the intent to send an email (status pending, due now); *created
 * false when this (event, recipient) has one already. */
souk_err_t store_delivery_insert(souk_db_conn_t *c, const notify_email_t *e,
                                 bool *created) SOUK_MUST_CHECK;

/* A claimed delivery, ready to send (strings owned by the claim). */
typedef struct {
    char id[SOUK_UUID_STRLEN + 1];
    int attempts;
    bool resend; /* it was claimed before and never marked: a crash */
    char *to;    /* NULL when the recipient's address is unknown */
    char *subject, *text, *html;
    int64_t created_unix;
} notify_claimed_t;

/* Claims up to max due deliveries (pending and due, or "sending" for longer
 * than lease_s: their sender died), marking them sending with one more
 * attempt, in one committed statement. *out is a souk_malloc'ed array of
 * *n (free with store_claims_free). */
souk_err_t store_delivery_claim(souk_db_conn_t *c, int max, long lease_s, notify_claimed_t **out,
                                int *n) SOUK_MUST_CHECK;
void store_claims_free(notify_claimed_t *claims, int n);
/* Marks a claimed delivery sent, due again after retry_ms, or failed; only
 * while it is still this claim's (status sending, same attempt).
 * SOUK_ENOTFOUND when it is not (someone else took it, or the user was
 * erased). */
souk_err_t store_delivery_sent(souk_db_conn_t *c, const char *id, int attempts) SOUK_MUST_CHECK;
souk_err_t store_delivery_retry(souk_db_conn_t *c, const char *id, int attempts, long retry_ms,
                                const char *error) SOUK_MUST_CHECK;
souk_err_t store_delivery_failed(souk_db_conn_t *c, const char *id, int attempts,
                                 const char *error) SOUK_MUST_CHECK;
/* A page of deliveries (status NULL: all), newest first. */
souk_err_t store_delivery_list(souk_db_conn_t *c, const char *status, const souk_page_t *p,
                               json_t **items, long long *total) SOUK_MUST_CHECK;
/* Makes a failed delivery pending and due now with its attempts reset;
 * SOUK_ENOTFOUND when there is none, SOUK_ECONFLICT when it is not failed.
 * *out gets the delivery. */
souk_err_t store_delivery_retry_now(souk_db_conn_t *c, const char *id,
                                    json_t **out) SOUK_MUST_CHECK;
/* A metrics collector (app: notify_app_t) appending
 * notification_deliveries_waiting{status} read at scrape time. */
souk_err_t notify_collect(souk_buf_t *out, void *app);

/* ---- events.c --------------------------------------------------------------- */

extern const char *const notify_topics[], *const notify_types[];
/* The consumer's handler (ud: notify_app_t). */
souk_err_t notify_on_event(souk_db_conn_t *c, const souk_event_t *ev, void *ud);

/* ---- smtp.c ----------------------------------------------------------------- */

/* A libcurl SMTP transport (one easy handle, reused by the one sender
 * thread; not thread-safe). */
typedef struct notify_smtp notify_smtp_t;
notify_smtp_t *notify_smtp_new(notify_app_t *app);
void notify_smtp_free(notify_smtp_t *s); /* NULL ok */
/* A notify_send_fn (ud: notify_smtp_t). */
souk_err_t notify_smtp_send(void *ud, const char *from_addr, const char *to_addr,
                            const char *message, size_t len, char *error, size_t error_cap,
                            bool *permanent);

/* ---- sender.c --------------------------------------------------------------- */

#define NOTIFY_SEND_BATCH 16

/* One round: claims due deliveries, sends each with no connection held, and
 * marks it. *handled gets how many were claimed. */
souk_err_t notify_send_due(notify_app_t *app, int *handled) SOUK_MUST_CHECK;
/* The sender thread: woken by NOTIFY on new work, else once a second. */
souk_err_t notify_sender_start(notify_app_t *app) SOUK_MUST_CHECK;
void notify_sender_stop(notify_app_t *app); /* safe when never started */

/* ---- routes.c --------------------------------------------------------------- */

/* Whether claims may list and retry deliveries: users:write (they are
 * users' messages, sent again on their behalf). */
bool notify_may_manage_deliveries(const souk_claims_t *claims);
void notify_routes_register(souk_http_server_t *srv, void *app);

#endif
