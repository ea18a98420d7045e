/* souk/auth.h: credentials and tokens. Argon2id password hashing (libsodium),
 * ES256 access tokens with a kid (rhonabwy), JWKS export for the issuer, and
 * a verifier that keeps the issuer's JWKS (fetched over HTTP, refreshed on an
 * unknown kid) plus a bounded cache of tokens it already verified. Also the
 * HTTP guard that turns a bearer token into claims or a 401/403.
 *
 * It does not store users or refresh tokens: that is auth-service's job.
 *
 * Thread-safety: signer and verifier are thread-safe after creation. */
#ifndef SOUK_AUTH_H
#define SOUK_AUTH_H

#include <souk/core.h>
#include <souk/http.h>

/* ---- passwords ------------------------------------------------------------ */

#define SOUK_PASSWORD_HASH_MAX 128 /* crypto_pwhash_STRBYTES */

typedef struct {
    unsigned long long opslimit; /* 0: libsodium's INTERACTIVE */
    size_t memlimit;             /* bytes; 0: INTERACTIVE (64 MiB) */
} souk_pwhash_params_t;

/* Must run once before hashing (libsodium init); safe to call again. */
souk_err_t souk_auth_init(void) SOUK_MUST_CHECK;
/* Hashes pw into out (a NUL-terminated "$argon2id$..." string). params may be
 * NULL for the defaults. SOUK_ENOMEM if the memory limit cannot be had. */
souk_err_t souk_password_hash(const char *pw, const souk_pwhash_params_t *params,
                              char out[SOUK_PASSWORD_HASH_MAX]) SOUK_MUST_CHECK;
/* Constant-time with respect to the password; false for a malformed hash. */
bool souk_password_verify(const char *hash, const char *pw);

/* ---- claims and roles ----------------------------------------------------- */

enum { SOUK_ROLE_CUSTOMER = 1u << 0, SOUK_ROLE_ADMIN = 1u << 1 };

typedef struct {
    char sub[SOUK_UUID_STRLEN + 1];
    char jti[SOUK_UUID_STRLEN + 1];
    char email[256];
    unsigned roles; /* SOUK_ROLE_* bits */
    int64_t iat, exp;
} souk_claims_t;

/* "customer" -> SOUK_ROLE_CUSTOMER; 0 for an unknown name. */
unsigned souk_role_parse(const char *name);
/* JSON array of role names for the bits set (new reference). */
json_t *souk_roles_json(unsigned roles);

/* ---- issuing (auth-service) ----------------------------------------------- */

typedef struct souk_jwt_signer souk_jwt_signer_t;

typedef struct {
    const char *pem;      /* private key PEM (e.g. from JWT_PRIVATE_KEY); or NULL */
    const char *path;     /* else read from this file ... */
    bool generate;        /* ... and when it is missing, generate and write it */
    const char *issuer;   /* iss */
    const char *audience; /* aud */
    int ttl_s;            /* access token lifetime */
} souk_jwt_signer_config_t;

/* Loads (or generates) the P-256 key; kid is its RFC 7638 thumbprint. */
souk_err_t souk_jwt_signer_new(const souk_jwt_signer_config_t *cfg,
                               souk_jwt_signer_t **out) SOUK_MUST_CHECK;
void souk_jwt_signer_free(souk_jwt_signer_t *s);
const char *souk_jwt_signer_kid(const souk_jwt_signer_t *s);
/* {"keys":[public JWK]} (new reference). */
json_t *souk_jwt_signer_jwks(const souk_jwt_signer_t *s);
/* Signs an access token for claims->sub/email/roles; fills jti, iat and exp
 * in claims. *token is souk_free-able. */
souk_err_t souk_jwt_issue(souk_jwt_signer_t *s, souk_claims_t *claims,
                          char **token) SOUK_MUST_CHECK;

/* ---- verifying (every service) -------------------------------------------- */

typedef struct souk_jwt_verifier souk_jwt_verifier_t;

typedef struct {
    const char *issuer;
    const char *audience;
    const char *jwks_url;       /* fetched on demand; NULL when keys are set directly */
    souk_http_client_t *client; /* borrowed; required with jwks_url */
    size_t cache_entries;       /* verified-token cache size; default 8192, 0 keeps default */
    int leeway_s;               /* clock skew allowance; default 30 */
    /* Never fetch on the verifying thread (an event loop): a token whose kid
     * is unknown, or that arrives before any key set, wakes a refresher
     * thread of the verifier's own (same rate limit and back-off) and is
     * refused meanwhile, SOUK_EAUTH or SOUK_EUNAVAIL. A cache miss still
     * costs one signature check on the caller. */
    bool background_refresh;
} souk_jwt_verifier_config_t;

souk_err_t souk_jwt_verifier_new(const souk_jwt_verifier_config_t *cfg,
                                 souk_jwt_verifier_t **out) SOUK_MUST_CHECK;
void souk_jwt_verifier_free(souk_jwt_verifier_t *v);
/* A verifier of auth-service's tokens configured from the environment:
 * JWT_ISSUER (default souk-auth), JWKS_URL, else AUTH_URL (default
 * http://127.0.0.1:8081) + /.well-known/jwks.json. Tries one fetch now; a
 * failure is only logged (keys are fetched again on the first token). */
souk_err_t souk_jwt_verifier_from_env(souk_http_client_t *client,
                                      souk_jwt_verifier_t **out) SOUK_MUST_CHECK;
/* Replaces the key set with jwks ({"keys":[...]}, borrowed). */
souk_err_t souk_jwt_verifier_set_jwks(souk_jwt_verifier_t *v, json_t *jwks) SOUK_MUST_CHECK;
/* Fetches the key set from jwks_url now (at most once per few seconds). */
souk_err_t souk_jwt_verifier_refresh(souk_jwt_verifier_t *v) SOUK_MUST_CHECK;
/* True once a key set is loaded. */
bool souk_jwt_verifier_ready(souk_jwt_verifier_t *v);
/* Verifies token: header alg must be ES256 and kid known before any
 * signature work; then signature, iss, aud, exp/iat, sub and roles.
 * SOUK_EAUTH for any bad token, SOUK_EUNAVAIL when no keys can be had. An
 * unknown kid fetches the key set first (at most once per few seconds), on
 * this thread or, with background_refresh, on the refresher's. */
souk_err_t souk_jwt_verify(souk_jwt_verifier_t *v, const char *token,
                           souk_claims_t *out) SOUK_MUST_CHECK;

/* ---- HTTP guard ----------------------------------------------------------- */

/* Verifies the request's bearer token and, when role is non-zero, that the
 * claims carry it. On success fills *out and returns true; otherwise replies
 * 401 (with WWW-Authenticate), 403 or 503 and returns false. */
bool souk_auth_require(souk_http_ctx_t *ctx, souk_jwt_verifier_t *v, unsigned role,
                       souk_claims_t *out);

#endif
