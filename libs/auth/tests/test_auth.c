/* Unit tests of libs/auth: Argon2id hashing, and the verifier against every
 * forged token we know of: alg none, HS256 keyed with the public key, another
 * key under our kid, unknown kid, tampered payload, wrong iss/aud, expired. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <rhonabwy.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include <souk/auth.h>

static const souk_pwhash_params_t fast = {.opslimit = 1, .memlimit = 8192 * 1024};

static void test_password(void **state)
{
    char h1[SOUK_PASSWORD_HASH_MAX], h2[SOUK_PASSWORD_HASH_MAX];
    assert_int_equal(souk_password_hash("correct horse", &fast, h1), SOUK_OK);
    assert_int_equal(souk_password_hash("correct horse", &fast, h2), SOUK_OK);
    assert_true(strncmp(h1, "$argon2id$", 10) == 0);
    assert_string_not_equal(h1, h2); /* salted */
    assert_true(souk_password_verify(h1, "correct horse"));
    assert_false(souk_password_verify(h1, "correct horsE"));
    assert_false(souk_password_verify(h1, ""));
    assert_false(souk_password_verify("$argon2id$garbage", "correct horse"));
    assert_false(souk_password_verify(NULL, "x"));
}

typedef struct {
    char path[64];
    souk_jwt_signer_t *signer;
    souk_jwt_verifier_t *verifier;
    jwk_t *priv; /* the same key, for crafting tokens by hand */
} fx_t;

static int setup(void **state)
{
    fx_t *f = souk_calloc(1, sizeof(*f));
    snprintf(f->path, sizeof(f->path), "/tmp/souk-test-key-%d.pem", (int)getpid());
    unlink(f->path);
    souk_jwt_signer_config_t sc = {
        .path = f->path, .generate = true, .issuer = "souk-auth", .audience = "souk", .ttl_s = 900};
    assert_int_equal(souk_jwt_signer_new(&sc, &f->signer), SOUK_OK);
    /* Loading the written file again gives the same key, hence the same kid. */
    souk_jwt_signer_t *again;
    assert_int_equal(souk_jwt_signer_new(&sc, &again), SOUK_OK);
    assert_string_equal(souk_jwt_signer_kid(again), souk_jwt_signer_kid(f->signer));
    souk_jwt_signer_free(again);

    souk_jwt_verifier_config_t vc = {.issuer = "souk-auth", .audience = "souk"};
    assert_int_equal(souk_jwt_verifier_new(&vc, &f->verifier), SOUK_OK);
    json_t *jwks = souk_jwt_signer_jwks(f->signer);
    assert_null(json_object_get(json_array_get(json_object_get(jwks, "keys"), 0), "d"));
    assert_int_equal(souk_jwt_verifier_set_jwks(f->verifier, jwks), SOUK_OK);
    json_decref(jwks);

    FILE *fp = fopen(f->path, "rb");
    unsigned char pem[4096];
    size_t n = fread(pem, 1, sizeof(pem), fp);
    fclose(fp);
    r_jwk_init(&f->priv);
    assert_int_equal(r_jwk_import_from_pem_der(f->priv, R_X509_TYPE_PRIVKEY, R_FORMAT_PEM, pem, n),
                     RHN_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    souk_jwt_signer_free(f->signer);
    souk_jwt_verifier_free(f->verifier);
    r_jwk_free(f->priv);
    unlink(f->path);
    souk_free(f);
    return 0;
}

static char *b64url(const void *p, size_t n)
{
    size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = souk_malloc(cap);
    sodium_bin2base64(out, cap, p, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return out;
}

static json_t *good_claims(void)
{
    int64_t now = souk_now_unix();
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:[s]}", "iss", "souk-auth", "sub",
                     "3f1c1a52-7d1b-4b7e-9a35-7f3ad1f0c001", "aud", "souk", "exp",
                     (json_int_t)(now + 600), "iat", (json_int_t)now, "jti",
                     "7c4b3c52-1111-4b7e-9a35-7f3ad1f0c001", "email", "a@b.c", "roles", "customer");
}

/* Signs claims (stolen) with key under kid using rhonabwy directly. */
static char *sign_with(jwk_t *key, const char *kid, json_t *claims)
{
    jwt_t *jwt;
    r_jwt_init(&jwt);
    r_jwt_set_full_claims_json_t(jwt, claims);
    r_jwt_set_sign_alg(jwt, R_JWA_ALG_ES256);
    r_jwt_set_header_str_value(jwt, "kid", kid);
    char *t = r_jwt_serialize_signed(jwt, key, 0);
    char *copy = souk_strdup(t);
    r_free(t);
    r_jwt_free(jwt);
    json_decref(claims);
    return copy;
}

/* header.payload.signature from parts, with an HMAC or empty signature. */
static char *handmade(const char *header_json, json_t *claims, const uint8_t *hmac_key,
                      size_t key_len)
{
    char *payload_json = json_dumps(claims, JSON_COMPACT);
    char *h = b64url(header_json, strlen(header_json));
    char *p = b64url(payload_json, strlen(payload_json));
    char input[2048];
    snprintf(input, sizeof(input), "%s.%s", h, p);
    char *sig = souk_strdup("");
    if (hmac_key) {
        uint8_t mac[crypto_auth_hmacsha256_BYTES];
        crypto_auth_hmacsha256_state st;
        crypto_auth_hmacsha256_init(&st, hmac_key, key_len);
        crypto_auth_hmacsha256_update(&st, (const uint8_t *)input, strlen(input));
        crypto_auth_hmacsha256_final(&st, mac);
        souk_free(sig);
        sig = b64url(mac, sizeof(mac));
    }
    char *token = souk_malloc(strlen(input) + strlen(sig) + 2);
    snprintf(token, strlen(input) + strlen(sig) + 2, "%s.%s", input, sig);
    free(payload_json);
    souk_free(h);
    souk_free(p);
    souk_free(sig);
    json_decref(claims);
    return token;
}

static void test_issue_and_verify(void **state)
{
    fx_t *f = *state;
    souk_claims_t c = {.sub = "3f1c1a52-7d1b-4b7e-9a35-7f3ad1f0c001",
                       .email = "a@b.c",
                       .roles = SOUK_ROLE_CUSTOMER | SOUK_ROLE_ADMIN};
    char *token;
    assert_int_equal(souk_jwt_issue(f->signer, &c, &token), SOUK_OK);
    assert_int_equal(c.exp - c.iat, 900);
    souk_claims_t out;
    for (int i = 0; i < 2; i++) { /* second round is served by the cache */
        memset(&out, 0, sizeof(out));
        assert_int_equal(souk_jwt_verify(f->verifier, token, &out), SOUK_OK);
        assert_string_equal(out.sub, c.sub);
        assert_string_equal(out.email, "a@b.c");
        assert_string_equal(out.jti, c.jti);
        assert_int_equal(out.roles, SOUK_ROLE_CUSTOMER | SOUK_ROLE_ADMIN);
    }
    /* Other spellings of the same bytes are not the same token. */
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t len = strlen(token);
    char *variant = souk_malloc(len + 8);
    const char *last = token + len - 1; /* the signature's last char has 2 spare bits */
    memcpy(variant, token, len + 1);
    variant[len - 1] = b64[(strchr(b64, *last) - b64) ^ 1];
    assert_int_equal(souk_jwt_verify(f->verifier, variant, &out), SOUK_EAUTH);
    const char *sig_dot = strrchr(token, '.');
    size_t at = (size_t)(sig_dot - token);
    snprintf(variant, len + 8, "%.*s=%s", (int)at, token, sig_dot); /* padded claims */
    assert_int_equal(souk_jwt_verify(f->verifier, variant, &out), SOUK_EAUTH);
    snprintf(variant, len + 8, "%.*s\t%s", (int)at, token, sig_dot); /* whitespace */
    assert_int_equal(souk_jwt_verify(f->verifier, variant, &out), SOUK_EAUTH);
    snprintf(variant, len + 8, "%s.x", token); /* a fourth segment */
    assert_int_equal(souk_jwt_verify(f->verifier, variant, &out), SOUK_EAUTH);
    souk_free(variant);
    assert_int_equal(souk_jwt_verify(f->verifier, token, &out), SOUK_OK);

    /* Tampered payload: flip one character in the middle segment. */
    char *dot = strchr(token, '.');
    dot[5] = dot[5] == 'A' ? 'B' : 'A';
    assert_int_equal(souk_jwt_verify(f->verifier, token, &out), SOUK_EAUTH);
    souk_free(token);
}

static void test_forgeries(void **state)
{
    fx_t *f = *state;
    const char *kid = souk_jwt_signer_kid(f->signer);
    souk_claims_t out;
    char header[256];
    char *t;

    /* Control: a hand-crafted token with our key and good claims verifies. */
    t = sign_with(f->priv, kid, good_claims());
    assert_int_equal(souk_jwt_verify(f->verifier, t, &out), SOUK_OK);
    souk_free(t);

    snprintf(header, sizeof(header), "{\"alg\":\"none\",\"typ\":\"JWT\",\"kid\":\"%s\"}", kid);
    t = handmade(header, good_claims(), NULL, 0);
    assert_int_equal(souk_jwt_verify(f->verifier, t, &out), SOUK_EAUTH);
    souk_free(t);

    /* HS256 keyed with the public key's PEM and with its JWK x coordinate. */
    jwk_t *pub;
    r_jwk_init(&pub);
    r_jwk_extract_pubkey(f->priv, pub, 0);
    unsigned char pem[1024];
    size_t pem_len = sizeof(pem);
    assert_int_equal(r_jwk_export_to_pem_der(pub, R_FORMAT_PEM, pem, &pem_len, 0), RHN_OK);
    snprintf(header, sizeof(header), "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", kid);
    t = handmade(header, good_claims(), pem, pem_len);
    assert_int_equal(souk_jwt_verify(f->verifier, t, &out), SOUK_EAUTH);
    souk_free(t);
    r_jwk_free(pub);

    /* An attacker's own ES256 key presented under our kid. */
    jwk_t *evil, *evil_pub;
    r_jwk_init(&evil);
    r_jwk_init(&evil_pub);
    r_jwk_generate_key_pair(evil, evil_pub, R_KEY_TYPE_EC, 256, NULL);
    t = sign_with(evil, kid, good_claims());
    assert_int_equal(souk_jwt_verify(f->verifier, t, &out), SOUK_EAUTH);
    souk_free(t);
    /* ... and under a kid we do not know. */
    t = sign_with(evil, "unknown-kid", good_claims());
    assert_int_equal(souk_jwt_verify(f->verifier, t, &out), SOUK_EAUTH);
    souk_free(t);
    r_jwk_free(evil);
    r_jwk_free(evil_pub);

    /* Our key, bad claims. */
    static const char *const bad[] = {"iss", "aud", "exp", "sub", "roles"};
    json_t *values[] = {json_string("someone-else"), json_string("other-audience"),
                        json_integer(souk_now_unix() - 5), json_string("not-a-uuid"),
                        json_string("admin")};
    for (size_t i = 0; i < SOUK_ARRAY_LEN(bad); i++) {
        json_t *claims = good_claims();
        json_object_set_new(claims, bad[i], values[i]);
        t = sign_with(f->priv, kid, claims);
        assert_int_equal(souk_jwt_verify(f->verifier, t, &out), SOUK_EAUTH);
        souk_free(t);
    }

    /* Garbage. */
    const char *junk[] = {"", "abc", "a.b.c", "..", "eyJhbGciOiJFUzI1NiJ9..", NULL};
    for (size_t i = 0; junk[i]; i++)
        assert_int_equal(souk_jwt_verify(f->verifier, junk[i], &out), SOUK_EAUTH);
    assert_int_equal(souk_jwt_verify(f->verifier, NULL, &out), SOUK_EAUTH);
}

static void test_no_keys(void **state)
{
    souk_jwt_verifier_config_t vc = {.issuer = "souk-auth", .audience = "souk"};
    souk_jwt_verifier_t *v;
    assert_int_equal(souk_jwt_verifier_new(&vc, &v), SOUK_OK);
    assert_false(souk_jwt_verifier_ready(v));
    fx_t *f = *state;
    souk_claims_t c = {.sub = "3f1c1a52-7d1b-4b7e-9a35-7f3ad1f0c001",
                       .email = "a@b.c",
                       .roles = SOUK_ROLE_CUSTOMER};
    char *token;
    assert_int_equal(souk_jwt_issue(f->signer, &c, &token), SOUK_OK);
    assert_int_equal(souk_jwt_verify(v, token, &c), SOUK_EUNAVAIL);
    json_t *bad = json_pack("{s:[{s:s}]}", "keys", "kty", "nonsense");
    assert_int_equal(souk_jwt_verifier_set_jwks(v, bad), SOUK_EINVAL);
    json_decref(bad);
    souk_free(token);
    souk_jwt_verifier_free(v);
}

/* A key that leaves the issuer's set stops vouching for its tokens at once,
 * cached or not. */
static void test_withdrawn_kid(void **state)
{
    fx_t *f = *state;
    souk_claims_t c = {.sub = "3f1c1a52-7d1b-4b7e-9a35-7f3ad1f0c001",
                       .email = "a@b.c",
                       .roles = SOUK_ROLE_CUSTOMER};
    char *token;
    assert_int_equal(souk_jwt_issue(f->signer, &c, &token), SOUK_OK);
    souk_claims_t out;
    assert_int_equal(souk_jwt_verify(f->verifier, token, &out), SOUK_OK); /* now cached */
    jwk_t *other, *other_pub;
    r_jwk_init(&other);
    r_jwk_init(&other_pub);
    r_jwk_generate_key_pair(other, other_pub, R_KEY_TYPE_EC, 256, NULL);
    r_jwk_set_property_str(other_pub, "kid", "rotated-in");
    json_t *jwks = json_pack("{s:[o]}", "keys", r_jwk_export_to_json_t(other_pub));
    assert_int_equal(souk_jwt_verifier_set_jwks(f->verifier, jwks), SOUK_OK);
    json_decref(jwks);
    assert_int_equal(souk_jwt_verify(f->verifier, token, &out), SOUK_EAUTH);
    r_jwk_free(other);
    r_jwk_free(other_pub);
    souk_free(token);
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

typedef struct {
    int hits;
} jwks_server_t;

static void broken_jwks(souk_http_ctx_t *ctx, void *ud)
{
    __atomic_add_fetch(&((jwks_server_t *)ud)->hits, 1, __ATOMIC_SEQ_CST);
    souk_http_problem(ctx, 500, "down");
}

/* An issuer that is down gets one fetch per back-off interval, however many
 * tokens arrive, also before any key set was ever loaded. */
static void test_jwks_backoff(void **state)
{
    fx_t *f = *state;
    souk_metrics_t *m = souk_metrics_new();
    jwks_server_t js = {0};
    int port = free_port();
    souk_http_config_t hc = {.service = "jwks", .port = port, .threads = 2, .metrics = m};
    souk_http_server_t *srv;
    assert_int_equal(souk_http_server_new(&hc, &srv), SOUK_OK);
    souk_http_route(srv, "GET", "/jwks", broken_jwks, &js);
    assert_int_equal(souk_http_server_start(srv), SOUK_OK);
    souk_http_client_t *client = souk_http_client_new();
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/jwks", port);
    souk_jwt_verifier_config_t vc = {
        .issuer = "souk-auth", .audience = "souk", .jwks_url = url, .client = client};
    souk_jwt_verifier_t *v;
    assert_int_equal(souk_jwt_verifier_new(&vc, &v), SOUK_OK);
    souk_claims_t c = {.sub = "3f1c1a52-7d1b-4b7e-9a35-7f3ad1f0c001", .email = "a@b.c"};
    char *token;
    assert_int_equal(souk_jwt_issue(f->signer, &c, &token), SOUK_OK);
    for (int i = 0; i < 50; i++)
        assert_int_equal(souk_jwt_verify(v, token, &c), SOUK_EUNAVAIL);
    assert_int_equal(js.hits, 1);
    souk_free(token);
    souk_jwt_verifier_free(v);
    souk_http_client_free(client);
    souk_http_server_free(srv);
    souk_metrics_free(m);
}

typedef struct {
    souk_jwt_signer_t *signer;
    int hits;
} slow_jwks_t;

static void slow_jwks(souk_http_ctx_t *ctx, void *ud)
{
    slow_jwks_t *js = ud;
    __atomic_add_fetch(&js->hits, 1, __ATOMIC_SEQ_CST);
    nanosleep(&(struct timespec){0, 400 * 1000000L}, NULL);
    souk_http_reply_json(ctx, 200, souk_jwt_signer_jwks(js->signer));
}

/* With background_refresh a verification never waits for the issuer: the
 * first token (no keys yet) is refused at once while the refresher fetches,
 * and accepted once the keys are in; an unknown kid is refused at once. */
static void test_background_refresh(void **state)
{
    fx_t *f = *state;
    souk_metrics_t *m = souk_metrics_new();
    slow_jwks_t js = {.signer = f->signer};
    souk_http_config_t hc = {.service = "jwks", .port = 0, .threads = 2, .metrics = m};
    souk_http_server_t *srv;
    assert_int_equal(souk_http_server_new(&hc, &srv), SOUK_OK);
    souk_http_route(srv, "GET", "/jwks", slow_jwks, &js);
    assert_int_equal(souk_http_server_start(srv), SOUK_OK);
    souk_http_client_t *client = souk_http_client_new();
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/jwks", souk_http_server_port(srv));
    souk_jwt_verifier_config_t vc = {.issuer = "souk-auth",
                                     .audience = "souk",
                                     .jwks_url = url,
                                     .client = client,
                                     .background_refresh = true};
    souk_jwt_verifier_t *v;
    assert_int_equal(souk_jwt_verifier_new(&vc, &v), SOUK_OK);
    souk_claims_t c = {.sub = "3f1c1a52-7d1b-4b7e-9a35-7f3ad1f0c001", .email = "a@b.c"};
    char *token;
    assert_int_equal(souk_jwt_issue(f->signer, &c, &token), SOUK_OK);
    uint64_t t0 = souk_now_mono_ns();
    assert_int_equal(souk_jwt_verify(v, token, &c), SOUK_EUNAVAIL);
    assert_true(souk_now_mono_ns() - t0 < 200 * 1000000ull); /* the fetch takes 400 ms */
    uint64_t deadline = souk_now_mono_ns() + 10 * 1000000000ull;
    souk_err_t err;
    while ((err = souk_jwt_verify(v, token, &c)) != SOUK_OK && souk_now_mono_ns() < deadline)
        nanosleep(&(struct timespec){0, 10 * 1000000L}, NULL);
    assert_int_equal(err, SOUK_OK);
    assert_int_equal(__atomic_load_n(&js.hits, __ATOMIC_SEQ_CST), 1);

    char *stranger = sign_with(f->priv, "someone-else", good_claims());
    t0 = souk_now_mono_ns();
    assert_int_equal(souk_jwt_verify(v, stranger, &c), SOUK_EAUTH);
    assert_true(souk_now_mono_ns() - t0 < 200 * 1000000ull);
    souk_free(stranger);
    souk_free(token);
    souk_jwt_verifier_free(v); /* stops the refresher, even mid-fetch */
    souk_http_client_free(client);
    souk_http_server_free(srv);
    souk_metrics_free(m);
}

/* A PEM longer than any key is refused, never read past its copy. */
static void test_oversized_pem(void **state)
{
    size_t n = 20 * 1024;
    char *pem = souk_malloc(n + 1);
    memset(pem, 'A', n);
    pem[n] = '\0';
    souk_jwt_signer_config_t sc = {
        .pem = pem, .issuer = "souk-auth", .audience = "souk", .ttl_s = 900};
    souk_jwt_signer_t *s = NULL;
    assert_int_not_equal(souk_jwt_signer_new(&sc, &s), SOUK_OK);
    assert_null(s);
    souk_free(pem);
}

static void test_roles(void **state)
{
    assert_int_equal(souk_role_parse("admin"), SOUK_ROLE_ADMIN);
    assert_int_equal(souk_role_parse("customer"), SOUK_ROLE_CUSTOMER);
    assert_int_equal(souk_role_parse("catalog"), SOUK_ROLE_CATALOG);
    assert_int_equal(souk_role_parse("root"), 0);
    assert_int_equal(souk_role_parse(NULL), 0);
    json_t *j = souk_roles_json(SOUK_ROLE_ADMIN | SOUK_ROLE_CUSTOMER);
    assert_int_equal(json_array_size(j), 2);
    json_decref(j);
}

/* The table of ARCHITECTURE.md §4, row by row. */
static void test_permissions(void **state)
{
    static const struct {
        const char *role;
        const char *perms; /* scope spelling */
    } table[] = {
        {"customer", ""},
        {"catalog", "products:write"},
        {"support", "orders:read:any orders:cancel:any users:read"},
        {"analyst", "reports:read"},
        {"admin", "products:write orders:read:any orders:cancel:any users:read users:write "
                  "reports:read clients:write audit:read"},
    };
    json_t *rows = souk_roles_table_json();
    assert_int_equal(json_array_size(rows), SOUK_ARRAY_LEN(table));
    for (size_t i = 0; i < SOUK_ARRAY_LEN(table); i++) {
        unsigned want = 0;
        char spelled[SOUK_SCOPE_MAX];
        assert_int_equal(souk_scope_parse(table[i].perms, &want), SOUK_OK);
        assert_int_equal(souk_role_permissions(souk_role_parse(table[i].role)), want);
        souk_scope_format(want, spelled);
        assert_string_equal(spelled, table[i].perms);
        json_t *row = json_array_get(rows, i);
        assert_string_equal(json_string_value(json_object_get(row, "name")), table[i].role);
        assert_int_equal(json_array_size(json_object_get(row, "permissions")),
                         (size_t)__builtin_popcount(want));
    }
    json_decref(rows);
    unsigned p = 0;
    assert_int_equal(souk_scope_parse("users:read  audit:read", &p), SOUK_OK);
    assert_int_equal(p, SOUK_PERM_USERS_READ | SOUK_PERM_AUDIT_READ);
    assert_int_equal(souk_scope_parse("users:read admin", &p), SOUK_EINVAL);
    assert_int_equal(souk_scope_parse("", &p), SOUK_OK);
    assert_int_equal(p, 0);
    souk_claims_t c = {.perms = SOUK_PERM_USERS_READ};
    assert_true(souk_claims_can(&c, 0));
    assert_true(souk_claims_can(&c, SOUK_PERM_USERS_READ));
    assert_false(souk_claims_can(&c, SOUK_PERM_USERS_READ | SOUK_PERM_USERS_WRITE));
}

/* Scope adds permissions to a user's token; a client's token has a scope,
 * no roles and no email, and is refused once its client is revoked. */
/* The bytes of a base64url JWK member. */
static size_t member_len(json_t *key, const char *name)
{
    unsigned char raw[64];
    size_t n = 0;
    const char *b64 = json_string_value(json_object_get(key, name));
    assert_non_null(b64);
    assert_int_equal(sodium_base642bin(raw, sizeof(raw), b64, strlen(b64), NULL, &n, NULL,
                                       sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                     0);
    return n;
}

/* A key whose public coordinate starts with a zero byte (about one in 128)
 * is published with both coordinates at their full 32 bytes (RFC 7518
 * 6.2.1.2), and tokens it signs verify against that JWKS. */
static void test_jwks_coordinates_are_full_size(void **state)
{
    (void)state;
    unsigned char pem[2048];
    size_t len = 0;
    for (int tries = 0; tries < 20000 && !len; tries++) {
        jwk_t *priv, *pub;
        r_jwk_init(&priv);
        r_jwk_init(&pub);
        assert_int_equal(r_jwk_generate_key_pair(priv, pub, R_KEY_TYPE_EC, 256, NULL), RHN_OK);
        json_t *j = r_jwk_export_to_json_t(pub);
        if (member_len(j, "x") < 32 || member_len(j, "y") < 32) {
            len = sizeof(pem) - 1;
            assert_int_equal(r_jwk_export_to_pem_der(priv, R_FORMAT_PEM, pem, &len, 0), RHN_OK);
            pem[len] = '\0';
        }
        json_decref(j);
        r_jwk_free(priv);
        r_jwk_free(pub);
    }
    assert_true(len > 0);
    souk_jwt_signer_config_t sc = {
        .pem = (const char *)pem, .issuer = "souk-auth", .audience = "souk", .ttl_s = 900};
    souk_jwt_signer_t *signer;
    assert_int_equal(souk_jwt_signer_new(&sc, &signer), SOUK_OK);
    json_t *jwks = souk_jwt_signer_jwks(signer);
    json_t *key = json_array_get(json_object_get(jwks, "keys"), 0);
    assert_int_equal(member_len(key, "x"), 32);
    assert_int_equal(member_len(key, "y"), 32);
    souk_jwt_verifier_config_t vc = {.issuer = "souk-auth", .audience = "souk"};
    souk_jwt_verifier_t *verifier;
    assert_int_equal(souk_jwt_verifier_new(&vc, &verifier), SOUK_OK);
    assert_int_equal(souk_jwt_verifier_set_jwks(verifier, jwks), SOUK_OK);
    souk_claims_t u = {.sub = "3f1c1a52-7d1b-4b7e-9a35-7f3ad1f0c002",
                       .email = "a@b.c",
                       .roles = SOUK_ROLE_CUSTOMER};
    souk_claims_t out;
    char *token;
    assert_int_equal(souk_jwt_issue(signer, &u, &token), SOUK_OK);
    assert_int_equal(souk_jwt_verify(verifier, token, &out), SOUK_OK);
    assert_string_equal(out.sub, u.sub);
    souk_free(token);
    json_decref(jwks);
    souk_jwt_verifier_free(verifier);
    souk_jwt_signer_free(signer);
}

static void test_client_tokens(void **state)
{
    fx_t *f = *state;
    souk_claims_t u = {.sub = "3f1c1a52-7d1b-4b7e-9a35-7f3ad1f0c002",
                       .email = "a@b.c",
                       .roles = SOUK_ROLE_CUSTOMER | SOUK_ROLE_ANALYST,
                       .scope = SOUK_PERM_AUDIT_READ};
    souk_claims_t cl = {.sub = "3f1c1a52-7d1b-4b7e-9a35-7f3ad1f0c003",
                        .roles = SOUK_ROLE_ADMIN, /* never carried by a client's token */
                        .scope = SOUK_PERM_ORDERS_READ_ANY,
                        .client = true};
    char *ut, *ct;
    souk_claims_t out;
    assert_int_equal(souk_jwt_issue(f->signer, &u, &ut), SOUK_OK);
    assert_int_equal(souk_jwt_issue(f->signer, &cl, &ct), SOUK_OK);
    assert_int_equal(souk_jwt_verify(f->verifier, ut, &out), SOUK_OK);
    assert_false(out.client);
    assert_int_equal(out.perms, SOUK_PERM_REPORTS_READ | SOUK_PERM_AUDIT_READ);
    assert_int_equal(souk_jwt_verify(f->verifier, ct, &out), SOUK_OK);
    assert_true(out.client);
    assert_int_equal(out.roles, 0);
    assert_int_equal(out.perms, SOUK_PERM_ORDERS_READ_ANY);
    assert_string_equal(out.email, "");
    assert_string_equal(out.sub, cl.sub);
    /* the claims as signed: client_id = sub, scope, no roles, no email */
    json_t *payload = NULL;
    jwt_t *jwt = NULL;
    r_jwt_init(&jwt);
    assert_int_equal(r_jwt_parse(jwt, ct, 0), RHN_OK);
    payload = r_jwt_get_full_claims_json_t(jwt);
    assert_string_equal(json_string_value(json_object_get(payload, "client_id")), cl.sub);
    assert_string_equal(json_string_value(json_object_get(payload, "scope")), "orders:read:any");
    assert_null(json_object_get(payload, "roles"));
    assert_null(json_object_get(payload, "email"));
    json_decref(payload);
    r_jwt_free(jwt);
    /* revoked: refused even though the cache holds it; others unaffected */
    json_t *jwks = souk_jwt_signer_jwks(f->signer);
    json_object_set_new(jwks, "souk_revoked_clients", json_pack("[s]", cl.sub));
    assert_int_equal(souk_jwt_verifier_set_jwks(f->verifier, jwks), SOUK_OK);
    assert_int_equal(souk_jwt_verify(f->verifier, ct, &out), SOUK_EAUTH);
    assert_int_equal(souk_jwt_verify(f->verifier, ut, &out), SOUK_OK);
    json_object_del(jwks, "souk_revoked_clients");
    assert_int_equal(souk_jwt_verifier_set_jwks(f->verifier, jwks), SOUK_OK);
    assert_int_equal(souk_jwt_verify(f->verifier, ct, &out), SOUK_OK);
    json_decref(jwks);
    souk_free(ut);
    souk_free(ct);
}

/* A client's token must name itself consistently; a user's must not lose
 * its roles. Hand-signed with our own key. */
static void test_client_claims_checked(void **state)
{
    fx_t *f = *state;
    const char *sub = "3f1c1a52-7d1b-4b7e-9a35-7f3ad1f0c004";
    int64_t now = souk_now_unix();
    json_t *bad[] = {
        json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:s}", "iss", "souk-auth", "aud", "souk", "sub",
                  sub, "exp", (json_int_t)now + 60, "iat", (json_int_t)now, "jti", "j1",
                  "client_id", "3f1c1a52-7d1b-4b7e-9a35-7f3ad1f0c005"), /* client_id != sub */
        json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:[s]}", "iss", "souk-auth", "aud", "souk",
                  "sub", sub, "exp", (json_int_t)now + 60, "iat", (json_int_t)now, "jti", "j2",
                  "client_id", sub, "roles", "admin"), /* a client with roles */
        json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:s}", "iss", "souk-auth", "aud", "souk", "sub",
                  sub, "exp", (json_int_t)now + 60, "iat", (json_int_t)now, "jti", "j3", "email",
                  "a@b.c"), /* a user without roles */
        json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:s}", "iss", "souk-auth", "aud", "souk",
                  "sub", sub, "exp", (json_int_t)now + 60, "iat", (json_int_t)now, "jti", "j4",
                  "client_id", sub, "scope", "orders:read:any root"), /* unknown scope */
    };
    for (size_t i = 0; i < SOUK_ARRAY_LEN(bad); i++) {
        jwt_t *jwt = NULL;
        r_jwt_init(&jwt);
        r_jwt_set_full_claims_json_t(jwt, bad[i]);
        r_jwt_set_sign_alg(jwt, R_JWA_ALG_ES256);
        r_jwt_set_header_str_value(jwt, "kid", souk_jwt_signer_kid(f->signer));
        char *t = r_jwt_serialize_signed(jwt, f->priv, 0);
        souk_claims_t out;
        assert_non_null(t);
        if (souk_jwt_verify(f->verifier, t, &out) != SOUK_EAUTH)
            fail_msg("case %zu was accepted", i);
        r_free(t);
        r_jwt_free(jwt);
        json_decref(bad[i]);
    }
}

int main(void)
{
    if (souk_auth_init() != SOUK_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_password),
        cmocka_unit_test(test_roles),
        cmocka_unit_test(test_permissions),
        cmocka_unit_test(test_jwks_coordinates_are_full_size),
        cmocka_unit_test_setup_teardown(test_client_tokens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_claims_checked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_issue_and_verify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forgeries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_withdrawn_kid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jwks_backoff, setup, teardown),
        cmocka_unit_test_setup_teardown(test_background_refresh, setup, teardown),
        cmocka_unit_test(test_oversized_pem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
