/* fuzz_edge.c: the gateway's HTTP/1.1 engine (libs/edge) on real sockets.
 * An edge with one loop thread and a scripted upstream run for the whole
 * process; each input is sent by a client on a fresh connection as the
 * bytes of one or more requests, and, after a "|||" marker, the bytes the
 * upstream answers a forwarded request with (else a plain 200). Requests
 * whose path starts with "/u" are forwarded; those starting with "/s" are
 * deferred and make two sub-requests (a GET, and a POST of the request's
 * body) whose buffered responses, bounded small, make the reply; the rest
 * are answered by the handler. So the request parser, the response relay
 * and the sub-requests' response parser all see the input.
 *
 * Properties: the edge never crashes or trips a sanitizer, answers within
 * its timeouts, and whatever it sends starts as an HTTP/1.1 status line. */
#define _GNU_SOURCE /* memmem */
#include "fuzz_common.h"

#include <souk/edge.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#define MARKER "|||"

static const char default_answer[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

/* The upstream's script for the current input, set before the client
 * connects; the fuzzer runs one input at a time. */
static pthread_mutex_t script_lock = PTHREAD_MUTEX_INITIALIZER;
static char *script;
static size_t script_len;
static int upstream_fd = -1;
static souk_edge_t *edge;
static int edge_port;

static int listen_any(int *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 64) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        abort();
    *port = ntohs(a.sin_port);
    return fd;
}

/* Reads the request the edge forwards: its head, then Content-Length bytes
 * (the edge always sends a body that way), or until a quiet spell. */
static void read_request(int c)
{
    char buf[16384];
    size_t n = 0;
    struct pollfd p = {.fd = c, .events = POLLIN};
    while (n < sizeof(buf) - 1 && poll(&p, 1, 200) > 0) {
        ssize_t r = read(c, buf + n, sizeof(buf) - 1 - n);
        if (r <= 0)
            return;
        n += (size_t)r;
        buf[n] = '\0';
        const char *end = strstr(buf, "\r\n\r\n");
        if (!end)
            continue;
        const char *cl = strcasestr(buf, "\r\nContent-Length:");
        size_t body = cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0;
        if (n >= (size_t)(end + 4 - buf) + body)
            return;
    }
}

/* Answers every forwarded request with the script and closes: a fresh
 * upstream connection per forwarded request. */
static void *upstream_main(void *arg)
{
    (void)arg;
    for (;;) {
        int c = accept(upstream_fd, NULL, NULL);
        if (c < 0)
            continue;
        read_request(c);
        pthread_mutex_lock(&script_lock);
        const char *s = script ? script : default_answer;
        size_t n = script ? script_len : sizeof(default_answer) - 1;
        ssize_t w = n ? send(c, s, n, MSG_NOSIGNAL) : 0;
        pthread_mutex_unlock(&script_lock);
        (void)w;
        close(c);
    }
    return NULL;
}

/* The two sub-requests of a "/s" request: their outcomes and sizes. */
typedef struct {
    int pending;
    char text[128];
    size_t len;
} subs_t;

static void sub_done(souk_edge_req_t *req, const souk_edge_sub_result_t *res, void *ud)
{
    subs_t *st = ud;
    for (size_t i = 0; i < res->nheaders; i++)
        (void)strlen(res->headers[i].name), (void)strlen(res->headers[i].value);
    int n = snprintf(st->text + st->len, sizeof(st->text) - st->len, "%d %d %zu\n", res->outcome,
                     res->status, res->body_len);
    if (n > 0 && (size_t)n < sizeof(st->text) - st->len)
        st->len += (size_t)n;
    if (--st->pending == 0)
        souk_edge_reply(req, 200, "text/plain", st->text, st->len);
}

static void subs(souk_edge_req_t *req)
{
    subs_t *st = souk_arena_alloc(req->arena, sizeof(*st));
    memset(st, 0, sizeof(*st));
    souk_edge_defer(req, NULL, NULL);
    static const souk_edge_header_t h[] = {{"Accept", "application/json"}};
    souk_edge_sub_t sub = {.upstream = 0,
                           .method = "GET",
                           .target = "/sub",
                           .headers = h,
                           .nheaders = 1,
                           .max_response = 1024,
                           .done = sub_done,
                           .ud = st};
    st->pending += souk_edge_sub_start(req, &sub) == SOUK_OK;
    sub.method = "POST";
    sub.body = req->body;
    sub.body_len = req->body_len;
    st->pending += souk_edge_sub_start(req, &sub) == SOUK_OK;
    if (!st->pending)
        souk_edge_problem(req, 500, "no sub-request");
}

static void handler(souk_edge_req_t *req, void *ud)
{
    (void)ud;
    req->route = "fuzz";
    if (strncmp(req->path, "/u", 2) == 0) {
        souk_edge_forward(req, 0);
        return;
    }
    if (strncmp(req->path, "/s", 2) == 0) {
        subs(req);
        return;
    }
    (void)souk_edge_header(req, "Host");
    (void)souk_edge_bearer(req);
    souk_edge_set_header(req, "X-Fuzz", "1");
    souk_edge_reply(req, 200, "text/plain", req->body, req->body_len);
}

static void start(void)
{
    static souk_metrics_t *metrics;
    int up_port;
    pthread_t t;
    if (souk_log_init("fuzz-edge", "error") != SOUK_OK)
        abort();
    upstream_fd = listen_any(&up_port);
    if (pthread_create(&t, NULL, upstream_main, NULL) != 0)
        abort();
    metrics = souk_metrics_new();
    souk_edge_upstream_t up = {.name = "up", .host = "127.0.0.1", .port = up_port};
    souk_edge_config_t cfg = {
        .service = "fuzz",
        .threads = 1,
        .body_limit = 4096,
        .url_limit = 1024,
        .header_limit = 4096,
        .max_headers = 20,
        .read_timeout_ms = 200,
        .idle_timeout_ms = 200,
        .send_timeout_ms = 200,
        .upstream_timeout_ms = 300,
        .connect_timeout_ms = 200,
        .upstreams = &up,
        .nupstreams = 1,
        .handler = handler,
        .metrics = metrics,
    };
    if (souk_edge_start(&cfg, &edge) != SOUK_OK)
        abort();
    edge_port = souk_edge_port(edge);
}

/* A new connection to the edge. Thousands of inputs a second use up the
 * loopback's ephemeral ports for a moment: wait for one (bounded) rather
 * than report the machine's limit as a crash. */
static int connect_edge(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)edge_port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    for (int tries = 0; tries < 200; tries++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            abort();
        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
            return fd;
        int err = errno;
        close(fd);
        /* EINTR: libFuzzer's timeout alarm went off during the connect */
        if (err != EADDRNOTAVAIL && err != EAGAIN && err != EINTR) {
            fprintf(stderr, "fuzz_edge: connect to the edge: %s\n", strerror(err));
            abort();
        }
        poll(NULL, 0, 10);
    }
    fprintf(stderr, "fuzz_edge: no local port for a connection to the edge\n");
    abort();
}

/* Closes without leaving the port in TIME_WAIT (the answer is all read). */
static void close_now(int fd)
{
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(fd);
}

/* Everything the edge sends until it closes (bounded: its timeouts are far
 * below the 5 s given here). */
static size_t read_all(int fd, char *out, size_t cap)
{
    size_t n = 0;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    for (;;) {
        int ready = poll(&p, 1, 5000);
        if (ready < 0 && errno == EINTR) /* libFuzzer's timeout alarm */
            continue;
        if (ready <= 0)
            break;
        char sink[4096];
        char *dst = n < cap ? out + n : sink;
        size_t room = n < cap ? cap - n : sizeof(sink);
        ssize_t r = read(fd, dst, room);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char answer[65536];
    if (!edge)
        start();
    const uint8_t *mark = memmem(data, size, MARKER, strlen(MARKER));
    size_t req_len = mark ? (size_t)(mark - data) : size;

    pthread_mutex_lock(&script_lock);
    free(script);
    script = mark ? fuzz_strndup(mark + 3, size - req_len - 3) : NULL;
    script_len = mark ? size - req_len - 3 : 0;
    pthread_mutex_unlock(&script_lock);

    int fd = connect_edge();
    /* In two writes, so a request head split across reads is parsed too. */
    size_t half = req_len / 2;
    if ((half && send(fd, data, half, MSG_NOSIGNAL) < 0) ||
        (req_len > half && send(fd, data + half, req_len - half, MSG_NOSIGNAL) < 0)) {
        close(fd);
        return 0;
    }
    shutdown(fd, SHUT_WR);
    size_t n = read_all(fd, answer, sizeof(answer));
    close_now(fd);
    if (n > 0)
        FUZZ_CHECK(n >= 9 && memcmp(answer, "HTTP/1.1 ", 9) == 0);
    return 0;
}
