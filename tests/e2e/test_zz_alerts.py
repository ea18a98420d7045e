"""The alert path end to end: Prometheus scraping the stack, the ServiceDown
rule of deploy/prometheus/alerts.yml, Alertmanager, and a webhook receiver
run by this test.

A service is stopped with the stack helper; the receiver must get a firing
ServiceDown for it (and for nothing else), then, once the service is started
again, the same alert resolved.

Prometheus and Alertmanager are the ones `scripts/obs up` started for this
stack with OBS_FAST=1 (1 s scrapes and evaluations, every `for` shortened,
Alertmanager notifying within a second); `scripts/test` starts them before the
suite. When none runs, the test starts its own the same way and stops it
after. Named test_zz_* so that it runs after the other tests, like the other
fault tests.
"""

import json
import os
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from conftest import TIMEOUT, stack, wait_until

# The service stopped (scripts/stack's name) and the `service` label its
# metrics and scrape target carry.
VICTIM, VICTIM_LABEL = "order", "order-service"
# From the stop to the notification: a scrape (1 s), the rule's shortened
# `for`, an evaluation (1 s) and Alertmanager's group_wait (1 s), on a busy
# machine.
DELIVERY_TIMEOUT = 60


def _obs_script():
    stack_script = os.environ.get("SOUK_STACK")
    if not stack_script:
        pytest.skip("SOUK_STACK is not set: cannot find scripts/obs")
    return os.path.join(os.path.dirname(stack_script), "obs")


def _obs(*args, env=None):
    done = subprocess.run([_obs_script(), *args], capture_output=True, text=True, timeout=120,
                          env=env)
    assert done.returncode == 0, f"scripts/obs {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout


def _read_env(path):
    values = {}
    with open(path) as f:
        for line in f:
            if line.startswith("export ") and "=" in line:
                key, _, value = line[len("export "):].strip().partition("=")
                values[key] = value.strip("'\"")
    return values


def _healthy(url):
    try:
        return requests.get(f"{url}/-/ready", timeout=2).status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture(scope="module")
def obs():
    """{prometheus, alertmanager} URLs of a fast-interval Prometheus and
    Alertmanager on this stack: the running ones, or our own."""
    run_dir = os.environ.get("SOUK_RUN_DIR")
    if not run_dir:
        pytest.skip("SOUK_RUN_DIR is not set")
    env_file = os.path.join(run_dir, "obs", "obs.env")
    started = False
    values = _read_env(env_file) if os.path.exists(env_file) else {}
    if not (values and _healthy(values.get("PROMETHEUS_URL", "")) and
            _healthy(values.get("ALERTMANAGER_URL", ""))):
        env = dict(os.environ, OBS_FAST="1", PROMETHEUS_PORT="0", ALERTMANAGER_PORT="0")
        _obs("up", env=env)
        started = True
        values = _read_env(env_file)
    if values.get("OBS_FAST") != "1":
        pytest.skip("this stack's Prometheus runs with production intervals (not OBS_FAST=1): "
                    "an alert would take minutes")
    try:
        yield {"prometheus": values["PROMETHEUS_URL"], "alertmanager": values["ALERTMANAGER_URL"]}
    finally:
        if started:
            _obs("down")


class Receiver:
    """An Alertmanager webhook receiver on a free loopback port: keeps every
    notification it is sent."""

    def __init__(self):
        self.notifications = []
        self.errors = []
        self.cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError as exc:
                    body = None
                    receiver.errors.append(f"{exc}: {raw[:200]!r}")
                with receiver.cond:
                    if body is not None:
                        receiver.notifications.append(
                            {"path": self.path, "type": self.headers.get("Content-Type"),
                             "body": body})
                    receiver.cond.notify_all()
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, predicate, timeout, what):
        """The first alert (with its notification) for which predicate(alert,
        notification) holds, waiting up to timeout seconds."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for note in self.notifications:
                    for alert in note["body"].get("alerts", []):
                        if predicate(alert, note["body"]):
                            return alert, note
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"timed out after {timeout}s waiting for {what}; received: "
                        f"{json.dumps([n['body'] for n in self.notifications])[:3000]}")
                self.cond.wait(left)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(obs):
    rec = Receiver()
    _obs("webhook", rec.url)
    try:
        yield rec
    finally:
        try:
            _obs("webhook", "none")
        finally:
            rec.close()


def _target_health(prometheus, service):
    resp = requests.get(f"{prometheus}/api/v1/targets", params={"state": "active"}, timeout=TIMEOUT)
    resp.raise_for_status()
    found = [t["health"] for t in resp.json()["data"]["activeTargets"]
             if t["labels"].get("service") == service]
    assert len(found) == 1, f"expected one scrape target for {service}: {found}"
    return found[0]


def _is_service_down(alert, status, service=VICTIM_LABEL):
    labels = alert.get("labels", {})
    return (labels.get("alertname") == "ServiceDown" and labels.get("service") == service and
            alert.get("status") == status)


def _am_alerts(alertmanager):
    resp = requests.get(f"{alertmanager}/api/v2/alerts", timeout=TIMEOUT)
    resp.raise_for_status()
    return resp.json()


def test_service_down_alert_is_delivered_then_resolved(obs, receiver):
    prometheus, alertmanager = obs["prometheus"], obs["alertmanager"]
    # The rule really is the one shipped: ServiceDown on `up == 0`.
    rules = requests.get(f"{prometheus}/api/v1/rules", timeout=TIMEOUT).json()["data"]["groups"]
    service_down = [r for g in rules for r in g["rules"] if r.get("name") == "ServiceDown"]
    assert len(service_down) == 1 and service_down[0]["query"] == "up == 0", service_down
    # Everything is scraped and up before we start (no ServiceDown yet).
    wait_until(lambda: _target_health(prometheus, VICTIM_LABEL) == "up", timeout=30,
               what=f"{VICTIM_LABEL} to be scraped as up")
    assert not [a for a in _am_alerts(alertmanager)
                if a["labels"].get("alertname") == "ServiceDown"], _am_alerts(alertmanager)

    started_at = time.monotonic()
    stack("stop-service", VICTIM)
    try:
        alert, note = receiver.wait_for(lambda a, body: _is_service_down(a, "firing"),
                                        DELIVERY_TIMEOUT, f"a firing ServiceDown for {VICTIM_LABEL}")
        fired_after = time.monotonic() - started_at
        # The notification is Alertmanager's webhook format (version 4) for
        # the alert Prometheus raised, with its labels and annotations.
        body = note["body"]
        assert note["type"].startswith("application/json"), note
        assert body["version"] == "4" and body["receiver"] == "webhook", body
        assert body["groupLabels"] == {"alertname": "ServiceDown", "service": VICTIM_LABEL}, body
        assert alert["labels"]["severity"] == "critical", alert
        assert alert["labels"]["job"] == "souk", alert
        assert f"{VICTIM_LABEL} is down" in alert["annotations"]["summary"], alert
        assert alert["generatorURL"].startswith(prometheus), alert
        # Alertmanager shows it active.
        active = [a for a in _am_alerts(alertmanager)
                  if a["labels"].get("alertname") == "ServiceDown" and
                  a["labels"].get("service") == VICTIM_LABEL]
        assert active and active[0]["status"]["state"] == "active", active
    finally:
        stack("start-service", VICTIM)
    restarted_at = time.monotonic()

    resolved, _ = receiver.wait_for(lambda a, body: _is_service_down(a, "resolved"),
                                    DELIVERY_TIMEOUT, f"ServiceDown for {VICTIM_LABEL} resolved")
    resolved_after = time.monotonic() - restarted_at
    assert resolved["startsAt"] == alert["startsAt"], (alert, resolved)
    assert resolved["endsAt"] > resolved["startsAt"], resolved

    # Only the stopped service was reported down.
    others = [a["labels"] for n in receiver.notifications for a in n["body"]["alerts"]
              if a["labels"].get("alertname") == "ServiceDown" and
              a["labels"].get("service") != VICTIM_LABEL]
    assert not others, f"ServiceDown for services that were not stopped: {others}"
    assert not receiver.errors, receiver.errors
    print(f"ServiceDown delivered {fired_after:.1f}s after the stop, "
          f"resolved {resolved_after:.1f}s after the restart")
