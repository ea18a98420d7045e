"""The front end at the gateway's root: its files by exact path with their
caching rules, its pages as index.html, and no HTML where a file or an API
answer is expected."""

import re
from pathlib import Path

import pytest

from conftest import assert_problem, describe

HTML = {"Accept": "text/html,application/xhtml+xml"}


BUILD = Path(__file__).resolve().parents[2] / "web" / "dist" / "index.html"


@pytest.fixture
def index(session):
    if not BUILD.exists():
        pytest.skip("the front end is not built (make web)")
    resp = session.get("/", headers=HTML)
    assert resp.status_code == 200, describe(resp)
    return resp


def test_root_is_the_application(index):
    assert index.headers["Content-Type"].startswith("text/html")
    assert 'id="root"' in index.text
    policy = index.headers.get("Content-Security-Policy", "")
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert index.headers.get("Cache-Control") == "no-cache"
    assert index.headers.get("X-Content-Type-Options") == "nosniff"


def test_index_revalidates_with_its_etag(session, index):
    etag = index.headers["ETag"]
    resp = session.get("/", headers={**HTML, "If-None-Match": etag})
    assert resp.status_code == 304, describe(resp)
    assert resp.content == b""


def test_fingerprinted_assets_are_immutable(session, index):
    scripts = re.findall(r'src="(/assets/[^"]+\.js)"', index.text)
    assert scripts, index.text
    resp = session.get(scripts[0], headers={"Accept-Encoding": "gzip"})
    assert resp.status_code == 200, describe(resp)
    assert "javascript" in resp.headers["Content-Type"]
    assert "immutable" in resp.headers.get("Cache-Control", "")
    assert resp.headers.get("Content-Encoding") == "gzip"
    assert "Content-Security-Policy" not in resp.headers


@pytest.mark.parametrize("path", ["/cart", "/item/42", "/account/orders/7", "/admin/products"])
def test_application_pages_answer_the_index(session, index, path):
    resp = session.get(path, headers=HTML)
    assert resp.status_code == 200, describe(resp)
    assert resp.text == index.text


@pytest.mark.parametrize("path", ["/assets/missing-0000.js", "/robots.txt"])
def test_missing_files_are_404_even_for_a_browser(session, index, path):
    assert_problem(session.get(path, headers=HTML), 404)


def test_pages_are_not_served_to_api_clients(session, index):
    assert_problem(session.get("/cart"), 404)


def test_api_paths_keep_their_answers(session, index):
    resp = session.get("/products/not-a-uuid", headers=HTML)
    assert resp.headers["Content-Type"].startswith("application/problem+json"), describe(resp)
    assert_problem(session.post("/", headers=HTML), 404)
