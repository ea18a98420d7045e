/* kafka-dev: the development and test Kafka broker. It runs librdkafka's mock
 * cluster, which speaks the real Kafka protocol over TCP, creates the topics
 * of ARCHITECTURE.md §5 and writes the bootstrap address to a file. Services
 * need no code change to use a real cluster instead (KAFKA_BROKERS).
 *
 * Outages for fault tests: POST /brokers/down and /brokers/up on its HTTP port
 * (or SIGUSR1 / SIGUSR2) take every broker down (connections dropped and
 * refused) and back up. The mock keeps its data only in memory and picks new
 * ports when restarted, so an outage is simulated in-process rather than by
 * restarting it.
 *
 * In a container or pod other hosts must reach it, but the mock only listens
 * on 127.0.0.1 and advertises that. KAFKA_DEV_LISTEN (host:port, e.g.
 * 0.0.0.0:9092) turns on a relay (proxy.c) that listens there, one port per
 * broker from that one up, and tells clients to connect to
 * KAFKA_DEV_ADVERTISED_HOST (default: the listen host, or this host's name
 * when listening on every address). The bootstrap file is then optional.
 * Without KAFKA_DEV_LISTEN nothing changes. */
#include "proxy.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <souk/http.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *const topics[] = {"orders", "inventory", "products", "users", "audit"};

typedef struct {
    rd_kafka_mock_cluster_t *cluster;
    int brokers;
    bool up;
    souk_metric_t *up_gauge;
} broker_t;

static void set_state(broker_t *b, bool up)
{
    for (int id = 1; id <= b->brokers; id++) {
        if (up)
            rd_kafka_mock_broker_set_up(b->cluster, id);
        else
            rd_kafka_mock_broker_set_down(b->cluster, id);
    }
    b->up = up;
    souk_metric_set(b->up_gauge, NULL, up ? 1 : 0);
    souk_log_warn("brokers are %s", up ? "up" : "down");
}

static void do_down(souk_http_ctx_t *ctx, void *ud)
{
    set_state(ud, false);
    souk_http_reply_json(ctx, 200, json_pack("{s:b}", "up", false));
}

static void do_up(souk_http_ctx_t *ctx, void *ud)
{
    set_state(ud, true);
    souk_http_reply_json(ctx, 200, json_pack("{s:b}", "up", true));
}

static souk_err_t write_bootstrap(const char *path, const char *bootstrap)
{
    char tmp[1024];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return SOUK_EIO;
    bool ok = fprintf(f, "%s\n", bootstrap) > 0;
    ok &= fclose(f) == 0;
    /* rename: readers never see a half-written file */
    return ok && rename(tmp, path) == 0 ? SOUK_OK : SOUK_EIO;
}

typedef struct {
    char listen_host[KDEV_MAX_HOST + 1];
    char advertised_host[KDEV_MAX_HOST + 1];
    int port;
    kdev_route_t routes[9];
    kdev_proxy_config_t cfg;
    char bootstrap[9 * (KDEV_MAX_HOST + 8)];
} relay_t;

/* KAFKA_DEV_LISTEN: "port", ":port", "host:port" or "[v6]:port". */
static souk_err_t parse_listen(const char *spec, relay_t *r)
{
    const char *colon = strrchr(spec, ':');
    const char *port = colon ? colon + 1 : spec;
    size_t hl = colon ? (size_t)(colon - spec) : 0;
    const char *host = spec;
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        host++;
        hl -= 2;
    }
    long p;
    if (hl > KDEV_MAX_HOST || souk_parse_long(port, strlen(port), 1, 65535 - 8, &p) != SOUK_OK) {
        souk_log_error("KAFKA_DEV_LISTEN: expected host:port, got \"%s\"", spec);
        return SOUK_EINVAL;
    }
    snprintf(r->listen_host, sizeof(r->listen_host), "%.*s", (int)hl, hl ? host : "0.0.0.0");
    r->port = (int)p;
    return SOUK_OK;
}

static souk_err_t advertised_host(relay_t *r)
{
    const char *adv = souk_env_str("KAFKA_DEV_ADVERTISED_HOST", NULL);
    bool any = !strcmp(r->listen_host, "0.0.0.0") || !strcmp(r->listen_host, "::");
    if (adv) {
        if (strlen(adv) > KDEV_MAX_HOST) {
            souk_log_error("KAFKA_DEV_ADVERTISED_HOST is longer than %d bytes", KDEV_MAX_HOST);
            return SOUK_EINVAL;
        }
        snprintf(r->advertised_host, sizeof(r->advertised_host), "%s", adv);
    } else if (!any) {
        snprintf(r->advertised_host, sizeof(r->advertised_host), "%s", r->listen_host);
    } else if (gethostname(r->advertised_host, sizeof(r->advertised_host)) != 0) {
        souk_log_error("cannot read the host name; set KAFKA_DEV_ADVERTISED_HOST");
        return SOUK_EINVAL;
    }
    r->advertised_host[KDEV_MAX_HOST] = '\0';
    return SOUK_OK;
}

/* Routes broker i (the i-th address of the mock's bootstrap list,
 * "127.0.0.1:p1,127.0.0.1:p2") to port + i, and spells the bootstrap list
 * clients should use. */
static souk_err_t relay_routes(relay_t *r, const char *mock_bootstraps, long brokers)
{
    const char *at = mock_bootstraps;
    size_t used = 0;
    for (long i = 0; i < brokers; i++) {
        const char *colon = strchr(at, ':');
        const char *end = colon ? strchr(colon, ',') : NULL;
        size_t len = colon ? (end ? (size_t)(end - colon - 1) : strlen(colon + 1)) : 0;
        long up;
        if (!colon || souk_parse_long(colon + 1, len, 1, 65535, &up) != SOUK_OK) {
            souk_log_error("unexpected mock bootstrap list \"%s\"", mock_bootstraps);
            return SOUK_EINVAL;
        }
        r->routes[i] = (kdev_route_t){.upstream_port = (int)up, .listen_port = r->port + (int)i};
        used += (size_t)snprintf(r->bootstrap + used, sizeof(r->bootstrap) - used, "%s%s:%d",
                                 i ? "," : "", r->advertised_host, r->port + (int)i);
        at = end ? end + 1 : "";
    }
    r->cfg = (kdev_proxy_config_t){.listen_host = r->listen_host,
                                   .advertised_host = r->advertised_host,
                                   .routes = r->routes,
                                   .nroutes = (size_t)brokers};
    return SOUK_OK;
}

static rd_kafka_t *host_client(void)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!rk)
        souk_log_error("cannot create the host client: %s", err);
    return rk;
}

int main(int argc, char **argv)
{
    souk_signals_block();
    sigset_t usr;
    sigemptyset(&usr);
    sigaddset(&usr, SIGUSR1);
    sigaddset(&usr, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &usr, NULL);
    int rc = 1;
    long brokers, partitions;
    int port = 0;
    broker_t b = {0};
    rd_kafka_t *rk = NULL;
    souk_metrics_t *metrics = souk_metrics_new();
    souk_http_server_t *srv = NULL;
    static relay_t relay;
    kdev_proxy_t *proxy = NULL;
    const char *listen = souk_env_str("KAFKA_DEV_LISTEN", NULL);
    const char *file = souk_env_str("KAFKA_DEV_BOOTSTRAP_FILE", argc > 1 ? argv[1] : NULL);
    if (souk_log_init("kafka-dev", souk_env_str("LOG_LEVEL", "info")) != SOUK_OK ||
        souk_env_long("KAFKA_DEV_BROKERS", 1, 1, 9, &brokers) != SOUK_OK ||
        souk_env_long("KAFKA_DEV_PARTITIONS", 4, 1, 64, &partitions) != SOUK_OK ||
        (souk_env_str("KAFKA_DEV_PORT", NULL) && souk_env_port("KAFKA_DEV_PORT", 0, &port)) ||
        (listen && (parse_listen(listen, &relay) || advertised_host(&relay))) ||
        (!file && !listen)) {
        souk_log_error("usage: kafka-dev BOOTSTRAP_FILE (or KAFKA_DEV_BOOTSTRAP_FILE, "
                       "or KAFKA_DEV_LISTEN)");
        goto out;
    }
    if (!(rk = host_client()) || !(b.cluster = rd_kafka_mock_cluster_new(rk, (int)brokers)))
        goto out;
    b.brokers = (int)brokers;
    b.up_gauge =
        souk_metrics_gauge(metrics, "kafka_dev_brokers_up", "1 when brokers are up.", NULL);
    souk_metric_set(b.up_gauge, NULL, 1);
    for (size_t i = 0; i < SOUK_ARRAY_LEN(topics); i++)
        if (rd_kafka_mock_topic_create(b.cluster, topics[i], (int)partitions, 1)) {
            souk_log_error("cannot create topic %s", topics[i]);
            goto out;
        }
    const char *bootstrap = rd_kafka_mock_cluster_bootstraps(b.cluster);
    if (listen) {
        if (relay_routes(&relay, bootstrap, brokers) != SOUK_OK ||
            kdev_proxy_start(&relay.cfg, &proxy) != SOUK_OK)
            goto out;
        souk_log_info("relaying %s:%d (advertised as %s) to the mock brokers %s", relay.listen_host,
                      relay.port, relay.bootstrap, bootstrap);
        bootstrap = relay.bootstrap;
    }
    if (file && write_bootstrap(file, bootstrap) != SOUK_OK) {
        souk_log_error("cannot write %s", file);
        goto out;
    }
    souk_log_info("mock Kafka cluster on %s (%ld brokers, %ld partitions per topic)", bootstrap,
                  brokers, partitions);
    /* After the bootstrap file: once /readyz answers, the address is there. */
    if (port) {
        souk_http_config_t hc = {.service = "kafka-dev",
                                 .bind = souk_env_str("BIND_ADDRESS", "127.0.0.1"),
                                 .port = port,
                                 .metrics = metrics};
        if (souk_http_server_new(&hc, &srv) != SOUK_OK)
            goto out;
        souk_http_route(srv, "POST", "/brokers/down", do_down, &b);
        souk_http_route(srv, "POST", "/brokers/up", do_up, &b);
        if (souk_http_server_start(srv) != SOUK_OK)
            goto out;
    }

    sigset_t all;
    sigemptyset(&all);
    sigaddset(&all, SIGINT);
    sigaddset(&all, SIGTERM);
    sigaddset(&all, SIGUSR1);
    sigaddset(&all, SIGUSR2);
    for (int sig = 0; sig != SIGINT && sig != SIGTERM;) {
        sigwait(&all, &sig);
        if (sig == SIGUSR1 || sig == SIGUSR2)
            set_state(&b, sig == SIGUSR2);
    }
    rc = 0;
out:
    souk_http_server_free(srv);
    kdev_proxy_free(proxy);
    if (b.cluster)
        rd_kafka_mock_cluster_destroy(b.cluster);
    if (rk)
        rd_kafka_destroy(rk);
    souk_metrics_free(metrics);
    return rc;
}
