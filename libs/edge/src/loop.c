/* loop.c: the engine's threads. Each loop thread owns an SO_REUSEPORT
 * listening socket (the kernel spreads new connections over them), an
 * edge-triggered epoll in which every socket is registered once, for input
 * and output, and never modified, its clients, its pools of idle upstream
 * connections and its timer lists. Nothing is shared between loops but the
 * read-only configuration and the metrics registry, so there is no lock on
 * the request path. Stopping: an eventfd wakes each loop, which closes its
 * listener and idle connections and lets requests in flight finish within
 * a bound. */
#define _GNU_SOURCE /* accept4 */
#include "edge_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define MAX_EVENTS 256
#define MS         1000000ull

/* ---- lists and timers ------------------------------------------------------ */

void souk_edge__list_init(node_t *head)
{
    head->prev = head->next = head;
    head->list = -1;
}

void souk_edge__list_unlink(node_t *n)
{
    if (!n->next)
        return;
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->prev = n->next = NULL;
}

void souk_edge__list_push_back(node_t *head, node_t *n)
{
    n->prev = head->prev;
    n->next = head;
    head->prev->next = n;
    head->prev = n;
}

void souk_edge__list_push_front(node_t *head, node_t *n)
{
    n->next = head->next;
    n->prev = head;
    head->next->prev = n;
    head->next = n;
}

void souk_edge__timer_set(loop_t *l, node_t *n, int list)
{
    souk_edge__timer_clear(n);
    n->deadline = l->now + l->timers[list].timeout_ns;
    n->list = list;
    souk_edge__list_push_back(&l->timers[list].head, n);
}

void souk_edge__timer_clear(node_t *n)
{
    souk_edge__list_unlink(n);
    n->list = -1;
}

#define container_of(p, type, member) ((type *)((char *)(p)-offsetof(type, member)))

static void fire(loop_t *l, int list, node_t *n)
{
    souk_edge__timer_clear(n);
    if (list <= T_LINGER)
        souk_edge__client_timeout(container_of(n, client_t, timer));
    else
        souk_edge__upconn_timeout(container_of(n, upconn_t, timer));
}

/* Fires what is due; returns the epoll timeout until the next deadline. */
static int run_timers(loop_t *l)
{
    uint64_t next = UINT64_MAX;
    for (int i = 0; i < T__COUNT; i++) {
        node_t *head = &l->timers[i].head;
        while (!list_empty(head) && head->next->deadline <= l->now)
            fire(l, i, head->next);
        if (!list_empty(head) && head->next->deadline < next)
            next = head->next->deadline;
    }
    if (l->stopping && l->stop_deadline < next)
        next = l->stop_deadline;
    if (next == UINT64_MAX)
        return -1;
    uint64_t ms = (next - l->now + MS - 1) / MS;
    return ms > 60000 ? 60000 : (int)ms;
}

/* ---- sockets -------------------------------------------------------------- */

bool souk_edge__watch(loop_t *l, io_t *io)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = io};
    return epoll_ctl(l->epfd, EPOLL_CTL_ADD, io->fd, &ev) == 0;
}

/* A registration belongs to the open socket, not to the descriptor: close(2)
 * ends it only when no other reference to the socket remains, and an event
 * that came after would carry a pointer to an object already freed. Under
 * the fuzzer, clients closed without this got events a batch later. */
void souk_edge__unwatch_close(loop_t *l, io_t *io)
{
    epoll_ctl(l->epfd, EPOLL_CTL_DEL, io->fd, NULL);
    close(io->fd);
}

static int listen_on(const souk_edge_t *e, int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, e->bind, &a.sin_addr) != 1)
        return -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
        bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 1024) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static int bound_port(int fd)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    return getsockname(fd, (struct sockaddr *)&a, &len) == 0 ? ntohs(a.sin_port) : 0;
}

static void accept_all(loop_t *l)
{
    for (;;) {
        struct sockaddr_storage peer;
        socklen_t len = sizeof(peer);
        int fd =
            accept4(l->listen.fd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                souk_log_warn("edge: accept: %s", strerror(errno));
            return; /* EMFILE and the like: the next edge retries */
        }
        souk_edge__client_accept(l, fd, &peer);
    }
}

/* ---- stopping ------------------------------------------------------------- */

static void begin_stop(loop_t *l)
{
    uint64_t v;
    if (read(l->wake.fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
        souk_log_warn("edge: wake: %s", strerror(errno));
    if (l->stopping)
        return;
    l->stopping = true;
    l->stop_deadline = l->now + (uint64_t)l->edge->cfg.drain_timeout_ms * MS;
    if (l->listen.fd >= 0) {
        close(l->listen.fd); /* stop accepting */
        l->listen.fd = -1;
    }
    /* Idle keep-alive connections go now; the rest close after their answer. */
    for (node_t *n = l->clients.next, *next; n != &l->clients; n = next) {
        next = n->next;
        client_t *c = container_of(n, client_t, all);
        c->close_after = true;
        if (c->state == C_IDLE && c->in_start == c->in_end)
            souk_edge__client_close(c);
    }
}

static void close_everything(loop_t *l)
{
    while (!list_empty(&l->clients))
        souk_edge__client_close(container_of(l->clients.next, client_t, all));
    souk_edge__ready_run(l); /* empty: closing a client cancels its sub-requests */
    for (size_t i = 0; i < l->edge->nups; i++)
        while (!list_empty(&l->pools[i]))
            souk_edge__upconn_close(container_of(l->pools[i].next, upconn_t, pool));
}

static void bury(loop_t *l)
{
    while (!list_empty(&l->dead_clients)) {
        node_t *n = l->dead_clients.next;
        souk_edge__list_unlink(n);
        souk_free(container_of(n, client_t, all));
    }
    while (!list_empty(&l->dead_upconns)) {
        node_t *n = l->dead_upconns.next;
        souk_edge__list_unlink(n);
        souk_free(container_of(n, upconn_t, pool));
    }
}

static void dispatch(loop_t *l, io_t *io, uint32_t events)
{
    switch (io->kind) {
    case IO_LISTEN:
        if (!l->stopping && (events & EPOLLIN))
            accept_all(l);
        break;
    case IO_WAKE: /* always writable: only input (a stop request) counts */
        if (events & EPOLLIN)
            begin_stop(l);
        break;
    case IO_CLIENT:
        souk_edge__client_event(container_of(io, client_t, io), events);
        break;
    case IO_UPSTREAM:
        souk_edge__upconn_event(container_of(io, upconn_t, io), events);
        break;
    }
    souk_edge__ready_run(l); /* sub-requests this event settled */
}

static void *loop_main(void *p)
{
    loop_t *l = p;
    struct epoll_event evs[MAX_EVENTS];
    l->now = souk_now_mono_ns();
    for (;;) {
        int timeout = run_timers(l);
        if (!list_empty(&l->ready)) { /* sub-requests that timed out */
            souk_edge__ready_run(l);
            timeout = run_timers(l); /* and the clocks their callbacks started */
        }
        bury(l);
        if (l->stopping && (l->nclients == 0 || l->now >= l->stop_deadline))
            break;
        int n = epoll_wait(l->epfd, evs, MAX_EVENTS, timeout);
        l->now = souk_now_mono_ns();
        if (n < 0 && errno != EINTR) {
            souk_log_error("edge: epoll_wait: %s", strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++)
            dispatch(l, evs[i].data.ptr, evs[i].events);
        bury(l);
    }
    close_everything(l);
    bury(l);
    return NULL;
}

/* ---- start and stop ------------------------------------------------------- */

static souk_err_t resolve(upstream_t *u)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    char port[16];
    snprintf(port, sizeof(port), "%d", u->port);
    if (getaddrinfo(u->host, port, &hints, &res) != 0 || !res) {
        souk_log_error("edge: upstream %s: cannot resolve %s", u->name, u->host);
        return SOUK_EINVAL;
    }
    memcpy(&u->addr, res->ai_addr, res->ai_addrlen);
    u->addrlen = res->ai_addrlen;
    freeaddrinfo(res);
    bool v6 = strchr(u->host, ':') != NULL;
    snprintf(u->host_header, sizeof(u->host_header), v6 ? "[%s]:%d" : "%s:%d", u->host, u->port);
    return SOUK_OK;
}

static void defaults(souk_edge_config_t *c)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (!c->threads)
        c->threads = cores > 0 ? (unsigned)cores : 1;
    c->body_limit = c->body_limit ? c->body_limit : SOUK_HTTP_DEFAULT_BODY_LIMIT;
    c->url_limit = c->url_limit ? c->url_limit : 8192;
    c->header_limit = c->header_limit ? c->header_limit : 32768;
    c->max_headers = c->max_headers ? c->max_headers : 100;
    c->read_timeout_ms = c->read_timeout_ms ? c->read_timeout_ms : 10000;
    c->idle_timeout_ms = c->idle_timeout_ms ? c->idle_timeout_ms : 60000;
    c->send_timeout_ms = c->send_timeout_ms ? c->send_timeout_ms : 60000;
    c->upstream_timeout_ms = c->upstream_timeout_ms ? c->upstream_timeout_ms : 10000;
    c->connect_timeout_ms = c->connect_timeout_ms ? c->connect_timeout_ms : 1000;
    c->pool_idle_ms = c->pool_idle_ms ? c->pool_idle_ms : 30000;
    c->drain_timeout_ms = c->drain_timeout_ms ? c->drain_timeout_ms : 10000;
}

static souk_err_t loop_init(souk_edge_t *e, loop_t *l)
{
    const souk_edge_config_t *c = &e->cfg;
    const unsigned timeouts[T__COUNT] = {[T_IDLE] = c->idle_timeout_ms,
                                         [T_READ] = c->read_timeout_ms,
                                         [T_SEND] = c->send_timeout_ms,
                                         [T_CONNECT] = c->connect_timeout_ms,
                                         [T_EXCHANGE] = c->upstream_timeout_ms,
                                         [T_POOL] = c->pool_idle_ms,
                                         [T_LINGER] = EDGE_LINGER_MS};
    l->edge = e;
    l->listen = (io_t){IO_LISTEN, -1};
    l->wake = (io_t){IO_WAKE, eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)};
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    for (int i = 0; i < T__COUNT; i++) {
        souk_edge__list_init(&l->timers[i].head);
        l->timers[i].timeout_ns = (uint64_t)timeouts[i] * MS;
    }
    souk_edge__list_init(&l->clients);
    souk_edge__list_init(&l->dead_clients);
    souk_edge__list_init(&l->dead_upconns);
    souk_edge__list_init(&l->ready);
    souk_edge__list_init(&l->spare);
    l->pools = souk_calloc(e->nups ? e->nups : 1, sizeof(node_t));
    l->npool = souk_calloc(e->nups ? e->nups : 1, sizeof(size_t));
    for (size_t i = 0; i < e->nups; i++)
        souk_edge__list_init(&l->pools[i]);
    l->listen.fd = listen_on(e, e->port);
    if (l->listen.fd < 0 || l->wake.fd < 0 || l->epfd < 0 || !souk_edge__watch(l, &l->listen) ||
        !souk_edge__watch(l, &l->wake))
        return SOUK_EIO;
    if (!e->port)
        e->port = bound_port(l->listen.fd);
    return SOUK_OK;
}

static void loop_cleanup(loop_t *l)
{
    if (l->spare.next)
        souk_edge__spare_free(l);
    if (l->listen.fd >= 0)
        close(l->listen.fd);
    if (l->wake.fd >= 0)
        close(l->wake.fd);
    if (l->epfd >= 0)
        close(l->epfd);
    souk_free(l->pools);
    souk_free(l->npool);
}

static void edge_free(souk_edge_t *e)
{
    for (unsigned i = 0; e->loops && i < e->nloops; i++)
        loop_cleanup(&e->loops[i]);
    souk_free(e->loops);
    for (size_t i = 0; i < e->nups; i++) {
        souk_free(e->ups[i].name);
        souk_free(e->ups[i].host);
    }
    souk_free(e->service);
    souk_free(e->bind);
    souk_http_proxies_free(e->proxies);
    souk_free(e);
}

static const char *const req_labels[] = {"service", "method", "route", "status", NULL};
static const char *const dur_labels[] = {"service", "method", "route", NULL};
static const char *const svc_labels[] = {"service", NULL};

souk_err_t souk_edge_start(const souk_edge_config_t *cfg, souk_edge_t **out)
{
    if (!cfg || !cfg->handler || !cfg->metrics || cfg->port < 0 || cfg->port > 65535 ||
        cfg->nupstreams > SOUK_EDGE_MAX_UPSTREAMS)
        return SOUK_EINVAL;
    souk_edge_t *e = souk_calloc(1, sizeof(*e));
    e->cfg = *cfg;
    defaults(&e->cfg);
    e->service = souk_strdup(cfg->service ? cfg->service : "souk");
    e->cfg.trusted_proxies = NULL;
    souk_err_t perr = souk_http_proxies_new(cfg->trusted_proxies, &e->proxies);
    e->bind = souk_strdup(cfg->bind ? cfg->bind : "127.0.0.1");
    e->cfg.upstreams = NULL;
    e->port = cfg->port;
    souk_err_t err = perr;
    for (size_t i = 0; i < cfg->nupstreams && err == SOUK_OK; i++) {
        upstream_t *u = &e->ups[e->nups++];
        u->name = souk_strdup(cfg->upstreams[i].name);
        u->host = souk_strdup(cfg->upstreams[i].host);
        u->port = cfg->upstreams[i].port;
        u->accounted = cfg->upstreams[i].accounted;
        err = resolve(u);
    }
    e->requests = souk_metrics_counter(cfg->metrics, "http_requests_total", "HTTP requests served.",
                                       req_labels);
    e->durations = souk_metrics_histogram(
        cfg->metrics, "http_request_duration_seconds", "HTTP request latency in seconds.",
        dur_labels, souk_metrics_latency_buckets, souk_metrics_latency_nbuckets);
    e->inflight = souk_metrics_gauge(cfg->metrics, "http_requests_in_flight",
                                     "HTTP requests being served.", svc_labels);
    e->nloops = e->cfg.threads;
    e->loops = souk_calloc(e->nloops, sizeof(loop_t));
    for (unsigned i = 0; i < e->nloops; i++)
        e->loops[i] = (loop_t){.listen.fd = -1, .wake.fd = -1, .epfd = -1};
    for (unsigned i = 0; i < e->nloops && err == SOUK_OK; i++)
        if ((err = loop_init(e, &e->loops[i])) != SOUK_OK)
            souk_log_error("edge: cannot listen on %s:%d: %s", e->bind, e->port, strerror(errno));
    for (unsigned i = 0; i < e->nloops && err == SOUK_OK; i++) {
        if (pthread_create(&e->loops[i].thread, NULL, loop_main, &e->loops[i]) != 0)
            err = SOUK_ENOMEM;
        else
            e->loops[i].started = true;
    }
    if (err) {
        souk_edge_stop(e);
        return err;
    }
    souk_log_info("edge: listening on http://%s:%d (%u loop threads)", e->bind, e->port, e->nloops);
    *out = e;
    return SOUK_OK;
}

int souk_edge_port(const souk_edge_t *e)
{
    return e ? e->port : 0;
}

void souk_edge_stop(souk_edge_t *e)
{
    if (!e)
        return;
    uint64_t one = 1;
    for (unsigned i = 0; i < e->nloops; i++)
        if (e->loops[i].started && write(e->loops[i].wake.fd, &one, sizeof(one)) < 0)
            souk_log_warn("edge: cannot wake a loop: %s", strerror(errno));
    for (unsigned i = 0; i < e->nloops; i++)
        if (e->loops[i].started)
            pthread_join(e->loops[i].thread, NULL);
    edge_free(e);
}
