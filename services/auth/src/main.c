/* auth-service: users, credentials and tokens, OAuth 2.0 (OpenID Connect
 * sign-in, machine clients) and the audit log, whose entries from other
 * services arrive on the audit topic. main names the service's parts; the
 * skeleton (souk/svc.h) builds, serves and stops them. */
#include "app.h"

#include <souk/svc.h>

extern const souk_migration_t souk_migrations[];

static void maintain(void *app)
{
    if (auth_purge(app) != SOUK_OK)
        souk_log_warn("purge of old refresh tokens and throttle rows failed");
}

int main(void)
{
    static auth_app_t app;
    const souk_svc_def_t def = {.name = "auth-service",
                                .port_env = "AUTH_PORT",
                                .port = 8081,
                                .database = "souk_auth",
                                .migrations = souk_migrations,
                                .bus = true,
                                .group = "auth-service",
                                .topics = auth_topics,
                                .types = auth_types,
                                .on_event = auth_on_event,
                                .init = auth_app_init,
                                .routes = auth_routes_register,
                                .maintain = maintain,
                                .maintain_every_s = 600,
                                .cleanup = auth_app_cleanup};
    return souk_svc_main(&def, &app);
}
