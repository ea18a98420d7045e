/* notification-service: in-app notifications and emails about a user's
 * account and orders. main names the service's parts and reads its own
 * settings; the skeleton (souk/svc.h) builds, serves and stops them. */
#include "notify.h"

#include <souk/svc.h>
#include <string.h>

extern const souk_migration_t souk_migrations[];

static souk_err_t settings(notify_app_t *app)
{
    souk_err_t err = SOUK_OK;
    app->smtp_url = souk_env_str("SMTP_URL", "smtp://127.0.0.1:2525");
    app->smtp_from = souk_env_str("SMTP_FROM", "souk <no-reply@souk.local>");
    app->smtp_user = souk_env_str("SMTP_USERNAME", NULL);
    app->smtp_password = souk_env_str("SMTP_PASSWORD", NULL);
    app->shop_url = souk_env_str("SHOP_URL", "http://127.0.0.1:8080");
    err |= souk_env_long("SMTP_TIMEOUT_MS", 10000, 100, 300000, &app->smtp_timeout_ms);
    err |= souk_env_long("NOTIFY_MAX_ATTEMPTS", 8, 1, 100, &app->max_attempts);
    err |= souk_env_long("NOTIFY_RETRY_BASE_MS", 1000, 10, 3600000, &app->retry_base_ms);
    err |= souk_env_long("NOTIFY_RETRY_MAX_MS", 300000, 10, 86400000, &app->retry_max_ms);
    err |= souk_env_long("NOTIFY_SENDING_LEASE_S", 120, 1, 86400, &app->sending_lease_s);
    if (!notify_mail_address(app->smtp_from, app->from_addr, sizeof(app->from_addr)) ||
        strpbrk(app->smtp_from, "\r\n")) {
        souk_log_error("SMTP_FROM must be an address or \"Name <address>\"");
        err = SOUK_EINVAL;
    }
    /* a claim must outlive the longest send, or a slow send would be taken
     * for a dead sender's and go out twice */
    if (!err && app->sending_lease_s * 1000 <= app->smtp_timeout_ms) {
        souk_log_error("NOTIFY_SENDING_LEASE_S must be longer than SMTP_TIMEOUT_MS");
        err = SOUK_EINVAL;
    }
    return err ? SOUK_EINVAL : SOUK_OK;
}

static souk_err_t init(souk_svc_t *svc, void *ud)
{
    static const char *const labels[] = {"channel", "outcome", NULL};
    notify_app_t *app = ud;
    app->db = svc->db;
    app->verifier = svc->verifier;
    souk_err_t err = settings(app);
    if (err)
        return err;
    notify_templates_builtin(app->templates);
    app->deliveries = souk_metrics_counter(svc->metrics, "notification_deliveries_total",
                                           "Notifications by channel and outcome.", labels);
    souk_metrics_add_collector(svc->metrics, notify_collect, app);
    souk_log_info("emails go to %s from %s", app->smtp_url, app->from_addr);
    return notify_sender_start(app);
}

static void cleanup(void *ud)
{
    notify_sender_stop(ud);
}

int main(void)
{
    static notify_app_t app;
    const souk_svc_def_t def = {.name = "notification-service",
                                .port_env = "NOTIFICATION_PORT",
                                .port = 8084,
                                .database = "souk_notification",
                                .migrations = souk_migrations,
                                .verifier = true,
                                .bus = true,
                                .group = "notification-service",
                                .topics = notify_topics,
                                .types = notify_types,
                                .on_event = notify_on_event,
                                .init = init,
                                .routes = notify_routes_register,
                                .cleanup = cleanup};
    return souk_svc_main(&def, &app);
}
