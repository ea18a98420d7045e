#!/usr/bin/python3
"""analytics_replay.py: the events of many orders, for analytics-service's
benchmarks (bench/run's `analytics` scenario). Standard library only; kcat
publishes.

    analytics_replay.py generate --orders 10000 --days 30 --dir DIR
        Writes DIR/{products,users,orders}.tsv (one "key<TAB>CloudEvent" line
        per event, each topic's events in their order) and DIR/counts.json.
        The orders are spread over the --days days before --end (default
        today, UTC), 1 to 4 lines of 1 to 3 units from --products products
        in 12 categories and two currencies; 90 % confirmed (10 % of those
        cancelled later), 7 % rejected, 3 % cancelled while pending. Seeded:
        the same arguments give the same events.

    analytics_replay.py produce --brokers HOST:PORT --dir DIR [--chunk N --metrics URL]
        Publishes the three files to the products, users and orders topics
        with kcat (key = the aggregate id, as the services do). With --chunk,
        N events at a time, each after analytics-service (--metrics) handled
        the ones before: the dev broker keeps only the last few megabytes of
        each partition, so a running service must keep up with a big replay.

    analytics_replay.py handled --metrics URL
        Prints how many events analytics-service has handled so far.

    analytics_replay.py wait --metrics URL --events N [--timeout S] [--since T]
        Polls analytics-service's /metrics until it has handled N events
        (events_handled_total, outcome ok) and its journal is folded
        (analytics_journal_rows 0); prints one JSON line: when the first and
        the last were seen, and events/s from --since (a Unix time, e.g. when
        the service was started) and from the first event handled.
"""

import argparse
import json
import random
import re
import subprocess
import sys
import time
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

CATEGORIES = ["kitchen", "tea", "coffee", "garden", "books", "toys", "office", "bath", "sport",
              "music", "travel", "pets"]
TOPICS = ("products", "users", "orders")


def stamp(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def event(rng, source, event_type, subject, t, data):
    return {"specversion": "1.0", "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "source": source, "type": event_type, "time": stamp(t), "subject": subject,
            "datacontenttype": "application/json", "data": data}


def line(key, ev):
    return f"{key}\t{json.dumps(ev, separators=(',', ':'))}\n"


def generate(args):
    rng = random.Random(args.seed)
    out = Path(args.dir)
    out.mkdir(parents=True, exist_ok=True)
    end = (datetime.strptime(args.end, "%Y-%m-%d") if args.end
           else datetime.now(timezone.utc).replace(tzinfo=None))
    end = end.replace(hour=0, minute=0, second=0, microsecond=0)
    start = end - timedelta(days=args.days)
    new_id = lambda: str(uuid.UUID(int=rng.getrandbits(128), version=4))  # noqa: E731
    counts = {t: 0 for t in TOPICS}

    products = []
    with open(out / "products.tsv", "w") as f:
        for i in range(args.products):
            pid = new_id()
            currency = "EUR" if i % 5 == 0 else "USD"
            p = {"id": pid, "sku": f"BENCH-{i}", "name": f"Bench product {i}",
                 "description": "", "price_cents": rng.randrange(99, 20000), "currency": currency,
                 "stock": 1000, "category": CATEGORIES[i % len(CATEGORIES)],
                 "created_at": stamp(start), "updated_at": stamp(start)}
            products.append(p)
            f.write(line(pid, event(rng, "/product-service", "souk.product.created.v1", pid,
                                    start - timedelta(days=1), p)))
            counts["products"] += 1
    by_currency = {c: [p for p in products if p["currency"] == c] for c in ("USD", "EUR")}

    users = []
    with open(out / "users.tsv", "w") as f:
        for i in range(args.users):
            uid = new_id()
            t = start + timedelta(seconds=rng.uniform(0, args.days * 86400))
            users.append(uid)
            data = {"user_id": uid, "email": f"bench-{i}@bench.example", "name": f"Bench {i}",
                    "roles": ["customer"], "created_at": stamp(t)}
            f.write(line(uid, event(rng, "/auth-service", "souk.user.registered.v1", uid, t, data)))
            counts["users"] += 1

    with open(out / "orders.tsv", "w") as f:
        for _ in range(args.orders):
            oid, uid = new_id(), rng.choice(users)
            pool = by_currency["EUR" if rng.random() < 0.2 else "USD"]
            chosen = rng.sample(pool, min(len(pool), rng.randint(1, 4)))
            items = [{"product_id": p["id"], "name": p["name"], "category": p["category"],
                      "quantity": rng.randint(1, 3), "unit_price_cents": p["price_cents"]}
                     for p in sorted(chosen, key=lambda p: p["id"])]
            total = sum(i["quantity"] * i["unit_price_cents"] for i in items)
            t = start + timedelta(seconds=rng.uniform(0, args.days * 86400))
            base = {"order_id": oid, "user_id": uid, "items": items, "total_cents": total,
                    "currency": chosen[0]["currency"]}
            steps = [("placed", t, "pending")]
            fate = rng.random()
            if fate < 0.90:
                steps.append(("confirmed", t + timedelta(milliseconds=500), "confirmed"))
                if rng.random() < 0.10:
                    steps.append(("cancelled", t + timedelta(hours=rng.uniform(1, 48)),
                                  "cancelled"))
            elif fate < 0.97:
                steps.append(("rejected", t + timedelta(milliseconds=500), "rejected"))
            else:
                steps.append(("cancelled", t + timedelta(seconds=30), "cancelled"))
            for what, when, status in steps:
                data = dict(base, status=status)
                if what == "rejected":
                    data["reason"] = "insufficient stock for product " + items[0]["product_id"]
                f.write(line(oid, event(rng, "/order-service", f"souk.order.{what}.v1", oid, when,
                                        data)))
                counts["orders"] += 1
    counts["total"] = sum(counts[t] for t in TOPICS)
    counts["from"], counts["to"] = start.date().isoformat(), end.date().isoformat()
    (out / "counts.json").write_text(json.dumps(counts) + "\n")
    print(json.dumps(counts))


def kcat(brokers, topic, data):
    subprocess.run(["kcat", "-P", "-b", brokers, "-t", topic, "-K", "\t",
                    "-X", "linger.ms=20", "-X", "batch.num.messages=10000"],
                   input=data, check=True, timeout=600)


def wait_handled(url, count, timeout=600):
    deadline = time.time() + timeout
    while scrape(url)[0] < count:
        if time.time() > deadline:
            sys.exit(f"produce: analytics-service did not reach {count} events handled")
        time.sleep(0.1)


def produce(args):
    base = scrape(args.metrics)[0] if args.chunk else 0
    sent = 0
    for topic in TOPICS:
        t0 = time.monotonic()
        lines = (Path(args.dir) / f"{topic}.tsv").read_bytes().splitlines(keepends=True)
        step = args.chunk or len(lines) or 1
        for i in range(0, len(lines), step):
            if args.chunk:
                wait_handled(args.metrics, base + sent)
            kcat(args.brokers, topic, b"".join(lines[i:i + step]))
            sent += len(lines[i:i + step])
        print(f"produce: {topic}: {len(lines)} events, {time.monotonic() - t0:.1f} s",
              file=sys.stderr)


SAMPLE = re.compile(r'^(events_handled_total|analytics_journal_rows)(\{[^}]*\})? (\S+)$', re.M)


def scrape(url):
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as r:
        text = r.read().decode()
    handled, journal = 0, None
    for name, labels, value in SAMPLE.findall(text):
        if name == "events_handled_total" and 'outcome="ok"' in (labels or ""):
            handled += int(float(value))
        elif name == "analytics_journal_rows":
            journal = int(float(value))
    return handled, journal


def handled(args):
    print(scrape(args.metrics)[0])


def wait(args):
    deadline = time.time() + args.timeout
    first = None
    while True:
        now = time.time()
        try:
            handled, journal = scrape(args.metrics)
        except OSError:
            handled, journal = 0, None
        if handled and first is None:
            first = now
        if handled >= args.events and journal == 0:
            break
        if now > deadline:
            sys.exit(f"wait: {handled} of {args.events} events handled, journal {journal}, "
                     f"after {args.timeout} s")
        time.sleep(0.1)
    since = args.since or first
    print(json.dumps({
        "events": handled, "seconds_since_start": round(now - since, 3),
        "events_per_s_since_start": round(handled / (now - since), 1),
        "seconds_since_first": round(now - first, 3),
        "events_per_s_since_first": round(handled / max(now - first, 1e-3), 1),
    }))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate")
    g.add_argument("--orders", type=int, default=10000)
    g.add_argument("--days", type=int, default=30)
    g.add_argument("--end", help="YYYY-MM-DD, exclusive (default: today)")
    g.add_argument("--products", type=int, default=200)
    g.add_argument("--users", type=int, default=2000)
    g.add_argument("--seed", type=int, default=11)
    g.add_argument("--dir", required=True)
    p = sub.add_parser("produce")
    p.add_argument("--brokers", required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--chunk", type=int, default=0, help="events at a time (needs --metrics)")
    p.add_argument("--metrics", help="analytics-service's base URL")
    h = sub.add_parser("handled")
    h.add_argument("--metrics", required=True, help="analytics-service's base URL")
    w = sub.add_parser("wait")
    w.add_argument("--metrics", required=True, help="analytics-service's base URL")
    w.add_argument("--events", type=int, required=True)
    w.add_argument("--timeout", type=float, default=600)
    w.add_argument("--since", type=float)
    args = parser.parse_args()
    {"generate": generate, "produce": produce, "handled": handled, "wait": wait}[args.cmd](args)


if __name__ == "__main__":
    main()
