/* signer.c: the issuer's ES256 key and access-token signing. The key comes
 * from PEM text, a file, or (for development) is generated once and written
 * to that file, so tokens survive restarts. The kid is the key's RFC 7638
 * thumbprint: the same key always has the same kid. */
#include <souk/auth.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <rhonabwy.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_PEM 16384

struct souk_jwt_signer {
    jwk_t *priv, *pub;
    char *kid, *issuer, *audience;
    int ttl_s;
    pthread_mutex_t lock;
};

static souk_err_t read_file(const char *path, char *buf, size_t cap, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno == ENOENT ? SOUK_ENOTFOUND : SOUK_EIO;
    *len = fread(buf, 1, cap - 1, f);
    bool too_big = !feof(f);
    fclose(f);
    buf[*len] = '\0';
    return too_big ? SOUK_ELIMIT : SOUK_OK;
}

static souk_err_t write_key(const char *path, const char *pem, size_t len)
{
    /* Create the parent directory (one level) and the file owner-only. */
    char dir[512];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        mkdir(dir, 0700);
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return SOUK_EIO;
    bool ok = write(fd, pem, len) == (ssize_t)len;
    ok &= close(fd) == 0;
    return ok ? SOUK_OK : SOUK_EIO;
}

static souk_err_t generate(souk_jwt_signer_t *s, const char *path)
{
    jwk_t *pub = NULL;
    unsigned char pem[MAX_PEM];
    size_t len = sizeof(pem) - 1;
    souk_err_t err = SOUK_EINTERNAL;
    if (r_jwk_init(&pub) != RHN_OK ||
        r_jwk_generate_key_pair(s->priv, pub, R_KEY_TYPE_EC, 256, NULL) != RHN_OK ||
        r_jwk_export_to_pem_der(s->priv, R_FORMAT_PEM, pem, &len, 0) != RHN_OK)
        goto out;
    err = write_key(path, (const char *)pem, len);
    if (err == SOUK_OK)
        souk_log_warn("generated a new development signing key at %s", path);
out:
    r_jwk_free(pub);
    return err;
}

static souk_err_t load_key(souk_jwt_signer_t *s, const souk_jwt_signer_config_t *cfg)
{
    char *pem = souk_malloc(MAX_PEM);
    size_t len = 0;
    souk_err_t err = SOUK_OK;
    if (cfg->pem) {
        len = strnlen(cfg->pem, MAX_PEM);
        if (len == MAX_PEM)
            err = SOUK_ELIMIT; /* no key is this long; never read past the copy */
        else
            memcpy(pem, cfg->pem, len);
    } else if (!cfg->path) {
        err = SOUK_EINVAL;
    } else if ((err = read_file(cfg->path, pem, MAX_PEM, &len)) == SOUK_ENOTFOUND &&
               cfg->generate) {
        err = generate(s, cfg->path);
        goto out; /* s->priv was filled by generation */
    }
    if (err == SOUK_OK && r_jwk_import_from_pem_der(s->priv, R_X509_TYPE_PRIVKEY, R_FORMAT_PEM,
                                                    (const unsigned char *)pem, len) != RHN_OK)
        err = SOUK_EINVAL;
out:
    souk_free(pem);
    return err;
}

static bool is_p256_private(jwk_t *k)
{
    unsigned bits = 0;
    int type = r_jwk_key_type(k, &bits, R_FLAG_IGNORE_REMOTE);
    return (type & R_KEY_TYPE_EC) && (type & R_KEY_TYPE_PRIVATE) && bits == 256;
}

/* RFC 7518 6.2.1.2: an EC coordinate is the full size of the field, 32
 * bytes for P-256, leading zeros kept. rhonabwy exports the number without
 * them (one key in 128 has a coordinate that starts with a zero byte), which
 * other JOSE libraries refuse and which changes the RFC 7638 thumbprint. */
static bool pad_coordinate(jwk_t *k, const char *name)
{
    unsigned char raw[32];
    size_t n = 0;
    const char *b64 = r_jwk_get_property_str(k, name);
    if (!b64 || sodium_base642bin(raw, sizeof(raw), b64, strlen(b64), NULL, &n, NULL,
                                  sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return false;
    if (n == sizeof(raw))
        return true;
    memmove(raw + sizeof(raw) - n, raw, n);
    memset(raw, 0, sizeof(raw) - n);
    char out[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
    sodium_bin2base64(out, sizeof(out), raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return r_jwk_set_property_str(k, name, out) == RHN_OK;
}

souk_err_t souk_jwt_signer_new(const souk_jwt_signer_config_t *cfg, souk_jwt_signer_t **out)
{
    souk_jwt_signer_t *s = souk_calloc(1, sizeof(*s));
    pthread_mutex_init(&s->lock, NULL);
    souk_err_t err = SOUK_EINTERNAL;
    if (r_jwk_init(&s->priv) != RHN_OK || r_jwk_init(&s->pub) != RHN_OK)
        goto fail;
    if ((err = load_key(s, cfg)) != SOUK_OK) {
        souk_log_error("cannot load the signing key: %s", souk_strerror(err));
        goto fail;
    }
    err = SOUK_EINVAL;
    if (!is_p256_private(s->priv)) {
        souk_log_error("the signing key must be an EC P-256 private key");
        goto fail;
    }
    char *kid = NULL;
    if (r_jwk_extract_pubkey(s->priv, s->pub, R_FLAG_IGNORE_REMOTE) != RHN_OK ||
        !pad_coordinate(s->pub, "x") || !pad_coordinate(s->pub, "y") ||
        !(kid = r_jwk_thumbprint(s->pub, R_JWK_THUMB_SHA256, R_FLAG_IGNORE_REMOTE)))
        goto fail;
    s->kid = souk_strdup(kid);
    r_free(kid);
    r_jwk_set_property_str(s->priv, "kid", s->kid);
    r_jwk_set_property_str(s->pub, "kid", s->kid);
    r_jwk_set_property_str(s->pub, "use", "sig");
    r_jwk_set_property_str(s->pub, "alg", "ES256");
    s->issuer = souk_strdup(cfg->issuer);
    s->audience = souk_strdup(cfg->audience);
    s->ttl_s = cfg->ttl_s;
    *out = s;
    return SOUK_OK;
fail:
    souk_jwt_signer_free(s);
    return err;
}

void souk_jwt_signer_free(souk_jwt_signer_t *s)
{
    if (!s)
        return;
    r_jwk_free(s->priv);
    r_jwk_free(s->pub);
    souk_free(s->kid);
    souk_free(s->issuer);
    souk_free(s->audience);
    pthread_mutex_destroy(&s->lock);
    souk_free(s);
}

const char *souk_jwt_signer_kid(const souk_jwt_signer_t *s)
{
    return s->kid;
}

json_t *souk_jwt_signer_jwks(const souk_jwt_signer_t *s)
{
    return json_pack("{s:[o]}", "keys", r_jwk_export_to_json_t(s->pub));
}

/* The claims of c as the token carries them (new reference). */
static json_t *claims_json(const souk_jwt_signer_t *s, const souk_claims_t *c)
{
    char scope[SOUK_SCOPE_MAX];
    souk_scope_format(c->scope, scope);
    json_t *j =
        json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "iss", s->issuer, "sub", c->sub, "aud",
                  s->audience, "exp", (json_int_t)c->exp, "iat", (json_int_t)c->iat, "jti", c->jti);
    if (!j)
        return NULL;
    if (c->client) {
        json_object_set_new(j, "client_id", json_string(c->sub));
        json_object_set_new(j, "scope", json_string(scope));
        return j;
    }
    json_object_set_new(j, "email", json_string(c->email));
    json_object_set_new(j, "roles", souk_roles_json(c->roles));
    if (c->scope)
        json_object_set_new(j, "scope", json_string(scope));
    return j;
}

souk_err_t souk_jwt_issue(souk_jwt_signer_t *s, souk_claims_t *c, char **token)
{
    souk_err_t err = SOUK_EINTERNAL;
    jwt_t *jwt = NULL;
    souk_uuid_v4(c->jti);
    c->iat = souk_now_unix();
    c->exp = c->iat + s->ttl_s;
    if (c->client)
        c->roles = 0;
    c->perms = souk_role_permissions(c->roles) | c->scope;
    json_t *claims = claims_json(s, c);
    if (!claims || r_jwt_init(&jwt) != RHN_OK)
        goto out;
    if (r_jwt_set_full_claims_json_t(jwt, claims) != RHN_OK ||
        r_jwt_set_sign_alg(jwt, R_JWA_ALG_ES256) != RHN_OK ||
        r_jwt_set_header_str_value(jwt, "kid", s->kid) != RHN_OK ||
        r_jwt_set_header_str_value(jwt, "typ", "JWT") != RHN_OK)
        goto out;
    pthread_mutex_lock(&s->lock);
    char *t = r_jwt_serialize_signed(jwt, s->priv, 0);
    pthread_mutex_unlock(&s->lock);
    if (!t)
        goto out;
    *token = souk_strdup(t);
    r_free(t);
    err = SOUK_OK;
out:
    json_decref(claims);
    r_jwt_free(jwt);
    return err;
}
