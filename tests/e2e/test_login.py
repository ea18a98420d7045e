"""POST /auth/login: the token pair, the access token's claims, failures, throttling."""

from datetime import datetime, timezone

import pytest

from conftest import (
    assert_problem,
    assert_recent,
    assert_user,
    expect_json,
    jwt_decode,
    unique_email,
    unique_password,
)


def test_login_returns_a_token_pair(new_user, login):
    body = expect_json(login(new_user["email"], new_user["password"]), 200)
    assert isinstance(body["access_token"], str) and body["access_token"].count(".") == 2, body
    assert body["token_type"] == "Bearer", body
    assert type(body["expires_in"]) is int and body["expires_in"] > 0, body
    assert isinstance(body["refresh_token"], str) and body["refresh_token"], body
    assert body["refresh_token"] != body["access_token"]
    assert_user(body["user"], email=new_user["email"], name=new_user["name"])
    assert body["user"]["id"] == new_user["id"]


def test_access_token_claims(new_user, login):
    body = expect_json(login(new_user["email"], new_user["password"]), 200)
    header, claims, signature = jwt_decode(body["access_token"])
    assert header["alg"] == "ES256", header
    assert isinstance(header.get("kid"), str) and header["kid"], header
    assert signature, "the access token has no signature"
    assert isinstance(claims.get("iss"), str) and claims["iss"], claims
    assert claims["sub"] == new_user["id"], claims
    assert claims["aud"] == "souk", claims
    assert type(claims["exp"]) is int and type(claims["iat"]) is int, claims
    assert claims["exp"] > claims["iat"], claims
    assert_recent(datetime.fromtimestamp(claims["iat"], timezone.utc))
    assert isinstance(claims.get("jti"), str) and claims["jti"], claims
    assert claims["email"] == new_user["email"], claims
    assert claims["roles"] == ["customer"], claims


def test_each_login_gets_a_distinct_token(new_user, login):
    first = expect_json(login(new_user["email"], new_user["password"]), 200)
    second = expect_json(login(new_user["email"], new_user["password"]), 200)
    assert jwt_decode(first["access_token"])[1]["jti"] != jwt_decode(second["access_token"])[1]["jti"]
    assert first["refresh_token"] != second["refresh_token"]


def test_wrong_password_and_unknown_email_look_the_same(new_user, login):
    wrong_password = assert_problem(login(new_user["email"], "not-the-password"), 401)
    unknown_email = assert_problem(login(unique_email(), "not-the-password"), 401)
    for body in (wrong_password, unknown_email):
        body.pop("request_id")
        body.pop("instance")
    assert wrong_password == unknown_email


@pytest.mark.parametrize(
    "body",
    [{}, {"email": "EMAIL"}, {"password": "long-enough"}, {"email": 1, "password": "long-enough"}],
    ids=["empty", "no-password", "no-email", "email-int"],
)
def test_login_validation(session, body):
    body = {k: (unique_email() if v == "EMAIL" else v) for k, v in body.items()}
    assert_problem(session.post("/auth/login", json=body), 400)


def retry_after(resp):
    value = resp.headers.get("Retry-After", "")
    assert value.isdigit() and int(value) > 0, f"Retry-After {value!r}"
    return int(value)


def test_repeated_failures_are_throttled(new_user, login, make_user):
    email = new_user["email"]
    for _ in range(10):
        resp = login(email, "wrong-" + unique_password())
        if resp.status_code == 429:
            break
        assert_problem(resp, 401)
    else:
        pytest.fail("10 wrong passwords in a row were never answered with 429")
    assert_problem(resp, 429)
    retry_after(resp)

    # locked: even the right password is refused, whatever the address's case
    locked = login(email, new_user["password"])
    assert_problem(locked, 429)
    retry_after(locked)
    assert_problem(login(email.upper(), new_user["password"]), 429)

    # the lock is per account, not global
    other = make_user()
    expect_json(login(other["email"], other["password"]), 200)
