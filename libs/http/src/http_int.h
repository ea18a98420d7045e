/* http_int.h: private to libs/http: the server structure shared by the
 * server, router, peer and reply modules. */
#ifndef SOUK_HTTP_INT_H
#define SOUK_HTTP_INT_H

#include <souk/http.h>
#include <netinet/in.h>
#include <ulfius.h>

#define SOUK_HTTP_MAX_HANDLERS 128
#define SOUK_HTTP_MAX_PROXIES  32

typedef struct {
    souk_http_handler_fn fn;
    void *ud;
} souk_http__handler_t;

/* One trusted proxy: an address and a prefix length (a CIDR block). */
typedef struct {
    int family; /* AF_INET or AF_INET6 */
    uint8_t addr[16];
    unsigned prefix;
} souk_http__cidr_t;

struct souk_http_server {
    souk_http_config_t cfg;
    char *service;
    struct _u_instance inst;
    struct sockaddr_in addr;
    bool running;
    uint16_t bound_port;
    souk_router_t *router;
    size_t nhandlers;
    souk_http__handler_t handlers[SOUK_HTTP_MAX_HANDLERS];
    size_t nproxies;
    souk_http__cidr_t proxies[SOUK_HTTP_MAX_PROXIES];
    souk_http_handler_fn fallback;
    void *fallback_ud;
    souk_http_hook_fn hook;
    void *hook_ud;
    souk_http_ready_fn ready;
    void *ready_ud;
    souk_metric_t *requests, *durations, *inflight;
};

/* peer.c */
/* Parses a comma-separated list of addresses and CIDR blocks into srv's
 * trusted proxies; SOUK_EINVAL (logged) on a bad entry. */
souk_err_t souk_http__proxies_parse(souk_http_server_t *srv, const char *list) SOUK_MUST_CHECK;
/* The client's address for a request from peer carrying X-Forwarded-For xff
 * (may be NULL): the right-most entry not sent by a trusted proxy. Written
 * into out[INET6_ADDRSTRLEN]. */
void souk_http__client_address(const souk_http_server_t *srv, const struct sockaddr *peer,
                               const char *xff, char *out);

#endif
