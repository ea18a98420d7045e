#!/usr/bin/python3
"""The soak: a mixed load (browse, search, own orders, sign-in, order,
cancel) through the gateway at half the measured peak, for a bounded time,
against a running stack (the environment of scripts/stack's stack.env).

It passes when, over the paced run:
  - no answer is a 5xx or another status the mix does not expect, and no
    service counted a 5xx (calls between services included);
  - no socket error or timeout;
  - every process's resident memory is flat after warm-up (the least of the
    last window within 10% of the least of the first window after it; for
    a sanitizer build, beyond what AddressSanitizer's quarantine of freed
    memory may hold), but the development broker's, which holds every message
    in memory;
  - what stays through the last window (its least) of a process's threads
    and descriptors other than sockets, and of a database's connections
    outside its service's pool, is no more than the most any earlier sample
    saw (the peak included): a leak stays, a moment's extra (a connection
    being replaced, a thread coming and going) does not; a pool stays within
    its capacity, which it fills lazily; a process's sockets grow by at most
    SOCKET_SLACK (connections come and go with the load, while a leak of one
    per thousand requests is past it by tens);
and, once the load stops:
  - every order ends confirmed, rejected or cancelled (none pending);
  - for each product of the soak, initial stock - stock = the quantities of
    its confirmed orders (order-service's view), stock is never negative, and
    each order's reservation agrees with its status (product-service's view).

Usage: soak.py [--seconds N] [--connections N] [--rate R] [--peak-seconds N]
Without --rate it first measures the peak (unpaced, --peak-seconds) and
soaks at half of it. Exit status 0 when every check passed."""

import argparse
import base64
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Sign-ins are rare next to browsing, and each costs an Argon2id hash
# (tens of milliseconds of a core): 0.2% of requests.
WEIGHTS = "browse=520,search=200,orders=100,place=116,cancel=62,login=2"
# cancel: 200, or 409 when the order was rejected or cancelled already
EXPECTED = {200, 201, 409}
WORDS = ["amber", "basalt", "cobalt", "dune", "ember", "fjord", "garnet", "harbor"]
PRODUCTS, SCARCE, USERS = 24, 4, 24
RSS_GROWTH = 0.10
# Processes whose memory grows with the load by design (still checked for
# descriptors and threads): the development broker keeps every message it
# was sent (librdkafka's mock cluster has no retention).
RSS_GROWS = {"kafka-dev"}
SOCKET_SLACK = 4


def env(name):
    v = os.environ.get(name)
    if not v:
        sys.exit(f"soak: {name} is not set (source the stack's stack.env)")
    return v


# ------------------------------------------------------------------ HTTP


def call(method, path, body=None, token=None, expect=(200, 201)):
    req = urllib.request.Request(env("GATEWAY_URL") + path, method=method)
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, data, timeout=30) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    if status not in expect:
        raise RuntimeError(f"{method} {path} -> {status}: {raw[:300]!r}")
    return json.loads(raw) if raw else None


def login(email, password):
    return call("POST", "/auth/login", {"email": email, "password": password})["access_token"]


def jwt_sub(token):
    seg = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(seg + "=" * (-len(seg) % 4)))["sub"]


def sql(url, query):
    out = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                          "-d", url], input=query, capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError(f"psql: {out.stderr}")
    return [line.split("\t") for line in out.stdout.splitlines()]


# ------------------------------------------------------------------ set-up


def set_up(work):
    """Products (a few scarce, so some orders are rejected), users with
    tokens, search words; the files mixed.lua reads."""
    tag = secrets.token_hex(3)
    admin = login(env("SOUK_ADMIN_EMAIL"), env("SOUK_ADMIN_PASSWORD"))
    stock = {}
    for i in range(PRODUCTS):
        scarce = i < SCARCE
        p = call("POST", "/products", {
            "name": f"soak {WORDS[i % len(WORDS)]} {tag} {i}",
            "description": f"{WORDS[(i * 3) % len(WORDS)]} item for the soak",
            "price_cents": 100 + i, "stock": 40 if scarce else 1_000_000,
            "category": "soak"}, admin, expect=(201,))
        stock[p["id"]] = p["stock"]
    users = []
    for i in range(USERS):
        email, password = f"soak-{tag}-{i}@example.com", secrets.token_urlsafe(12)
        call("POST", "/auth/register", {"email": email, "password": password, "name": "soak"},
             expect=(201,))
        token = login(email, password)
        users.append((jwt_sub(token), email, password, token))
    (work / "products").write_text("\n".join(stock) + "\n")
    (work / "words").write_text("\n".join(WORDS + [tag, "soak", "item"]) + "\n")
    (work / "users").write_text("\n".join("\t".join(u) for u in users) + "\n")
    return stock, [u[0] for u in users]


# ------------------------------------------------------------------ load


def wrk(work, seconds, connections, delay_ms):
    envs = dict(os.environ, SOAK_PRODUCTS_FILE=str(work / "products"),
                SOAK_WORDS_FILE=str(work / "words"), SOAK_USERS_FILE=str(work / "users"),
                SOAK_WEIGHTS=WEIGHTS, SOAK_DELAY_MS=str(delay_ms))
    threads = min(2, connections)
    return subprocess.Popen(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
         "-s", str(HERE / "mixed.lua"), env("GATEWAY_URL")],
        env=envs, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def parse_wrk(out):
    m = re.search(r"^SOAK (.*)$", out, re.M)
    if not m:
        raise RuntimeError(f"wrk printed no SOAK line:\n{out}")
    return {k: int(v) for k, v in (kv.split("=") for kv in m.group(1).split())}


# ------------------------------------------------------------------ watching


def processes():
    """name -> pid of every process the stack started, PostgreSQL's
    postmaster included."""
    run = Path(env("SOUK_RUN_DIR"))
    procs = {}
    for f in sorted((run / "pids").glob("*.pid")):
        procs[f.stem] = int(f.read_text().split()[0])
    pm = run / "pg" / "data" / "postmaster.pid"
    if pm.exists():
        procs["postgres"] = int(pm.read_text().split()[0])
    return {n: p for n, p in procs.items() if Path(f"/proc/{p}").exists()}


def quarantine_kib(pid):
    """Freed memory AddressSanitizer may still hold for a process built with
    it (quarantine_size_mb of its ASAN_OPTIONS), which fills at the pace of
    the process's own traffic: a sanitizer build's allowance, 0 otherwise."""
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return 0
    if "libasan" not in maps and "__asan" not in maps:
        return 0
    for var in environ:
        if var.startswith(b"ASAN_OPTIONS="):
            m = re.search(rb"quarantine_size_mb=(\d+)", var)
            if m:
                return int(m.group(1)) * 1024
    return 256 * 1024  # ASan's default


def proc_sample(pid):
    status = Path(f"/proc/{pid}/status").read_text()
    rss = int(re.search(r"^VmRSS:\s+(\d+)", status, re.M).group(1))
    threads = int(re.search(r"^Threads:\s+(\d+)", status, re.M).group(1))
    sockets = others = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            sock = os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
        except OSError:
            continue  # closed while listed
        sockets, others = sockets + sock, others + (not sock)
    return {"rss_kib": rss, "threads": threads, "sockets": sockets, "fds": others}


def pg_connections():
    rows = sql(env("ORDER_DATABASE_URL"),
               "SELECT datname, count(*) FROM pg_stat_activity WHERE datname IS NOT NULL "
               "AND pid <> pg_backend_pid() GROUP BY datname")
    return {r[0]: int(r[1]) for r in rows}


class Watcher(threading.Thread):
    def __init__(self, procs, pools, interval):
        super().__init__(daemon=True)
        self.procs, self.pools, self.interval = procs, pools, interval
        # (t, {name: sample}, {db: connections}, {db: (pool open, capacity)})
        self.samples = []
        self.stop = threading.Event()
        self.started = time.monotonic()

    def run(self):
        while not self.stop.is_set():
            snap = {}
            for name, pid in self.procs.items():
                try:
                    snap[name] = proc_sample(pid)
                except (FileNotFoundError, ProcessLookupError):
                    snap[name] = None  # gone: reported as a failure
            # the server's count first: a pool counts a connection before
            # dialling it, so one opened between the two is never outside it
            conns = pg_connections()
            pools = {db: pool_sample(url) for db, url in self.pools.items()}
            self.samples.append((time.monotonic() - self.started, snap, conns, pools))
            self.stop.wait(self.interval)


def pool_sample(url):
    """A service's database pool: (connections open, capacity), from its
    db_pool_* gauges; None when it does not answer."""
    try:
        with urllib.request.urlopen(url + "/metrics", timeout=10) as resp:
            text = resp.read().decode()
    except OSError:
        return None
    gauges = dict(re.findall(r'^(db_pool_connections\{state="\w+"\}|db_pool_max) (\S+)$', text, re.M))
    open_ = sum(float(v) for k, v in gauges.items() if k.startswith("db_pool_connections"))
    return int(open_), int(float(gauges.get("db_pool_max", 0)))


def service_pools(urls):
    """database name -> URL of the service whose pool connects to it."""
    pools = {}
    for name, url in urls.items():
        dsn = os.environ.get(f"{name.upper()}_DATABASE_URL")
        if dsn:
            pools[dsn.rsplit("/", 1)[-1].split("?")[0]] = url
    return pools


def metric_5xx(url):
    """A process's 5xx answers by their http_requests_total labels."""
    try:
        with urllib.request.urlopen(url + "/metrics", timeout=10) as resp:
            text = resp.read().decode()
    except OSError:
        return {}
    return {m.group(1): float(m.group(2)) for m in
            re.finditer(r'^http_requests_total\{([^}]*status="5\d\d"[^}]*)\} (\S+)$', text, re.M)}


def service_urls():
    return {k[:-4].lower(): v for k, v in os.environ.items()
            if k.endswith("_URL") and v.startswith("http://")
            and k not in ("KAFKA_DEV_URL", "JWKS_URL")}


# ------------------------------------------------------------------ checks


def windows(samples, warmup):
    """The first quarter after warm-up, the last quarter, and everything
    before the last quarter."""
    after = [s for s in samples if s[0] >= warmup]
    n = max(1, len(after) // 4)
    return after[:n], after[-n:], samples[:len(samples) - n]


def check_resources(samples, warmup, failures, report, quarantine):
    first, last, before = windows(samples, warmup)
    if not first or not before:
        failures.append("too few samples after warm-up")
        return
    for name in samples[0][1]:
        if any(s[1].get(name) is None for s in samples):
            failures.append(f"{name} stopped during the soak")
            continue

        def series(window, key):
            return [s[1][name][key] for s in window]

        # The floor of each window: what stays resident. A request's
        # working memory (auth's Argon2id takes 64 MiB a hash) comes and
        # goes between samples; a leak raises the floor.
        rss0 = max(1, min(series(first, "rss_kib")))
        rss1 = min(series(last, "rss_kib"))
        growth = (rss1 - rss0) / rss0
        # what the sanitizer's quarantine may still be filling with
        counted = (max(0, rss1 - rss0 - quarantine[name])) / rss0
        # the most before the last window, the least through it
        fd0, fd1 = max(series(before, "fds")), min(series(last, "fds"))
        so0, so1 = max(series(before, "sockets")), min(series(last, "sockets"))
        th0, th1 = max(series(before, "threads")), min(series(last, "threads"))
        note = f", {quarantine[name] // 1024} MiB quarantine allowed" if quarantine[name] else ""
        report.append(f"  {name:<14} rss {rss0 / 1024:7.1f} -> {rss1 / 1024:7.1f} MiB "
                      f"({growth:+.1%}{note})  fds {fd0} -> {fd1}  sockets {so0} -> {so1}  "
                      f"threads {th0} -> {th1}")
        if counted >= RSS_GROWTH and name not in RSS_GROWS:
            failures.append(f"{name}: resident memory grew {growth:.1%} after warm-up{note}")
        if fd1 > fd0:
            failures.append(f"{name}: descriptors other than sockets grew from {fd0} to {fd1}")
        if so1 > so0 + SOCKET_SLACK:
            failures.append(f"{name}: sockets grew from {so0} to {so1}")
        if th1 > th0:
            failures.append(f"{name}: threads grew from {th0} to {th1}")
    for db in sorted({d for s in samples for d in s[2]}):
        check_connections(db, before, last, failures, report)


def check_connections(db, before, last, failures, report):
    """A database's connections: its service's pool within capacity, and
    the rest (a relay's LISTEN, a consumer's own) not growing. Without the
    pool's figures, the whole count must not grow."""
    def outside(window, most):
        counts = []
        for s in window:
            pool = s[3].get(db)
            if pool is None:
                return None
            counts.append(s[2].get(db, 0) - pool[0])
        return most(counts)

    c0 = max(s[2].get(db, 0) for s in before)
    c1 = min(s[2].get(db, 0) for s in last)
    o0, o1 = outside(before, max), outside(last, min)
    if o0 is None or o1 is None:
        report.append(f"  {db:<14} connections {c0} -> {c1}")
        if c1 > c0:
            failures.append(f"{db}: connections grew from {c0} to {c1}")
        return
    opened = max(s[3][db][0] for s in before + last)
    capacity = min(s[3][db][1] for s in before + last)
    report.append(f"  {db:<14} connections {c0} -> {c1} (pool at most {opened} of {capacity}, "
                  f"outside it {o0} -> {o1})")
    if opened > capacity:
        failures.append(f"{db}: the pool held {opened} connections, past its capacity {capacity}")
    if o1 > o0:
        failures.append(f"{db}: connections outside the pool grew from {o0} to {o1}")


def wait_settled(users, deadline_s=90):
    ids = ",".join(f"'{u}'" for u in users)
    end = time.monotonic() + deadline_s
    while True:
        pending = int(sql(env("ORDER_DATABASE_URL"),
                          f"SELECT count(*) FROM orders WHERE status = 'pending' "
                          f"AND user_id IN ({ids})")[0][0])
        if pending == 0 or time.monotonic() > end:
            return pending
        time.sleep(0.5)


def check_consistency(stock0, users, failures, report):
    pending = wait_settled(users)
    if pending:
        failures.append(f"{pending} orders still pending 90 s after the load stopped")
    ids = ",".join(f"'{u}'" for u in users)
    orders = dict(sql(env("ORDER_DATABASE_URL"),
                      f"SELECT id, status FROM orders WHERE user_id IN ({ids})"))
    by_status = {}
    for st in orders.values():
        by_status[st] = by_status.get(st, 0) + 1
    report.append("  orders: " + ", ".join(f"{k} {v}" for k, v in sorted(by_status.items())))
    confirmed = dict(sql(env("ORDER_DATABASE_URL"), f"""
        SELECT i.product_id, sum(i.quantity) FROM order_items i JOIN orders o ON o.id = i.order_id
        WHERE o.status = 'confirmed' AND o.user_id IN ({ids}) GROUP BY i.product_id"""))
    pids = ",".join(f"'{p}'" for p in stock0)
    now = dict(sql(env("PRODUCT_DATABASE_URL"),
                   f"SELECT id, stock FROM products WHERE id IN ({pids})"))
    for pid, s0 in stock0.items():
        taken, left = int(confirmed.get(pid, 0)), int(now[pid])
        if left < 0 or s0 - left != taken:
            failures.append(f"product {pid}: stock {s0} -> {left}, confirmed orders hold {taken}")
    # each order's reservation agrees with the order
    agree = {"confirmed": {"reserved"}, "rejected": {"rejected"},
             "cancelled": {"released", "cancelled", "rejected"}}
    oids = ",".join(f"'{o}'" for o in orders) or "NULL"
    res = dict(sql(env("PRODUCT_DATABASE_URL"),
                   f"SELECT order_id, status FROM reservations WHERE order_id IN ({oids})"))
    bad = [(o, st, res.get(o)) for o, st in orders.items() if res.get(o) not in agree.get(st, ())]
    if bad:
        failures.append(f"{len(bad)} orders disagree with their reservations, e.g. {bad[:3]}")


# ------------------------------------------------------------------ main


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=int, default=int(os.environ.get("SOAK_SECONDS", 600)))
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--rate", type=float, default=float(os.environ.get("SOAK_RATE", 0)),
                    help="requests/s to soak at (default: half the measured peak)")
    ap.add_argument("--peak-seconds", type=int, default=10)
    args = ap.parse_args()
    failures, report = [], []

    work = Path(tempfile.mkdtemp(prefix="soak-", dir=os.environ.get("SOUK_RUN_DIR")))
    stock0, users = set_up(work)
    urls = service_urls()
    errors0 = {n: metric_5xx(u) for n, u in urls.items()}
    # Watched from the peak on: pools and caches fill there, so what the
    # paced run adds after it is growth.
    watcher = Watcher(processes(), service_pools(urls), interval=max(1.0, args.seconds / 120))
    watcher.start()
    rate, busy_ms = args.rate, 0.0
    if rate <= 0:
        peak = wrk(work, args.peak_seconds, args.connections, 0)
        out = peak.communicate()[0]
        r = parse_wrk(out)
        peak_rate = r["requests"] / (r["duration_us"] / 1e6)
        rate, busy_ms = peak_rate / 2, 1000 * args.connections / peak_rate
        report.append(f"peak {peak_rate:.0f} requests/s unpaced at {args.connections} connections"
                      f" ({r['requests']} requests); soaking at {rate:.0f}/s")
        errors0 = {n: metric_5xx(u) for n, u in urls.items()}  # overload at the peak is allowed
    # A connection makes a request every connections / rate seconds: its wait
    # is that period less the time a request took at the peak.
    delay_ms = max(1, int(1000 * args.connections / rate - busy_ms))

    paced_from = time.monotonic() - watcher.started
    warmup = paced_from + max(10.0, args.seconds * 0.25)
    load = wrk(work, args.seconds, args.connections, delay_ms)
    out = load.communicate()[0]
    watcher.stop.set()
    watcher.join()
    r = parse_wrk(out)
    achieved = r["requests"] / (r["duration_us"] / 1e6)
    statuses = {int(k[7:]): v for k, v in r.items() if k.startswith("status_")}
    report.append(f"soak {args.seconds} s at {achieved:.0f} requests/s ({r['requests']} requests),"
                  f" p50 {r['p50_us'] / 1000:.1f} ms, p99 {r['p99_us'] / 1000:.1f} ms;"
                  f" statuses {dict(sorted(statuses.items()))}")
    if r["errors"]:
        failures.append(f"{r['errors']} socket errors or timeouts")
    odd = {s: n for s, n in statuses.items() if s not in EXPECTED}
    if odd:
        failures.append(f"unexpected statuses {odd}")
    for name, url in urls.items():
        now = metric_5xx(url)
        grew = {k: v - errors0[name].get(k, 0) for k, v in now.items()
                if v > errors0[name].get(k, 0)}
        if grew:
            failures.append(f"{name} answered 5xx: {grew}")
    report.append(f"processes (first window after {warmup - paced_from:.0f} s of warm-up"
                  " -> last window; descriptors, sockets, threads, connections: most before"
                  " the last window, peak included -> least through it):")
    quarantine = {n: quarantine_kib(p) for n, p in watcher.procs.items()}
    check_resources(watcher.samples, warmup, failures, report, quarantine)
    check_consistency(stock0, users, failures, report)

    print("\n".join(report))
    (work / "result.json").write_text(json.dumps(
        {"report": report, "failures": failures, "samples": watcher.samples}, indent=1))
    if failures:
        print("SOAK FAILED:\n  " + "\n  ".join(failures))
        return 1
    print("SOAK passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
