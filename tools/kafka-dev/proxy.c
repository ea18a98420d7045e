/* kafka-dev's advertising relay (see proxy.h): one thread accepts on every
 * route's port, and each client connection gets a thread that relays whole
 * Kafka frames between the client and its mock broker, rewriting the broker
 * addresses in the responses to Metadata and FindCoordinator requests. It
 * never parses more of the protocol than the fields before those addresses. */
#define _GNU_SOURCE /* accept4, pipe2 */
#include "proxy.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Requests whose responses we rewrite and that are still unanswered on one
 * connection; clients pipeline a few at most. */
#define MAX_PENDING 64
#define READ_CHUNK  (64 * 1024)

/* ---- reading the wire format ---------------------------------------------- */

typedef struct {
    const uint8_t *p;
    size_t len, off;
    bool bad; /* ran past the end or met an impossible value */
} cursor_t;

static bool need(cursor_t *c, size_t n)
{
    if (c->bad || c->len - c->off < n) {
        c->bad = true;
        return false;
    }
    return true;
}

static void skip(cursor_t *c, size_t n)
{
    if (need(c, n))
        c->off += n;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int32_t get_i32(cursor_t *c)
{
    if (!need(c, 4))
        return 0;
    c->off += 4;
    return (int32_t)be32(c->p + c->off - 4);
}

static int16_t get_i16(cursor_t *c)
{
    if (!need(c, 2))
        return 0;
    c->off += 2;
    return (int16_t)((uint16_t)c->p[c->off - 2] << 8 | c->p[c->off - 1]);
}

static uint32_t get_uvarint(cursor_t *c)
{
    uint32_t v = 0;
    for (int shift = 0; shift <= 28; shift += 7) {
        if (!need(c, 1))
            return 0;
        uint8_t b = c->p[c->off++];
        v |= (uint32_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    c->bad = true;
    return 0;
}

/* A string: compact in flexible versions (unsigned varint length + 1, 0 for
 * null), else int16 length (-1 for null). */
static void skip_string(cursor_t *c, bool flexible, bool nullable)
{
    if (flexible) {
        uint32_t n = get_uvarint(c);
        if (n == 0)
            c->bad |= !nullable;
        else
            skip(c, n - 1);
        return;
    }
    int16_t n = get_i16(c);
    if (n < 0)
        c->bad |= !nullable || n != -1;
    else
        skip(c, (size_t)n);
}

/* Tagged fields of flexible versions: a count, then (tag, size, bytes). */
static void skip_tags(cursor_t *c)
{
    uint32_t n = get_uvarint(c);
    for (uint32_t i = 0; i < n && !c->bad; i++) {
        (void)get_uvarint(c);
        skip(c, get_uvarint(c));
    }
}

/* ---- writing ---------------------------------------------------------------- */

static souk_err_t put_be(souk_buf_t *b, uint32_t v, int bytes)
{
    uint8_t raw[4];
    for (int i = 0; i < bytes; i++)
        raw[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
    return souk_buf_append(b, raw, (size_t)bytes);
}

static souk_err_t put_uvarint(souk_buf_t *b, uint32_t v)
{
    uint8_t raw[5];
    size_t n = 0;
    do {
        raw[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        raw[n++] |= v ? 0x80 : 0;
    } while (v);
    return souk_buf_append(b, raw, n);
}

/* ---- rewriting responses ----------------------------------------------------- */

typedef struct {
    const kdev_proxy_config_t *cfg;
    cursor_t c;
    bool flexible;
    size_t copied; /* bytes of the frame already in out */
    souk_buf_t *out;
    souk_err_t err;
} rewrite_t;

static int route_port(const kdev_proxy_config_t *cfg, int32_t upstream)
{
    for (size_t i = 0; i < cfg->nroutes; i++)
        if (cfg->routes[i].upstream_port == upstream)
            return cfg->routes[i].listen_port;
    return 0;
}

/* At a host field followed by a port: when the port is a mock broker's, the
 * bytes before the host go out unchanged, then our host and port. */
static void rewrite_address(rewrite_t *r)
{
    size_t start = r->c.off;
    skip_string(&r->c, r->flexible, false);
    int ours = route_port(r->cfg, get_i32(&r->c));
    if (r->c.bad || r->err || !ours)
        return;
    const char *host = r->cfg->advertised_host;
    uint32_t hl = (uint32_t)strlen(host);
    souk_err_t err = souk_buf_append(r->out, r->c.p + r->copied, start - r->copied);
    if (!err)
        err = r->flexible ? put_uvarint(r->out, hl + 1) : put_be(r->out, hl, 2);
    if (!err)
        err = souk_buf_append(r->out, host, hl);
    if (!err)
        err = put_be(r->out, (uint32_t)ours, 4);
    r->err = err;
    r->copied = r->c.off;
}

/* Metadata: [throttle_time_ms (v3+)] brokers[node_id host port rack (v1+)]
 * then controller, cluster id and topics, which are copied. */
static void rewrite_metadata(rewrite_t *r, int16_t version)
{
    if (version >= 3)
        skip(&r->c, 4);
    uint32_t n;
    if (r->flexible) {
        n = get_uvarint(&r->c);
        n = n ? n - 1 : 0;
    } else {
        int32_t count = get_i32(&r->c);
        r->c.bad |= count < 0;
        n = count < 0 ? 0 : (uint32_t)count;
    }
    for (uint32_t i = 0; i < n && !r->c.bad && !r->err; i++) {
        skip(&r->c, 4); /* node_id */
        rewrite_address(r);
        if (version >= 1)
            skip_string(&r->c, r->flexible, true); /* rack */
        if (r->flexible)
            skip_tags(&r->c);
    }
}

/* FindCoordinator up to v3: [throttle_time_ms (v1+)] error_code
 * [error_message (v1+)] node_id host port. */
static void rewrite_find_coordinator(rewrite_t *r, int16_t version)
{
    if (version >= 1)
        skip(&r->c, 4);
    skip(&r->c, 2);
    if (version >= 1)
        skip_string(&r->c, r->flexible, true);
    skip(&r->c, 4);
    rewrite_address(r);
}

bool kdev_rewrites(int16_t api_key)
{
    return api_key == KDEV_API_METADATA || api_key == KDEV_API_FIND_COORDINATOR;
}

souk_err_t kdev_rewrite_response(const kdev_proxy_config_t *cfg, int16_t api_key,
                                 int16_t api_version, const uint8_t *frame, size_t len,
                                 souk_buf_t *out)
{
    rewrite_t r = {.cfg = cfg, .c = {.p = frame, .len = len}, .out = out};
    bool metadata = api_key == KDEV_API_METADATA && api_version >= 0 && api_version <= 9;
    bool coordinator = api_key == KDEV_API_FIND_COORDINATOR && api_version >= 0 && api_version <= 3;
    if (metadata || coordinator) {
        /* Flexible versions have the response header with tagged fields. */
        r.flexible = metadata ? api_version >= 9 : api_version >= 3;
        skip(&r.c, 4); /* correlation id */
        if (r.flexible)
            skip_tags(&r.c);
        if (metadata)
            rewrite_metadata(&r, api_version);
        else
            rewrite_find_coordinator(&r, api_version);
        if (r.c.bad)
            return SOUK_EINVAL;
        if (r.err)
            return r.err;
    }
    return souk_buf_append(out, frame + r.copied, len - r.copied);
}

/* ---- relaying ---------------------------------------------------------------- */

struct kdev_proxy {
    const kdev_proxy_config_t *cfg;
    int *listen_fds; /* one per route */
    int wake[2];     /* a pipe, readable once the proxy stops */
    pthread_t acceptor;
    bool acceptor_started;
    pthread_mutex_t mu;
    pthread_cond_t idle;
    size_t active; /* relayed connections */
};

typedef struct {
    int32_t correlation_id;
    int16_t api_key, api_version;
} pending_t;

typedef struct {
    kdev_proxy_t *proxy;
    int client, upstream;
    souk_buf_t from_client, from_upstream, out;
    pending_t pending[MAX_PENDING];
    size_t npending;
} conn_t;

/* Writes all of [p, p+n) unless the proxy stops first. */
static bool send_all(kdev_proxy_t *proxy, int fd, const void *p, size_t n)
{
    const char *at = p;
    while (n > 0) {
        struct pollfd pf[2] = {{.fd = fd, .events = POLLOUT},
                               {.fd = proxy->wake[0], .events = POLLIN}};
        if (poll(pf, 2, -1) < 0 && errno != EINTR)
            return false;
        if (pf[1].revents)
            return false;
        if (!pf[0].revents)
            continue;
        ssize_t w = send(fd, at, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (w <= 0)
            return false;
        at += w;
        n -= (size_t)w;
    }
    return true;
}

static bool remember(conn_t *c, const uint8_t *frame, uint32_t size)
{
    if (size < 8)
        return false;
    int16_t key = (int16_t)((uint16_t)frame[0] << 8 | frame[1]);
    if (!kdev_rewrites(key))
        return true;
    if (c->npending == MAX_PENDING) {
        souk_log_warn("kafka-dev proxy: more than %d unanswered metadata requests", MAX_PENDING);
        return false;
    }
    c->pending[c->npending++] =
        (pending_t){.correlation_id = (int32_t)be32(frame + 4),
                    .api_key = key,
                    .api_version = (int16_t)((uint16_t)frame[2] << 8 | frame[3])};
    return true;
}

static bool forward_response(conn_t *c, const uint8_t *frame, uint32_t size)
{
    if (size < 4)
        return false;
    int32_t corr = (int32_t)be32(frame);
    for (size_t i = 0; i < c->npending; i++) {
        if (c->pending[i].correlation_id != corr)
            continue;
        pending_t req = c->pending[i];
        c->pending[i] = c->pending[--c->npending];
        c->out.len = 0;
        souk_err_t err = put_be(&c->out, 0, 4);
        if (!err)
            err = kdev_rewrite_response(c->proxy->cfg, req.api_key, req.api_version, frame, size,
                                        &c->out);
        if (err) {
            souk_log_warn("kafka-dev proxy: cannot rewrite a response to API %d v%d: %s",
                          req.api_key, req.api_version, souk_strerror(err));
            return false;
        }
        uint32_t n = (uint32_t)(c->out.len - 4);
        for (int b = 0; b < 4; b++)
            c->out.data[b] = (char)(n >> (24 - 8 * b));
        return send_all(c->proxy, c->client, c->out.data, c->out.len);
    }
    return send_all(c->proxy, c->client, frame - 4, (size_t)size + 4);
}

/* Reads what fd has into in, then hands every complete frame on. */
static bool pump(conn_t *c, int fd, souk_buf_t *in, bool from_client)
{
    uint8_t chunk[READ_CHUNK];
    ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
    if (n < 0 && errno == EINTR)
        return true;
    if (n <= 0 || souk_buf_append(in, chunk, (size_t)n) != SOUK_OK)
        return false;
    const uint8_t *data = (const uint8_t *)in->data;
    size_t off = 0;
    while (in->len - off >= 4) {
        uint32_t size = be32(data + off);
        if (size > KDEV_MAX_FRAME)
            return false;
        if (in->len - off - 4 < size)
            break;
        const uint8_t *frame = data + off + 4;
        bool ok = from_client ? remember(c, frame, size) &&
                                    send_all(c->proxy, c->upstream, frame - 4, (size_t)size + 4)
                              : forward_response(c, frame, size);
        if (!ok)
            return false;
        off += 4 + (size_t)size;
    }
    memmove(in->data, in->data + off, in->len - off);
    in->len -= off;
    in->data[in->len] = '\0';
    return true;
}

static void *relay(void *arg)
{
    conn_t *c = arg;
    kdev_proxy_t *proxy = c->proxy;
    for (;;) {
        struct pollfd pf[3] = {{.fd = c->client, .events = POLLIN},
                               {.fd = c->upstream, .events = POLLIN},
                               {.fd = proxy->wake[0], .events = POLLIN}};
        if (poll(pf, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (pf[2].revents)
            break;
        if (pf[0].revents && !pump(c, c->client, &c->from_client, true))
            break;
        if (pf[1].revents && !pump(c, c->upstream, &c->from_upstream, false))
            break;
    }
    close(c->client);
    close(c->upstream);
    souk_buf_cleanup(&c->from_client);
    souk_buf_cleanup(&c->from_upstream);
    souk_buf_cleanup(&c->out);
    souk_free(c);
    pthread_mutex_lock(&proxy->mu);
    proxy->active--;
    pthread_cond_broadcast(&proxy->idle);
    pthread_mutex_unlock(&proxy->mu);
    return NULL;
}

static int connect_upstream(int port)
{
    struct sockaddr_in sin = {.sin_family = AF_INET,
                              .sin_port = htons((uint16_t)port),
                              .sin_addr = {.s_addr = htonl(INADDR_LOOPBACK)}};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

static void no_delay(int fd)
{
    int on = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

/* A new client on route i: a relay thread, or a closed connection when the
 * broker is down (the mock refuses) or too many are open. */
static void start_relay(kdev_proxy_t *proxy, size_t i, int client)
{
    size_t max = proxy->cfg->max_connections ? proxy->cfg->max_connections : 256;
    int upstream = -1;
    conn_t *c = NULL;
    pthread_mutex_lock(&proxy->mu);
    bool room = proxy->active < max;
    proxy->active += room;
    pthread_mutex_unlock(&proxy->mu);
    if (!room) {
        souk_log_warn("kafka-dev proxy: %zu connections open; refusing another", max);
        goto fail;
    }
    if ((upstream = connect_upstream(proxy->cfg->routes[i].upstream_port)) < 0)
        goto fail_counted;
    no_delay(client);
    no_delay(upstream);
    c = souk_calloc(1, sizeof(*c));
    *c = (conn_t){.proxy = proxy, .client = client, .upstream = upstream};
    souk_buf_init(&c->from_client, KDEV_MAX_FRAME + 4 + READ_CHUNK);
    souk_buf_init(&c->from_upstream, KDEV_MAX_FRAME + 4 + READ_CHUNK);
    souk_buf_init(&c->out, KDEV_MAX_FRAME + 4 + 4 * KDEV_MAX_HOST);
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&t, &attr, relay, c);
    pthread_attr_destroy(&attr);
    if (rc == 0)
        return;
    souk_free(c);
fail_counted:
    pthread_mutex_lock(&proxy->mu);
    proxy->active--;
    pthread_cond_broadcast(&proxy->idle);
    pthread_mutex_unlock(&proxy->mu);
fail:
    if (upstream >= 0)
        close(upstream);
    close(client);
}

static void *accept_loop(void *arg)
{
    kdev_proxy_t *proxy = arg;
    size_t n = proxy->cfg->nroutes;
    struct pollfd pf[n + 1];
    for (size_t i = 0; i < n; i++)
        pf[i] = (struct pollfd){.fd = proxy->listen_fds[i], .events = POLLIN};
    pf[n] = (struct pollfd){.fd = proxy->wake[0], .events = POLLIN};
    for (;;) {
        if (poll(pf, n + 1, -1) < 0) {
            if (errno == EINTR)
                continue;
            souk_log_error("kafka-dev proxy: poll: %s", strerror(errno));
            return NULL;
        }
        if (pf[n].revents)
            return NULL;
        for (size_t i = 0; i < n; i++) {
            if (!pf[i].revents)
                continue;
            int client = accept4(pf[i].fd, NULL, NULL, SOCK_CLOEXEC);
            if (client >= 0)
                start_relay(proxy, i, client);
        }
    }
}

static int listen_on(const char *host, int port)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *res = NULL;
    char service[16];
    snprintf(service, sizeof(service), "%d", port);
    int rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0) {
        souk_log_error("kafka-dev proxy: cannot resolve %s: %s", host, gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        int on = 1;
        if (fd >= 0 && (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
                        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 128) != 0)) {
            souk_log_error("kafka-dev proxy: cannot listen on %s:%d: %s", host, port,
                           strerror(errno));
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    return fd;
}

static bool config_valid(const kdev_proxy_config_t *cfg)
{
    if (!cfg->listen_host || !cfg->advertised_host || !*cfg->advertised_host ||
        strlen(cfg->advertised_host) > KDEV_MAX_HOST || !cfg->routes || cfg->nroutes == 0)
        return false;
    for (size_t i = 0; i < cfg->nroutes; i++) {
        const kdev_route_t *r = &cfg->routes[i];
        if (r->upstream_port <= 0 || r->upstream_port > 65535 || r->listen_port <= 0 ||
            r->listen_port > 65535)
            return false;
    }
    return true;
}

souk_err_t kdev_proxy_start(const kdev_proxy_config_t *cfg, kdev_proxy_t **out)
{
    *out = NULL;
    if (!config_valid(cfg))
        return SOUK_EINVAL;
    kdev_proxy_t *p = souk_calloc(1, sizeof(*p));
    p->cfg = cfg;
    p->wake[0] = p->wake[1] = -1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->idle, NULL);
    p->listen_fds = souk_calloc(cfg->nroutes, sizeof(int));
    for (size_t i = 0; i < cfg->nroutes; i++)
        p->listen_fds[i] = -1;
    souk_err_t err = SOUK_EIO;
    for (size_t i = 0; i < cfg->nroutes; i++)
        if ((p->listen_fds[i] = listen_on(cfg->listen_host, cfg->routes[i].listen_port)) < 0)
            goto out;
    if (pipe2(p->wake, O_CLOEXEC) != 0 || pthread_create(&p->acceptor, NULL, accept_loop, p) != 0)
        goto out;
    p->acceptor_started = true;
    err = SOUK_OK;
out:
    if (err) {
        kdev_proxy_free(p);
        return err;
    }
    *out = p;
    return SOUK_OK;
}

void kdev_proxy_free(kdev_proxy_t *p)
{
    if (!p)
        return;
    if (p->wake[1] >= 0) {
        /* Never drained: every poll in the proxy sees it from now on. */
        (void)!write(p->wake[1], "x", 1);
    }
    if (p->acceptor_started)
        pthread_join(p->acceptor, NULL);
    pthread_mutex_lock(&p->mu);
    while (p->active > 0)
        pthread_cond_wait(&p->idle, &p->mu);
    pthread_mutex_unlock(&p->mu);
    for (size_t i = 0; i < p->cfg->nroutes; i++)
        if (p->listen_fds[i] >= 0)
            close(p->listen_fds[i]);
    for (int i = 0; i < 2; i++)
        if (p->wake[i] >= 0)
            close(p->wake[i]);
    pthread_cond_destroy(&p->idle);
    pthread_mutex_destroy(&p->mu);
    souk_free(p->listen_fds);
    souk_free(p);
}
