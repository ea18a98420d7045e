"""Traces across the platform: one order placement is one trace, from the
gateway through order-service, its price lookup at product-service, the
outbox relay, Kafka, product-service's reservation and back to
order-service's confirmation, each span linked to its true parent; SQL
spans carry no values; and with no collector listening, requests succeed
as before while the spans are dropped and counted.

The stack exports to OTEL_EXPORTER_OTLP_ENDPOINT (scripts/test picks the
port); this module listens there only while it runs."""

import json
import os
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from conftest import (
    GATEWAY_URL,
    ORDER_URL,
    PRODUCT_URL,
    expect_json,
    metric,
    place_order,
    wait_order_settled,
    wait_until,
)

ENDPOINT = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "")


class Collector:
    """A minimal OTLP/HTTP JSON receiver: every span it is sent, with the
    service.name of its resource."""

    def __init__(self, port):
        self.spans, self.lock = [], threading.Lock()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                for rs in json.loads(body).get("resourceSpans", []):
                    attrs = rs.get("resource", {}).get("attributes", [])
                    service = next((a["value"].get("stringValue") for a in attrs
                                    if a["key"] == "service.name"), None)
                    for ss in rs.get("scopeSpans", []):
                        for span in ss.get("spans", []):
                            span["service"] = service
                            with collector.lock:
                                collector.spans.append(span)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def trace(self, trace_id):
        with self.lock:
            return [s for s in self.spans if s["traceId"] == trace_id]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def collector():
    if not ENDPOINT:
        pytest.skip("OTEL_EXPORTER_OTLP_ENDPOINT is not set")
    c = Collector(urlsplit(ENDPOINT).port)
    yield c
    c.close()


def attrs(span):
    return {a["key"]: next(iter(a["value"].values())) for a in span.get("attributes", [])}


def one(spans, service, kind, name, parent=None):
    """The span of this service, kind and name (and parent, when given)."""
    found = [s for s in spans if s["service"] == service and s["kind"] == kind and s["name"] == name
             and (parent is None or s.get("parentSpanId") == parent["spanId"])]
    assert len(found) == 1, (service, kind, name, sorted((s["service"], s["kind"], s["name"]) for s in spans))
    return found[0]


SERVER, CLIENT, PRODUCER, CONSUMER = 2, 3, 4, 5


def test_an_order_is_one_trace(collector, session, make_user, make_product):
    user, product = make_user(), make_product(stock=3)
    trace_id = uuid.uuid4().hex
    headers = dict(user["headers"], traceparent=f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01")
    order = expect_json(place_order(session, headers, (product["id"], 2)), 201)
    assert wait_order_settled(session, user["headers"], order["id"])["status"] == "confirmed"

    # each process exports on its own schedule: wait for every span looked at
    wanted = {("gateway", SERVER, "POST /orders"), ("order-service", SERVER, "POST /orders"),
              ("product-service", SERVER, "POST /internal/products/batch"),
              ("order-service", PRODUCER, "orders publish"),
              ("product-service", CONSUMER, "orders process"),
              ("product-service", PRODUCER, "inventory publish"),
              ("order-service", CONSUMER, "inventory process")}

    def complete():
        spans = collector.trace(trace_id)
        names = {(s["service"], s["kind"], s["name"]) for s in spans}
        return spans if wanted <= names else None

    spans = wait_until(complete, 30, interval=0.5, what="the order's trace to reach the collector")
    by_id = {s["spanId"]: s for s in spans}

    edge = one(spans, "gateway", SERVER, "POST /orders")
    placed = one(spans, "order-service", SERVER, "POST /orders")
    lookup = one(spans, "product-service", SERVER, "POST /internal/products/batch")
    # (order-service publishes on "orders" again when it confirms: its parent differs)
    published = one(spans, "order-service", PRODUCER, "orders publish", parent=placed)
    reserved = one(spans, "product-service", CONSUMER, "orders process", parent=published)
    answered = one(spans, "product-service", PRODUCER, "inventory publish", parent=reserved)
    confirmed = one(spans, "order-service", CONSUMER, "inventory process", parent=answered)

    def ancestors(span):
        chain = []
        while span.get("parentSpanId") in by_id:
            span = by_id[span["parentSpanId"]]
            chain.append(span["spanId"])
        return chain

    # gateway -> order-service -> product (price lookup, through the client span)
    assert edge["spanId"] in ancestors(placed)
    assert by_id[lookup["parentSpanId"]]["service"] == "order-service"
    assert by_id[lookup["parentSpanId"]]["kind"] == CLIENT
    assert placed["spanId"] in ancestors(lookup)
    # request -> relay -> Kafka -> product's consumer -> Kafka -> order's consumer: the
    # lookups above matched each on its parent
    # semantic-convention names
    assert attrs(placed)["http.request.method"] == "POST"
    assert attrs(placed)["http.route"] == "/orders"
    assert attrs(placed)["http.response.status_code"] == "201"
    assert attrs(reserved)["messaging.system"] == "kafka"
    assert attrs(reserved)["messaging.destination.name"] == "orders"
    # SQL spans: statement name and operation, never a value
    sql_spans = [s for s in spans if attrs(s).get("db.system") == "postgresql"]
    assert sql_spans, "no SQL spans in the trace"
    assert any(s["parentSpanId"] == reserved["spanId"] for s in sql_spans)
    secrets = {user["id"], product["id"], order["id"], user["email"]}
    for s in sql_spans:
        assert set(attrs(s)) <= {"db.system", "db.operation"}, attrs(s)
        assert not secrets & set(attrs(s).values()), attrs(s)


def test_no_collector_costs_only_dropped_spans(session, make_product):
    if not ENDPOINT:
        pytest.skip("OTEL_EXPORTER_OTLP_ENDPOINT is not set")
    product = make_product()
    urls = (GATEWAY_URL, ORDER_URL, PRODUCT_URL)
    before = sum(metric(u, "otel_spans_dropped_total") for u in urls)
    for _ in range(30):
        expect_json(session.get(f"/products/{product['id']}"), 200)
        assert session.get("/orders").status_code == 401
    wait_until(lambda: sum(metric(u, "otel_spans_dropped_total") for u in urls) > before,
               15, interval=0.5, what="spans to be counted as dropped")
