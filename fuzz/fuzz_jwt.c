/* fuzz_jwt: access-token verification (souk_jwt_verify) on arbitrary token
 * text, with a verifier holding the JWKS of a fixed signer. It must never
 * crash, and must accept only tokens that signer issued, byte for byte: the
 * one committed in corpus/jwt/issued.jwt (also below) and one issued at
 * start-up. Of an accepted token the claims are checked first, so a forgery
 * (claims nobody signed) and a second spelling of a real token (same claims,
 * different text) fail on different lines.
 *
 * The key is a throwaway P-256 key for this target only; it signs nothing
 * anywhere else. To re-issue the committed token (after a change to the
 * claims, say), run the target with SOUK_FUZZ_JWT_ISSUE=1: it prints a token
 * valid for about 60 years and exits. */
#include "fuzz_common.h"

#include <souk/auth.h>

#define ISSUER   "souk-auth"
#define AUDIENCE "souk"
#define SUBJECT  "6f1c7a52-3b9e-4d0a-9c51-2e8f40b7d913"
#define TTL_S    (60 * 365 * 24 * 3600)

static const char pem[] = "-----BEGIN PRIVATE KEY-----\n"
                          "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg857S2WPyezpwwhQB\n"
                          "/B6FY2iC4WG3mrGelbxsLl6aggyhRANCAATdgUYqAe01EInFH2QpyAUXLgs5pWf1\n"
                          "qus+xAjS6Xey0O4sv7KVm3ef5s7VIrM6d7w6R+dMKoUqu9zirFoyr1qt\n"
                          "-----END PRIVATE KEY-----\n";

static const char committed[] =
    "eyJraWQiOiJycTR5WDdxRmZvVGx2eGpfWWJoMGxuOXpjYUhlWHA2VG9GU19FS1F0aHlzIiwidHlw"
    "IjoiSldUIiwiYWxnIjoiRVMyNTYifQ.eyJpc3MiOiJzb3VrLWF1dGgiLCJzdWIiOiI2ZjFjN2E1M"
    "i0zYjllLTRkMGEtOWM1MS0yZThmNDBiN2Q5MTMiLCJhdWQiOiJzb3VrIiwiZXhwIjozNjg3NzkwM"
    "DUxLCJpYXQiOjE3OTU2MzAwNTEsImp0aSI6IjgyM2RjMWQ3LWI2NmItNGViZi04MTZkLTY0YjYyZ"
    "mIwYmVmOCIsImVtYWlsIjoiZnV6ekBleGFtcGxlLmNvbSIsInJvbGVzIjpbImN1c3RvbWVyIiwiY"
    "WRtaW4iXX0.7EASUpUGfACwJM0H8X-wZGkKenpA7omA2zOrS87n6qP3C1lI1gbyRu2KuZJ0-hmT1"
    "ISJzPtoj9SaogWlBHYV3A";

static souk_jwt_verifier_t *verifier;
static char *fresh;
static souk_claims_t committed_claims, fresh_claims;

static void issue(souk_jwt_signer_t *signer, char **token)
{
    souk_claims_t c = {.roles = SOUK_ROLE_CUSTOMER | SOUK_ROLE_ADMIN};
    snprintf(c.sub, sizeof(c.sub), "%s", SUBJECT);
    snprintf(c.email, sizeof(c.email), "%s", "fuzz@example.com");
    FUZZ_CHECK(souk_jwt_issue(signer, &c, token) == SOUK_OK);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    json_object_seed(1);
    FUZZ_CHECK(souk_auth_init() == SOUK_OK);
    souk_jwt_signer_config_t sc = {
        .pem = pem, .issuer = ISSUER, .audience = AUDIENCE, .ttl_s = TTL_S};
    souk_jwt_signer_t *signer = NULL;
    FUZZ_CHECK(souk_jwt_signer_new(&sc, &signer) == SOUK_OK);
    issue(signer, &fresh);
    if (getenv("SOUK_FUZZ_JWT_ISSUE")) {
        printf("%s\n", fresh);
        exit(0);
    }
    souk_jwt_verifier_config_t vc = {.issuer = ISSUER, .audience = AUDIENCE};
    FUZZ_CHECK(souk_jwt_verifier_new(&vc, &verifier) == SOUK_OK);
    json_t *jwks = souk_jwt_signer_jwks(signer);
    FUZZ_CHECK(souk_jwt_verifier_set_jwks(verifier, jwks) == SOUK_OK);
    json_decref(jwks);
    souk_jwt_signer_free(signer);

    FUZZ_CHECK(souk_jwt_verify(verifier, fresh, &fresh_claims) == SOUK_OK);
    if (souk_jwt_verify(verifier, committed, &committed_claims) != SOUK_OK) {
        fprintf(stderr, "fuzz_jwt: the committed token no longer verifies; re-issue it "
                        "(SOUK_FUZZ_JWT_ISSUE=1) into fuzz_jwt.c and corpus/jwt/issued.jwt\n");
        abort();
    }
    return 0;
}

static bool same_claims(const souk_claims_t *a, const souk_claims_t *b)
{
    return strcmp(a->sub, b->sub) == 0 && strcmp(a->jti, b->jti) == 0 &&
           strcmp(a->email, b->email) == 0 && a->roles == b->roles && a->iat == b->iat &&
           a->exp == b->exp;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *token = fuzz_strndup(data, size);
    souk_claims_t c;
    memset(&c, 0, sizeof(c));
    souk_err_t err = souk_jwt_verify(verifier, token, &c);
    FUZZ_CHECK(err == SOUK_OK || err == SOUK_EAUTH);
    if (err == SOUK_OK) {
        /* Accepted: the claims must be exactly those the signer signed ... */
        FUZZ_CHECK(same_claims(&c, &committed_claims) || same_claims(&c, &fresh_claims));
        FUZZ_CHECK(strcmp(c.sub, SUBJECT) == 0);
        /* ... and the token spelled as it was issued: one token, one string. */
        FUZZ_CHECK(strcmp(token, committed) == 0 || strcmp(token, fresh) == 0);
    }
    free(token);
    return 0;
}
