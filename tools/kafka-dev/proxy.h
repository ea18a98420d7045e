/* kafka-dev's advertising relay: lets clients on other hosts (containers, pods)
 * reach librdkafka's mock cluster, which only ever listens on 127.0.0.1 with
 * ports of its own choosing and advertises exactly that in its metadata.
 *
 * Each mock broker gets a listening port of ours (on any address); bytes are
 * relayed unchanged in both directions except the responses that name brokers
 * (Metadata and FindCoordinator), in which a mock broker's 127.0.0.1:port is
 * replaced by the advertised host and our port for that broker. It does not
 * look into any other request or response, does not speak TLS or SASL, and
 * only knows the versions the mock answers (Metadata 0-9, FindCoordinator
 * 0-3); a newer FindCoordinator (a coordinator array) passes unchanged. */
#ifndef KAFKA_DEV_PROXY_H
#define KAFKA_DEV_PROXY_H

#include <souk/core.h>
#include <stdint.h>

/* Largest frame relayed in either direction (Kafka's own default for
 * socket.request.max.bytes is 100 MB; development traffic is far smaller). */
#define KDEV_MAX_FRAME (64u * 1024 * 1024)
#define KDEV_MAX_HOST  255

enum { KDEV_API_METADATA = 3, KDEV_API_FIND_COORDINATOR = 10 };

/* One mock broker: its loopback port and the port we expose for it. */
typedef struct {
    int upstream_port;
    int listen_port;
} kdev_route_t;

typedef struct {
    const char *listen_host;     /* bind address ("0.0.0.0", "::", a name); borrowed */
    const char *advertised_host; /* what clients are told to connect to; borrowed */
    const kdev_route_t *routes;  /* borrowed, nroutes entries */
    size_t nroutes;
    size_t max_connections; /* client connections at once; 0 means 256 */
} kdev_proxy_config_t;

typedef struct kdev_proxy kdev_proxy_t;

/* Binds every route's listening port and starts relaying in background
 * threads. cfg and what it points to must outlive the proxy. Returns
 * SOUK_EINVAL on a bad config, SOUK_EIO when a port cannot be bound. */
souk_err_t kdev_proxy_start(const kdev_proxy_config_t *cfg, kdev_proxy_t **out) SOUK_MUST_CHECK;

/* Stops accepting, closes every relayed connection and frees. NULL ok. */
void kdev_proxy_free(kdev_proxy_t *p);

/* Whether responses to this request need rewriting. */
bool kdev_rewrites(int16_t api_key);

/* Rewrites one response frame (without its 4-byte size prefix) to request
 * api_key/api_version: broker addresses that match a route become the
 * advertised host and the route's listen port; everything else is copied.
 * Appends the new frame to out. Returns SOUK_EINVAL on a malformed frame
 * (out is then unchanged in content but may have grown), SOUK_ELIMIT past
 * out's maximum. Thread-safe. */
souk_err_t kdev_rewrite_response(const kdev_proxy_config_t *cfg, int16_t api_key,
                                 int16_t api_version, const uint8_t *frame, size_t len,
                                 souk_buf_t *out) SOUK_MUST_CHECK;

#endif
