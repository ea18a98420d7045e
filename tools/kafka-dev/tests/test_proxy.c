/* Unit tests of kafka-dev's advertising relay: the rewriting of Metadata and
 * FindCoordinator responses in every version the mock answers, malformed
 * frames, and a real librdkafka client going through the relay to the mock
 * cluster (metadata names the advertised address; a message is delivered). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../proxy.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define UP1 40001
#define UP2 40002

static const kdev_route_t routes[] = {{UP1, 9092}, {UP2, 9093}};
static const kdev_proxy_config_t cfg = {
    .listen_host = "0.0.0.0", .advertised_host = "kafka", .routes = routes, .nroutes = 2};

/* ---- frame building ------------------------------------------------------- */

typedef struct {
    uint8_t b[512];
    size_t n;
} frame_t;

static void be(frame_t *f, uint32_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        f->b[f->n++] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
}

static void i16(frame_t *f, int v)
{
    be(f, (uint32_t)v, 2);
}

static void i32(frame_t *f, int v)
{
    be(f, (uint32_t)v, 4);
}

static void uvar(frame_t *f, uint32_t v)
{
    do {
        uint8_t b = v & 0x7f;
        v >>= 7;
        f->b[f->n++] = b | (v ? 0x80 : 0);
    } while (v);
}

static void raw(frame_t *f, const char *s)
{
    memcpy(f->b + f->n, s, strlen(s));
    f->n += strlen(s);
}

/* A string, or null when s is NULL, in the classic or compact encoding. */
static void str(frame_t *f, const char *s, bool compact)
{
    if (compact) {
        uvar(f, s ? (uint32_t)strlen(s) + 1 : 0);
    } else {
        i16(f, s ? (int)strlen(s) : -1);
    }
    if (s)
        raw(f, s);
}

static void broker(frame_t *f, int id, const char *host, int port, int version, bool compact)
{
    i32(f, id);
    str(f, host, compact);
    i32(f, port);
    if (version >= 1)
        str(f, NULL, compact); /* rack */
    if (compact)
        uvar(f, 0); /* tagged fields */
}

/* A Metadata response of this version naming two brokers at (host, port1)
 * and (host, port2), with a recognisable tail after the broker array. */
static void metadata(frame_t *f, int version, const char *host, int port1, int port2)
{
    bool compact = version >= 9;
    f->n = 0;
    i32(f, 77); /* correlation id */
    if (compact)
        uvar(f, 0);
    if (version >= 3)
        i32(f, 0); /* throttle */
    if (compact)
        uvar(f, 3);
    else
        i32(f, 2);
    broker(f, 1, host, port1, version, compact);
    broker(f, 2, host, port2, version, compact);
    raw(f, "TAIL-topics-and-more");
}

static void find_coordinator(frame_t *f, int version, const char *host, int port)
{
    bool compact = version >= 3;
    f->n = 0;
    i32(f, 78);
    if (compact)
        uvar(f, 0);
    if (version >= 1)
        i32(f, 0);
    i16(f, 0); /* error code */
    if (version >= 1)
        str(f, NULL, compact);
    i32(f, 2); /* node id */
    str(f, host, compact);
    i32(f, port);
    if (compact)
        uvar(f, 0);
}

static souk_err_t rewrite(int key, int version, const frame_t *in, souk_buf_t *out)
{
    out->len = 0;
    return kdev_rewrite_response(&cfg, (int16_t)key, (int16_t)version, in->b, in->n, out);
}

static void assert_frame(const souk_buf_t *out, const frame_t *want)
{
    assert_int_equal(out->len, want->n);
    assert_memory_equal(out->data, want->b, want->n);
}

/* ---- rewriting ------------------------------------------------------------ */

static void test_metadata_every_version(void **state)
{
    (void)state;
    souk_buf_t out;
    souk_buf_init(&out, 4096);
    for (int v = 0; v <= 9; v++) {
        frame_t in, want;
        metadata(&in, v, "127.0.0.1", UP1, UP2);
        metadata(&want, v, "kafka", 9092, 9093);
        assert_int_equal(rewrite(KDEV_API_METADATA, v, &in, &out), SOUK_OK);
        assert_frame(&out, &want);
    }
    souk_buf_cleanup(&out);
}

static void test_find_coordinator_every_version(void **state)
{
    (void)state;
    souk_buf_t out;
    souk_buf_init(&out, 4096);
    for (int v = 0; v <= 3; v++) {
        frame_t in, want;
        find_coordinator(&in, v, "127.0.0.1", UP2);
        find_coordinator(&want, v, "kafka", 9093);
        assert_int_equal(rewrite(KDEV_API_FIND_COORDINATOR, v, &in, &out), SOUK_OK);
        assert_frame(&out, &want);
    }
    souk_buf_cleanup(&out);
}

/* An address that is not a mock broker's (an error reply's -1, another
 * cluster) and other APIs' responses pass unchanged. */
static void test_unknown_addresses_and_other_apis_pass(void **state)
{
    (void)state;
    souk_buf_t out;
    souk_buf_init(&out, 4096);
    frame_t in;
    metadata(&in, 4, "10.0.0.9", 1234, 5678);
    assert_int_equal(rewrite(KDEV_API_METADATA, 4, &in, &out), SOUK_OK);
    assert_frame(&out, &in);
    find_coordinator(&in, 2, "", -1);
    assert_int_equal(rewrite(KDEV_API_FIND_COORDINATOR, 2, &in, &out), SOUK_OK);
    assert_frame(&out, &in);
    metadata(&in, 1, "127.0.0.1", UP1, UP2);
    assert_int_equal(rewrite(0 /* Produce */, 7, &in, &out), SOUK_OK);
    assert_frame(&out, &in);
    /* A FindCoordinator v4 (coordinator array) is not one we know: copied. */
    assert_int_equal(rewrite(KDEV_API_FIND_COORDINATOR, 4, &in, &out), SOUK_OK);
    assert_frame(&out, &in);
    assert_true(kdev_rewrites(KDEV_API_METADATA) && kdev_rewrites(KDEV_API_FIND_COORDINATOR));
    assert_false(kdev_rewrites(0) || kdev_rewrites(18));
    souk_buf_cleanup(&out);
}

static void test_truncated_and_malformed_frames_fail(void **state)
{
    (void)state;
    souk_buf_t out;
    souk_buf_init(&out, 4096);
    frame_t full, cut;
    metadata(&full, 9, "127.0.0.1", UP1, UP2);
    /* Every cut inside the broker array is detected. */
    size_t tail = strlen("TAIL-topics-and-more");
    for (size_t n = 0; n < full.n - tail; n++) {
        cut = full;
        cut.n = n;
        assert_int_equal(rewrite(KDEV_API_METADATA, 9, &cut, &out), SOUK_EINVAL);
    }
    /* A negative broker count and a string length past the end. */
    metadata(&cut, 2, "127.0.0.1", UP1, UP2);
    memcpy(cut.b + 4, "\xff\xff\xff\xfe", 4);
    assert_int_equal(rewrite(KDEV_API_METADATA, 2, &cut, &out), SOUK_EINVAL);
    metadata(&cut, 0, "127.0.0.1", UP1, UP2);
    memcpy(cut.b + 12, "\x7f\x00", 2);
    assert_int_equal(rewrite(KDEV_API_METADATA, 0, &cut, &out), SOUK_EINVAL);
    souk_buf_cleanup(&out);
}

/* The rewritten frame must still fit the output's bound. */
static void test_output_bound(void **state)
{
    (void)state;
    souk_buf_t out;
    souk_buf_init(&out, 8);
    frame_t in;
    metadata(&in, 4, "127.0.0.1", UP1, UP2);
    assert_int_equal(rewrite(KDEV_API_METADATA, 4, &in, &out), SOUK_ELIMIT);
    souk_buf_cleanup(&out);
}

/* ---- a real client through the relay ---------------------------------------- */

static int free_port(void)
{
    struct sockaddr_in sin = {.sin_family = AF_INET,
                              .sin_addr = {.s_addr = htonl(INADDR_LOOPBACK)}};
    socklen_t len = sizeof(sin);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    close(fd);
    return ntohs(sin.sin_port);
}

static rd_kafka_t *client(rd_kafka_type_t type, const char *bootstrap)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (bootstrap)
        assert_int_equal(rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof(err)),
                         RD_KAFKA_CONF_OK);
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
    rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof(err));
    assert_non_null(rk);
    return rk;
}

static void test_client_through_relay(void **state)
{
    (void)state;
    rd_kafka_t *host = client(RD_KAFKA_PRODUCER, NULL);
    rd_kafka_mock_cluster_t *mock = rd_kafka_mock_cluster_new(host, 2);
    assert_non_null(mock);
    assert_int_equal(rd_kafka_mock_topic_create(mock, "orders", 2, 1), 0);
    int up1, up2;
    assert_int_equal(
        sscanf(rd_kafka_mock_cluster_bootstraps(mock), "127.0.0.1:%d,127.0.0.1:%d", &up1, &up2), 2);
    int port = free_port();
    kdev_route_t r[] = {{up1, port}, {up2, port + 1}};
    /* "localhost" rather than 127.0.0.1: proves clients follow what we say. */
    kdev_proxy_config_t pc = {
        .listen_host = "127.0.0.1", .advertised_host = "localhost", .routes = r, .nroutes = 2};
    kdev_proxy_t *proxy;
    assert_int_equal(kdev_proxy_start(&pc, &proxy), SOUK_OK);

    char bootstrap[64];
    snprintf(bootstrap, sizeof(bootstrap), "127.0.0.1:%d", port);
    rd_kafka_t *rk = client(RD_KAFKA_PRODUCER, bootstrap);
    const struct rd_kafka_metadata *md = NULL;
    assert_int_equal(rd_kafka_metadata(rk, 1, NULL, &md, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(md->broker_cnt, 2);
    for (int i = 0; i < md->broker_cnt; i++) {
        assert_string_equal(md->brokers[i].host, "localhost");
        assert_true(md->brokers[i].port == port || md->brokers[i].port == port + 1);
    }
    rd_kafka_metadata_destroy(md);

    for (int i = 0; i < 10; i++)
        assert_int_equal(rd_kafka_producev(rk, RD_KAFKA_V_TOPIC("orders"),
                                           RD_KAFKA_V_VALUE("hello", 5), RD_KAFKA_V_END),
                         RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(rd_kafka_flush(rk, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(rd_kafka_outq_len(rk), 0);

    rd_kafka_destroy(rk);
    kdev_proxy_free(proxy);
    rd_kafka_mock_cluster_destroy(mock);
    rd_kafka_destroy(host);
}

/* A second proxy on a taken port fails to start, cleanly. */
static void test_start_errors(void **state)
{
    (void)state;
    kdev_proxy_t *p = (kdev_proxy_t *)1;
    kdev_proxy_config_t bad = cfg;
    bad.nroutes = 0;
    assert_int_equal(kdev_proxy_start(&bad, &p), SOUK_EINVAL);
    assert_null(p);
    int port = free_port();
    kdev_route_t r[] = {{UP1, port}};
    kdev_proxy_config_t pc = {
        .listen_host = "127.0.0.1", .advertised_host = "kafka", .routes = r, .nroutes = 1};
    kdev_proxy_t *first;
    assert_int_equal(kdev_proxy_start(&pc, &first), SOUK_OK);
    assert_int_equal(kdev_proxy_start(&pc, &p), SOUK_EIO);
    assert_null(p);
    kdev_proxy_free(first);
    kdev_proxy_free(NULL);
}

int main(void)
{
    if (souk_log_init("test-kafka-dev", "error") != SOUK_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metadata_every_version),
        cmocka_unit_test(test_find_coordinator_every_version),
        cmocka_unit_test(test_unknown_addresses_and_other_apis_pass),
        cmocka_unit_test(test_truncated_and_malformed_frames_fail),
        cmocka_unit_test(test_output_bound),
        cmocka_unit_test(test_client_through_relay),
        cmocka_unit_test(test_start_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
