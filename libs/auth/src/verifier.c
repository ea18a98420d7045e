/* verifier.c: access-token verification. Signature checks cost ~130 us, more
 * than a whole proxied request, so a verified token is remembered (keyed by a
 * hash of the whole token, until its exp) in a bounded, striped, direct-mapped
 * cache. Before any signature work the header must say alg ES256 and name a
 * kid we hold, whatever else it claims; remote key references (jku, x5u, jwk)
 * are never followed. A verifier with a JWKS URL fetches the set again every
 * recheck_s on a thread of its own: the set names the machine clients whose
 * tokens must be refused, so a deleted client's token stops working within
 * that bound even while it sits in the cache. */
#include <souk/auth.h>

#include <pthread.h>
#include <rhonabwy.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_TOKEN  4096
#define MAX_HEADER 1024
#define STRIPES    16
#define SEC_NS     1000000000ull
/* After a good fetch, an unknown kid may trigger the next one this soon;
 * after failures the wait doubles from BACKOFF_MIN to BACKOFF_MAX, also
 * before the first key set ever loaded, so a flood of tokens while the
 * issuer is down costs it one request per interval, not one per token. */
#define REFRESH_MIN_INTERVAL_NS (5 * SEC_NS)
#define REFRESH_BACKOFF_MIN_NS  (1 * SEC_NS)
#define REFRESH_BACKOFF_MAX_NS  (30 * SEC_NS)
#define RECHECK_DEFAULT_S       10
#define MAX_REVOKED             4096 /* clients deleted within a token's lifetime */

typedef struct {
    uint8_t hash[16];
    uint64_t kid; /* hash of the kid that verified it, to forget withdrawn keys */
    bool used;
    souk_claims_t claims;
} entry_t;

typedef struct {
    pthread_mutex_t lock;
    entry_t *slots;
} stripe_t;

struct souk_jwt_verifier {
    char *issuer, *audience, *jwks_url;
    souk_http_client_t *client;
    int leeway_s;
    pthread_rwlock_t keys_lock;
    jwks_t *keys;
    uint64_t *revoked; /* sorted hashes of revoked client ids (keys_lock) */
    size_t nrevoked;
    int recheck_s;
    pthread_mutex_t refresh_lock;
    uint64_t next_refresh_ns; /* no fetch before this (monotonic) */
    uint64_t backoff_ns;
    size_t slots_per_stripe;
    stripe_t stripes[STRIPES];
    /* the refresher thread (with a jwks_url) and its wake-up; background:
     * requests never fetch themselves */
    bool background, bg_started, bg_wanted, bg_stop;
    pthread_t bg_thread;
    pthread_mutex_t bg_lock;
    pthread_cond_t bg_wake;
};

/* Fetches when asked (an unknown kid) and every recheck_s regardless. */
static void *refresher_main(void *p)
{
    souk_jwt_verifier_t *v = p;
    pthread_mutex_lock(&v->bg_lock);
    for (;;) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += v->recheck_s;
        int rc = 0;
        while (!v->bg_wanted && !v->bg_stop && rc == 0)
            rc = pthread_cond_timedwait(&v->bg_wake, &v->bg_lock, &until);
        if (v->bg_stop)
            break;
        v->bg_wanted = false;
        pthread_mutex_unlock(&v->bg_lock);
        if (souk_jwt_verifier_refresh(v) != SOUK_OK)
            souk_log_debug("background JWKS refresh failed; backing off");
        pthread_mutex_lock(&v->bg_lock);
    }
    pthread_mutex_unlock(&v->bg_lock);
    return NULL;
}

/* Asks the refresher for a fetch; returns at once. */
static void refresh_in_background(souk_jwt_verifier_t *v)
{
    pthread_mutex_lock(&v->bg_lock);
    v->bg_wanted = true;
    pthread_cond_signal(&v->bg_wake);
    pthread_mutex_unlock(&v->bg_lock);
}

static void cache_forget_withdrawn(souk_jwt_verifier_t *v);

souk_err_t souk_jwt_verifier_new(const souk_jwt_verifier_config_t *cfg, souk_jwt_verifier_t **out)
{
    if (!cfg->issuer || !cfg->audience || (cfg->jwks_url && !cfg->client))
        return SOUK_EINVAL;
    souk_jwt_verifier_t *v = souk_calloc(1, sizeof(*v));
    v->issuer = souk_strdup(cfg->issuer);
    v->audience = souk_strdup(cfg->audience);
    v->jwks_url = cfg->jwks_url ? souk_strdup(cfg->jwks_url) : NULL;
    v->client = cfg->client;
    v->leeway_s = cfg->leeway_s > 0 ? cfg->leeway_s : 30;
    size_t entries = cfg->cache_entries ? cfg->cache_entries : 8192;
    v->slots_per_stripe = (entries + STRIPES - 1) / STRIPES;
    for (int i = 0; i < STRIPES; i++) {
        pthread_mutex_init(&v->stripes[i].lock, NULL);
        v->stripes[i].slots = souk_calloc(v->slots_per_stripe, sizeof(entry_t));
    }
    pthread_rwlock_init(&v->keys_lock, NULL);
    pthread_mutex_init(&v->refresh_lock, NULL);
    pthread_mutex_init(&v->bg_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&v->bg_wake, &ca);
    pthread_condattr_destroy(&ca);
    v->recheck_s = cfg->recheck_s > 0 ? cfg->recheck_s : RECHECK_DEFAULT_S;
    v->background = cfg->background_refresh && v->jwks_url;
    if (v->jwks_url && pthread_create(&v->bg_thread, NULL, refresher_main, v) != 0) {
        souk_jwt_verifier_free(v);
        return SOUK_ENOMEM;
    }
    v->bg_started = v->jwks_url != NULL;
    *out = v;
    return SOUK_OK;
}

souk_err_t souk_jwt_verifier_from_env(souk_http_client_t *client, souk_jwt_verifier_t **out)
{
    char url[512];
    const char *jwks = souk_env_str("JWKS_URL", NULL);
    if (!jwks) {
        snprintf(url, sizeof(url), "%s/.well-known/jwks.json",
                 souk_env_str("AUTH_URL", "http://127.0.0.1:8081"));
        jwks = url;
    }
    souk_jwt_verifier_config_t vc = {.issuer = souk_env_str("JWT_ISSUER", "souk-auth"),
                                     .audience = "souk",
                                     .jwks_url = jwks,
                                     .client = client};
    souk_err_t err = souk_jwt_verifier_new(&vc, out);
    if (err == SOUK_OK && souk_jwt_verifier_refresh(*out) != SOUK_OK)
        souk_log_warn("JWKS not loaded yet; will retry on the first token");
    return err;
}

void souk_jwt_verifier_free(souk_jwt_verifier_t *v)
{
    if (!v)
        return;
    if (v->bg_started) {
        pthread_mutex_lock(&v->bg_lock);
        v->bg_stop = true;
        pthread_cond_signal(&v->bg_wake);
        pthread_mutex_unlock(&v->bg_lock);
        pthread_join(v->bg_thread, NULL);
    }
    pthread_cond_destroy(&v->bg_wake);
    pthread_mutex_destroy(&v->bg_lock);
    for (int i = 0; i < STRIPES; i++) {
        pthread_mutex_destroy(&v->stripes[i].lock);
        souk_free(v->stripes[i].slots);
    }
    r_jwks_free(v->keys);
    souk_free(v->revoked);
    pthread_rwlock_destroy(&v->keys_lock);
    pthread_mutex_destroy(&v->refresh_lock);
    souk_free(v->issuer);
    souk_free(v->audience);
    souk_free(v->jwks_url);
    souk_free(v);
}

static uint64_t kid_hash(const char *kid);

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The sorted hashes of the ids in jwks's souk_revoked_clients (NULL, 0 when
 * there are none). */
static uint64_t *revoked_of(json_t *jwks, size_t *n)
{
    json_t *list = json_object_get(jwks, "souk_revoked_clients"), *id;
    size_t i, count = 0;
    *n = 0;
    if (!json_is_array(list) || json_array_size(list) == 0)
        return NULL;
    uint64_t *h = souk_calloc(json_array_size(list), sizeof(*h));
    json_array_foreach(list, i, id)
    {
        if (json_is_string(id) && count < MAX_REVOKED)
            h[count++] = kid_hash(json_string_value(id));
    }
    qsort(h, count, sizeof(*h), cmp_u64);
    *n = count;
    return h;
}

souk_err_t souk_jwt_verifier_set_jwks(souk_jwt_verifier_t *v, json_t *jwks)
{
    jwks_t *keys = NULL;
    if (r_jwks_init(&keys) != RHN_OK)
        return SOUK_ENOMEM;
    /* import returns RHN_ERROR_PARAM if any key is unusable; keep the usable. */
    int rc = r_jwks_import_from_json_t(keys, jwks);
    if ((rc != RHN_OK && rc != RHN_ERROR_PARAM) || r_jwks_size(keys) == 0) {
        r_jwks_free(keys);
        return SOUK_EINVAL;
    }
    size_t nrevoked;
    uint64_t *revoked = revoked_of(jwks, &nrevoked);
    pthread_rwlock_wrlock(&v->keys_lock);
    jwks_t *old = v->keys;
    uint64_t *old_revoked = v->revoked;
    v->keys = keys;
    v->revoked = revoked;
    v->nrevoked = nrevoked;
    pthread_rwlock_unlock(&v->keys_lock);
    r_jwks_free(old);
    souk_free(old_revoked);
    cache_forget_withdrawn(v);
    return SOUK_OK;
}

bool souk_jwt_verifier_ready(souk_jwt_verifier_t *v)
{
    pthread_rwlock_rdlock(&v->keys_lock);
    bool ready = v->keys != NULL;
    pthread_rwlock_unlock(&v->keys_lock);
    return ready;
}

souk_err_t souk_jwt_verifier_refresh(souk_jwt_verifier_t *v)
{
    if (!v->jwks_url)
        return SOUK_OK;
    pthread_mutex_lock(&v->refresh_lock);
    uint64_t now = souk_now_mono_ns();
    souk_err_t err = SOUK_OK;
    if (now < v->next_refresh_ns) {
        /* an unknown kid or a dead issuer must not make us hammer it */
        err = souk_jwt_verifier_ready(v) ? SOUK_OK : SOUK_EUNAVAIL;
        goto out;
    }
    souk_http_request_t req = {.url = v->jwks_url, .timeout_ms = 3000, .max_response = 65536};
    souk_http_response_t resp;
    err = souk_http_fetch(v->client, &req, &resp);
    if (err == SOUK_OK && resp.status != 200)
        err = SOUK_EUPSTREAM;
    if (err == SOUK_OK) {
        json_t *j = json_loadb(resp.body.data, resp.body.len, 0, NULL);
        err = j ? souk_jwt_verifier_set_jwks(v, j) : SOUK_EUPSTREAM;
        json_decref(j);
    }
    souk_http_response_cleanup(&resp);
    if (err) {
        v->backoff_ns = v->backoff_ns ? v->backoff_ns * 2 : REFRESH_BACKOFF_MIN_NS;
        if (v->backoff_ns > REFRESH_BACKOFF_MAX_NS)
            v->backoff_ns = REFRESH_BACKOFF_MAX_NS;
        souk_log_warn("cannot fetch JWKS from %s: %s (next try in %llus)", v->jwks_url,
                      souk_strerror(err), (unsigned long long)(v->backoff_ns / SEC_NS));
    } else {
        v->backoff_ns = 0;
    }
    v->next_refresh_ns = souk_now_mono_ns() + (err ? v->backoff_ns : REFRESH_MIN_INTERVAL_NS);
out:
    pthread_mutex_unlock(&v->refresh_lock);
    return err;
}

/* ---- cache ---------------------------------------------------------------- */

static entry_t *slot_for(souk_jwt_verifier_t *v, const uint8_t hash[16], stripe_t **stripe)
{
    uint64_t h;
    memcpy(&h, hash, sizeof(h));
    *stripe = &v->stripes[h % STRIPES];
    return &(*stripe)->slots[(h / STRIPES) % v->slots_per_stripe];
}

static bool cache_get(souk_jwt_verifier_t *v, const uint8_t hash[16], souk_claims_t *out)
{
    stripe_t *st;
    entry_t *e = slot_for(v, hash, &st);
    pthread_mutex_lock(&st->lock);
    bool hit = e->used && memcmp(e->hash, hash, 16) == 0 && e->claims.exp > souk_now_unix();
    if (hit)
        *out = e->claims;
    pthread_mutex_unlock(&st->lock);
    return hit;
}

static uint64_t kid_hash(const char *kid)
{
    uint64_t h;
    crypto_generichash((uint8_t *)&h, sizeof(h), (const uint8_t *)kid, strlen(kid), NULL, 0);
    return h;
}

static void cache_put(souk_jwt_verifier_t *v, const uint8_t hash[16], const char *kid,
                      const souk_claims_t *c)
{
    stripe_t *st;
    entry_t *e = slot_for(v, hash, &st);
    pthread_mutex_lock(&st->lock);
    memcpy(e->hash, hash, 16);
    e->kid = kid_hash(kid);
    e->claims = *c;
    e->used = true;
    pthread_mutex_unlock(&st->lock);
}

/* A key that left the issuer's set must stop vouching for the tokens it
 * signed at once, not when they expire: drop every entry of a kid the
 * current set does not hold. */
static void cache_forget_withdrawn(souk_jwt_verifier_t *v)
{
    uint64_t held[64];
    size_t nheld = 0;
    pthread_rwlock_rdlock(&v->keys_lock);
    for (size_t i = 0; v->keys && i < r_jwks_size(v->keys) && nheld < SOUK_ARRAY_LEN(held); i++) {
        jwk_t *k = r_jwks_get_at(v->keys, i);
        const char *kid = r_jwk_get_property_str(k, "kid");
        if (kid)
            held[nheld++] = kid_hash(kid);
        r_jwk_free(k);
    }
    pthread_rwlock_unlock(&v->keys_lock);
    for (int s = 0; s < STRIPES; s++) {
        stripe_t *st = &v->stripes[s];
        pthread_mutex_lock(&st->lock);
        for (size_t i = 0; i < v->slots_per_stripe; i++) {
            entry_t *e = &st->slots[i];
            bool keep = false;
            for (size_t k = 0; e->used && k < nheld && !keep; k++)
                keep = held[k] == e->kid;
            e->used = keep;
        }
        pthread_mutex_unlock(&st->lock);
    }
}

/* ---- checks --------------------------------------------------------------- */

/* Decodes and checks the protected header; copies the kid out. */
static bool header_ok(const char *token, size_t hlen, char *kid, size_t kid_cap)
{
    unsigned char raw[MAX_HEADER];
    size_t rawlen = 0;
    if (hlen == 0 || hlen > (MAX_HEADER * 4) / 3 ||
        sodium_base642bin(raw, sizeof(raw) - 1, token, hlen, NULL, &rawlen, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return false;
    json_t *h = json_loadb((const char *)raw, rawlen, JSON_REJECT_DUPLICATES, NULL);
    const char *alg = json_string_value(json_object_get(h, "alg"));
    const char *k = json_string_value(json_object_get(h, "kid"));
    json_t *typ = json_object_get(h, "typ");
    bool ok = json_is_object(h) && alg && strcmp(alg, "ES256") == 0 && k && strlen(k) < kid_cap &&
              (!typ || (json_is_string(typ) && strcmp(json_string_value(typ), "JWT") == 0)) &&
              !json_object_get(h, "crit");
    if (ok)
        snprintf(kid, kid_cap, "%s", k);
    json_decref(h);
    return ok;
}

static bool audience_ok(json_t *aud, const char *want)
{
    if (json_is_string(aud))
        return strcmp(json_string_value(aud), want) == 0;
    size_t i;
    json_t *a;
    json_array_foreach(aud, i, a) if (json_is_string(a) &&
                                      strcmp(json_string_value(a), want) == 0) return true;
    return false;
}

/* The roles of a user's token (an array of names; unknown ones grant
 * nothing) or their absence in a client's; false when malformed. */
static bool roles_ok(json_t *roles, bool client, unsigned *out)
{
    size_t i;
    json_t *r;
    *out = 0;
    if (client)
        return roles == NULL;
    if (!json_is_array(roles))
        return false;
    json_array_foreach(roles, i, r) *out |= souk_role_parse(json_string_value(r));
    return true;
}

/* A client's token names its client in client_id (= sub) and carries no
 * email; a user's carries an email. */
static bool subject_ok(json_t *j, const char *sub, bool *client, const char **email)
{
    json_t *cid = json_object_get(j, "client_id");
    *client = cid != NULL;
    *email = json_string_value(json_object_get(j, "email"));
    if (*client)
        return json_is_string(cid) && strcmp(json_string_value(cid), sub) == 0;
    return *email != NULL;
}

static bool claims_ok(souk_jwt_verifier_t *v, json_t *j, souk_claims_t *c)
{
    const char *iss = json_string_value(json_object_get(j, "iss"));
    const char *sub = json_string_value(json_object_get(j, "sub"));
    const char *jti = json_string_value(json_object_get(j, "jti"));
    const char *email = NULL;
    json_t *exp = json_object_get(j, "exp"), *iat = json_object_get(j, "iat");
    json_t *scope = json_object_get(j, "scope");
    int64_t now = souk_now_unix();
    bool client = false;
    unsigned roles = 0, perms = 0;
    if (!iss || strcmp(iss, v->issuer) != 0 || !audience_ok(json_object_get(j, "aud"), v->audience))
        return false;
    if (!json_is_integer(exp) || !json_is_integer(iat) || json_integer_value(exp) <= now ||
        json_integer_value(iat) > now + v->leeway_s)
        return false;
    if (!sub || !souk_uuid_valid(sub, strlen(sub)) || !jti || strlen(jti) > SOUK_UUID_STRLEN ||
        !subject_ok(j, sub, &client, &email) || (email && strlen(email) >= sizeof(c->email)) ||
        !roles_ok(json_object_get(j, "roles"), client, &roles))
        return false;
    if (scope && (!json_is_string(scope) || souk_scope_parse(json_string_value(scope), &perms)))
        return false;
    memset(c, 0, sizeof(*c));
    c->roles = roles;
    c->scope = perms;
    c->perms = souk_role_permissions(roles) | perms;
    c->client = client;
    snprintf(c->sub, sizeof(c->sub), "%s", sub);
    snprintf(c->jti, sizeof(c->jti), "%s", jti);
    snprintf(c->email, sizeof(c->email), "%s", email ? email : "");
    c->exp = json_integer_value(exp);
    c->iat = json_integer_value(iat);
    return true;
}

/* Whether a client token's client is revoked now. */
static bool revoked(souk_jwt_verifier_t *v, const souk_claims_t *c)
{
    if (!c->client)
        return false;
    uint64_t h = kid_hash(c->sub);
    pthread_rwlock_rdlock(&v->keys_lock);
    bool found = v->nrevoked && bsearch(&h, v->revoked, v->nrevoked, sizeof(h), cmp_u64);
    pthread_rwlock_unlock(&v->keys_lock);
    return found;
}

/* Signature and claims, under the keys read lock. */
static souk_err_t check_signed(souk_jwt_verifier_t *v, const char *token, size_t len,
                               const char *kid, souk_claims_t *out)
{
    souk_err_t err = SOUK_EAUTH;
    jwt_t *jwt = NULL;
    jwk_t *key = NULL;
    json_t *claims = NULL;
    pthread_rwlock_rdlock(&v->keys_lock);
    if (!v->keys) {
        err = SOUK_EUNAVAIL;
        goto out;
    }
    key = r_jwks_get_by_kid(v->keys, kid);
    if (!key) {
        err = SOUK_ENOTFOUND;
        goto out;
    }
    if (r_jwt_init(&jwt) != RHN_OK ||
        r_jwt_advanced_parsen(jwt, token, len, R_PARSE_NONE, R_FLAG_IGNORE_REMOTE) != RHN_OK ||
        r_jwt_get_type(jwt) != R_JWT_TYPE_SIGN || r_jwt_get_sign_alg(jwt) != R_JWA_ALG_ES256 ||
        r_jwt_verify_signature(jwt, key, R_FLAG_IGNORE_REMOTE) != RHN_OK)
        goto out;
    claims = r_jwt_get_full_claims_json_t(jwt);
    if (claims && claims_ok(v, claims, out))
        err = SOUK_OK;
out:
    pthread_rwlock_unlock(&v->keys_lock);
    json_decref(claims);
    r_jwk_free(key);
    r_jwt_free(jwt);
    return err;
}

/* True if [s, s+n) is canonical unpadded base64url (libsodium refuses
 * padding, other characters and non-zero trailing bits) of at most cap bytes;
 * *decoded gets the length. One token then has exactly one accepted spelling,
 * which the cache and anything keyed on the token text rely on. */
static bool canonical_b64(const char *s, size_t n, size_t cap, size_t *decoded)
{
    unsigned char buf[MAX_TOKEN];
    return n > 0 && cap <= sizeof(buf) &&
           sodium_base642bin(buf, cap, s, n, NULL, decoded, NULL,
                             sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0 &&
           *decoded > 0;
}

/* Exactly three canonical segments, the signature an ES256 r||s (64 bytes). */
static bool well_formed(const char *token, size_t len, size_t *header_len)
{
    const char *d1 = memchr(token, '.', len);
    const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token)) : NULL;
    if (!d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)))
        return false;
    size_t n;
    *header_len = (size_t)(d1 - token);
    return canonical_b64(token, *header_len, MAX_HEADER, &n) &&
           canonical_b64(d1 + 1, (size_t)(d2 - d1 - 1), MAX_TOKEN, &n) &&
           canonical_b64(d2 + 1, len - (size_t)(d2 + 1 - token), 64, &n) && n == 64;
}

souk_err_t souk_jwt_verify(souk_jwt_verifier_t *v, const char *token, souk_claims_t *out)
{
    size_t len = token ? strnlen(token, MAX_TOKEN + 1) : 0, header_len = 0;
    char kid[128];
    if (len == 0 || len > MAX_TOKEN)
        return SOUK_EAUTH;
    /* The cache holds only tokens that passed every check below, keyed by
     * their exact text, so a hit needs none of them again. */
    uint8_t hash[16];
    crypto_generichash(hash, sizeof(hash), (const uint8_t *)token, len, NULL, 0);
    if (cache_get(v, hash, out))
        return revoked(v, out) ? SOUK_EAUTH : SOUK_OK;
    if (!well_formed(token, len, &header_len) || !header_ok(token, header_len, kid, sizeof(kid)))
        return SOUK_EAUTH;
    souk_err_t err = check_signed(v, token, len, kid, out);
    bool missing = err == SOUK_ENOTFOUND || err == SOUK_EUNAVAIL;
    if (missing && v->background)
        refresh_in_background(v);
    else if (missing && v->jwks_url && souk_jwt_verifier_refresh(v) == SOUK_OK)
        err = check_signed(v, token, len, kid, out);
    if (err == SOUK_ENOTFOUND)
        err = SOUK_EAUTH;
    if (err == SOUK_OK)
        cache_put(v, hash, kid, out);
    return err == SOUK_OK && revoked(v, out) ? SOUK_EAUTH : err;
}

bool souk_auth_permit(souk_http_ctx_t *ctx, const souk_claims_t *claims, unsigned perm)
{
    if (souk_claims_can(claims, perm))
        return true;
    souk_http_problem(ctx, 403, "your permissions do not allow this");
    return false;
}

bool souk_auth_require(souk_http_ctx_t *ctx, souk_jwt_verifier_t *v, unsigned perm,
                       souk_claims_t *out)
{
    const char *token = souk_http_bearer(ctx);
    if (!token) {
        souk_http_problem(ctx, 401, "a bearer token is required");
        return false;
    }
    souk_err_t err = souk_jwt_verify(v, token, out);
    if (err == SOUK_EUNAVAIL) {
        souk_http_problem(ctx, 503, "token keys are not available yet");
        return false;
    }
    if (err) {
        souk_http_problem(ctx, 401, "the bearer token is invalid or expired");
        return false;
    }
    return souk_auth_permit(ctx, out, perm);
}
