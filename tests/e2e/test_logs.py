"""The stack's logs: one JSON object per line with Elastic Common Schema names,
every field mapped by the Elasticsearch index template, and no secret in any
log file of the run.

Secrets are looked for in every file under $SOUK_RUN_DIR/logs in three ways:

- by value: this module's own passwords, tokens and refresh tokens (a
  register, failed and good logins, a refresh, a password change, a logout),
  the admin password, and every password, token and secret that any test of
  the suite sends or receives: importing this module wraps
  requests.Session.send to record them (JSON and form members whose name
  says password, secret or token; bearer tokens; cookies);
- by shape: JWT-shaped strings, Argon2 hashes, private keys;
- by name: a JSON member named like a password, secret or token with a value,
  and such names as query parameters.

test_no_secret_in_logs checks at its place in the suite, and its session
fixture checks once more after the last test of the session (a failure there
is reported as an error in the teardown of the suite's last test), so that
the secrets of the tests that run after this module are covered too: that
second check is the one over a full e2e run's logs.
"""

import ipaddress
import json
import os
import re
import threading
import time
import uuid
from urllib.parse import parse_qsl

import pytest
import requests

from conftest import bearer, describe, expect_empty, expect_json, unique_email, unique_password

TEMPLATE = os.path.join(os.path.dirname(__file__), "..", "..", "deploy", "logstash", "templates",
                        "souk-logs.json")
LOG_FLUSH_TIMEOUT = 15  # seconds for a request's access lines to reach the log files

# --------------------------------------------------------------------------
# Recording the suite's secrets

SECRET_NAME = re.compile(r"pass(word|wd|phrase)?|secret|token", re.IGNORECASE)
_recorded = set()
_recorded_lock = threading.Lock()


def _worth_recording(value):
    # Short or repetitive values ("x" * 500, "password") would match
    # unrelated text; every real secret of the suite is longer and random.
    return isinstance(value, str) and len(value) >= 8 and len(set(value)) >= 6


def _record(value):
    if _worth_recording(value):
        with _recorded_lock:
            _recorded.add(value)


def _record_members(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(key, str) and SECRET_NAME.search(key):
                _record(value)
            _record_members(value)
    elif isinstance(node, list):
        for value in node:
            _record_members(value)


def _record_body(body, ctype):
    if body is None:
        return
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if "json" in (ctype or ""):
        try:
            _record_members(json.loads(body))
        except ValueError:
            pass
    elif "x-www-form-urlencoded" in (ctype or ""):
        for key, value in parse_qsl(body):
            if SECRET_NAME.search(key):
                _record(value)


def _record_exchange(request, response):
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith(("bearer ", "basic ")):
        _record(auth.split(None, 1)[1].strip())
    for header in ("Cookie",):
        for part in request.headers.get(header, "").split(";"):
            _record(part.partition("=")[2].strip())
    _record_body(request.body, request.headers.get("Content-Type"))
    if response is not None:
        cookie = response.headers.get("Set-Cookie", "")
        _record(cookie.split(";", 1)[0].partition("=")[2].strip())
        if not response.raw or response._content_consumed:  # noqa: SLF001 - not streamed
            _record_body(response.content, response.headers.get("Content-Type"))


_original_send = requests.Session.send


def _recording_send(self, request, **kwargs):
    response = _original_send(self, request, **kwargs)
    try:
        _record_exchange(request, None if kwargs.get("stream") else response)
    except Exception:  # noqa: BLE001 - recording must never break a test
        pass
    return response


if not getattr(requests.Session.send, "_souk_records_secrets", False):
    _recording_send._souk_records_secrets = True
    requests.Session.send = _recording_send


# --------------------------------------------------------------------------
# Reading the logs

def _log_dir():
    run_dir = os.environ.get("SOUK_RUN_DIR")
    if not run_dir:
        pytest.skip("SOUK_RUN_DIR is not set: no logs to read")
    path = os.path.join(run_dir, "logs")
    if not os.path.isdir(path):
        pytest.skip(f"{path} does not exist")
    return path


def _log_files(log_dir):
    files = []
    for root, _, names in os.walk(log_dir):
        for name in sorted(names):
            path = os.path.join(root, name)
            if os.path.isfile(path):
                files.append(path)
    return files


def _read(path):
    with open(path, "rb") as f:
        return f.read().decode("utf-8", "replace")


def _first_json(path):
    """The first line of path as a dict, or None when it is not a JSON object."""
    with open(path, "rb") as f:
        for raw in f:
            line = raw.decode("utf-8", "replace").strip()
            if not line:
                continue
            try:
                value = json.loads(line)
            except ValueError:
                return None
            return value if isinstance(value, dict) else None
    return None


def _souk_logs(log_dir):
    """The log files written by souk processes: their first line is an ECS
    object naming its service."""
    return [p for p in _log_files(log_dir) if (_first_json(p) or {}).get("service.name")]


# --------------------------------------------------------------------------
# What counts as a leak

JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
ARGON2 = re.compile(r"\$argon2(?:id|i|d)\$")
PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")
SECRET_MEMBER = re.compile(
    r'"([^"]*(?:pass(?:word|wd|phrase)?|secret|token)[^"]*)"\s*:\s*"([^"]+)"', re.IGNORECASE)
SECRET_PARAM = re.compile(r"[?&;](password|passwd|secret|token|access_token|refresh_token|id_token)=",
                          re.IGNORECASE)


def _where(text, pos, length):
    """Line number and the line, with the leaked value cut to its first
    characters (a failure message must not spread it further)."""
    line = text.count("\n", 0, pos) + 1
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    end = end if end >= 0 else len(text)
    keep = min(6, length)
    snippet = text[start:pos + keep] + "<redacted>" + text[pos + length:end]
    return line, snippet[:300]


def _leaks(log_dir, secrets):
    """Every leak found, as (file, line, what, excerpt)."""
    found = []
    for path in _log_files(log_dir):
        text = _read(path)
        name = os.path.relpath(path, log_dir)
        for value in secrets:
            pos = text.find(value)
            if pos >= 0:
                line, excerpt = _where(text, pos, len(value))
                found.append((name, line, f"the secret {value[:6]}... by value", excerpt))
        for what, pattern in (("a JWT", JWT), ("an Argon2 hash", ARGON2),
                              ("a private key", PRIVATE_KEY), ("a secret query parameter", SECRET_PARAM)):
            for m in pattern.finditer(text):
                line, excerpt = _where(text, m.start(), len(m.group(0)))
                found.append((name, line, what, excerpt))
        for m in SECRET_MEMBER.finditer(text):
            line, excerpt = _where(text, m.start(2), len(m.group(2)))
            found.append((name, line, f"a member {m.group(1)!r} with a value", excerpt))
    return found


def _assert_no_leaks(log_dir, secrets, when):
    leaks = _leaks(log_dir, secrets)
    assert not leaks, (
        f"{len(leaks)} secret(s) in the logs {when} (of {len(secrets)} values looked for):\n" +
        "\n".join(f"  {f}:{line}: {what}: {excerpt}" for f, line, what, excerpt in leaks[:20]))


def _known_secrets():
    with _recorded_lock:
        values = set(_recorded)
    admin = os.environ.get("SOUK_ADMIN_PASSWORD")
    if admin:
        values.add(admin)
    return values


@pytest.fixture(scope="session")
def suite_audit():
    """Checks the logs again once the whole session has run."""
    log_dir = _log_dir()
    yield log_dir
    _assert_no_leaks(log_dir, _known_secrets(), "after the whole e2e run")


# --------------------------------------------------------------------------
# Tests

def _wait_logged(log_dir, request_ids, files):
    """Until every request id appears in each of these log files (the access
    lines of our requests have been written)."""
    deadline = time.monotonic() + LOG_FLUSH_TIMEOUT
    while True:
        missing = []
        for name in files:
            path = os.path.join(log_dir, name)
            text = _read(path) if os.path.exists(path) else ""
            missing += [f"{name}: {rid}" for rid in request_ids if rid not in text]
        if not missing:
            return
        assert time.monotonic() < deadline, f"access lines not logged after {LOG_FLUSH_TIMEOUT}s: {missing}"
        time.sleep(0.2)


def test_no_secret_in_logs(session, suite_audit):
    log_dir = suite_audit
    ids = []

    def rid():
        ids.append(f"logs-{uuid.uuid4().hex}")
        return {"X-Request-Id": ids[-1]}

    email, password, wrong, new_password = (unique_email("logs"), unique_password(),
                                            unique_password(), unique_password())
    user = expect_json(session.post("/auth/register", json={"email": email, "password": password},
                                    headers=rid()), 201)
    resp = session.post("/auth/login", json={"email": email, "password": wrong}, headers=rid())
    assert resp.status_code == 401, describe(resp)
    first = expect_json(session.post("/auth/login", json={"email": email, "password": password},
                                     headers=rid()), 200)
    second = expect_json(session.post("/auth/refresh", json={"refresh_token": first["refresh_token"]},
                                      headers=rid()), 200)
    expect_json(session.get("/auth/me", headers={**bearer(second["access_token"]), **rid()}), 200)
    resp = session.patch(f"/users/{user['id']}",
                         json={"password": new_password, "current_password": password},
                         headers={**bearer(second["access_token"]), **rid()})
    assert resp.status_code == 200, describe(resp)
    third = expect_json(session.post("/auth/login", json={"email": email, "password": new_password},
                                     headers=rid()), 200)
    expect_empty(session.post("/auth/logout", json={"refresh_token": third["refresh_token"]},
                              headers=rid()))
    # A spent refresh token presented again (reuse) is logged as refused, not shown.
    resp = session.post("/auth/refresh", json={"refresh_token": first["refresh_token"]}, headers=rid())
    assert resp.status_code == 401, describe(resp)

    mine = {password, wrong, new_password}
    for tokens in (first, second, third):
        mine.update((tokens["access_token"], tokens["refresh_token"]))
    # The recorder saw them too (it is what covers the other tests).
    assert mine <= _known_secrets(), "the request recorder missed this test's own secrets"
    _wait_logged(log_dir, ids, ["gateway.log", "auth.log"])
    _assert_no_leaks(log_dir, _known_secrets(), "at this point of the suite")


def test_leak_detection_finds_each_kind(tmp_path, new_user):
    """The scanner itself: each kind of leak planted in a log file is found."""
    token = new_user["access_token"]
    lines = {
        "by value": f'{{"message":"saw {new_user["password"]}"}}',
        "a JWT": f'{{"message":"Authorization: Bearer {token}"}}',
        "an Argon2 hash": '{"message":"$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHQ$aGFzaA"}',
        "a member": '{"message":"body","refresh_token":"abc123def456"}',
        "a secret query parameter": '{"url.path":"/auth/callback?token=abc"}',
        "a private key": "-----BEGIN EC PRIVATE KEY-----",
    }
    for i, line in enumerate(lines.values()):
        (tmp_path / f"planted{i}.log").write_text(line + "\n")
    (tmp_path / "clean.log").write_text('{"message":"request","http.route":"/auth/login"}\n')
    found = _leaks(str(tmp_path), {new_user["password"]})
    kinds = {f: what for f, _, what, _ in found}
    assert "clean.log" not in kinds, found
    for i, kind in enumerate(lines):
        assert any(kind.split()[-1] in what for f, _, what, _ in found if f == f"planted{i}.log"), (kind, found)
    # Reports show where, not the secret itself.
    for _, _, _, excerpt in found:
        assert new_user["password"] not in excerpt and token not in excerpt, excerpt


SOUK_PROCESSES = {"gateway", "auth", "product", "order", "notification", "analytics", "kafka-dev"}
LEVELS = {"trace", "debug", "info", "warn", "error", "fatal"}
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$")
HEX = {"trace.id": re.compile(r"^[0-9a-f]{32}$"), "span.id": re.compile(r"^[0-9a-f]{16}$")}


def test_every_line_is_an_ecs_json_object():
    log_dir = _log_dir()
    files = _souk_logs(log_dir)
    names = {os.path.basename(p) for p in files}
    # Every souk process the stack runs writes such a log (its development
    # SMTP server and PostgreSQL are not souk's).
    pid_dir = os.path.join(os.path.dirname(log_dir), "pids")
    running = {n[:-4] for n in os.listdir(pid_dir)} if os.path.isdir(pid_dir) else set()
    expected = {f"{n}.log" for n in running & SOUK_PROCESSES}
    assert expected <= names, (
        f"logs of running souk processes that do not start with an ECS JSON line: {expected - names}")
    problems = []
    lines = 0
    for path in files:
        name = os.path.basename(path)
        for n, raw in enumerate(_read(path).splitlines(), 1):
            if not raw.strip():
                continue
            lines += 1
            where = f"{name}:{n}: {raw[:200]}"
            try:
                obj = json.loads(raw)
            except ValueError:
                problems.append(f"{where}: not JSON")
                continue
            if not isinstance(obj, dict):
                problems.append(f"{where}: not an object")
                continue
            if not isinstance(obj.get("@timestamp"), str) or not TIMESTAMP.match(obj["@timestamp"]):
                problems.append(f"{where}: @timestamp is not RFC 3339 UTC")
            if obj.get("log.level") not in LEVELS:
                problems.append(f"{where}: log.level {obj.get('log.level')!r}")
            if not isinstance(obj.get("service.name"), str) or not obj["service.name"]:
                problems.append(f"{where}: no service.name")
            if not isinstance(obj.get("message"), str):
                problems.append(f"{where}: no message")
            for key, pattern in HEX.items():
                if key in obj and not (isinstance(obj[key], str) and pattern.match(obj[key])):
                    problems.append(f"{where}: {key} {obj[key]!r}")
            if "http.request.id" in obj and not isinstance(obj["http.request.id"], str):
                problems.append(f"{where}: http.request.id {obj['http.request.id']!r}")
            for key, value in obj.items():
                if isinstance(value, (dict, list)):
                    problems.append(f"{where}: {key} is not a scalar")
            if len(problems) > 20:
                break
    assert lines > 0, f"no souk log lines under {log_dir}"
    assert not problems, "\n".join(problems[:20])


def _mapping(properties, dotted):
    node = {"properties": properties}
    for part in dotted.split("."):
        node = (node.get("properties") or {}).get(part)
        if node is None:
            return None
    return node


def _fits(kind, value):
    if kind in ("keyword", "wildcard", "match_only_text", "text"):
        return isinstance(value, str)
    if kind in ("long", "integer", "short"):
        return isinstance(value, int) and not isinstance(value, bool)
    if kind in ("double", "float", "scaled_float"):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "date":
        return isinstance(value, str) and bool(TIMESTAMP.match(value))
    if kind == "ip":
        try:
            ipaddress.ip_address(value)
            return True
        except (TypeError, ValueError):
            return False
    return False


def test_index_template_maps_every_logged_field():
    with open(TEMPLATE) as f:
        template = json.load(f)
    assert "souk-logs-*" in template["index_patterns"], template["index_patterns"]
    properties = template["template"]["mappings"]["properties"]
    for field in ("@timestamp", "log.level", "service.name", "message", "trace.id", "span.id",
                  "http.request.id", "event.type", "error.message"):
        assert _mapping(properties, field), f"the template does not map {field}"
    problems = {}
    for path in _souk_logs(_log_dir()):
        name = os.path.basename(path)
        for raw in _read(path).splitlines():
            try:
                obj = json.loads(raw)
            except ValueError:
                continue  # test_every_line_is_an_ecs_json_object reports it
            for key, value in obj.items():
                if value is None or key in problems:
                    continue
                mapping = _mapping(properties, key)
                if mapping is None or "type" not in mapping:
                    problems[key] = f"{key} (e.g. {value!r} in {name}) is not mapped"
                elif not _fits(mapping["type"], value):
                    problems[key] = f"{key}: {value!r} in {name} does not fit type {mapping['type']}"
    assert not problems, (
        "fields the logs carry that deploy/logstash/templates/souk-logs.json does not map "
        "(add them there, with ECS names where ECS has one):\n  " + "\n  ".join(problems.values()))
