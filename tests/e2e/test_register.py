"""POST /auth/register."""

import uuid

import pytest

from conftest import (
    assert_problem,
    assert_recent,
    assert_user,
    error_fields,
    expect_json,
    parse_utc,
    unique_email,
    unique_password,
)


def test_register_returns_the_new_customer(register):
    email = unique_email()
    resp = register(email, unique_password(), "Ada Lovelace")
    user = expect_json(resp, 201)
    assert_user(user, email=email, name="Ada Lovelace", roles=["customer"], disabled=False)
    assert_recent(parse_utc(user["created_at"]))
    assert "password" not in resp.text and "$argon2" not in resp.text


def test_register_without_name(register):
    email = unique_email()
    user = expect_json(register(email, unique_password()), 201)
    assert_user(user, email=email)


def test_register_trims_email_and_matches_case_insensitively(register, login):
    local = f"E2E-{uuid.uuid4().hex}"
    padded = f"  {local}@Example.com "
    trimmed = padded.strip()
    password = unique_password()
    user = expect_json(register(padded, password), 201)
    assert user["email"] in (trimmed, trimmed.lower()), user
    # the stored address logs in whatever its case
    assert expect_json(login(trimmed.lower(), password), 200)["user"]["id"] == user["id"]


@pytest.mark.parametrize(
    "variant",
    [
        lambda e: e,
        lambda e: e.upper(),
        lambda e: e[0].upper() + e[1:],
        lambda e: f"  {e.upper()} ",
    ],
    ids=["same", "upper", "one-letter-upper", "padded-upper"],
)
def test_duplicate_email_conflicts(register, variant):
    email = unique_email()
    expect_json(register(email, unique_password()), 201)
    assert_problem(register(variant(email), unique_password()), 409)


@pytest.mark.parametrize(
    "email",
    ["plainaddress", "@example.com", "user@", "", "   ", "two@@example.com", "a" * 250 + "@example.com"],
    ids=["no-at", "no-local", "no-domain", "empty", "blank", "double-at", "too-long"],
)
def test_invalid_email_is_rejected(register, email):
    body = assert_problem(register(email, unique_password()), 400)
    assert "email" in error_fields(body), body


@pytest.mark.parametrize(
    "password, status",
    [
        ("x" * 7, 400),
        ("x" * 8, 201),
        ("x" * 128, 201),
        ("x" * 129, 400),
        # the bounds count characters, not bytes
        ("é" * 4, 400),
        ("é" * 8, 201),
        ("é" * 128, 201),
    ],
    ids=["7", "8", "128", "129", "4-two-byte-chars", "8-two-byte-chars", "128-two-byte-chars"],
)
def test_password_length_bounds(register, password, status):
    resp = register(unique_email(), password)
    if status == 201:
        expect_json(resp, 201)
    else:
        body = assert_problem(resp, 400)
        assert "password" in error_fields(body), body


@pytest.mark.parametrize(
    "body, fields",
    [
        ({}, {"email", "password"}),
        ({"email": "EMAIL"}, {"password"}),
        ({"password": "long-enough-password"}, {"email"}),
    ],
    ids=["empty-object", "no-password", "no-email"],
)
def test_missing_fields_are_named(session, body, fields):
    body = {k: (unique_email() if v == "EMAIL" else v) for k, v in body.items()}
    problem = assert_problem(session.post("/auth/register", json=body), 400)
    assert fields <= error_fields(problem), problem


@pytest.mark.parametrize(
    "override, field",
    [
        ({"email": 123}, "email"),
        ({"email": None}, "email"),
        ({"email": ["a@example.com"]}, "email"),
        ({"password": 12345678}, "password"),
        ({"password": True}, "password"),
        ({"name": 42}, "name"),
    ],
    ids=["email-int", "email-null", "email-array", "password-int", "password-bool", "name-int"],
)
def test_wrong_types_are_rejected(session, override, field):
    body = dict({"email": unique_email(), "password": unique_password(), "name": "Types"}, **override)
    problem = assert_problem(session.post("/auth/register", json=body), 400)
    assert field in error_fields(problem), problem


@pytest.mark.parametrize("payload", ["[]", '"text"', "42", "null"], ids=["array", "string", "number", "null"])
def test_body_must_be_an_object(session, payload):
    resp = session.post("/auth/register", data=payload, headers={"Content-Type": "application/json"})
    assert_problem(resp, 400)
