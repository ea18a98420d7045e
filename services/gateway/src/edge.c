/* edge.c: the gateway on its edge engine (souk/edge.h): the edge's handler
 * runs gw_decide on each request, on the loop thread, and turns the
 * decision into a reply, a forward, or GraphQL served on the loop
 * (graphql_edge.c); and the edge's start and stop. The upstreams of the
 * edge are the deployed services plus the gateway's own internal
 * souk/http.h server, which logs and counts its requests itself. */
#include "gateway.h"
#include "graphql_gw.h"

#include <souk/svc.h>

#include <stdio.h>
#include <string.h>

void gw_edge_handler(souk_edge_req_t *req, void *ud)
{
    gateway_t *gw = ud;
    const char *origin = souk_edge_header(req, "Origin");
    gw_request_t r = {.method = req->method,
                      .path = req->path,
                      .client_ip = req->client_ip,
                      .origin = origin,
                      .preflight_method =
                          origin ? souk_edge_header(req, "Access-Control-Request-Method") : NULL,
                      .bearer = souk_edge_bearer(req),
                      .content_type = souk_edge_header(req, "Content-Type"),
                      .body_len = req->body_len};
    gw_decision_t d;
    gw_decide(gw, &r, &d);
    req->route = d.route;
    for (size_t i = 0; i < d.nheaders; i++)
        souk_edge_set_header(req, d.headers[i][0], d.headers[i][1]);
    switch (d.action) {
    case GW_FORWARD:
        souk_edge_forward(req, (size_t)gw->edge_upstream[d.upstream]);
        break;
    case GW_INTERNAL:
        if (gw->graphql && gw_graphql_edge_wants(req))
            gw_graphql_edge(gw, req);
        else
            souk_edge_forward(req, gw->edge_internal);
        break;
    case GW_REPLY:
        if (d.status == 204)
            souk_edge_reply(req, 204, NULL, NULL, 0);
        else
            souk_edge_problem(req, d.status, d.detail);
        break;
    }
}

/* "http://host:port" (an optional trailing slash); false otherwise. */
static bool parse_base(const char *url, char *host, size_t cap, int *port)
{
    if (strncmp(url, "http://", 7) != 0)
        return false;
    const char *h = url + 7;
    const char *colon = strrchr(h, ':');
    long p = 80;
    size_t hlen = strcspn(h, "/");
    if (colon && (size_t)(colon - h) < hlen) {
        size_t plen = hlen - (size_t)(colon - h) - 1;
        if (souk_parse_long(colon + 1, plen, 1, 65535, &p) != SOUK_OK)
            return false;
        hlen = (size_t)(colon - h);
    }
    if (hlen == 0 || hlen >= cap || (h[strcspn(h, "/")] && strcmp(h + strcspn(h, "/"), "/") != 0))
        return false;
    if (h[0] == '[' && hlen > 2 && h[hlen - 1] == ']') /* [::1] */
        h++, hlen -= 2;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (int)p;
    return true;
}

souk_err_t gw_start(souk_svc_t *svc, void *ud)
{
    gateway_t *gw = ud;
    souk_edge_upstream_t ups[UP__COUNT + 1];
    char hosts[UP__COUNT][256];
    size_t n = 0;
    for (int i = 0; i < UP__COUNT; i++) {
        gw->edge_upstream[i] = -1;
        const char *url = gw->upstreams[i].base_url;
        if (!url)
            continue;
        int port;
        if (!parse_base(url, hosts[i], sizeof(hosts[i]), &port)) {
            souk_log_error("upstream %s: \"%s\" is not http://host:port", gw->upstreams[i].name,
                           url);
            return SOUK_EINVAL;
        }
        gw->edge_upstream[i] = (int)n;
        ups[n++] = (souk_edge_upstream_t){gw->upstreams[i].name, hosts[i], port, false};
    }
    gw->edge_internal = n;
    ups[n++] =
        (souk_edge_upstream_t){"gateway", "127.0.0.1", souk_http_server_port(svc->http), true};
    souk_edge_config_t ec = {.service = "gateway",
                             .bind = svc->cfg->bind,
                             .port = svc->cfg->port,
                             .threads = (unsigned)gw->edge_threads,
                             .upstream_timeout_ms = (unsigned)gw->timeout_ms,
                             .upstreams = ups,
                             .nupstreams = n,
                             .handler = gw_edge_handler,
                             .handler_ud = gw,
                             .metrics = svc->metrics,
                             .upstream_requests = gw->upstream_requests,
                             .upstream_seconds = gw->upstream_seconds,
                             .trusted_proxies = svc->cfg->trusted};
    return souk_edge_start(&ec, &gw->edge);
}

void gw_stop(void *ud)
{
    gateway_t *gw = ud;
    souk_edge_stop(gw->edge);
    gw->edge = NULL;
}
