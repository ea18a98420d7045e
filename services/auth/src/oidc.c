/* oidc.c: sign-in with external OpenID Connect providers, auth-service as
 * the relying party (ARCHITECTURE.md §4, OAuth 2.0). The authorization code
 * flow with PKCE (S256), state and nonce: /authorize keeps a single-use
 * state (its hash, the nonce, the code verifier and the front end's
 * redirect_uri, which must match OAUTH_REDIRECT_ALLOWLIST) for ten minutes
 * and sends the browser to the provider; /callback takes the state, trades
 * the code at the provider's token endpoint, verifies the id_token against
 * the provider's keys (signature, iss, aud, azp, exp, iat, nonce), finds or
 * makes the user, and sends the browser back with a one-time login code
 * (60 s) in the fragment; /auth/oauth/exchange turns the code into tokens.
 * A user is found by (provider, subject), or by email only when the
 * provider says the email is verified; otherwise a new customer is made.
 *
 * Providers come from OIDC_PROVIDERS and OIDC_<NAME>_ISSUER, _CLIENT_ID,
 * _CLIENT_SECRET, _SCOPES, _DISPLAY_NAME; each is discovered from
 * <issuer>/.well-known/openid-configuration on first use, and its keys are
 * fetched again (at most every few seconds) when an id_token names a kid
 * they lack. Speaks to providers with libcurl (souk/http.h) and checks
 * tokens with rhonabwy. It does not do logout at the provider, refresh
 * provider tokens, or read userinfo: souk needs only who signed in. */
#include "app.h"

#include <souk/svc.h>

#include <ctype.h>
#include <rhonabwy.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define FETCH_MIN_INTERVAL_NS (5ull * 1000000000ull)
#define LEEWAY_S              60
#define SUBJECT_MAX           255

/* ---- configuration -------------------------------------------------------- */

static char *without_slash(const char *url)
{
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        n--;
    return souk_strndup(url, n);
}

static const char *provider_env(const char *name, const char *what, char *buf, size_t cap)
{
    char var[96];
    int n = snprintf(var, sizeof(var), "OIDC_%s_%s", name, what);
    for (int i = 5; i < n; i++)
        var[i] = var[i] == '-' ? '_' : (char)toupper((unsigned char)var[i]);
    const char *v = souk_env_str(var, NULL);
    if (v)
        return v;
    snprintf(buf, cap, "%s", var);
    return NULL;
}

static bool name_ok(const char *n)
{
    size_t len = strlen(n);
    if (len == 0 || len >= 32)
        return false;
    for (const char *p = n; *p; p++)
        if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '-' || *p == '_'))
            return false;
    return true;
}

static souk_err_t add_provider(auth_app_t *app, const char *name)
{
    char missing[96] = "";
    if (!name_ok(name) || app->nproviders == AUTH_PROVIDERS_MAX) {
        souk_log_error("OIDC_PROVIDERS: \"%s\" is not a provider name (a-z, 0-9, - and _; at "
                       "most %d providers)",
                       name, AUTH_PROVIDERS_MAX);
        return SOUK_EINVAL;
    }
    const char *issuer = provider_env(name, "ISSUER", missing, sizeof(missing));
    const char *client_id =
        issuer ? provider_env(name, "CLIENT_ID", missing, sizeof(missing)) : NULL;
    if (!issuer || !client_id) {
        souk_log_error("OIDC_PROVIDERS names %s but %s is not set", name, missing);
        return SOUK_EINVAL;
    }
    char unused[96];
    const char *secret = provider_env(name, "CLIENT_SECRET", unused, sizeof(unused));
    const char *scopes = provider_env(name, "SCOPES", unused, sizeof(unused));
    const char *display = provider_env(name, "DISPLAY_NAME", unused, sizeof(unused));
    auth_provider_t *p = &app->providers[app->nproviders++];
    snprintf(p->name, sizeof(p->name), "%s", name);
    snprintf(p->display_name, sizeof(p->display_name), "%s", display ? display : name);
    if (!display)
        p->display_name[0] = (char)toupper((unsigned char)p->display_name[0]);
    p->issuer = without_slash(issuer);
    p->client_id = souk_strdup(client_id);
    p->client_secret = secret && *secret ? souk_strdup(secret) : NULL;
    p->scopes = souk_strdup(scopes ? scopes : "openid email profile");
    pthread_mutex_init(&p->lock, NULL);
    souk_log_info("OpenID Connect provider %s: %s", p->name, p->issuer);
    return SOUK_OK;
}

souk_err_t auth_oidc_config(auth_app_t *app)
{
    app->public_url = without_slash(souk_env_str("PUBLIC_URL", "http://127.0.0.1:8080"));
    app->redirect_allow =
        souk_list_split(souk_env_str("OAUTH_REDIRECT_ALLOWLIST", app->public_url));
    char **names = souk_list_split(souk_env_str("OIDC_PROVIDERS", ""));
    souk_err_t err = SOUK_OK;
    for (char **n = names; *n && err == SOUK_OK; n++) {
        for (char *c = *n; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        err = add_provider(app, *n);
    }
    souk_list_free(names);
    return err;
}

void auth_oidc_cleanup(auth_app_t *app)
{
    for (size_t i = 0; i < app->nproviders; i++) {
        auth_provider_t *p = &app->providers[i];
        souk_free(p->issuer);
        souk_free(p->client_id);
        souk_free(p->client_secret);
        souk_free(p->scopes);
        souk_free(p->authorization_endpoint);
        souk_free(p->token_endpoint);
        souk_free(p->jwks_uri);
        json_decref(p->jwks);
        pthread_mutex_destroy(&p->lock);
    }
    app->nproviders = 0;
    souk_list_free(app->redirect_allow);
    app->redirect_allow = NULL;
    souk_free(app->public_url);
    app->public_url = NULL;
}

bool auth_redirect_allowed(const auth_app_t *app, const char *url)
{
    if (!url || strncmp(url, "http", 4) != 0)
        return false;
    for (const char *c = url; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == '#' || *c == '\\' || (unsigned char)*c >= 0x7f)
            return false;
    for (char **a = app->redirect_allow; a && *a; a++) {
        size_t n = strlen(*a);
        if (n && strncmp(url, *a, n) == 0 &&
            ((*a)[n - 1] == '/' || url[n] == '\0' || url[n] == '/' || url[n] == '?'))
            return true;
    }
    return false;
}

static auth_provider_t *find_provider(auth_app_t *app, const char *name)
{
    for (size_t i = 0; name && i < app->nproviders; i++)
        if (strcmp(app->providers[i].name, name) == 0)
            return &app->providers[i];
    return NULL;
}

/* ---- talking to the provider ---------------------------------------------- */

static souk_err_t fetch_json(auth_app_t *app, const souk_http_request_t *req, long *status,
                             json_t **out)
{
    souk_http_response_t resp;
    souk_err_t err = souk_http_fetch(app->client, req, &resp);
    *out = NULL;
    if (err == SOUK_OK) {
        *status = resp.status;
        *out = json_loadb(resp.body.data, resp.body.len, 0, NULL);
        if (!json_is_object(*out)) {
            json_decref(*out);
            *out = NULL;
            err = SOUK_EUPSTREAM;
        }
    }
    souk_http_response_cleanup(&resp);
    return err;
}

static char *str_member(json_t *j, const char *name)
{
    const char *v = json_string_value(json_object_get(j, name));
    return v && strncmp(v, "http", 4) == 0 ? souk_strdup(v) : NULL;
}

/* Discovery (when not done yet) and the keys, under p->lock; at most one
 * fetch every few seconds per provider whatever the traffic. */
static souk_err_t refresh_provider(auth_app_t *app, auth_provider_t *p, bool keys)
{
    uint64_t now = souk_now_mono_ns();
    if (now < p->next_fetch_ns)
        return p->token_endpoint && p->jwks ? SOUK_OK : SOUK_EUNAVAIL;
    p->next_fetch_ns = now + FETCH_MIN_INTERVAL_NS;
    long status = 0;
    json_t *j = NULL;
    souk_err_t err = SOUK_OK;
    if (!p->token_endpoint) {
        char url[1024];
        snprintf(url, sizeof(url), "%s/.well-known/openid-configuration", p->issuer);
        souk_http_request_t req = {.url = url, .timeout_ms = 5000, .max_response = 1 << 20};
        err = fetch_json(app, &req, &status, &j);
        const char *iss = json_string_value(json_object_get(j, "issuer"));
        if (err == SOUK_OK && (status != 200 || !iss || strcmp(iss, p->issuer) != 0)) {
            souk_log_error("provider %s: discovery at %s answered %ld with issuer \"%s\"", p->name,
                           url, status, iss ? iss : "");
            err = SOUK_EUPSTREAM;
        }
        if (err == SOUK_OK) {
            p->authorization_endpoint = str_member(j, "authorization_endpoint");
            p->token_endpoint = str_member(j, "token_endpoint");
            p->jwks_uri = str_member(j, "jwks_uri");
        }
        json_decref(j);
        j = NULL;
        if (err == SOUK_OK && (!p->authorization_endpoint || !p->token_endpoint || !p->jwks_uri))
            err = SOUK_EUPSTREAM;
        if (err) {
            souk_free(p->authorization_endpoint);
            souk_free(p->token_endpoint);
            souk_free(p->jwks_uri);
            p->authorization_endpoint = p->token_endpoint = p->jwks_uri = NULL;
            return err;
        }
        keys = true;
    }
    if (!keys)
        return SOUK_OK;
    souk_http_request_t req = {.url = p->jwks_uri, .timeout_ms = 5000, .max_response = 1 << 20};
    err = fetch_json(app, &req, &status, &j);
    if (err == SOUK_OK && status == 200 && json_is_array(json_object_get(j, "keys"))) {
        json_decref(p->jwks);
        p->jwks = j;
        return SOUK_OK;
    }
    json_decref(j);
    return p->jwks ? SOUK_OK : SOUK_EUPSTREAM;
}

/* Copies the endpoints out after discovery; *err when unreachable. */
static souk_err_t discovered(auth_app_t *app, auth_provider_t *p, souk_arena_t *arena,
                             const char **authz, const char **token)
{
    pthread_mutex_lock(&p->lock);
    souk_err_t err = p->token_endpoint && p->jwks ? SOUK_OK : refresh_provider(app, p, false);
    if (err == SOUK_OK) {
        *authz = souk_arena_strdup(arena, p->authorization_endpoint);
        *token = souk_arena_strdup(arena, p->token_endpoint);
    }
    pthread_mutex_unlock(&p->lock);
    return err;
}

/* ---- PKCE, state, nonce --------------------------------------------------- */

static void random_b64(char out[44])
{
    uint8_t raw[32];
    souk_random(raw, sizeof(raw));
    sodium_bin2base64(out, 44, raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* RFC 7636 §4.2: BASE64URL(SHA256(ASCII(code_verifier))). */
void auth_pkce_challenge(const char *verifier, char out[44])
{
    uint8_t h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const uint8_t *)verifier, strlen(verifier));
    sodium_bin2base64(out, 44, h, sizeof(h), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* application/x-www-form-urlencoded value (RFC 3986 unreserved kept). */
static char *encode(souk_arena_t *arena, const char *s)
{
    souk_buf_t b;
    souk_buf_init(&b, strlen(s) * 3 + 1);
    souk_err_t err = souk_http_url_encode(&b, s);
    char *out = souk_arena_strdup(arena, err == SOUK_OK && b.len ? b.data : "");
    souk_buf_cleanup(&b);
    return out;
}

static const char *callback_url(souk_http_ctx_t *ctx, const auth_app_t *app,
                                const auth_provider_t *p)
{
    return souk_arena_printf(ctx->arena, "%s/auth/oauth/%s/callback", app->public_url, p->name);
}

/* ---- GET /auth/providers, /auth/oauth/{provider}/authorize ---------------- */

static void do_providers(souk_http_ctx_t *ctx, void *ud)
{
    auth_app_t *app = ud;
    json_t *list = json_array();
    for (size_t i = 0; i < app->nproviders; i++)
        json_array_append_new(list, json_pack("{s:s, s:s}", "name", app->providers[i].name,
                                              "display_name", app->providers[i].display_name));
    souk_http_reply_json(ctx, 200, list);
}

typedef struct {
    const char *hash;
    auth_oauth_state_t st;
} state_tx_t;

static souk_err_t save_state(souk_db_conn_t *c, void *ud)
{
    state_tx_t *x = ud;
    return store_state_insert(c, x->hash, &x->st, AUTH_STATE_TTL_S);
}

static void unreachable(souk_http_ctx_t *ctx)
{
    souk_http_set_header(ctx, "Retry-After", "5");
    souk_http_problem(ctx, 503, "the identity provider cannot be reached; retry later");
}

static void do_authorize(souk_http_ctx_t *ctx, void *ud)
{
    auth_app_t *app = ud;
    auth_provider_t *p = find_provider(app, souk_http_param(ctx, "provider"));
    const char *redirect = souk_http_query(ctx, "redirect_uri"), *authz = NULL, *token = NULL;
    if (!p) {
        souk_http_problem(ctx, 404, "no such identity provider");
        return;
    }
    if (!redirect || strlen(redirect) >= sizeof(((auth_oauth_state_t *)0)->redirect_uri) ||
        !auth_redirect_allowed(app, redirect)) {
        souk_http_problem_errors(ctx, 400, "the request has invalid fields",
                                 json_pack("[{s:s, s:s}]", "field", "redirect_uri", "message",
                                           "must be a front-end URL of the allow-list"));
        return;
    }
    if (discovered(app, p, ctx->arena, &authz, &token) != SOUK_OK) {
        unreachable(ctx);
        return;
    }
    char state[44], nonce[44], challenge[44], hash[65];
    state_tx_t x = {.hash = hash};
    random_b64(state);
    random_b64(nonce);
    random_b64(x.st.code_verifier);
    auth_pkce_challenge(x.st.code_verifier, challenge);
    auth_token_hash(state, hash);
    snprintf(x.st.provider, sizeof(x.st.provider), "%s", p->name);
    snprintf(x.st.nonce, sizeof(x.st.nonce), "%s", nonce);
    snprintf(x.st.redirect_uri, sizeof(x.st.redirect_uri), "%s", redirect);
    souk_err_t err = souk_db_run(app->db, save_state, &x);
    if (err) {
        souk_svc_fail(ctx, err);
        return;
    }
    souk_arena_t *a = ctx->arena;
    const char *location = souk_arena_printf(
        a,
        "%s%cresponse_type=code&client_id=%s&redirect_uri=%s&scope=%s&state=%s&nonce=%s"
        "&code_challenge=%s&code_challenge_method=S256",
        authz, strchr(authz, '?') ? '&' : '?', encode(a, p->client_id),
        encode(a, callback_url(ctx, app, p)), encode(a, p->scopes), state, nonce, challenge);
    souk_http_set_header(ctx, "Cache-Control", "no-store");
    souk_http_set_header(ctx, "Location", location);
    souk_http_reply_empty(ctx, 302);
}

/* ---- the id_token ----------------------------------------------------------- */

static bool aud_ok(json_t *claims, const char *client_id)
{
    json_t *aud = json_object_get(claims, "aud"), *a;
    if (json_is_string(aud))
        return strcmp(json_string_value(aud), client_id) == 0;
    size_t i;
    bool found = false;
    json_array_foreach(aud, i, a) found |=
        json_is_string(a) && strcmp(json_string_value(a), client_id) == 0;
    if (!found)
        return false;
    /* several audiences: the token must have been issued to us (azp) */
    const char *azp = json_string_value(json_object_get(claims, "azp"));
    return json_array_size(aud) == 1 || (azp && strcmp(azp, client_id) == 0);
}

bool auth_oidc_claims_ok(json_t *claims, const char *issuer, const char *client_id,
                         const char *nonce, int64_t now)
{
    const char *iss = json_string_value(json_object_get(claims, "iss"));
    const char *sub = json_string_value(json_object_get(claims, "sub"));
    const char *n = json_string_value(json_object_get(claims, "nonce"));
    json_t *exp = json_object_get(claims, "exp"), *iat = json_object_get(claims, "iat");
    return iss && strcmp(iss, issuer) == 0 && aud_ok(claims, client_id) && sub && *sub &&
           strlen(sub) <= SUBJECT_MAX && json_is_integer(exp) &&
           json_integer_value(exp) > now - LEEWAY_S && json_is_integer(iat) &&
           json_integer_value(iat) <= now + LEEWAY_S && n && strcmp(n, nonce) == 0;
}

bool auth_oidc_email_verified(json_t *claims)
{
    json_t *v = json_object_get(claims, "email_verified");
    return json_is_true(v) || (json_is_string(v) && strcmp(json_string_value(v), "true") == 0);
}

static bool alg_ok(jwa_alg alg)
{
    static const jwa_alg allowed[] = {
        R_JWA_ALG_RS256, R_JWA_ALG_RS384, R_JWA_ALG_RS512, R_JWA_ALG_PS256, R_JWA_ALG_PS384,
        R_JWA_ALG_PS512, R_JWA_ALG_ES256, R_JWA_ALG_ES384, R_JWA_ALG_ES512, R_JWA_ALG_EDDSA};
    for (size_t i = 0; i < SOUK_ARRAY_LEN(allowed); i++)
        if (alg == allowed[i])
            return true;
    return false;
}

/* The signature of jwt under p's current keys: SOUK_OK, SOUK_ENOTFOUND
 * (no key for its kid), SOUK_EAUTH. Under p->lock. */
static souk_err_t signature_ok(auth_provider_t *p, jwt_t *jwt)
{
    jwks_t *keys = NULL;
    jwk_t *key = NULL;
    souk_err_t err = SOUK_ENOTFOUND;
    const char *kid = r_jwt_get_header_str_value(jwt, "kid");
    int rc = r_jwks_init(&keys) == RHN_OK ? r_jwks_import_from_json_t(keys, p->jwks) : RHN_ERROR;
    if (rc != RHN_OK && rc != RHN_ERROR_PARAM)
        goto out;
    if (kid)
        key = r_jwks_get_by_kid(keys, kid);
    else if (r_jwks_size(keys) == 1)
        key = r_jwks_get_at(keys, 0);
    if (key)
        err =
            r_jwt_verify_signature(jwt, key, R_FLAG_IGNORE_REMOTE) == RHN_OK ? SOUK_OK : SOUK_EAUTH;
out:
    r_jwk_free(key);
    r_jwks_free(keys);
    return err;
}

/* Verifies id_token from p; *claims (new reference) on success. */
static souk_err_t verify_id_token(auth_app_t *app, auth_provider_t *p, const char *id_token,
                                  const char *nonce, json_t **claims)
{
    jwt_t *jwt = NULL;
    souk_err_t err = SOUK_EAUTH;
    *claims = NULL;
    if (r_jwt_init(&jwt) != RHN_OK ||
        r_jwt_advanced_parse(jwt, id_token, R_PARSE_NONE, R_FLAG_IGNORE_REMOTE) != RHN_OK ||
        r_jwt_get_type(jwt) != R_JWT_TYPE_SIGN || !alg_ok(r_jwt_get_sign_alg(jwt)))
        goto out;
    pthread_mutex_lock(&p->lock);
    err = p->jwks ? signature_ok(p, jwt) : SOUK_ENOTFOUND;
    if (err == SOUK_ENOTFOUND && refresh_provider(app, p, true) == SOUK_OK)
        err = signature_ok(p, jwt); /* a key the provider added since */
    pthread_mutex_unlock(&p->lock);
    if (err)
        goto out;
    *claims = r_jwt_get_full_claims_json_t(jwt);
    if (!*claims ||
        !auth_oidc_claims_ok(*claims, p->issuer, p->client_id, nonce, souk_now_unix())) {
        json_decref(*claims);
        *claims = NULL;
        err = SOUK_EAUTH;
    }
out:
    r_jwt_free(jwt);
    return err == SOUK_ENOTFOUND ? SOUK_EAUTH : err;
}

/* Trades code for the provider's tokens; *id_token arena-owned. SOUK_EAUTH
 * when the provider refuses the code. */
static souk_err_t redeem(souk_http_ctx_t *ctx, auth_app_t *app, auth_provider_t *p,
                         const char *token_endpoint, const char *code, const char *verifier,
                         const char **id_token)
{
    souk_arena_t *a = ctx->arena;
    const char *body = souk_arena_printf(
        a, "grant_type=authorization_code&code=%s&redirect_uri=%s&code_verifier=%s%s%s",
        encode(a, code), encode(a, callback_url(ctx, app, p)), encode(a, verifier),
        p->client_secret ? "" : "&client_id=", p->client_secret ? "" : encode(a, p->client_id));
    const char *headers[3] = {"Content-Type: application/x-www-form-urlencoded",
                              "Accept: application/json", NULL};
    char *basic = NULL;
    if (p->client_secret) { /* client_secret_basic (RFC 6749 §2.3.1) */
        const char *pair =
            souk_arena_printf(a, "%s:%s", encode(a, p->client_id), encode(a, p->client_secret));
        size_t n = sodium_base64_ENCODED_LEN(strlen(pair), sodium_base64_VARIANT_ORIGINAL);
        basic = souk_arena_alloc(a, n + 32);
        memcpy(basic, "Authorization: Basic ", 21);
        sodium_bin2base64(basic + 21, n, (const unsigned char *)pair, strlen(pair),
                          sodium_base64_VARIANT_ORIGINAL);
    }
    const char *with_auth[4] = {headers[0], headers[1], basic, NULL};
    souk_http_request_t req = {.method = "POST",
                               .url = token_endpoint,
                               .headers = basic ? with_auth : headers,
                               .body = body,
                               .body_len = strlen(body),
                               .timeout_ms = 10000,
                               .max_response = 1 << 20};
    long status = 0;
    json_t *j = NULL;
    souk_err_t err = fetch_json(app, &req, &status, &j);
    const char *t = json_string_value(json_object_get(j, "id_token"));
    if (err == SOUK_OK && (status != 200 || !t))
        err = SOUK_EAUTH;
    if (err == SOUK_OK)
        *id_token = souk_arena_strdup(a, t);
    json_decref(j);
    return err;
}

/* ---- finding the user ------------------------------------------------------- */

typedef struct {
    auth_app_t *app;
    const char *provider, *subject, *email, *name, *traceparent;
    bool verified;
    souk_audit_t audit;
    char code_hash[65];
    bool refused; /* disabled, or an unverified email already taken */
    auth_user_t user;
} signin_t;

static souk_err_t find_or_make_user(souk_db_conn_t *c, signin_t *s)
{
    char user_id[SOUK_UUID_STRLEN + 1];
    souk_err_t err = store_identity_user(c, s->provider, s->subject, user_id);
    if (err == SOUK_OK)
        return store_user_by_id(c, user_id, &s->user);
    if (err != SOUK_ENOTFOUND)
        return err;
    if (!s->email) {
        s->refused = true; /* no address to make an account with */
        return SOUK_EFORBIDDEN;
    }
    err = s->verified ? store_user_by_email(c, s->email, &s->user) : SOUK_ENOTFOUND;
    if (err == SOUK_ENOTFOUND) {
        err = store_user_insert(c, s->email, s->name, NULL, SOUK_ROLE_CUSTOMER, &s->user);
        if (err == SOUK_ECONFLICT) { /* someone's account: only a verified email links */
            s->refused = true;
            return SOUK_EFORBIDDEN;
        }
        if (err == SOUK_OK)
            err = auth_emit_user(c, SOUK_EV_USER_REGISTERED, &s->user, s->traceparent);
    }
    return err ? err : store_identity_link(c, s->provider, s->subject, s->user.id);
}

static souk_err_t signin_tx(souk_db_conn_t *c, void *ud)
{
    signin_t *s = ud;
    souk_err_t err = find_or_make_user(c, s);
    if (err == SOUK_OK && s->user.disabled) {
        s->refused = true;
        return SOUK_EFORBIDDEN;
    }
    if (err == SOUK_OK)
        err = store_login_code_insert(c, s->code_hash, s->user.id, AUTH_LOGIN_CODE_TTL_S);
    if (err == SOUK_OK) {
        s->audit.actor_id = s->audit.target_id = s->user.id;
        err = auth_audit(c, &s->audit);
    }
    return err;
}

static souk_err_t audit_failure(souk_db_conn_t *c, void *ud)
{
    souk_audit_t *a = ud;
    a->outcome = "failure";
    return auth_audit(c, a);
}

/* ---- GET /auth/oauth/{provider}/callback ------------------------------------ */

typedef struct {
    const char *hash;
    auth_oauth_state_t st;
} take_t;

static souk_err_t take_state(souk_db_conn_t *c, void *ud)
{
    take_t *t = ud;
    return store_state_take(c, t->hash, &t->st);
}

static void back_to(souk_http_ctx_t *ctx, const char *redirect, const char *what, const char *value)
{
    souk_http_set_header(ctx, "Cache-Control", "no-store");
    souk_http_set_header(ctx, "Referrer-Policy", "no-referrer");
    souk_http_set_header(ctx, "Location",
                         souk_arena_printf(ctx->arena, "%s#%s=%s", redirect, what, value));
    souk_http_reply_empty(ctx, 302);
}

/* The provider's error code when it is a plain token, else server_error. */
static const char *provider_error(const char *e)
{
    size_t n = strspn(e, "abcdefghijklmnopqrstuvwxyz_");
    return n > 0 && n <= 64 && e[n] == '\0' ? e : "server_error";
}

/* Trades the code and verifies the id_token; *claims on success, or the
 * OAuth error to hand the front end. */
static const char *identify(souk_http_ctx_t *ctx, auth_app_t *app, auth_provider_t *p,
                            const take_t *t, const char *code, json_t **claims)
{
    const char *authz = NULL, *token_endpoint = NULL, *id_token = NULL;
    if (discovered(app, p, ctx->arena, &authz, &token_endpoint) != SOUK_OK)
        return "temporarily_unavailable";
    souk_err_t err = redeem(ctx, app, p, token_endpoint, code, t->st.code_verifier, &id_token);
    if (err == SOUK_OK)
        err = verify_id_token(app, p, id_token, t->st.nonce, claims);
    if (err == SOUK_EAUTH)
        return "invalid_grant";
    return err ? "temporarily_unavailable" : NULL;
}

static void do_callback(souk_http_ctx_t *ctx, void *ud)
{
    auth_app_t *app = ud;
    auth_provider_t *p = find_provider(app, souk_http_param(ctx, "provider"));
    const char *state = souk_http_query(ctx, "state"), *code = souk_http_query(ctx, "code");
    const char *error = souk_http_query(ctx, "error");
    char hash[65];
    take_t t = {.hash = hash};
    if (!p) {
        souk_http_problem(ctx, 404, "no such identity provider");
        return;
    }
    souk_err_t err = SOUK_ENOTFOUND;
    if (state && *state && strlen(state) <= 256) {
        auth_token_hash(state, hash);
        err = souk_db_run(app->db, take_state, &t);
    }
    if (err == SOUK_OK && strcmp(t.st.provider, p->name) != 0)
        err = SOUK_ENOTFOUND;
    if (err == SOUK_ENOTFOUND) { /* no trusted place to send the browser */
        souk_http_problem(ctx, 400, "the sign-in request is unknown, used or expired");
        return;
    }
    if (err) {
        souk_svc_fail(ctx, err);
        return;
    }
    souk_audit_t fail = souk_audit_of(ctx, NULL, "login.oidc", "user", NULL);
    const char *oauth_err = error             ? provider_error(error)
                            : !code || !*code ? "invalid_request"
                                              : NULL;
    json_t *claims = NULL;
    if (!oauth_err)
        oauth_err = identify(ctx, app, p, &t, code, &claims);
    if (oauth_err) {
        if (souk_db_run(app->db, audit_failure, &fail) != SOUK_OK)
            souk_log_warn("could not audit a failed sign-in with %s", p->name);
        back_to(ctx, t.st.redirect_uri, "error", oauth_err);
        return;
    }
    char login_code[44], tp[SOUK_TRACEPARENT_LEN + 1];
    random_b64(login_code);
    souk_trace_format(&ctx->trace, tp);
    const char *email = json_string_value(json_object_get(claims, "email"));
    signin_t s = {.app = app,
                  .provider = p->name,
                  .subject = json_string_value(json_object_get(claims, "sub")),
                  .email = email && auth_email_valid(email) ? email : NULL,
                  .name = json_string_value(json_object_get(claims, "name")),
                  .verified = auth_oidc_email_verified(claims),
                  .traceparent = tp,
                  .audit = souk_audit_of(ctx, NULL, "login.oidc", "user", NULL)};
    if (s.name && strlen(s.name) > AUTH_NAME_MAX)
        s.name = NULL;
    auth_token_hash(login_code, s.code_hash);
    err = souk_db_run_tx(app->db, signin_tx, &s);
    if (s.refused) {
        if (souk_db_run(app->db, audit_failure, &fail) != SOUK_OK)
            souk_log_warn("could not audit a refused sign-in with %s", p->name);
        back_to(ctx, t.st.redirect_uri, "error", "access_denied");
    } else if (err) {
        back_to(ctx, t.st.redirect_uri, "error", "server_error");
    } else {
        back_to(ctx, t.st.redirect_uri, "code", login_code);
    }
    auth_user_cleanup(&s.user);
    json_decref(claims);
}

void auth_oidc_routes_register(souk_http_server_t *srv, auth_app_t *app)
{
    souk_http_route(srv, "GET", "/auth/providers", do_providers, app);
    souk_http_route(srv, "GET", "/auth/oauth/:provider/authorize", do_authorize, app);
    souk_http_route(srv, "GET", "/auth/oauth/:provider/callback", do_callback, app);
}
