/* clients.c: souk as an OAuth 2.0 authorization server for machine clients
 * (RFC 6749 §4.4, client credentials). Holders of clients:write register
 * clients with a subset of their own permissions as scopes; the secret is
 * 32 random bytes, shown once and kept as a hash. POST /oauth/token
 * authenticates a client by HTTP Basic or body fields and issues a token
 * whose scope is the client's (or the requested subset); its errors are
 * RFC 6749 §5.2 JSON, not problem+json. A deleted client stays listed in the
 * key set's souk_revoked_clients for as long as its tokens can live, so
 * every verifier refuses them within its recheck bound. The metadata of RFC
 * 8414 describes the token endpoint. */
#include "app.h"

#include <souk/svc.h>

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define CLIENT_NAME_MAX 100
#define FORM_MAX_PARAMS 8
#define FORM_VALUE_MAX  512

/* ---- the token endpoint's form -------------------------------------------- */

typedef struct {
    size_t n;
    const char *names[FORM_MAX_PARAMS], *values[FORM_MAX_PARAMS];
    bool duplicate, malformed;
} form_t;

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Decodes application/x-www-form-urlencoded [s, s+n) ('+' is a space) into
 * an arena string; NULL when malformed (bad escape, NUL, too long). */
static char *form_decode(souk_arena_t *arena, const char *s, size_t n)
{
    if (n > FORM_VALUE_MAX * 3)
        return NULL;
    char *out = souk_arena_alloc(arena, n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            int hi = i + 2 < n ? hexval(s[i + 1]) : -1;
            int lo = i + 2 < n ? hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return NULL;
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[o++] = s[i] == '+' ? ' ' : s[i];
        }
    }
    out[o] = '\0';
    return o <= FORM_VALUE_MAX ? out : NULL;
}

static void form_parse(souk_http_ctx_t *ctx, form_t *f)
{
    memset(f, 0, sizeof(*f));
    const char *p = ctx->body, *end = ctx->body ? ctx->body + ctx->body_len : NULL;
    while (p && p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        if (stop > p) {
            char *name = form_decode(ctx->arena, p, (size_t)((eq ? eq : stop) - p));
            char *value = eq ? form_decode(ctx->arena, eq + 1, (size_t)(stop - eq - 1))
                             : souk_arena_strdup(ctx->arena, "");
            if (!name || !value || f->n == FORM_MAX_PARAMS) {
                f->malformed = true;
                return;
            }
            for (size_t i = 0; i < f->n; i++)
                f->duplicate |= strcmp(f->names[i], name) == 0;
            f->names[f->n] = name;
            f->values[f->n++] = value;
        }
        p = stop + 1;
    }
}

static const char *form_get(const form_t *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->names[i], name) == 0)
            return f->values[i];
    return NULL;
}

/* ---- RFC 6749 §5 answers ------------------------------------------------- */

static void oauth_error(souk_http_ctx_t *ctx, int status, const char *error, bool basic)
{
    souk_http_set_header(ctx, "Cache-Control", "no-store");
    souk_http_set_header(ctx, "Pragma", "no-cache");
    if (basic)
        souk_http_set_header(ctx, "WWW-Authenticate", "Basic realm=\"souk\"");
    souk_http_reply_json(ctx, status, json_pack("{s:s}", "error", error));
}

/* HTTP Basic credentials (RFC 6749 §2.3.1: each part form-encoded); false
 * when the header is absent; *bad when it is malformed. */
static bool basic_credentials(souk_http_ctx_t *ctx, const char **id, const char **secret, bool *bad)
{
    const char *h = souk_http_header(ctx, "Authorization");
    *bad = false;
    if (!h || strncasecmp(h, "Basic ", 6) != 0)
        return false;
    const char *b64 = h + 6;
    size_t n = strlen(b64), len = 0;
    char *raw = souk_arena_alloc(ctx->arena, n + 1);
    const char *colon = NULL;
    if (n == 0 || n > 4 * FORM_VALUE_MAX ||
        sodium_base642bin((unsigned char *)raw, n, b64, n, NULL, &len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        !(colon = memchr(raw, ':', len))) {
        *bad = true;
        return true;
    }
    *id = form_decode(ctx->arena, raw, (size_t)(colon - raw));
    *secret = form_decode(ctx->arena, colon + 1, len - (size_t)(colon - raw) - 1);
    *bad = !*id || !*secret;
    return true;
}

typedef struct {
    const char *id, *secret;
    auth_client_t client;
    bool ok;
} client_auth_t;

static souk_err_t load_client(souk_db_conn_t *c, void *ud)
{
    client_auth_t *a = ud;
    return store_client_get(c, a->id, &a->client);
}

/* Whether id and secret name a live client (constant time in the secret). */
static souk_err_t authenticate(auth_app_t *app, client_auth_t *a)
{
    a->ok = false;
    if (!a->id || !a->secret || !souk_uuid_valid(a->id, strlen(a->id)))
        return SOUK_OK;
    souk_err_t err = souk_db_run(app->db, load_client, a);
    if (err == SOUK_ENOTFOUND)
        return SOUK_OK;
    char hash[65];
    auth_token_hash(a->secret, hash);
    a->ok =
        err == SOUK_OK && !a->client.deleted && sodium_memcmp(hash, a->client.secret_hash, 64) == 0;
    return err;
}

static void do_token(souk_http_ctx_t *ctx, void *ud)
{
    auth_app_t *app = ud;
    const char *ct = souk_http_header(ctx, "Content-Type");
    form_t f;
    form_parse(ctx, &f);
    bool bad_basic = false;
    client_auth_t a = {0};
    bool basic = basic_credentials(ctx, &a.id, &a.secret, &bad_basic);
    const char *grant = form_get(&f, "grant_type"), *scope = form_get(&f, "scope");
    bool body_auth = form_get(&f, "client_id") || form_get(&f, "client_secret");
    if (!ct || strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0 || f.malformed ||
        f.duplicate || !grant || (basic && body_auth)) {
        oauth_error(ctx, 400, "invalid_request", false);
        return;
    }
    if (!basic) {
        a.id = form_get(&f, "client_id");
        a.secret = form_get(&f, "client_secret");
    }
    souk_err_t err = bad_basic ? SOUK_OK : authenticate(app, &a);
    if (err) {
        souk_svc_fail(ctx, err);
        return;
    }
    if (!a.ok) {
        oauth_error(ctx, 401, "invalid_client", basic);
        return;
    }
    if (strcmp(grant, "client_credentials") != 0) {
        oauth_error(ctx, 400, "unsupported_grant_type", false);
        return;
    }
    unsigned want = a.client.scopes;
    if (scope && (souk_scope_parse(scope, &want) != SOUK_OK || want == 0 ||
                  (want & ~a.client.scopes) != 0)) {
        oauth_error(ctx, 400, "invalid_scope", false);
        return;
    }
    souk_claims_t claims = {.client = true, .scope = want};
    snprintf(claims.sub, sizeof(claims.sub), "%s", a.client.id);
    char *token = NULL, granted[SOUK_SCOPE_MAX];
    if ((err = souk_jwt_issue(app->signer, &claims, &token)) != SOUK_OK) {
        souk_svc_fail(ctx, err);
        return;
    }
    souk_scope_format(want, granted);
    souk_http_set_header(ctx, "Cache-Control", "no-store");
    souk_http_set_header(ctx, "Pragma", "no-cache");
    souk_http_reply_json(ctx, 200,
                         json_pack("{s:s, s:s, s:i, s:s}", "access_token", token, "token_type",
                                   "Bearer", "expires_in", app->access_ttl_s, "scope", granted));
    souk_free(token);
}

/* ---- registration -------------------------------------------------------- */

typedef struct {
    const souk_claims_t *caller;
    souk_audit_t audit;
    const char *name, *id, *secret_hash;
    unsigned scopes;
    bool forbidden;
    json_t *out;
} client_tx_t;

/* Validates {name, scopes}; replies 400 and returns false on error. */
static bool parse_client(souk_http_ctx_t *ctx, json_t *body, client_tx_t *x)
{
    souk_valid_t v;
    souk_valid_init(&v);
    souk_valid_known(&v, body, (const char *const[]){"name", "scopes", NULL});
    const char *name = NULL;
    if (souk_valid_string(&v, body, "name", SOUK_FIELD_REQUIRED, 1, CLIENT_NAME_MAX, &name))
        x->name = auth_trim(souk_arena_strdup(ctx->arena, name));
    if (x->name && !*x->name)
        souk_valid_error(&v, "name", "must not be blank");
    json_t *scopes = json_object_get(body, "scopes"), *s;
    size_t i;
    bool ok = json_is_array(scopes);
    json_array_foreach(scopes, i, s)
    {
        unsigned bit = souk_permission_parse(json_string_value(s));
        ok &= bit != 0;
        x->scopes |= bit;
    }
    if (!ok)
        souk_valid_error(&v, "scopes", "must be an array of permissions (GET /auth/roles)");
    bool valid = souk_valid_ok(&v);
    if (!valid)
        souk_valid_reply(ctx, &v);
    souk_valid_cleanup(&v);
    return valid;
}

/* The caller (as the database has them) holds clients:write and every
 * permission granted: nobody hands out more than they have. */
static souk_err_t create_tx(souk_db_conn_t *c, void *ud)
{
    client_tx_t *x = ud;
    souk_err_t err = auth_caller_can(c, x->caller, SOUK_PERM_CLIENTS_WRITE | x->scopes);
    x->forbidden = err == SOUK_EFORBIDDEN;
    if (err == SOUK_OK)
        err = store_client_insert(c, x->id, x->name, x->secret_hash, x->scopes,
                                  x->caller->client ? NULL : x->caller->sub, &x->out);
    if (err == SOUK_OK) {
        x->audit.target_id = x->id;
        err = auth_audit(c, &x->audit);
    }
    return err;
}

static void do_client_create(souk_http_ctx_t *ctx, void *ud)
{
    auth_app_t *app = ud;
    souk_claims_t claims;
    if (!auth_require(ctx, app, SOUK_PERM_CLIENTS_WRITE, &claims))
        return;
    json_t *body = souk_http_body_object(ctx);
    client_tx_t x = {.caller = &claims};
    if (!body || !parse_client(ctx, body, &x))
        return;
    char id[SOUK_UUID_STRLEN + 1], secret[44], hash[65];
    uint8_t raw[32];
    souk_uuid_v4(id);
    souk_random(raw, sizeof(raw));
    sodium_bin2base64(secret, sizeof(secret), raw, sizeof(raw),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    auth_token_hash(secret, hash);
    x.id = id;
    x.secret_hash = hash;
    x.audit = souk_audit_of(ctx, &claims, "client.create", "client", id);
    souk_err_t err = souk_db_run_tx(app->db, create_tx, &x);
    if (x.forbidden) {
        souk_http_problem(ctx, 403, "you may grant only permissions you hold");
    } else if (err) {
        souk_svc_fail(ctx, err);
    } else {
        json_object_set_new(x.out, "client_secret", json_string(secret));
        souk_http_set_header(ctx, "Cache-Control", "no-store");
        souk_http_set_header(ctx, "Location",
                             souk_arena_printf(ctx->arena, "/auth/clients/%s", id));
        souk_http_reply_json(ctx, 201, x.out);
        x.out = NULL;
    }
    json_decref(x.out);
    sodium_memzero(secret, sizeof(secret));
}

static void do_client_list(souk_http_ctx_t *ctx, void *ud)
{
    auth_app_t *app = ud;
    souk_claims_t claims;
    if (!auth_require(ctx, app, SOUK_PERM_CLIENTS_WRITE, &claims))
        return;
    souk_valid_t v;
    souk_valid_init(&v);
    souk_page_t page;
    souk_http_page(ctx, &v, &page);
    souk_db_conn_t *c = NULL;
    if (!souk_valid_ok(&v)) {
        souk_valid_reply(ctx, &v);
    } else if ((c = souk_svc_conn(ctx, app->db))) {
        json_t *items = NULL;
        long long total = 0;
        souk_err_t err = store_client_list(c, page.page, page.limit, &items, &total);
        if (err)
            souk_svc_fail(ctx, err);
        else
            souk_http_reply_json(ctx, 200, souk_http_page_body(items, &page, total));
    }
    souk_valid_cleanup(&v);
}

static souk_err_t delete_tx(souk_db_conn_t *c, void *ud)
{
    client_tx_t *x = ud;
    souk_err_t err = auth_caller_can(c, x->caller, SOUK_PERM_CLIENTS_WRITE);
    x->forbidden = err == SOUK_EFORBIDDEN;
    if (err == SOUK_OK)
        err = store_client_delete(c, x->id);
    return err ? err : auth_audit(c, &x->audit);
}

static void do_client_delete(souk_http_ctx_t *ctx, void *ud)
{
    auth_app_t *app = ud;
    souk_claims_t claims;
    if (!auth_require(ctx, app, SOUK_PERM_CLIENTS_WRITE, &claims))
        return;
    const char *id = souk_svc_uuid_param(ctx, "id");
    if (!id)
        return;
    client_tx_t x = {.caller = &claims,
                     .id = id,
                     .audit = souk_audit_of(ctx, &claims, "client.delete", "client", id)};
    souk_err_t err = souk_db_run_tx(app->db, delete_tx, &x);
    if (x.forbidden)
        souk_http_problem(ctx, 403, "your account may not do this");
    else if (err)
        souk_svc_fail(ctx, err);
    else
        souk_http_reply_empty(ctx, 204);
}

/* ---- keys and metadata ---------------------------------------------------- */

typedef struct {
    int within_s;
    json_t *ids;
} revoked_t;

static souk_err_t load_revoked(souk_db_conn_t *c, void *ud)
{
    revoked_t *r = ud;
    return store_clients_revoked(c, r->within_s, &r->ids);
}

souk_err_t auth_jwks(auth_app_t *app, json_t **out)
{
    /* a token lives access_ttl_s at most, plus the verifiers' clock leeway */
    revoked_t r = {.within_s = app->access_ttl_s + 60};
    souk_err_t err = souk_db_run(app->db, load_revoked, &r);
    if (err)
        return err;
    *out = souk_jwt_signer_jwks(app->signer);
    json_object_set_new(*out, "souk_revoked_clients", r.ids);
    return SOUK_OK;
}

/* RFC 8414: where the token endpoint is and what it takes. */
static void do_metadata(souk_http_ctx_t *ctx, void *ud)
{
    auth_app_t *app = ud;
    const char *base = app->public_url;
    souk_http_set_header(ctx, "Cache-Control", "public, max-age=300");
    souk_http_reply_json(
        ctx, 200,
        json_pack("{s:s, s:s, s:s, s:[s], s:[ss], s:o, s:[]}", "issuer", base, "token_endpoint",
                  souk_arena_printf(ctx->arena, "%s/oauth/token", base), "jwks_uri",
                  souk_arena_printf(ctx->arena, "%s/.well-known/jwks.json", base),
                  "grant_types_supported", "client_credentials",
                  "token_endpoint_auth_methods_supported", "client_secret_basic",
                  "client_secret_post", "scopes_supported", souk_permissions_json(SOUK_PERM_ALL),
                  "response_types_supported"));
}

/* The token endpoint takes form bodies, which the server's router refuses
 * (415) for every route: it is answered here, before routing. Its route
 * stays registered, so other methods get the router's 405. */
static bool token_hook(souk_http_ctx_t *ctx, void *ud)
{
    if (strcmp(ctx->method, "POST") != 0 || strcmp(ctx->path, "/oauth/token") != 0)
        return true;
    ctx->route = "/oauth/token";
    do_token(ctx, ud);
    return false;
}

void auth_client_routes_register(souk_http_server_t *srv, auth_app_t *app)
{
    souk_http_set_hook(srv, token_hook, app);
    souk_http_route(srv, "POST", "/auth/clients", do_client_create, app);
    souk_http_route(srv, "GET", "/auth/clients", do_client_list, app);
    souk_http_route(srv, "DELETE", "/auth/clients/:id", do_client_delete, app);
    souk_http_route(srv, "POST", "/oauth/token", do_token, app);
    souk_http_route(srv, "GET", "/.well-known/oauth-authorization-server", do_metadata, app);
}
