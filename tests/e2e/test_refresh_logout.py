"""POST /auth/refresh (rotation, reuse detection) and POST /auth/logout."""

import pytest

from conftest import assert_problem, bearer, error_fields, expect_empty, expect_json, jwt_decode


def refresh(session, token):
    return session.post("/auth/refresh", json={"refresh_token": token})


def test_refresh_rotates_the_pair(session, new_user):
    pair = expect_json(refresh(session, new_user["refresh_token"]), 200)
    assert pair["token_type"] == "Bearer", pair
    assert type(pair["expires_in"]) is int and pair["expires_in"] > 0, pair
    assert isinstance(pair["refresh_token"], str) and pair["refresh_token"], pair
    assert pair["refresh_token"] != new_user["refresh_token"]
    claims = jwt_decode(pair["access_token"])[1]
    assert claims["sub"] == new_user["id"], claims
    assert claims["jti"] != jwt_decode(new_user["access_token"])[1]["jti"]
    me = expect_json(session.get("/auth/me", headers=bearer(pair["access_token"])), 200)
    assert me["id"] == new_user["id"]


def test_reusing_a_spent_refresh_token_revokes_its_family(session, new_user):
    spent = new_user["refresh_token"]
    fresh = expect_json(refresh(session, spent), 200)["refresh_token"]
    assert_problem(refresh(session, spent), 401)
    # the replay burned the whole family, including the token issued by the rotation
    assert_problem(refresh(session, fresh), 401)


def test_other_sessions_survive_a_family_revocation(session, new_user, login):
    other = expect_json(login(new_user["email"], new_user["password"]), 200)["refresh_token"]
    spent = new_user["refresh_token"]
    expect_json(refresh(session, spent), 200)
    assert_problem(refresh(session, spent), 401)
    expect_json(refresh(session, other), 200)


@pytest.mark.parametrize(
    "body, status",
    [
        ({}, 400),
        ({"refresh_token": 5}, 400),
        ({"refresh_token": None}, 400),
        ({"refresh_token": "not-a-refresh-token"}, 401),
    ],
    ids=["missing", "int", "null", "unknown"],
)
def test_refresh_input(session, body, status):
    problem = assert_problem(session.post("/auth/refresh", json=body), status)
    if status == 400:
        assert "refresh_token" in error_fields(problem), problem


def test_access_token_is_not_a_refresh_token(session, new_user):
    assert_problem(refresh(session, new_user["access_token"]), 401)


def test_logout_revokes_the_refresh_token(session, new_user):
    resp = session.post(
        "/auth/logout", json={"refresh_token": new_user["refresh_token"]}, headers=new_user["headers"]
    )
    expect_empty(resp, 204)
    assert_problem(refresh(session, new_user["refresh_token"]), 401)


def test_logout_requires_the_field(session, new_user):
    problem = assert_problem(session.post("/auth/logout", json={}, headers=new_user["headers"]), 400)
    assert "refresh_token" in error_fields(problem), problem
