"""GET /auth/me, the JWKS, and tokens that must be refused."""

import base64
import hashlib
import hmac
import json
import textwrap
import time

import pytest

from conftest import (
    Api,
    assert_unauthorized,
    assert_user,
    b64url_decode,
    b64url_encode,
    b64url_json,
    bearer,
    expect_json,
    jwt_decode,
)


def fetch_jwks(session):
    resp = session.get("/.well-known/jwks.json")
    assert resp.status_code == 200, resp.text
    ctype = resp.headers.get("Content-Type", "")
    assert ctype.startswith(("application/json", "application/jwk-set+json")), ctype
    return resp.json()


def test_me_returns_the_caller(session, new_user):
    user = expect_json(session.get("/auth/me", headers=new_user["headers"]), 200)
    assert_user(user, email=new_user["email"], name=new_user["name"])
    assert user["id"] == new_user["id"]


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "Bearer garbage", "Bearer a.b.c", "Basic dXNlcjpwYXNzd29yZA=="],
    ids=["absent", "empty", "bearer-only", "bearer-blank", "garbage", "three-junk-segments", "basic"],
)
def test_me_without_a_usable_token(session, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    assert_unauthorized(session.get("/auth/me", headers=headers))


def test_token_without_bearer_scheme(session, new_user):
    assert_unauthorized(session.get("/auth/me", headers={"Authorization": new_user["access_token"]}))


def test_jwks_publishes_the_signing_key(session, new_user):
    jwks = fetch_jwks(session)
    keys = jwks["keys"]
    assert isinstance(keys, list) and keys, jwks
    for key in keys:
        assert key["kty"] == "EC" and key["crv"] == "P-256", key
        assert isinstance(key.get("kid"), str) and key["kid"], key
        assert key.get("use") == "sig" or key.get("alg") == "ES256", key
        assert len(b64url_decode(key["x"])) == 32 and len(b64url_decode(key["y"])) == 32, key
        assert "d" not in key, "the JWKS exposes a private key"
    kid = jwt_decode(new_user["access_token"])[0]["kid"]
    assert kid in {key["kid"] for key in keys}, f"token kid {kid!r} not in {jwks}"


def test_access_token_lifetime(session, make_user, login):
    user = make_user()
    body = expect_json(login(user["email"], user["password"]), 200)
    claims = jwt_decode(body["access_token"])[1]
    assert claims["exp"] - claims["iat"] == body["expires_in"], (claims, body["expires_in"])
    assert 0 < body["expires_in"] <= 900, body["expires_in"]


# ---------------------------------------------------------------------------
# forged tokens: each takes a real token and the JWKS and returns a forgery

# DER prefix of a P-256 SubjectPublicKeyInfo, followed by the uncompressed point
P256_SPKI_PREFIX = bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d030107034200")


def public_key_forms(jwk):
    """Ways a confused verifier might use the public key as an HMAC secret."""
    point = b"\x04" + b64url_decode(jwk["x"]) + b64url_decode(jwk["y"])
    der = P256_SPKI_PREFIX + point
    pem = (
        "-----BEGIN PUBLIC KEY-----\n"
        + "\n".join(textwrap.wrap(base64.b64encode(der).decode(), 64))
        + "\n-----END PUBLIC KEY-----\n"
    ).encode()
    return {"pem": pem, "der": der, "point": point, "jwk": json.dumps(jwk).encode()}


def hs256_with(form):
    def forge(token, jwks):
        header, _, _ = jwt_decode(token)
        payload = token.split(".")[1]
        jwk = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
        signing_input = f"{b64url_json({'alg': 'HS256', 'typ': 'JWT', 'kid': header['kid']})}.{payload}"
        secret = public_key_forms(jwk)[form]
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{b64url_encode(mac)}"

    return forge


def flip_payload_char(token, jwks):
    header, payload, signature = token.split(".")
    i = len(payload) // 2
    replacement = "A" if payload[i] != "A" else "B"
    return f"{header}.{payload[:i]}{replacement}{payload[i + 1:]}.{signature}"


def with_claims(**changes):
    def forge(token, jwks):
        header, payload, signature = token.split(".")
        claims = dict(jwt_decode(token)[1], **changes)
        return f"{header}.{b64url_json(claims)}.{signature}"

    return forge


def expired(token, jwks):
    claims = jwt_decode(token)[1]
    return with_claims(exp=int(time.time()) - 3600, iat=claims["iat"] - 7200)(token, jwks)


def alg_none(alg):
    def forge(token, jwks):
        payload = token.split(".")[1]
        return f"{b64url_json({'alg': alg, 'typ': 'JWT'})}.{payload}."

    return forge


def unknown_kid(token, jwks):
    header, payload, signature = token.split(".")
    forged = dict(jwt_decode(token)[0], kid="e2e-unknown-kid")
    return f"{b64url_json(forged)}.{payload}.{signature}"


def no_signature(token, jwks):
    return token.rsplit(".", 1)[0] + "."


def truncated_signature(token, jwks):
    return token[:-6]


FORGERIES = {
    "payload-char-flipped": flip_payload_char,
    "sub-changed": with_claims(sub="00000000-0000-4000-8000-000000000000"),
    "roles-admin": with_claims(roles=["customer", "admin"]),
    "exp-in-the-past": expired,
    "exp-extended": lambda t, j: with_claims(exp=jwt_decode(t)[1]["exp"] + 86400)(t, j),
    "alg-none": alg_none("none"),
    "alg-None": alg_none("None"),
    "hs256-pem-secret": hs256_with("pem"),
    "hs256-der-secret": hs256_with("der"),
    "hs256-point-secret": hs256_with("point"),
    "hs256-jwk-secret": hs256_with("jwk"),
    "unknown-kid": unknown_kid,
    "signature-stripped": no_signature,
    "signature-truncated": truncated_signature,
}


@pytest.fixture(params=["gateway", "auth-service"])
def verifier(request, gw):
    """Where a token is checked: at the edge, and again by auth-service itself."""
    if request.param == "gateway":
        base = gw
    else:
        base = request.getfixturevalue("auth_url")
    with Api(base) as api:
        yield api


@pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES.keys())
def test_forged_tokens_are_refused(session, verifier, new_user, forge):
    token = new_user["access_token"]
    # the genuine token is accepted (and now sits in any verified-token cache)
    expect_json(verifier.get("/auth/me", headers=bearer(token)), 200)
    forged = forge(token, fetch_jwks(session))
    assert forged != token
    assert_unauthorized(verifier.get("/auth/me", headers=bearer(forged)))


def test_forged_admin_role_grants_nothing(session, new_user):
    forged = with_claims(roles=["admin"])(new_user["access_token"], None)
    assert_unauthorized(session.get("/users", headers=bearer(forged)))
