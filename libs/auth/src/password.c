/* password.c: Argon2id through libsodium's crypto_pwhash_str, whose output
 * embeds the algorithm, parameters and salt, so hashes made with other
 * parameters keep verifying after a change of defaults. */
#include <souk/auth.h>

#include <sodium.h>
#include <string.h>

souk_err_t souk_auth_init(void)
{
    return sodium_init() < 0 ? SOUK_EINTERNAL : SOUK_OK;
}

souk_err_t souk_password_hash(const char *pw, const souk_pwhash_params_t *params,
                              char out[SOUK_PASSWORD_HASH_MAX])
{
    unsigned long long ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
    size_t mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
    if (params && params->opslimit)
        ops = params->opslimit;
    if (params && params->memlimit)
        mem = params->memlimit;
    if (crypto_pwhash_str_alg(out, pw, strlen(pw), ops, mem, crypto_pwhash_ALG_ARGON2ID13) != 0)
        return SOUK_ENOMEM;
    return SOUK_OK;
}

bool souk_password_verify(const char *hash, const char *pw)
{
    if (!hash || !pw || strnlen(hash, SOUK_PASSWORD_HASH_MAX) == SOUK_PASSWORD_HASH_MAX)
        return false;
    return crypto_pwhash_str_verify(hash, pw, strlen(pw)) == 0;
}
