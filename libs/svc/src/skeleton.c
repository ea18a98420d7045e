/* skeleton.c: the one main of every service (see souk/svc.h): the shared
 * settings read from the environment in one place, the parts built in
 * order, and torn down in reverse once a signal asks for it. */
#include <souk/svc.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DB_WAIT_S 30

/* librdkafka settings taken from the environment as they are, for a real
 * cluster's TLS and SASL (the dev broker needs none). */
static const struct {
    const char *env, *key;
} kafka_env[] = {
    {"KAFKA_SECURITY_PROTOCOL", "security.protocol"},
    {"KAFKA_SASL_MECHANISM", "sasl.mechanisms"},
    {"KAFKA_SASL_USERNAME", "sasl.username"},
    {"KAFKA_SASL_PASSWORD", "sasl.password"},
    {"KAFKA_SSL_CA_LOCATION", "ssl.ca.location"},
    {"KAFKA_SSL_CERTIFICATE_LOCATION", "ssl.certificate.location"},
    {"KAFKA_SSL_KEY_LOCATION", "ssl.key.location"},
    {"KAFKA_SSL_KEY_PASSWORD", "ssl.key.password"},
};

static void load_kafka(souk_svc_config_t *c)
{
    size_t n = 0;
    for (size_t i = 0; i < SOUK_ARRAY_LEN(kafka_env); i++) {
        const char *v = souk_env_str(kafka_env[i].env, NULL);
        if (v) {
            c->kafka[n++] = kafka_env[i].key;
            c->kafka[n++] = v;
        }
    }
    c->kafka[n] = NULL;
}

static souk_err_t load_config(const souk_svc_def_t *def, souk_svc_config_t *c)
{
    souk_err_t err = SOUK_OK;
    bool trust = false;
    err |= souk_env_port(def->port_env, def->port, &c->port);
    err |= souk_env_long("HTTP_THREADS", souk_http_default_threads(), 1, 4096, &c->http_threads);
    err |= souk_env_long("DB_POOL_SIZE", 8, 2, 200, &c->db_pool_size);
    err |= souk_env_long("BUS_CONSUMERS", 2, 1, 64, &c->bus_consumers);
    err |= souk_env_long("TOKEN_CACHE_ENTRIES", 16384, 16, 1 << 22, &c->token_cache);
    err |= souk_env_bool("TRUST_FORWARDED_FOR", false, &trust);
    c->bind = souk_env_str("BIND_ADDRESS", "127.0.0.1");
    c->trusted = trust ? souk_env_str("TRUSTED_PROXIES", "127.0.0.1,::1") : NULL;
    snprintf(c->db_buf, sizeof(c->db_buf), "postgresql://souk@127.0.0.1:55432/%s",
             def->database ? def->database : "");
    c->db_url = def->database ? souk_env_str("DATABASE_URL", c->db_buf) : NULL;
    c->brokers = souk_env_str("KAFKA_BROKERS", "127.0.0.1:9092");
    load_kafka(c);
    c->issuer = souk_env_str("JWT_ISSUER", "souk-auth");
    c->auth_url = souk_env_str("AUTH_URL", "http://127.0.0.1:8081");
    c->jwks_url = souk_env_str("JWKS_URL", NULL);
    if (!c->jwks_url) {
        snprintf(c->jwks_buf, sizeof(c->jwks_buf), "%s/.well-known/jwks.json", c->auth_url);
        c->jwks_url = c->jwks_buf;
    }
    return err ? SOUK_EINVAL : SOUK_OK;
}

/* OpenTelemetry's own variables: OTEL_EXPORTER_OTLP_ENDPOINT (none: spans
 * are not exported), OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER and its _ARG. */
static souk_err_t start_tracer(const souk_svc_def_t *def, souk_metrics_t *m)
{
    const char *arg = souk_env_str("OTEL_TRACES_SAMPLER_ARG", "1");
    char *end = NULL;
    double ratio = strtod(arg, &end);
    if (!end || *end || end == arg) {
        souk_log_error("invalid OTEL_TRACES_SAMPLER_ARG=\"%s\": expected a ratio 0..1", arg);
        return SOUK_EINVAL;
    }
    souk_tracer_config_t tc = {.endpoint = souk_env_str("OTEL_EXPORTER_OTLP_ENDPOINT", NULL),
                               .service = souk_env_str("OTEL_SERVICE_NAME", def->name),
                               .sampler = souk_env_str("OTEL_TRACES_SAMPLER", NULL),
                               .ratio = ratio,
                               .metrics = m};
    return souk_tracer_start(&tc);
}

static souk_err_t start_db(const souk_svc_def_t *def, souk_svc_t *svc)
{
    const souk_svc_config_t *c = svc->cfg;
    souk_db_config_t dbc = {.conninfo = c->db_url,
                            .app_name = def->name,
                            .size = (int)c->db_pool_size,
                            .settings = def->db_settings,
                            .metrics = svc->metrics};
    souk_err_t err = souk_db_pool_new(&dbc, &svc->db);
    if (err == SOUK_OK && def->bus)
        err = souk_db_migrate(svc->db, souk_bus_migrations, DB_WAIT_S);
    if (err == SOUK_OK && def->migrations)
        err = souk_db_migrate(svc->db, def->migrations, def->bus ? 0 : DB_WAIT_S);
    return err;
}

static souk_err_t start_verifier(const souk_svc_def_t *def, souk_svc_t *svc)
{
    const souk_svc_config_t *c = svc->cfg;
    souk_jwt_verifier_config_t vc = {.issuer = c->issuer,
                                     .audience = "souk",
                                     .jwks_url = c->jwks_url,
                                     .client = svc->client,
                                     .cache_entries = (size_t)c->token_cache,
                                     .background_refresh = def->verifier_background};
    souk_err_t err = souk_jwt_verifier_new(&vc, &svc->verifier);
    if (err == SOUK_OK && souk_jwt_verifier_refresh(svc->verifier) != SOUK_OK)
        souk_log_warn("JWKS not loaded yet; will retry on the first token");
    return err;
}

static souk_err_t start_bus(const souk_svc_def_t *def, souk_svc_t *svc, void *app)
{
    const souk_svc_config_t *c = svc->cfg;
    souk_bus_config_t bc = {.brokers = c->brokers,
                            .kafka_settings = c->kafka,
                            .service = def->name,
                            .group = def->group,
                            .topics = def->topics,
                            .types = def->types,
                            .consumers = (unsigned)c->bus_consumers,
                            .handler = def->on_event,
                            .on_dead_letter = def->on_dead_letter,
                            .on_batch = def->on_batch,
                            .ud = app,
                            .pool = svc->db,
                            .metrics = svc->metrics};
    return souk_bus_start(&bc, &svc->bus);
}

typedef struct {
    const souk_svc_def_t *def;
    souk_svc_t *svc;
    void *app;
} probe_t;

/* The housekeeping thread: def->maintain every maintain_every_s seconds
 * until stop is set (a condition variable, so stopping does not wait out an
 * interval). */
typedef struct {
    const souk_svc_def_t *def;
    void *app;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool started, stop;
} maint_t;

static void *maintain_main(void *p)
{
    maint_t *m = p;
    pthread_mutex_lock(&m->lock);
    while (!m->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += m->def->maintain_every_s;
        pthread_cond_timedwait(&m->wake, &m->lock, &until);
        if (m->stop)
            break;
        pthread_mutex_unlock(&m->lock);
        m->def->maintain(m->app);
        pthread_mutex_lock(&m->lock);
    }
    pthread_mutex_unlock(&m->lock);
    return NULL;
}

static void maintain_start(maint_t *m, const souk_svc_def_t *def, void *app)
{
    *m = (maint_t){.def = def, .app = app};
    pthread_mutex_init(&m->lock, NULL);
    pthread_cond_init(&m->wake, NULL);
    if (def->maintain && def->maintain_every_s > 0)
        m->started = pthread_create(&m->thread, NULL, maintain_main, m) == 0;
}

static void maintain_stop(maint_t *m)
{
    if (!m->def)
        return; /* never started */
    pthread_mutex_lock(&m->lock);
    m->stop = true;
    pthread_cond_signal(&m->wake);
    pthread_mutex_unlock(&m->lock);
    if (m->started)
        pthread_join(m->thread, NULL);
    pthread_cond_destroy(&m->wake);
    pthread_mutex_destroy(&m->lock);
}

static bool ready(void *ud)
{
    probe_t *p = ud;
    return (!p->svc->db || souk_db_ping(p->svc->db)) &&
           (!p->svc->bus || souk_bus_ready(p->svc->bus)) &&
           (!p->def->ready || p->def->ready(p->app));
}

static souk_err_t start(const souk_svc_def_t *def, souk_svc_t *svc, void *app, probe_t *probe)
{
    const souk_svc_config_t *c = svc->cfg;
    souk_err_t err = SOUK_OK;
    svc->client = souk_http_client_new();
    if (def->database && (err = start_db(def, svc)) != SOUK_OK)
        return err;
    if (def->verifier && (err = start_verifier(def, svc)) != SOUK_OK)
        return err;
    if (def->init && (err = def->init(svc, app)) != SOUK_OK)
        return err;
    if (def->bus && (err = start_bus(def, svc, app)) != SOUK_OK)
        return err;
    souk_http_config_t hc = {.service = def->name,
                             .bind = def->internal_http ? "127.0.0.1" : c->bind,
                             .port = def->internal_http ? 0 : c->port,
                             .threads = (unsigned)c->http_threads,
                             .trusted_proxies = def->internal_http ? "127.0.0.1" : c->trusted,
                             .metrics = svc->metrics};
    if ((err = souk_http_server_new(&hc, &svc->http)) != SOUK_OK)
        return err;
    if (def->routes)
        def->routes(svc->http, app);
    *probe = (probe_t){def, svc, app};
    souk_http_set_ready(svc->http, ready, probe);
    return SOUK_OK;
}

int souk_svc_main(const souk_svc_def_t *def, void *app)
{
    souk_signals_block();
    souk_svc_config_t cfg = {0};
    souk_svc_t svc = {.cfg = &cfg, .metrics = souk_metrics_new()};
    probe_t probe;
    maint_t maint = {0};
    bool started = false;
    int rc = 1;
    if (souk_log_init(def->name, souk_env_str("LOG_LEVEL", "info")) != SOUK_OK ||
        load_config(def, &cfg) != SOUK_OK || souk_auth_init() != SOUK_OK ||
        start_tracer(def, svc.metrics) != SOUK_OK) {
        souk_log_error("invalid configuration");
        goto out;
    }
    if (start(def, &svc, app, &probe) != SOUK_OK) {
        souk_log_error("start-up failed");
        goto out;
    }
    maintain_start(&maint, def, app);
    if (souk_http_server_start(svc.http) != SOUK_OK)
        goto out;
    started = true;
    if (def->start && def->start(&svc, app) != SOUK_OK) {
        souk_log_error("start-up failed");
        goto out;
    }
    souk_log_info("signal %d: shutting down", souk_signals_wait());
    rc = 0;
out:
    if (started && def->stop)
        def->stop(app); /* before the server it may forward to drains */
    maintain_stop(&maint);
    souk_http_server_free(svc.http); /* stops accepting, drains in-flight requests */
    souk_bus_stop(svc.bus);          /* the event in hand finishes */
    if (def->cleanup)
        def->cleanup(app);
    souk_jwt_verifier_free(svc.verifier);
    souk_db_pool_free(svc.db);
    souk_http_client_free(svc.client);
    souk_tracer_stop(); /* every thread that ends spans has stopped */
    souk_metrics_free(svc.metrics);
    return rc;
}
