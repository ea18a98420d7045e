/* edge_int.h: private to libs/edge: the loop, client and upstream
 * connection structures shared by loop.c (threads, epoll, timers,
 * accept, shutdown), client.c (requests, replies, access log),
 * upstream.c (pooled upstream connections and response relaying) and
 * sub.c (a handler's sub-requests on those connections). */
#ifndef SOUK_EDGE_INT_H
#define SOUK_EDGE_INT_H

#include <souk/edge.h>
#include <souk/http.h>

#include <http_parser.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>

#define EDGE_IN_SIZE      16384        /* read buffer of a connection */
#define EDGE_OUT_MAX      (4u << 20)   /* bytes queued for one client */
#define EDGE_OUT_HIGH     (256u << 10) /* above this, upstream reads pause */
#define EDGE_RESP_HEAD    (64u << 10)  /* an upstream response head */
#define EDGE_MAX_EXTRA    32           /* handler headers per request */
#define EDGE_MAX_CONN_TOK 8            /* names listed in Connection */
#define EDGE_POOL_MAX     256          /* idle connections per upstream and loop */
#define EDGE_SUB_HEADERS  128          /* response headers of a sub-request */
#define EDGE_SPARE_SUBS   64           /* finished sub-requests kept per loop for reuse */
#define EDGE_SPARE_BUF    (64u << 10)  /* ... unless a buffer of theirs grew past this */

/* ---- intrusive lists and timers ------------------------------------------- */

typedef struct souk_edge__node {
    struct souk_edge__node *prev, *next;
    uint64_t deadline; /* monotonic ns, for timer lists */
    int list;          /* the timer list it is on, -1 when none */
} node_t;

/* Timer lists: each holds one kind of wait with one fixed timeout, so
 * appending keeps it sorted by deadline and every operation is O(1). */
enum { T_IDLE, T_READ, T_SEND, T_LINGER, T_CONNECT, T_EXCHANGE, T_POOL, T__COUNT };
#define EDGE_LINGER_MS 5000 /* reading what a refused client still sends */

typedef struct {
    node_t head; /* sentinel of a circular list */
    uint64_t timeout_ns;
} tlist_t;

void souk_edge__list_init(node_t *head);
void souk_edge__list_unlink(node_t *n);
void souk_edge__list_push_back(node_t *head, node_t *n);
void souk_edge__list_push_front(node_t *head, node_t *n);
static inline bool list_empty(const node_t *head)
{
    return head->next == head;
}

/* ---- what epoll reports on -------------------------------------------------- */

enum { IO_LISTEN, IO_WAKE, IO_CLIENT, IO_UPSTREAM };

typedef struct {
    int kind;
    int fd;
} io_t;

typedef struct souk_edge__loop loop_t;
typedef struct souk_edge__client client_t;
typedef struct souk_edge__upconn upconn_t;
typedef struct souk_edge__sub sub_t;

/* Why an upstream exchange failed. */
enum { FAIL_BROKEN, FAIL_REFUSED, FAIL_TIMEOUT };

/* Collects header names and values (split across reads as they may be)
 * into one buffer of NUL-terminated strings, by offset until complete. */
typedef struct {
    souk_buf_t buf;
    size_t (*off)[2]; /* name, value offsets */
    size_t n, max;
    int state; /* 0: nothing yet, 1: in a name, 2: in a value */
    bool too_many;
} hcollect_t;

/* ---- a request and its exchange ---------------------------------------------- */

enum { X_NONE, X_REPLY, X_FORWARD, X_DEFER };
enum { FRAME_NONE, FRAME_LENGTH, FRAME_CHUNKED, FRAME_CLOSE };

struct souk_edge__exchange {
    souk_edge_req_t req;
    client_t *c;
    uint64_t t0;
    souk_buf_t url; /* the request target */
    hcollect_t hc;  /* request headers */
    souk_buf_t body;
    /* what the head said */
    int cl_count, te_count;
    bool te_chunked, expect_continue, http10, keepalive, head_done;
    int fail_status; /* 0, or the error status answered (the connection then closes) */
    const char *fail_detail;
    char conn_tok[EDGE_MAX_CONN_TOK][32]; /* header names listed in Connection */
    size_t nconn_tok;
    /* the handler's decision */
    int decision;
    int status;
    souk_edge_header_t extra[EDGE_MAX_EXTRA];
    size_t nextra;
    bool counted;              /* in http_requests_in_flight */
    souk_span_t span, up_span; /* the server span (req.trace), the upstream call's */
    /* forwarding */
    size_t upstream;
    upconn_t *up;
    bool retried;
    uint64_t up_t0;
    souk_buf_t upreq; /* the request as sent upstream */
    size_t upreq_off;
    hcollect_t rh; /* the upstream's response headers */
    int frame;
    bool head_sent; /* the response head went to the client's queue */
    bool done;      /* the response is complete in the client's queue */
    /* deferred */
    node_t subs; /* its sub-requests not delivered yet */
    size_t nsubs;
    souk_edge_abort_fn on_abort;
    void *abort_ud;
};

/* A sub-request: the request as it goes out, then its response as it is
 * buffered; owned by its exchange until its callback has run. */
struct souk_edge__sub {
    node_t link;  /* in its exchange's subs */
    node_t ready; /* in the loop's ready list once its outcome is known */
    struct souk_edge__exchange *x;
    upconn_t *up; /* the connection it is on, or NULL */
    size_t upstream;
    const char *method; /* static label */
    bool retried, ended;
    int outcome; /* souk_edge_sub_outcome_t, once known */
    souk_buf_t req;
    size_t req_off;
    hcollect_t rh; /* response headers */
    souk_buf_t body;
    int status;
    uint64_t t0;
    souk_span_t span;
    souk_edge_sub_fn done;
    void *ud;
};

/* ---- connections --------------------------------------------------------------- */

enum { C_IDLE, C_READING, C_BUSY, C_WRITING };

struct souk_edge__client {
    io_t io;
    loop_t *loop;
    node_t timer;
    node_t all; /* the loop's clients */
    int state;
    http_parser parser;
    char in[EDGE_IN_SIZE];
    size_t in_start, in_end;
    bool can_read, rdhup, eof, close_after, closed, in_request, lingering;
    size_t head_bytes;
    /* head scanner: folded lines, NUL, bare CR/LF, the method */
    bool scan_done, scan_cr, scan_line_start;
    size_t scan_line, scan_line_len;
    char scan_method[16];
    size_t scan_method_len;
    bool scan_method_done;
    struct souk_edge__exchange x;
    souk_buf_t out;
    size_t out_off;
    char ip[INET6_ADDRSTRLEN]; /* the peer's address */
    struct sockaddr_storage peer;
};

enum { U_CONNECTING, U_SENDING, U_READING, U_IDLE };

struct souk_edge__upconn {
    io_t io;
    loop_t *loop;
    node_t timer;
    node_t pool; /* in its upstream's idle stack */
    size_t upstream;
    int state;
    bool reused, got_bytes, paused, can_read, broken;
    http_parser parser;
    char in[EDGE_IN_SIZE];
    size_t in_len;
    struct souk_edge__exchange *x; /* the forwarded request it relays, or */
    sub_t *s;                      /* the sub-request it serves, or neither (idle) */
};

/* ---- loops and the engine --------------------------------------------------------- */

typedef struct {
    char *name, *host;
    int port;
    bool accounted;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char host_header[300];
} upstream_t;

struct souk_edge__loop {
    souk_edge_t *edge;
    pthread_t thread;
    bool started;
    int epfd;
    io_t listen, wake;
    tlist_t timers[T__COUNT];
    node_t *pools; /* per upstream: idle connections, most recent first */
    size_t *npool;
    node_t clients;
    size_t nclients;
    /* closed this round; freed once no event of the batch can name them */
    node_t dead_clients, dead_upconns;
    node_t ready; /* sub-requests whose callbacks are due */
    node_t spare; /* finished sub-requests, their buffers kept, for the next ones */
    size_t nspare;
    bool stopping;
    uint64_t stop_deadline;
    uint64_t now;
};

struct souk_edge {
    souk_edge_config_t cfg;
    char *service, *bind;
    upstream_t ups[SOUK_EDGE_MAX_UPSTREAMS];
    size_t nups;
    loop_t *loops;
    unsigned nloops;
    int port;
    souk_metric_t *requests, *durations, *inflight;
    souk_http_proxies_t *proxies; /* NULL: the peer is the client */
};

/* loop.c */
void souk_edge__timer_set(loop_t *l, node_t *n, int list);
void souk_edge__timer_clear(node_t *n);
/* Registers fd once (in, out, rdhup, edge-triggered); false on failure. */
bool souk_edge__watch(loop_t *l, io_t *io);
/* Leaves the epoll set, then closes io's descriptor. */
void souk_edge__unwatch_close(loop_t *l, io_t *io);

/* client.c */
void souk_edge__client_accept(loop_t *l, int fd, const struct sockaddr_storage *peer);
void souk_edge__client_event(client_t *c, uint32_t events);
void souk_edge__client_timeout(client_t *c);
void souk_edge__client_close(client_t *c);
/* Drives a client as far as it can go (reads, parses, writes). */
void souk_edge__client_run(client_t *c);
/* Appends to the client's queue; false (client closing) past EDGE_OUT_MAX. */
bool souk_edge__out(client_t *c, const void *p, size_t n);
/* The response head for status with the exchange's extra headers and
 * framing; the headers block passed is raw "Name: value\r\n" lines. */
void souk_edge__head(client_t *c, int status, const char *headers, size_t hlen, int frame,
                     size_t content_length);
/* Ends the exchange (access log, metrics) once its response is complete in
 * the queue; logged says whether the edge accounts for it. */
void souk_edge__exchange_end(struct souk_edge__exchange *x, bool logged);
/* Replies a problem from the engine itself (after a failure upstream). */
void souk_edge__fail(struct souk_edge__exchange *x, int status, const char *detail);

/* upstream.c */
void souk_edge__forward_start(struct souk_edge__exchange *x);
void souk_edge__upconn_event(upconn_t *u, uint32_t events);
void souk_edge__upconn_timeout(upconn_t *u);
void souk_edge__upconn_close(upconn_t *u);
/* The client drained its queue below the mark: resume relaying. */
void souk_edge__upconn_resume(upconn_t *u);
/* The client went away mid-exchange: the connection cannot be reused. */
void souk_edge__upconn_abandon(upconn_t *u);
/* A connection to upstream i: the most recent idle one, or a new one (then
 * possibly still connecting); NULL with *err (errno) when none can be had. */
upconn_t *souk_edge__upconn_get(loop_t *l, size_t i, int *err);
/* Puts s on u and sends its request once u is connected. */
void souk_edge__upconn_start_sub(upconn_t *u, sub_t *s);
/* u is done with its sub-request: back to the pool when reusable and the
 * response allowed keep-alive, else closed. */
void souk_edge__upconn_release(upconn_t *u, bool reusable);

/* sub.c */
/* The sub-request's outcome is known (u already let go of it): counted,
 * its span ended, and queued for its callback. */
void souk_edge__sub_failed(sub_t *s, int why);
/* u read s's whole response: u goes back (reusable or not), s is queued. */
void souk_edge__sub_response(upconn_t *u, bool reusable);
extern const http_parser_settings souk_edge__sub_settings;
/* Runs the callbacks that are due, and the clients they answered. */
void souk_edge__ready_run(loop_t *l);
/* Cancels x's sub-requests (no callback); their connections are closed. */
void souk_edge__subs_cancel(struct souk_edge__exchange *x);
/* A deferred x that waits on nothing: logged and answered 500. */
void souk_edge__check_stuck(struct souk_edge__exchange *x);
/* Frees the loop's spare sub-requests (at its end). */
void souk_edge__spare_free(loop_t *l);

/* collector (client.c) */
void souk_edge__hc_init(hcollect_t *h, size_t max_bytes, size_t max_headers);
void souk_edge__hc_reset(hcollect_t *h);
void souk_edge__hc_cleanup(hcollect_t *h);
bool souk_edge__hc_add(hcollect_t *h, int what, const char *at, size_t len);
bool souk_edge__hc_end(hcollect_t *h);
void souk_edge__hc_get(const hcollect_t *h, size_t i, const char **name, const char **value);
/* True for hop-by-hop header names (and those a Connection header lists). */
bool souk_edge__hop_by_hop(const char *name, const struct souk_edge__exchange *x);

#endif
