/* souk/edge.h: a lean HTTP/1.1 reverse-proxy engine for the gateway. One
 * event-loop thread per core, each with its own SO_REUSEPORT listening
 * socket and an edge-triggered epoll whose registrations are made once per
 * socket and never changed; requests parsed with http-parser; keep-alive and
 * pipelined requests answered in order; idle upstream connections kept per
 * loop thread and per upstream, still registered, and reused.
 *
 * For every request a handler runs on the loop thread with a view of it and
 * decides at once: reply now, forward to one of the configured upstreams, or
 * defer the reply and make sub-requests of its own to the upstreams (on the
 * same pooled connections, each response buffered and handed to a callback
 * on the same loop thread), replying from a callback. The engine does the
 * rest the way libs/http's server does: request id and trace context
 * (received or made, echoed, passed upstream), the client's address (the
 * peer, or X-Forwarded-For from trusted proxies: libs/http's one rule),
 * problem+json for every error it answers itself (souk_http_problem_body),
 * the access log line and the http_requests_* metrics, and the
 * request-smuggling defences.
 *
 * Bounded everything: the request line (414), header bytes and count (431),
 * the body (413; buffered, forwarded with Content-Length, chunked bodies
 * de-chunked), slow request heads and bodies (408), idle keep-alive, slow
 * readers of a response, upstream connect and exchange (504). Refused with
 * 400: duplicate or conflicting Content-Length, Transfer-Encoding with
 * Content-Length, any Transfer-Encoding but chunked, folded (obs-fold)
 * header lines, bytes not allowed in header names or values, NUL, bare CR or
 * LF. Methods outside GET HEAD POST PUT PATCH DELETE OPTIONS get 501.
 *
 * It deliberately does not do TLS, HTTP/2, upgrades (WebSocket), request
 * streaming (bodies are buffered) or anything blocking: a handler and a
 * sub-request's callback must not wait on the network or a lock held across
 * I/O; CPU work is theirs to bound. Work that blocks belongs on another
 * server the edge forwards to (the gateway's internal souk/http.h server). */
#ifndef SOUK_EDGE_H
#define SOUK_EDGE_H

#include <souk/core.h>
#include <souk/obs.h>

typedef struct souk_edge souk_edge_t;
typedef struct souk_edge__exchange souk_edge__exchange_t;

/* A request header; both strings NUL-terminated, owned by the request. */
typedef struct {
    const char *name;
    const char *value;
} souk_edge_header_t;

/* The request a handler sees. Everything is owned by the request and valid
 * until the handler returns (arena allocations until the request ends). */
typedef struct souk_edge_req {
    souk_arena_t *arena; /* per-request allocations */
    const char *method;  /* one of the served set (static string) */
    const char *url;     /* request target as received: path and query */
    const char *path;    /* the target up to '?', not decoded */
    const char *query;   /* after '?', or NULL */
    const souk_edge_header_t *headers;
    size_t nheaders;
    const char *client_ip;  /* the client: the peer, or what trusted proxies say */
    const char *request_id; /* X-Request-Id received (when usable) or made */
    souk_trace_t trace;     /* this request's span */
    const char *body;       /* the whole body (de-chunked), NULL when empty */
    size_t body_len;
    /* Set by the handler: the route label of metrics and logs, from a closed
     * set (a template, or a name such as "rate_limited"); "unmatched" until
     * set. Static or arena storage. */
    const char *route;
    /* Optional, set by the handler: a JSON object of extra fields for the
     * request's access log line. Owned by the request (released at its end). */
    json_t *log_fields;
    souk_edge__exchange_t *x; /* private */
} souk_edge_req_t;

/* Decides what happens to req; must call exactly one of souk_edge_reply,
 * souk_edge_problem, souk_edge_forward or souk_edge_defer before returning
 * (a handler that does not is answered 500). Runs on a loop thread: never
 * blocks. */
typedef void (*souk_edge_handler_fn)(souk_edge_req_t *req, void *ud);

typedef struct {
    const char *name; /* the label in logs and metrics ("auth") */
    const char *host; /* an address or a name, resolved once at start */
    int port;
    /* The upstream logs and counts the requests it serves itself (the
     * process's own internal server): the edge writes no access line and
     * counts no http_requests_* for those it forwards there and gets an
     * answer for. Upstream failures are still the edge's. */
    bool accounted;
} souk_edge_upstream_t;

#define SOUK_EDGE_MAX_UPSTREAMS 16

typedef struct {
    const char *service;          /* service.name label of the metrics ("gateway") */
    const char *bind;             /* default "127.0.0.1" */
    int port;                     /* 0: an ephemeral port (souk_edge_port) */
    unsigned threads;             /* loop threads; 0: one per core */
    size_t body_limit;            /* default 1 MiB -> 413 */
    size_t url_limit;             /* request target bytes; default 8 KiB -> 414 */
    size_t header_limit;          /* bytes of all header lines; default 32 KiB -> 431 */
    unsigned max_headers;         /* default 100 -> 431 */
    unsigned read_timeout_ms;     /* a request's head and body; default 10000 -> 408 */
    unsigned idle_timeout_ms;     /* between keep-alive requests; default 60000 */
    unsigned send_timeout_ms;     /* a client that takes no byte this long is dropped; 60000 */
    unsigned upstream_timeout_ms; /* a whole upstream exchange; default 10000 -> 504 */
    unsigned connect_timeout_ms;  /* default 1000 -> 504 */
    unsigned pool_idle_ms;        /* pooled upstream connections closed after; default 30000 */
    unsigned drain_timeout_ms;    /* souk_edge_stop waits this long at most; default 10000 */
    const souk_edge_upstream_t *upstreams; /* copied; at most SOUK_EDGE_MAX_UPSTREAMS */
    size_t nupstreams;
    souk_edge_handler_fn handler; /* required */
    void *handler_ud;
    souk_metrics_t *metrics; /* required, borrowed: http_requests_total and friends */
    /* Optional, borrowed families: a counter labelled {upstream, outcome}
     * (outcome ok, 5xx, timeout, refused, error) and a histogram labelled
     * {upstream} of exchange seconds; forwarded requests and sub-requests
     * alike. */
    souk_metric_t *upstream_requests;
    souk_metric_t *upstream_seconds;
    /* Comma-separated addresses or CIDR blocks of proxies whose
     * X-Forwarded-For is believed (req->client_ip is then the right-most
     * address they did not add); NULL or "": the peer is the client. */
    const char *trusted_proxies;
} souk_edge_config_t;

/* Resolves the upstreams, binds the listening sockets and starts the loop
 * threads. SOUK_EINVAL for a bad config (trusted proxies included) or an
 * upstream that does not resolve, SOUK_EIO when the port cannot be bound (logged). On success
 * *out runs until souk_edge_stop(). */
souk_err_t souk_edge_start(const souk_edge_config_t *cfg, souk_edge_t **out) SOUK_MUST_CHECK;
/* The port the edge listens on. */
int souk_edge_port(const souk_edge_t *e);
/* Graceful stop: stops accepting, closes idle connections, lets requests in
 * flight finish (answered with Connection: close) for at most
 * drain_timeout_ms, then closes everything, joins the threads and frees e.
 * NULL ok. Not to be called from a handler. */
void souk_edge_stop(souk_edge_t *e);

/* ---- inside a handler ------------------------------------------------------ */

/* The value of the first header called name (case-insensitive), or NULL. */
const char *souk_edge_header(const souk_edge_req_t *req, const char *name);
/* The bearer token of the Authorization header, or NULL. */
const char *souk_edge_bearer(const souk_edge_req_t *req);
/* Adds a header to what the client gets, a reply or a forwarded response
 * (CORS, Retry-After). Copied. At most 32 per request; more are dropped. */
void souk_edge_set_header(souk_edge_req_t *req, const char *name, const char *value);
/* Replies status with body (copied; NULL for none) of content_type (NULL:
 * no Content-Type). */
void souk_edge_reply(souk_edge_req_t *req, int status, const char *content_type, const void *body,
                     size_t len);
/* Replies problem+json (souk_http_problem_body); 401 adds
 * WWW-Authenticate: Bearer. */
void souk_edge_problem(souk_edge_req_t *req, int status, const char *detail);
/* Forwards the request to upstreams[upstream] of the config: the target as
 * received, end-to-end headers (hop-by-hop ones dropped), X-Request-Id,
 * traceparent (this request's span), X-Forwarded-For (the client) and
 * X-Forwarded-Proto; the body with Content-Length. The response comes back
 * with its end-to-end headers plus X-Request-Id, traceparent and the
 * handler's own; failures become 502 (broken), 503 (refused; Retry-After)
 * or 504 (timed out). A request with an idempotent method is sent once more
 * on a fresh connection when a pooled connection turns out closed before any
 * byte of a response. */
void souk_edge_forward(souk_edge_req_t *req, size_t upstream);

/* ---- deferred replies and sub-requests -------------------------------------- */

/* Called once when a deferred request ends unanswered: the client went away
 * or the edge stopped. Its sub-requests are already cancelled (their
 * callbacks are never called); req and its arena are freed when it returns.
 * It must not reply. */
typedef void (*souk_edge_abort_fn)(souk_edge_req_t *req, void *ud);

/* The handler's decision to answer later, with souk_edge_reply or
 * souk_edge_problem called from a sub-request's callback. The request's view
 * stays valid until it is answered or aborted. on_abort (NULL: none) frees
 * what the handler holds for the request when it ends unanswered. A deferred
 * request with nothing in flight and no answer once its handler or a
 * callback returns is a bug: it is logged and answered 500. Replying cancels
 * the sub-requests still in flight (their callbacks are not called). */
void souk_edge_defer(souk_edge_req_t *req, souk_edge_abort_fn on_abort, void *ud);

typedef enum {
    SOUK_EDGE_SUB_OK,      /* a complete response: status, headers, body */
    SOUK_EDGE_SUB_REFUSED, /* the upstream refused the connection (or is unreachable) */
    SOUK_EDGE_SUB_TIMEOUT, /* no connection within connect_timeout_ms, or the exchange
                              stalled for upstream_timeout_ms */
    SOUK_EDGE_SUB_BROKEN   /* the connection failed, or the response was malformed or
                              larger than max_response */
} souk_edge_sub_outcome_t;

/* What a sub-request brought back; all borrowed, valid during the callback. */
typedef struct {
    souk_edge_sub_outcome_t outcome;
    int status; /* the response's status when OK, else 0 */
    const souk_edge_header_t *headers;
    size_t nheaders;
    const char *body; /* NUL-terminated ("" when empty) */
    size_t body_len;
} souk_edge_sub_result_t;

/* A sub-request's callback, on the loop thread of its request. It may reply,
 * start more sub-requests, or neither while others are in flight. */
typedef void (*souk_edge_sub_fn)(souk_edge_req_t *req, const souk_edge_sub_result_t *res, void *ud);

#define SOUK_EDGE_MAX_SUBS             64         /* sub-requests of one request in flight */
#define SOUK_EDGE_SUB_DEFAULT_RESPONSE (8u << 20) /* body bytes buffered at most */

typedef struct {
    size_t upstream;    /* index into the config's upstreams */
    const char *method; /* GET HEAD POST PUT PATCH DELETE OPTIONS */
    const char *target; /* origin form: the path and query as they go out */
    /* Request headers (copied); Host, framing, hop-by-hop headers and the
     * ones the edge sets itself are not taken from here. */
    const souk_edge_header_t *headers;
    size_t nheaders;
    const void *body; /* sent with Content-Length (copied); NULL: none */
    size_t body_len;
    size_t max_response;        /* body bytes; 0: SOUK_EDGE_SUB_DEFAULT_RESPONSE */
    const souk_trace_t *parent; /* the span the call's client span is a child of;
                                   NULL: the request's */
    souk_edge_sub_fn done;      /* required */
    void *ud;
} souk_edge_sub_t;

/* Starts a request to an upstream on behalf of a deferred req, on one of the
 * loop's pooled keep-alive connections (or a new one): the request line and
 * headers of sub plus Host, X-Request-Id (req's), traceparent (a client span
 * of its own, child of sub->parent), X-Forwarded-For (req's client) and
 * X-Forwarded-Proto; the body with Content-Length. Several may be in flight
 * at once. Every outcome, failures included, reaches sub->done exactly once,
 * later on the loop thread (never from within this call), unless the
 * request is answered or aborted first. Bounded like forwarding (connect and
 * exchange timeouts, the response head, max_response), counted in
 * upstream_requests and upstream_seconds, and sent once more on a fresh
 * connection when an idempotent request finds a pooled connection closed.
 * Errors (the callback is then never called): SOUK_EINVAL when req is not
 * deferred or sub is malformed (unknown upstream or method, a target or
 * header with bytes HTTP does not allow), SOUK_ELIMIT past
 * SOUK_EDGE_MAX_SUBS in flight or a request that does not fit its buffer. */
souk_err_t souk_edge_sub_start(souk_edge_req_t *req, const souk_edge_sub_t *sub) SOUK_MUST_CHECK;

#endif
