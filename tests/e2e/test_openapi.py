"""The API description through the gateway: /openapi.json is docs/openapi.yaml
as JSON and covers every route the gateway serves; /docs is Swagger UI with
all its files served by the gateway itself.

The static checks of the same document (no server needed) are in
test_openapi_static.py; the route-table helpers come from there.
"""

from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from conftest import describe
from test_openapi_static import PENDING, coverage_problems, load_yaml


def get_document(session):
    resp = session.get("/openapi.json")
    assert resp.status_code == 200, describe(resp)
    ctype = resp.headers.get("Content-Type", "")
    assert ctype.split(";")[0].strip() == "application/json", describe(resp)
    return resp.json()


def test_openapi_json_is_served(session):
    doc = get_document(session)
    assert isinstance(doc, dict), doc
    assert isinstance(doc.get("openapi"), str) and doc["openapi"].startswith("3.1"), doc.get(
        "openapi"
    )
    assert doc.get("paths"), "no paths"


def test_served_document_is_the_repository_one(session):
    # The gateway embeds the document at build time; a stale build shows here.
    assert get_document(session) == load_yaml(), "/openapi.json differs from docs/openapi.yaml"


def test_served_document_covers_the_gateway_routes(session):
    doc = get_document(session)
    problems = coverage_problems(doc)
    excluded = f" (not-yet-deployed services excluded: {sorted(PENDING)})" if PENDING else ""
    assert not problems, (
        f"/openapi.json and the gateway's routes disagree{excluded}:\n  " + "\n  ".join(problems)
    )


class _Assets(HTMLParser):
    """Collects <script src> and <link rel=stylesheet href> of a page."""

    def __init__(self):
        super().__init__()
        self.scripts, self.styles = [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script" and a.get("src"):
            self.scripts.append(a["src"])
        elif tag == "link" and a.get("href"):
            if "stylesheet" in (a.get("rel") or "").lower().split():
                self.styles.append(a["href"])


def test_docs_page_is_swagger_ui_with_its_files(session, gw):
    resp = session.get("/docs")
    assert resp.status_code == 200, describe(resp)
    assert resp.headers.get("Content-Type", "").startswith("text/html"), describe(resp)
    assert "swagger-ui" in resp.text, describe(resp)

    page = _Assets()
    page.feed(resp.text)
    assert any("swagger-ui-bundle" in src for src in page.scripts), f"no bundle in {page.scripts}"
    assert any("swagger-ui" in href for href in page.styles), f"no Swagger UI CSS in {page.styles}"

    gateway = urlsplit(gw)
    texts = [resp.text]
    for ref, kind in [(s, "script") for s in page.scripts] + [(h, "style") for h in page.styles]:
        url = urljoin(resp.url, ref)
        where = urlsplit(url)
        # Served by the gateway itself: the docs must work without the internet.
        same_origin = (where.scheme, where.netloc) == (gateway.scheme, gateway.netloc)
        assert same_origin, f"{ref} is not served by the gateway"
        asset = session.get(url)
        assert asset.status_code == 200, describe(asset)
        assert asset.content, f"{url} is empty"
        ctype = asset.headers.get("Content-Type", "").split(";")[0].strip()
        if kind == "script":
            assert ctype in ("text/javascript", "application/javascript"), f"{url}: {ctype}"
            if "swagger-ui-bundle" not in url and "standalone-preset" not in url:
                texts.append(asset.text)
        else:
            assert ctype == "text/css", f"{url}: {ctype}"

    # Swagger UI must load this gateway's description (swagger-ui-dist's own
    # initializer points at a demo API).
    assert any("openapi.json" in text for text in texts), "the page never names /openapi.json"
