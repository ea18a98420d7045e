/* peer.c: who the client is. The peer address of the connection, unless the
 * peer is a proxy we were told to trust: then X-Forwarded-For is read from
 * the right, skipping the entries our trusted proxies added, and the first
 * address that no trusted proxy vouches for is the client. Entries further
 * left were written by the client itself and prove nothing.
 *
 * The one rule of souk for this, used by the souk/http.h server (its
 * trusted proxies live in the server) and, through souk_http_proxies_new and
 * souk_http_client_ip, by any other engine that faces clients (the gateway's
 * edge). */
#include "http_int.h"

#include <arpa/inet.h>
#include <string.h>

typedef struct {
    int family;
    uint8_t addr[16];
} ip_t;

static bool ip_parse(const char *s, size_t len, ip_t *out)
{
    char buf[INET6_ADDRSTRLEN];
    while (len && (*s == ' ' || *s == '\t'))
        s++, len--;
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (len == 0 || len >= sizeof(buf))
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, buf, out->addr) == 1) {
        out->family = AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, buf, out->addr) == 1) {
        out->family = AF_INET6;
        return true;
    }
    return false;
}

static bool cidr_contains(const souk_http__cidr_t *c, const ip_t *ip)
{
    if (c->family != ip->family)
        return false;
    unsigned full = c->prefix / 8, rest = c->prefix % 8;
    if (memcmp(c->addr, ip->addr, full) != 0)
        return false;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return rest == 0 || (c->addr[full] & mask) == (ip->addr[full] & mask);
}

static bool trusted(const souk_http__cidr_t *list, size_t n, const ip_t *ip)
{
    for (size_t i = 0; i < n; i++)
        if (cidr_contains(&list[i], ip))
            return true;
    return false;
}

static souk_err_t cidr_parse(const char *s, size_t len, souk_http__cidr_t *out)
{
    const char *slash = memchr(s, '/', len);
    ip_t ip;
    if (!ip_parse(s, slash ? (size_t)(slash - s) : len, &ip))
        return SOUK_EINVAL;
    unsigned max = ip.family == AF_INET ? 32 : 128;
    long prefix = max;
    if (slash && souk_parse_long(slash + 1, len - (size_t)(slash + 1 - s), 0, max, &prefix))
        return SOUK_EINVAL;
    out->family = ip.family;
    memcpy(out->addr, ip.addr, sizeof(out->addr));
    out->prefix = (unsigned)prefix;
    return SOUK_OK;
}

/* Parses a comma-separated list into list[0..*n) (at most
 * SOUK_HTTP_MAX_PROXIES entries); SOUK_EINVAL (logged) on a bad entry. */
static souk_err_t list_parse(const char *list, souk_http__cidr_t *out, size_t *n)
{
    *n = 0;
    for (const char *p = list; p && *p;) {
        size_t len = strcspn(p, ",");
        const char *e = p;
        size_t k = len;
        while (k && *e == ' ')
            e++, k--;
        while (k && e[k - 1] == ' ')
            k--;
        if (k) {
            if (*n == SOUK_HTTP_MAX_PROXIES || cidr_parse(e, k, &out[*n]) != SOUK_OK) {
                souk_log_error("trusted proxies: cannot use \"%.*s\" (an address or CIDR block, "
                               "at most %d entries)",
                               (int)k, e, SOUK_HTTP_MAX_PROXIES);
                return SOUK_EINVAL;
            }
            (*n)++;
        }
        p += len + (p[len] == ',');
    }
    return SOUK_OK;
}

souk_err_t souk_http__proxies_parse(souk_http_server_t *srv, const char *list)
{
    return list_parse(list, srv->proxies, &srv->nproxies);
}

static bool peer_ip(const struct sockaddr *sa, ip_t *out)
{
    memset(out, 0, sizeof(*out));
    if (sa && sa->sa_family == AF_INET) {
        out->family = AF_INET;
        memcpy(out->addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return true;
    }
    if (sa && sa->sa_family == AF_INET6) {
        out->family = AF_INET6;
        memcpy(out->addr, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
        return true;
    }
    return false;
}

/* The rule itself, on a list of trusted proxies. */
static void client_address(const souk_http__cidr_t *list, size_t n, const struct sockaddr *peer,
                           const char *xff, char *out)
{
    ip_t cur;
    if (!peer_ip(peer, &cur)) {
        snprintf(out, INET6_ADDRSTRLEN, "unknown");
        return;
    }
    /* Walk right to left while the hop we stand on is a trusted proxy. */
    size_t end = xff ? strlen(xff) : 0;
    while (end > 0 && trusted(list, n, &cur)) {
        size_t start = end;
        while (start > 0 && xff[start - 1] != ',')
            start--;
        ip_t next;
        if (!ip_parse(xff + start, end - start, &next))
            break; /* garbage from a trusted proxy: the proxy is all we know */
        cur = next;
        end = start ? start - 1 : 0;
    }
    inet_ntop(cur.family, cur.addr, out, INET6_ADDRSTRLEN);
}

void souk_http__client_address(const souk_http_server_t *srv, const struct sockaddr *peer,
                               const char *xff, char *out)
{
    client_address(srv->proxies, srv->nproxies, peer, xff, out);
}

/* ---- the same rule for other engines -------------------------------------- */

struct souk_http_proxies {
    size_t n;
    souk_http__cidr_t list[SOUK_HTTP_MAX_PROXIES];
};

souk_err_t souk_http_proxies_new(const char *list, souk_http_proxies_t **out)
{
    souk_http_proxies_t *p = souk_calloc(1, sizeof(*p));
    *out = NULL;
    if (list_parse(list, p->list, &p->n) != SOUK_OK) {
        souk_free(p);
        return SOUK_EINVAL;
    }
    *out = p;
    return SOUK_OK;
}

void souk_http_proxies_free(souk_http_proxies_t *p)
{
    souk_free(p);
}

bool souk_http_proxies_any(const souk_http_proxies_t *p)
{
    return p && p->n > 0;
}

void souk_http_client_ip(const souk_http_proxies_t *p, const struct sockaddr *peer, const char *xff,
                         char *out)
{
    client_address(p ? p->list : NULL, p ? p->n : 0, peer, xff, out);
}
