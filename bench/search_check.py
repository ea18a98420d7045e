#!/usr/bin/env python3
"""search_check.py: before the search load of bench/run's products scenario,
checks every query's answer against the database's count, as the list
contract says (ARCHITECTURE §4 with the README's total_exact): a total is
exact up to 1,000 matches (total_exact true, total equal to the count) and
an estimate beyond (total_exact false, total at least 1,001); the first page
holds min(limit, matches) items. Python standard library only.

    search_check.py URL QUERIES_FILE [LIMIT]

URL is the gateway's /products; QUERIES_FILE holds "query|matches" lines
(bench/search_queries.sql: matches counted up to 1,001). One keep-alive
connection, the queries in turn. Prints one line:

    CHECK queries=... ok=... exact=... estimated=...

and exits 1 when any answer breaks the contract (the first five are shown on
stderr).
"""

import http.client
import json
import sys
import urllib.parse

BOUND = 1000  # the service's exact bound (PRODUCT_EXACT_TOTAL)


def check(conn, path, q, matches, limit):
    conn.request("GET", "%s?q=%s&limit=%d" % (path, urllib.parse.quote(q), limit))
    resp = conn.getresponse()
    body = resp.read()
    if resp.status != 200:
        return "status %d: %r" % (resp.status, body[:200])
    doc = json.loads(body)
    total, exact, items = doc.get("total"), doc.get("total_exact"), doc.get("items")
    if not isinstance(items, list) or len(items) != min(limit, matches):
        return "%s items, expected %d" % (len(items) if isinstance(items, list) else "no", min(limit, matches))
    if matches <= BOUND:
        if exact is not True or total != matches:
            return "total %r total_exact %r, the database counts %d" % (total, exact, matches)
    elif exact is not False or not isinstance(total, int) or total <= BOUND:
        return "total %r total_exact %r, the database counts more than %d" % (total, exact, BOUND)
    return None


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    url = urllib.parse.urlsplit(sys.argv[1])
    if url.scheme != "http" or url.hostname != "127.0.0.1":
        sys.exit("search_check.py: only http://127.0.0.1 is loaded")
    limit = int(sys.argv[3]) if len(sys.argv) == 4 else 20
    queries = []
    with open(sys.argv[2]) as f:
        for line in f:
            if line.strip():
                q, n = line.rstrip("\n").split("|")
                queries.append((q, int(n)))
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    failures, exact = [], 0
    for q, n in queries:
        why = check(conn, url.path, q, n, limit)
        if why:
            failures.append("q=%s: %s" % (q, why))
        elif n <= BOUND:
            exact += 1
    conn.close()
    ok = len(queries) - len(failures)
    print("CHECK queries=%d ok=%d exact=%d estimated=%d" % (len(queries), ok, exact, ok - exact))
    for f in failures[:5]:
        print("search_check.py: " + f, file=sys.stderr)
    return 1 if failures or not queries else 0


if __name__ == "__main__":
    sys.exit(main())
