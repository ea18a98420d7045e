/* souk/auth.h: credentials and tokens. Argon2id password hashing (libsodium),
 * ES256 access tokens with a kid (rhonabwy), JWKS export for the issuer, and
 * a verifier that keeps the issuer's JWKS (fetched over HTTP, refreshed on an
 * unknown kid) plus a bounded cache of tokens it already verified. Also the
 * HTTP guard that turns a bearer token into claims or a 401/403, and the
 * one table of roles and the permissions they grant.
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

/* ---- roles and permissions ----------------------------------------------- */

/* The closed set of roles (ARCHITECTURE.md §4, roles and permissions). Every
 * user is a customer; the others add permissions. A check never names a
 * role: it asks for a permission (souk_claims_can, souk_auth_require). */
enum {
    SOUK_ROLE_CUSTOMER = 1u << 0,
    SOUK_ROLE_ADMIN = 1u << 1,
    SOUK_ROLE_CATALOG = 1u << 2,
    SOUK_ROLE_SUPPORT = 1u << 3,
    SOUK_ROLE_ANALYST = 1u << 4,
};

/* The closed set of permissions. A customer's rights over their own
 * profile, orders and notifications are not permissions: ownership grants
 * them. */
enum {
    SOUK_PERM_PRODUCTS_WRITE = 1u << 0,    /* products:write */
    SOUK_PERM_ORDERS_READ_ANY = 1u << 1,   /* orders:read:any */
    SOUK_PERM_ORDERS_CANCEL_ANY = 1u << 2, /* orders:cancel:any */
    SOUK_PERM_USERS_READ = 1u << 3,        /* users:read */
    SOUK_PERM_USERS_WRITE = 1u << 4,       /* users:write */
    SOUK_PERM_REPORTS_READ = 1u << 5,      /* reports:read */
    SOUK_PERM_CLIENTS_WRITE = 1u << 6,     /* clients:write */
    SOUK_PERM_AUDIT_READ = 1u << 7,        /* audit:read */
};
#define SOUK_PERM_ALL 0xffu

#define SOUK_SCOPE_MAX 256 /* the longest scope string: every permission, spaces */

typedef struct {
    char sub[SOUK_UUID_STRLEN + 1];
    char jti[SOUK_UUID_STRLEN + 1];
    char email[256]; /* "" in a client's token */
    unsigned roles;  /* SOUK_ROLE_* bits; 0 in a client's token */
    unsigned scope;  /* SOUK_PERM_* bits of the scope claim */
    unsigned perms;  /* effective: the roles' permissions and the scope's */
    bool client;     /* a machine client's token: sub is its client_id */
    int64_t iat, exp;
} souk_claims_t;

/* "customer" -> SOUK_ROLE_CUSTOMER; 0 for an unknown name or NULL. */
unsigned souk_role_parse(const char *name);
/* JSON array of role names for the bits set (new reference). */
json_t *souk_roles_json(unsigned roles);
/* The permissions the roles grant together. */
unsigned souk_role_permissions(unsigned roles);
/* "products:write" -> SOUK_PERM_PRODUCTS_WRITE; 0 for unknown or NULL. */
unsigned souk_permission_parse(const char *name);
/* JSON array of permission names for the bits set (new reference). */
json_t *souk_permissions_json(unsigned perms);
/* [{name, permissions:[...]}] for every role, in a fixed order (new
 * reference): GET /auth/roles. */
json_t *souk_roles_table_json(void);
/* Parses a space-separated scope ("orders:read:any users:read") into
 * permission bits. SOUK_EINVAL when a name is unknown or the string is over
 * SOUK_SCOPE_MAX; an empty or NULL scope is 0. */
souk_err_t souk_scope_parse(const char *scope, unsigned *perms) SOUK_MUST_CHECK;
/* The scope string of perms (space-separated, table order) into out. */
void souk_scope_format(unsigned perms, char out[SOUK_SCOPE_MAX]);
/* Whether claims hold every permission in perm (0: any valid token). */
bool souk_claims_can(const souk_claims_t *claims, unsigned perm);

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
/* Signs an access token; fills jti, iat and exp in claims (and perms).
 * A user's token carries sub, email, roles (and scope when claims->scope is
 * set); a client's (claims->client) carries sub, client_id = sub and scope,
 * and no email or roles. *token is souk_free-able. */
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
    /* With jwks_url: the key set is fetched again this often (default 10 s)
     * on the verifier's own thread, whatever tokens arrive. It carries the
     * clients whose tokens must be refused (souk_revoked_clients), so a
     * deleted client's tokens stop working within this bound, cache or no
     * cache. */
    int recheck_s;
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
/* Replaces the key set with jwks ({"keys":[...]}, borrowed), and the
 * revoked clients with its "souk_revoked_clients" member (an array of
 * client ids; RFC 7517 §5 lets a JWK Set carry members others ignore). */
souk_err_t souk_jwt_verifier_set_jwks(souk_jwt_verifier_t *v, json_t *jwks) SOUK_MUST_CHECK;
/* Fetches the key set from jwks_url now (at most once per few seconds). */
souk_err_t souk_jwt_verifier_refresh(souk_jwt_verifier_t *v) SOUK_MUST_CHECK;
/* True once a key set is loaded. */
bool souk_jwt_verifier_ready(souk_jwt_verifier_t *v);
/* Verifies token: header alg must be ES256 and kid known before any
 * signature work; then signature, iss, aud, exp/iat, sub, and either email
 * and roles (a user's token) or client_id = sub and no roles (a client's,
 * refused while its client is revoked); scope when present.
 * SOUK_EAUTH for any bad token, SOUK_EUNAVAIL when no keys can be had. An
 * unknown kid fetches the key set first (at most once per few seconds), on
 * this thread or, with background_refresh, on the refresher's. */
souk_err_t souk_jwt_verify(souk_jwt_verifier_t *v, const char *token,
                           souk_claims_t *out) SOUK_MUST_CHECK;

/* ---- HTTP guard ----------------------------------------------------------- */

/* Verifies the request's bearer token and, when perm is non-zero, that the
 * token's effective permissions hold every SOUK_PERM_* bit of it. This is
 * the one permission check of every service. On success fills *out and
 * returns true; otherwise replies 401 (with WWW-Authenticate), 403 or 503
 * and returns false. */
bool souk_auth_require(souk_http_ctx_t *ctx, souk_jwt_verifier_t *v, unsigned perm,
                       souk_claims_t *out);
/* Replies 403 for a token that lacks perm and returns false; true when
 * claims hold it. For checks that depend on the request (someone else's
 * order). */
bool souk_auth_permit(souk_http_ctx_t *ctx, const souk_claims_t *claims, unsigned perm);

/* ---- audit ---------------------------------------------------------------- */

/* One security-relevant action (ARCHITECTURE.md §4, audit): who (a user or
 * a machine client), what, on what, how it ended, from where. auth-service
 * stores them; other services publish them as souk.audit.recorded.v1 events
 * on the audit topic through their outbox, in the transaction of the action
 * itself (docs/events.md). Never a secret: no password, token or hash ever
 * goes in. Members are borrowed; NULL ones are null in the JSON. */
typedef struct {
    const char *action;      /* e.g. "product.create" (docs/events.md lists them) */
    const char *actor_id;    /* user or client id; NULL when unknown */
    bool actor_client;       /* actor_type "client", else "user" */
    const char *target_type; /* "user", "product", "order", "client" */
    const char *target_id;
    const char *outcome;   /* "success" or "failure" */
    const char *client_ip; /* the caller's address */
    const char *request_id;
} souk_audit_t;

/* An entry for the request's caller: actor from claims (may be NULL),
 * client_ip and request_id from ctx; outcome "success". */
souk_audit_t souk_audit_of(const souk_http_ctx_t *ctx, const souk_claims_t *claims,
                           const char *action, const char *target_type, const char *target_id);
/* The data of a souk.audit.recorded.v1 event: {action, actor_id,
 * actor_type, target_type, target_id, outcome, client_ip, request_id} (new
 * reference). */
json_t *souk_audit_json(const souk_audit_t *a);

#endif
