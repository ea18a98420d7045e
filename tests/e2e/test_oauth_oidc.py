"""Sign-in with an OpenID Connect provider (ARCHITECTURE.md section 4, OAuth
2.0): auth-service as the relying party against a real provider run here,
Glewlwyd from Debian's package, set up by tests/oidc/glewlwyd-up on free ports
under the run directory.

The test starts, besides Glewlwyd:
- a transparent HTTP proxy in front of it (browsers and auth-service reach
  the provider through it; Glewlwyd's external URL and issuer are the
  proxy's), which can change what the token endpoint answers: a tampered
  id_token, or a genuine Glewlwyd id_token of another audience or another
  nonce;
- an auth-service of its own on the stack's database and signing key, with
  the provider configured (OIDC_PROVIDERS=glewlwyd) and the callback on its
  own port, so the tokens it issues work through the stack's gateway.

The browser is requests without automatic redirects. Cases: a full login
creates a customer and returns souk tokens; a second login returns the same
user; replayed, wrong and expired state, tampered id_token, wrong aud, wrong
nonce, a redirect outside the allow-list, error=access_denied from the
provider and a reused login code are each refused with the contract's answer,
and no user is created.
"""

import base64
import hashlib
import http.client
import json
import os
import secrets
import shutil
import subprocess
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from conftest import (
    Api,
    assert_problem,
    bearer,
    error_fields,
    expect_json,
    free_port,
    jwt_decode,
    spawned,
    sql,
    wait_until,
)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GLEWLWYD_UP = os.path.join(REPO, "tests", "oidc", "glewlwyd-up")

# The provider's users are <name>@DOMAIN: new addresses on every run, so a
# stack that ran this before holds no account of theirs.
DOMAIN = f"{uuid.uuid4().hex[:12]}.example.test"
ALICE = f"alice@{DOMAIN}"

pytestmark = pytest.mark.skipif(not os.path.exists("/usr/bin/glewlwyd"),
                                reason="glewlwyd is not installed (scripts/deps)")


# --------------------------------------------------------------------------
# the proxy in front of Glewlwyd


class Proxy(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream_port):
        super().__init__(("127.0.0.1", 0), ProxyHandler)
        self.upstream_port = upstream_port
        self.rewrite = None  # fn(token_response_dict) -> dict, for the token endpoint


HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


class ProxyHandler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        conn = http.client.HTTPConnection("127.0.0.1", self.server.upstream_port, timeout=10)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        conn.request(self.command, self.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        rewrite = self.server.rewrite
        if rewrite and self.path.split("?")[0].endswith("/api/oidc/token") and resp.status == 200:
            data = json.dumps(rewrite(json.loads(data))).encode()
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in HOP:
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        conn.close()

    do_GET = do_POST = do_PUT = do_DELETE = forward


# --------------------------------------------------------------------------
# fixtures: Glewlwyd, the proxy, auth-service with the provider


@pytest.fixture(scope="module")
def idp():
    run_dir = os.environ.get("SOUK_RUN_DIR")
    if not run_dir:
        pytest.skip("SOUK_RUN_DIR is not set")
    for tool in ("sqlite3", "openssl", "curl", "jq"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} is not installed (scripts/deps)")
    glewlwyd_port, auth_port, front_port = free_port(), free_port(), free_port()
    proxy = Proxy(glewlwyd_port)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    external = f"http://127.0.0.1:{proxy.server_address[1]}"
    auth = f"http://127.0.0.1:{auth_port}"
    env = dict(os.environ,
               GLEWLWYD_DIR=os.path.join(run_dir, f"glewlwyd-{uuid.uuid4().hex[:8]}"),
               GLEWLWYD_PORT=str(glewlwyd_port), GLEWLWYD_EXTERNAL_URL=external,
               GLEWLWYD_REDIRECT_URI=f"{auth}/auth/oauth/glewlwyd/callback",
               GLEWLWYD_EMAIL_DOMAIN=DOMAIN)
    done = subprocess.run([GLEWLWYD_UP, "start"], env=env, capture_output=True, text=True,
                          timeout=60)
    try:
        assert done.returncode == 0, f"glewlwyd-up failed: {done.stdout}{done.stderr}"
        yield {"proxy": proxy, "issuer": f"{external}/api/oidc", "external": external,
               "auth": auth, "auth_port": auth_port, "redirect_cb": env["GLEWLWYD_REDIRECT_URI"],
               "front": f"http://127.0.0.1:{front_port}"}
    finally:
        subprocess.run([GLEWLWYD_UP, "stop"], env=env, capture_output=True, timeout=30)
        proxy.shutdown()
        proxy.server_close()


@pytest.fixture(scope="module")
def rp(idp):
    """auth-service with the provider, on the stack's database and key."""
    run_dir = os.environ["SOUK_RUN_DIR"]
    db = os.environ.get("AUTH_DATABASE_URL")
    if not db:
        pytest.skip("AUTH_DATABASE_URL is not set")
    env = {
        "AUTH_PORT": idp["auth_port"],
        "DATABASE_URL": db,
        "JWT_PRIVATE_KEY_FILE": os.path.join(run_dir, "keys", "jwt-es256.pem"),
        "PUBLIC_URL": idp["auth"],
        "OAUTH_REDIRECT_ALLOWLIST": f"{idp['front']}/signed-in",
        "OIDC_PROVIDERS": "glewlwyd",
        "OIDC_GLEWLWYD_ISSUER": idp["issuer"],
        "OIDC_GLEWLWYD_CLIENT_ID": "souk",
        "OIDC_GLEWLWYD_CLIENT_SECRET": "souk-secret",
        "OIDC_GLEWLWYD_DISPLAY_NAME": "Glewlwyd",
        "TRUST_FORWARDED_FOR": "false",
    }
    with spawned("souk-auth", "auth-oidc.log", **env) as proc:
        api = Api(idp["auth"])

        def up():
            if proc.poll() is not None:
                pytest.fail(f"souk-auth exited: {proc.log_tail()}")
            return api.get("/healthz", timeout=2).status_code == 200
        wait_until(up, 60, what="auth-service with the provider")
        yield api
        api.close()


@pytest.fixture(autouse=True)
def no_rewrite(idp):
    idp["proxy"].rewrite = None
    yield
    idp["proxy"].rewrite = None


# --------------------------------------------------------------------------
# the browser


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def fragment(location):
    return {k: v[0] for k, v in parse_qs(urlsplit(location).fragment).items()}


def start(rp, idp, redirect=None):
    """GET /authorize: the provider URL souk sends the browser to."""
    resp = rp.get("/auth/oauth/glewlwyd/authorize",
                  params={"redirect_uri": redirect or f"{idp['front']}/signed-in"},
                  allow_redirects=False)
    assert resp.status_code == 302, resp.text
    assert resp.headers.get("Cache-Control") == "no-store", resp.headers
    location = resp.headers["Location"]
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert location.startswith(idp["issuer"] + "/auth?"), location
    assert query["response_type"] == "code" and query["client_id"] == "souk", query
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["state"] and query["nonce"] and query["state"] != query["nonce"], query
    assert query["redirect_uri"] == idp["redirect_cb"], query
    assert "openid" in query["scope"].split(), query
    return location, query


def provider_login(idp, location, user):
    """Signs in at Glewlwyd as user and returns where it sends the browser
    (the callback URL with code and state)."""
    browser = requests.Session()
    resp = browser.get(location, allow_redirects=False, timeout=10)
    assert resp.status_code == 302 and "login.html" in resp.headers["Location"], resp.text
    callback_url = parse_qs(urlsplit(resp.headers["Location"]).query)["callback_url"][0]
    resp = browser.post(f"{idp['external']}/api/auth/", timeout=10,
                        json={"username": user, "password": f"{user}-password"})
    assert resp.status_code == 200, resp.text
    resp = browser.get(callback_url + "&g_continue", allow_redirects=False, timeout=10)
    assert resp.status_code == 302, resp.text
    browser.close()
    return resp.headers["Location"]


def callback(rp, url):
    parts = urlsplit(url)
    return rp.get(f"{parts.path}?{parts.query}", allow_redirects=False)


def sign_in(rp, idp, user):
    """The whole flow to the front end's fragment."""
    location, query = start(rp, idp)
    back = provider_login(idp, location, user)
    assert back.startswith(idp["redirect_cb"] + "?"), back
    resp = callback(rp, back)
    assert resp.status_code == 302, resp.text
    assert resp.headers["Location"].startswith(f"{idp['front']}/signed-in#"), resp.headers
    return fragment(resp.headers["Location"]), back, query


def provider_tokens(idp, client, user, nonce):
    """A genuine id_token from Glewlwyd: its own code flow for client."""
    verifier = b64url(secrets.token_bytes(32))
    challenge = b64url(hashlib.sha256(verifier.encode()).digest())
    params = {"response_type": "code", "client_id": client, "redirect_uri": idp["redirect_cb"],
              "scope": "openid email profile", "state": "s", "nonce": nonce,
              "code_challenge": challenge, "code_challenge_method": "S256"}
    back = provider_login(idp, f"{idp['issuer']}/auth?{urlencode(params)}", user)
    code = parse_qs(urlsplit(back).query)["code"][0]
    resp = requests.post(f"{idp['issuer']}/token", auth=(client, f"{client}-secret"), timeout=10,
                         data={"grant_type": "authorization_code", "code": code,
                               "redirect_uri": idp["redirect_cb"], "code_verifier": verifier})
    assert resp.status_code == 200, resp.text
    return resp.json()["id_token"]


def souk_user(email):
    rows = sql(os.environ["AUTH_DATABASE_URL"],
               "SELECT id FROM users WHERE lower(email) = lower(:'email')", email=email)
    return rows[0][0] if rows else None


BOB = f"bob@{DOMAIN}"


@pytest.fixture
def bob_absent():
    """Bob never signs in successfully: each refusal must leave no user."""
    assert souk_user(BOB) is None
    yield
    assert souk_user(BOB) is None, "a refused sign-in created a user"


# --------------------------------------------------------------------------
# the cases


def test_providers_are_listed(rp):
    body = expect_json(rp.get("/auth/providers"), 200)
    assert body == [{"name": "glewlwyd", "display_name": "Glewlwyd"}], body


def test_full_login_creates_a_customer(session, rp, idp):
    got, _, _ = sign_in(rp, idp, "alice")
    assert set(got) == {"code"}, got
    resp = rp.post("/auth/oauth/exchange", json={"code": got["code"]})
    tokens = expect_json(resp, 200)
    assert resp.headers.get("Cache-Control") == "no-store"
    assert tokens["token_type"] == "Bearer" and tokens["refresh_token"], tokens
    user = tokens["user"]
    assert user["email"] == ALICE and user["roles"] == ["customer"], user
    assert user["name"] == "Alice Example", user
    claims = jwt_decode(tokens["access_token"])[1]
    assert claims["sub"] == user["id"] and claims["roles"] == ["customer"], claims
    # souk's own tokens: the stack's gateway accepts them
    me = expect_json(session.get("/auth/me", headers=bearer(tokens["access_token"])), 200)
    assert me["id"] == user["id"], me
    refreshed = expect_json(session.post("/auth/refresh",
                                         json={"refresh_token": tokens["refresh_token"]}), 200)
    assert refreshed["user"]["id"] == user["id"]
    linked = sql(os.environ["AUTH_DATABASE_URL"],
                 "SELECT provider FROM user_identities WHERE user_id = :'id'", id=user["id"])
    assert linked == [["glewlwyd"]], linked


def test_second_login_is_the_same_user(rp, idp):
    first = souk_user(ALICE)
    if first is None:
        got, _, _ = sign_in(rp, idp, "alice")
        expect_json(rp.post("/auth/oauth/exchange", json={"code": got["code"]}), 200)
        first = souk_user(ALICE)
    got, _, _ = sign_in(rp, idp, "alice")
    tokens = expect_json(rp.post("/auth/oauth/exchange", json={"code": got["code"]}), 200)
    assert tokens["user"]["id"] == first
    count = sql(os.environ["AUTH_DATABASE_URL"],
                "SELECT count(*) FROM users WHERE lower(email) = lower(:'e')", e=ALICE)
    assert count == [["1"]], count


def test_replayed_state(rp, idp):
    got, back, _ = sign_in(rp, idp, "alice")
    assert "code" in got
    users = sql(os.environ["AUTH_DATABASE_URL"], "SELECT count(*) FROM users")
    # the same callback again (the provider's code and souk's state): refused
    assert_problem(callback(rp, back), 400)
    assert sql(os.environ["AUTH_DATABASE_URL"], "SELECT count(*) FROM users") == users


def test_wrong_state(rp, idp, bob_absent):
    location, _ = start(rp, idp)
    back = provider_login(idp, location, "bob")
    parts = urlsplit(back)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query["state"] = b64url(secrets.token_bytes(32))
    assert_problem(rp.get(f"{parts.path}?{urlencode(query)}", allow_redirects=False), 400)
    assert_problem(rp.get(f"{parts.path}?code={query['code']}", allow_redirects=False), 400)


def test_expired_state(rp, idp, bob_absent):
    location, query = start(rp, idp)
    state_hash = hashlib.blake2b(query["state"].encode(), digest_size=32).hexdigest()
    sql(os.environ["AUTH_DATABASE_URL"],
        "UPDATE oauth_states SET expires_at = now() - interval '1 second'"
        " WHERE state_hash = decode(:'h', 'hex')", h=state_hash)
    back = provider_login(idp, location, "bob")
    assert_problem(callback(rp, back), 400)


def refused(rp, idp, error, rewrite=None):
    """A sign-in as bob whose callback must send the front end #error."""
    location, query = start(rp, idp)
    if rewrite:
        idp["proxy"].rewrite = rewrite(query)
    back = provider_login(idp, location, "bob")
    resp = callback(rp, back)
    assert resp.status_code == 302, resp.text
    got = fragment(resp.headers["Location"])
    assert got == {"error": error}, resp.headers["Location"]
    return query


def test_tampered_id_token(rp, idp, bob_absent):
    def tamper(query):
        def fn(tokens):
            header, payload, sig = tokens["id_token"].split(".")
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            claims["email"] = ALICE  # try to become someone else
            tokens["id_token"] = ".".join([header, b64url(json.dumps(claims).encode()), sig])
            return tokens
        return fn
    refused(rp, idp, "invalid_grant", tamper)


def test_wrong_aud(rp, idp, bob_absent):
    def other_client(query):
        token = provider_tokens(idp, "other", "bob", query["nonce"])  # same nonce, aud=other
        assert jwt_decode(token)[1]["aud"] in ("other", ["other"])
        return lambda tokens: dict(tokens, id_token=token)
    refused(rp, idp, "invalid_grant", other_client)


def test_wrong_nonce(rp, idp, bob_absent):
    def other_nonce(query):
        token = provider_tokens(idp, "souk", "bob", "not-" + query["nonce"])
        return lambda tokens: dict(tokens, id_token=token)
    refused(rp, idp, "invalid_grant", other_nonce)


@pytest.mark.parametrize("redirect", [
    "http://evil.example/signed-in", "{front}/signed-in-elsewhere", "{front}.evil.example/signed-in",
    "{front}/signed-in#x", "javascript:alert(1)", ""])
def test_redirect_outside_the_allow_list(rp, idp, redirect):
    before = sql(os.environ["AUTH_DATABASE_URL"], "SELECT count(*) FROM oauth_states")
    resp = rp.get("/auth/oauth/glewlwyd/authorize",
                  params={"redirect_uri": redirect.format(front=idp["front"])},
                  allow_redirects=False)
    body = assert_problem(resp, 400)
    assert "redirect_uri" in error_fields(body), body
    assert "Location" not in resp.headers
    assert sql(os.environ["AUTH_DATABASE_URL"], "SELECT count(*) FROM oauth_states") == before


def test_provider_says_access_denied(rp, idp, bob_absent):
    _, query = start(rp, idp)
    resp = rp.get("/auth/oauth/glewlwyd/callback",
                  params={"error": "access_denied", "state": query["state"]},
                  allow_redirects=False)
    assert resp.status_code == 302, resp.text
    assert fragment(resp.headers["Location"]) == {"error": "access_denied"}
    # the state was used up by that answer
    resp = rp.get("/auth/oauth/glewlwyd/callback",
                  params={"code": "x", "state": query["state"]}, allow_redirects=False)
    assert_problem(resp, 400)


def test_unverified_email_does_not_take_an_account(session, rp, idp):
    """dave@DOMAIN has a souk account; the provider does not say the
    address is verified, so signing in there must not reach that account,
    and no second account can have the address."""
    email, password = f"dave@{DOMAIN}", "dave-souk-password"
    resp = session.post("/auth/register", json={"email": email, "password": password})
    assert resp.status_code in (201, 409), resp.text
    owner = souk_user(email)
    location, _ = start(rp, idp)
    resp = callback(rp, provider_login(idp, location, "dave"))
    assert resp.status_code == 302, resp.text
    assert fragment(resp.headers["Location"]) == {"error": "access_denied"}
    linked = sql(os.environ["AUTH_DATABASE_URL"],
                 "SELECT count(*) FROM user_identities WHERE user_id = :'id'", id=owner)
    assert linked == [["0"]] and souk_user(email) == owner


def test_reused_login_code(rp, idp):
    got, _, _ = sign_in(rp, idp, "alice")
    expect_json(rp.post("/auth/oauth/exchange", json={"code": got["code"]}), 200)
    assert_problem(rp.post("/auth/oauth/exchange", json={"code": got["code"]}), 401)
    assert_problem(rp.post("/auth/oauth/exchange", json={"code": "made-up"}), 401)
    assert_problem(rp.post("/auth/oauth/exchange", json={}), 400)


def test_unknown_provider(rp, session):
    assert_problem(rp.get("/auth/oauth/nope/authorize",
                          params={"redirect_uri": "http://127.0.0.1/"}), 404)
    assert_problem(rp.get("/auth/oauth/nope/callback", params={"state": "x"}), 404)
    if not os.environ.get("OIDC_PROVIDERS"):  # the stack's own has none configured
        assert expect_json(session.get("/auth/providers"), 200) == []
        assert_problem(session.get("/auth/oauth/glewlwyd/authorize",
                                   params={"redirect_uri": "http://127.0.0.1/"}), 404)


def test_login_code_expires(rp, idp):
    got, _, _ = sign_in(rp, idp, "alice")
    code_hash = hashlib.blake2b(got["code"].encode(), digest_size=32).hexdigest()
    sql(os.environ["AUTH_DATABASE_URL"],
        "UPDATE login_codes SET expires_at = now() - interval '1 second'"
        " WHERE code_hash = decode(:'h', 'hex')", h=code_hash)
    assert_problem(rp.post("/auth/oauth/exchange", json={"code": got["code"]}), 401)
