/* smtp.c: sending one composed message over SMTP with libcurl (SMTP_URL:
 * smtp:// with STARTTLS when the server offers it, or smtps://), reusing one
 * easy handle and so its connection between messages. A transfer gives up
 * at SMTP_TIMEOUT_MS or as soon as the service is stopping. It knows nothing
 * of deliveries or retries: it says whether the server took the message and,
 * if not, whether the refusal was permanent (a 5xx reply). */
#include "notify.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

struct notify_smtp {
    notify_app_t *app;
    CURL *curl;
};

typedef struct {
    const char *data;
    size_t len, off;
} upload_t;

static size_t read_cb(char *buf, size_t size, size_t nitems, void *ud)
{
    upload_t *u = ud;
    size_t room = size * nitems, left = u->len - u->off;
    size_t n = left < room ? left : room;
    memcpy(buf, u->data + u->off, n);
    u->off += n;
    return n;
}

static int progress_cb(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    notify_smtp_t *s = ud;
    return atomic_load(&s->app->stopping) ? 1 : 0; /* non-zero aborts the transfer */
}

notify_smtp_t *notify_smtp_new(notify_app_t *app)
{
    notify_smtp_t *s = souk_calloc(1, sizeof(*s));
    s->app = app;
    s->curl = curl_easy_init();
    if (!s->curl)
        souk_die_oom(sizeof(CURL *));
    return s;
}

void notify_smtp_free(notify_smtp_t *s)
{
    if (!s)
        return;
    curl_easy_cleanup(s->curl);
    souk_free(s);
}

static void setup(notify_smtp_t *s, struct curl_slist *rcpt, char *from, upload_t *u)
{
    CURL *h = s->curl;
    const notify_app_t *app = s->app;
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, app->smtp_url);
    curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(h, CURLOPT_READDATA, u);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)u->len);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, app->smtp_timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     app->smtp_timeout_ms < 5000 ? app->smtp_timeout_ms : 5000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, progress_cb);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, s);
    if (app->smtp_user && *app->smtp_user) {
        curl_easy_setopt(h, CURLOPT_USERNAME, app->smtp_user);
        curl_easy_setopt(h, CURLOPT_PASSWORD, app->smtp_password ? app->smtp_password : "");
    }
}

souk_err_t notify_smtp_send(void *ud, const char *from_addr, const char *to_addr,
                            const char *message, size_t len, char *error, size_t error_cap,
                            bool *permanent)
{
    notify_smtp_t *s = ud;
    char from[320], to[320];
    *permanent = false;
    snprintf(from, sizeof(from), "<%s>", from_addr);
    snprintf(to, sizeof(to), "<%s>", to_addr);
    struct curl_slist *rcpt = curl_slist_append(NULL, to);
    if (!rcpt)
        souk_die_oom(sizeof(to));
    upload_t u = {.data = message, .len = len};
    setup(s, rcpt, from, &u);
    CURLcode rc = curl_easy_perform(s->curl);
    long code = 0;
    curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(rcpt);
    if (rc == CURLE_OK)
        return SOUK_OK;
    *permanent = code >= 500 && code < 600;
    if (code)
        snprintf(error, error_cap, "%s (server replied %ld)", curl_easy_strerror(rc), code);
    else
        snprintf(error, error_cap, "%s", curl_easy_strerror(rc));
    return rc == CURLE_OPERATION_TIMEDOUT ? SOUK_ETIMEOUT : SOUK_EUNAVAIL;
}
