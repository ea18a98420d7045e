"""/users: listing (admin), reading, updating and deleting accounts."""

import uuid

import pytest

from conftest import (
    assert_problem,
    assert_unauthorized,
    assert_user,
    bearer,
    error_fields,
    expect_empty,
    expect_json,
    unique_password,
)


# ---------------------------------------------------------------- listing


def test_customer_cannot_list_users(session, new_user):
    assert_problem(session.get("/users", headers=new_user["headers"]), 403)


def test_anonymous_cannot_list_users(session):
    assert_unauthorized(session.get("/users"))


def test_admin_lists_users(session, admin_headers, new_user):
    page = expect_json(session.get("/users", headers=admin_headers), 200)
    assert page["page"] == 1 and page["limit"] == 20, page
    assert type(page["total"]) is int and page["total"] >= 1, page
    assert isinstance(page["items"], list) and 1 <= len(page["items"]) <= 20, page
    for user in page["items"]:
        assert_user(user, roles=None)


def test_admin_pages_through_users(session, admin_headers, make_user):
    for _ in range(2):
        make_user()
    first = expect_json(session.get("/users", params={"limit": 1}, headers=admin_headers), 200)
    second = expect_json(session.get("/users", params={"limit": 1, "page": 2}, headers=admin_headers), 200)
    assert (first["page"], first["limit"], len(first["items"])) == (1, 1, 1), first
    assert (second["page"], second["limit"], len(second["items"])) == (2, 1, 1), second
    assert first["total"] >= 3 and second["total"] >= 3
    assert first["items"][0]["id"] != second["items"][0]["id"]


@pytest.mark.parametrize("field", ["email", "name"])
def test_admin_searches_users(session, admin_headers, make_user, field):
    user = make_user(name=f"Searchable {uuid.uuid4().hex}")
    needle = user["email"] if field == "email" else user["name"].split()[1]
    page = expect_json(session.get("/users", params={"q": needle}, headers=admin_headers), 200)
    assert page["total"] >= 1, page
    assert user["id"] in {item["id"] for item in page["items"]}, page
    for item in page["items"]:
        assert needle in (item["email"] + " " + (item["name"] or "")).lower(), item


@pytest.mark.parametrize("needle", ["%", "_", "\\"], ids=["percent", "underscore", "backslash"])
def test_search_is_literal(session, admin_headers, new_user, needle):
    """q is a plain substring: LIKE wildcards in it match only themselves."""
    page = expect_json(session.get("/users", params={"q": needle}, headers=admin_headers), 200)
    for item in page["items"]:
        assert needle in item["email"] + " " + (item["name"] or ""), item


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 101}, {"limit": "ten"}, {"page": 0}, {"page": -1}],
    ids=["limit-0", "limit-101", "limit-text", "page-0", "page-negative"],
)
def test_bad_paging_is_rejected(session, admin_headers, params):
    assert_problem(session.get("/users", params=params, headers=admin_headers), 400)


# ---------------------------------------------------------------- reading


def test_customer_reads_self(session, new_user):
    user = expect_json(session.get(f"/users/{new_user['id']}", headers=new_user["headers"]), 200)
    assert_user(user, email=new_user["email"], name=new_user["name"])


def test_customer_cannot_read_someone_else(session, make_user):
    me, other = make_user(), make_user()
    assert_problem(session.get(f"/users/{other['id']}", headers=me["headers"]), 404)


def test_admin_reads_anyone(session, admin_headers, new_user):
    user = expect_json(session.get(f"/users/{new_user['id']}", headers=admin_headers), 200)
    assert_user(user, email=new_user["email"])


@pytest.mark.parametrize("user_id", [str(uuid.uuid4()), "not-a-uuid", "1", "%27%20OR%201=1--"],
                         ids=["unknown-uuid", "not-a-uuid", "number", "sql-ish"])
@pytest.mark.parametrize("who", ["admin", "customer"])
def test_unknown_user_is_404(session, request, new_user, who, user_id):
    headers = request.getfixturevalue("admin_headers") if who == "admin" else new_user["headers"]
    assert_problem(session.get(f"/users/{user_id}", headers=headers), 404)


# ---------------------------------------------------------------- updating


def patch(session, user, body, headers=None):
    return session.patch(f"/users/{user['id']}", json=body, headers=headers or user["headers"])


def test_customer_renames_self(session, new_user):
    user = expect_json(patch(session, new_user, {"name": "Grace Hopper"}), 200)
    assert_user(user, email=new_user["email"], name="Grace Hopper")
    again = expect_json(session.get("/auth/me", headers=new_user["headers"]), 200)
    assert again["name"] == "Grace Hopper"


def test_password_change_needs_current_password(session, new_user):
    problem = assert_problem(patch(session, new_user, {"password": unique_password()}), 400)
    assert "current_password" in error_fields(problem), problem


def test_password_change_with_wrong_current_password(session, new_user, login):
    new_password = unique_password()
    resp = patch(session, new_user, {"password": new_password, "current_password": "not-the-password"})
    assert_problem(resp, (400, 403))
    expect_json(login(new_user["email"], new_user["password"]), 200)
    assert_problem(login(new_user["email"], new_password), 401)


def test_password_change_with_too_short_password(session, new_user):
    body = {"password": "short", "current_password": new_user["password"]}
    problem = assert_problem(patch(session, new_user, body), 400)
    assert "password" in error_fields(problem), problem


def test_password_change(session, new_user, login):
    new_password = unique_password()
    body = {"password": new_password, "current_password": new_user["password"]}
    user = expect_json(patch(session, new_user, body), 200)
    assert_user(user, email=new_user["email"])
    expect_json(login(new_user["email"], new_password), 200)
    assert_problem(login(new_user["email"], new_user["password"]), 401)


@pytest.mark.parametrize(
    "change", [{"roles": ["admin"]}, {"roles": ["customer", "admin"]}, {"disabled": True}],
    ids=["roles-admin", "roles-add-admin", "disable-self"],
)
def test_customer_cannot_change_privileged_fields(session, new_user, change):
    assert_problem(patch(session, new_user, change), 403)
    user = expect_json(session.get("/auth/me", headers=new_user["headers"]), 200)
    assert user["roles"] == ["customer"] and user["disabled"] is False, user


def test_customer_cannot_update_someone_else(session, make_user):
    me, other = make_user(), make_user()
    assert_problem(patch(session, other, {"name": "Mallory"}, headers=me["headers"]), 404)
    assert expect_json(session.get("/auth/me", headers=other["headers"]), 200)["name"] == other["name"]


@pytest.mark.parametrize(
    "body", [{"nickname": "x"}, {"email": "changed@example.com"}, {"id": "00000000-0000-4000-8000-000000000000"}],
    ids=["unknown-field", "email", "id"],
)
def test_unknown_or_read_only_fields_are_rejected(session, new_user, body):
    assert_problem(patch(session, new_user, body), 400)


def test_patch_wrong_type(session, new_user):
    problem = assert_problem(patch(session, new_user, {"name": 7}), 400)
    assert "name" in error_fields(problem), problem


def test_admin_disables_a_user(session, admin_headers, new_user, login):
    user = expect_json(patch(session, new_user, {"disabled": True}, headers=admin_headers), 200)
    assert user["disabled"] is True, user
    # disabled users stop at their next refresh, and cannot log in again
    resp = session.post("/auth/refresh", json={"refresh_token": new_user["refresh_token"]})
    assert_problem(resp, 401)
    assert_problem(login(new_user["email"], new_user["password"]), (401, 403))


def test_admin_grants_the_admin_role(session, admin_headers, new_user, login):
    user = expect_json(patch(session, new_user, {"roles": ["customer", "admin"]}, headers=admin_headers), 200)
    assert sorted(user["roles"]) == ["admin", "customer"], user
    token = expect_json(login(new_user["email"], new_user["password"]), 200)["access_token"]
    expect_json(session.get("/users", params={"limit": 1}, headers=bearer(token)), 200)


# ---------------------------------------------------------------- deleting


def test_customer_deletes_own_account(session, new_user, login):
    expect_empty(session.delete(f"/users/{new_user['id']}", headers=new_user["headers"]), 204)
    assert_problem(login(new_user["email"], new_user["password"]), 401)


def test_customer_cannot_delete_someone_else(session, make_user, login):
    me, other = make_user(), make_user()
    assert_problem(session.delete(f"/users/{other['id']}", headers=me["headers"]), 404)
    expect_json(login(other["email"], other["password"]), 200)


def test_admin_deletes_a_user(session, admin_headers, new_user, login):
    expect_empty(session.delete(f"/users/{new_user['id']}", headers=admin_headers), 204)
    assert_problem(session.get(f"/users/{new_user['id']}", headers=admin_headers), 404)
    assert_problem(login(new_user["email"], new_user["password"]), 401)
