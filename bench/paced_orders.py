#!/usr/bin/env python3
"""paced_orders.py: places orders at a fixed rate (an open-loop load, which
wrk cannot produce), for the placement-to-confirmed latency of bench/run's
orders scenario. Python standard library only.

    paced_orders.py URL RATE COUNT TOKENS_FILE PRODUCTS_FILE [WORKERS]

Order i is due at start + i / RATE. WORKERS threads (default 16), each with
its own keep-alive connection, take the next order, wait until it is due and
POST it to URL (the gateway's /orders) with 1 to 3 distinct products of
PRODUCTS_FILE, 1 to 3 of each, as the users of TOKENS_FILE in turn. When the
service falls behind, orders go out late rather than being skipped; the
lateness is reported. Prints one line:

    PACED sent=... ok=... errors=... duration_s=... rate=... target_rate=...
          p50_ms=... p99_ms=... max_ms=... late_p99_ms=... late_max_ms=...

and exits 1 when any response is not 201 (the first such is shown on stderr).
"""

import http.client
import random
import sys
import threading
import time
import urllib.parse


def percentile(sorted_values, q):
    if not sorted_values:
        return 0.0
    i = min(len(sorted_values) - 1, max(0, int(round(q * (len(sorted_values) - 1)))))
    return sorted_values[i]


def read_lines(path):
    with open(path) as f:
        lines = [line.strip() for line in f if line.strip()]
    if not lines:
        sys.exit(f"paced_orders.py: {path} is empty")
    return lines


def main():
    if len(sys.argv) not in (6, 7):
        sys.exit(__doc__)
    url = urllib.parse.urlsplit(sys.argv[1])
    rate = float(sys.argv[2])
    count = int(sys.argv[3])
    tokens = read_lines(sys.argv[4])
    products = read_lines(sys.argv[5])
    workers = int(sys.argv[6]) if len(sys.argv) == 7 else 16
    if url.scheme != "http" or url.hostname != "127.0.0.1":
        sys.exit("paced_orders.py: only http://127.0.0.1 is loaded")

    lock = threading.Lock()
    state = {"next": 0}
    latencies, lateness, errors = [], [], []
    start = time.monotonic() + 0.2  # every worker connected before the first is due

    def worker(seed):
        rng = random.Random(seed)
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
        while True:
            with lock:
                i = state["next"]
                state["next"] += 1
            if i >= count:
                break
            due = start + i / rate
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            picked = rng.sample(products, rng.randint(1, min(3, len(products))))
            body = '{"items":[%s]}' % ",".join(
                '{"product_id":"%s","quantity":%d}' % (p, rng.randint(1, 3)) for p in picked
            )
            headers = {
                "Authorization": "Bearer " + tokens[i % len(tokens)],
                "Content-Type": "application/json",
            }
            t0 = time.monotonic()
            late = t0 - due
            try:
                conn.request("POST", url.path or "/orders", body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                status = resp.status
            except (OSError, http.client.HTTPException) as e:
                conn.close()
                conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
                status, data = 0, str(e).encode()
            t1 = time.monotonic()
            with lock:
                latencies.append(t1 - t0)
                lateness.append(max(0.0, late))
                if status != 201:
                    errors.append((status, data[:300]))
        conn.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    duration = time.monotonic() - start
    latencies.sort()
    lateness.sort()
    ok = len(latencies) - len(errors)
    print(
        "PACED sent=%d ok=%d errors=%d duration_s=%.3f rate=%.2f target_rate=%.2f"
        " p50_ms=%.3f p99_ms=%.3f max_ms=%.3f late_p99_ms=%.3f late_max_ms=%.3f"
        % (
            len(latencies), ok, len(errors), duration, len(latencies) / duration, rate,
            percentile(latencies, 0.50) * 1000, percentile(latencies, 0.99) * 1000,
            (latencies[-1] if latencies else 0) * 1000,
            percentile(lateness, 0.99) * 1000, (lateness[-1] if lateness else 0) * 1000,
        )
    )
    if errors:
        status, data = errors[0]
        print(f"paced_orders.py: {len(errors)} responses were not 201; first: {status} {data!r}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
