"""Static checks of docs/openapi.yaml against the code; no server needed.

The document must describe exactly the routes the gateway serves: the
`rules[]` table of services/gateway/src/proxy.c (minus the PENDING routes of
services not deployed yet), plus the gateway's own routes. Each documented
method must be one the owning service registers, protected operations must
carry the bearer scheme, and every status the gateway itself produces for an
operation (413, 415, 429, 401, 403, 502, 503, 504) must be listed.

These tests use no fixture from conftest.py, but conftest.py skips the whole
directory when GATEWAY_URL is not set; to run them without a stack:

    /usr/bin/python3 -m pytest --noconftest tests/e2e/test_openapi_static.py

test_openapi.py reuses the helpers below against the document the running
gateway serves.
"""

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DOC_PATH = REPO / "docs" / "openapi.yaml"
CONVERTER = REPO / "scripts" / "openapi-json"
GATEWAY_SRC = REPO / "services" / "gateway" / "src"
PROXY_C = GATEWAY_SRC / "proxy.c"
LIMITS_C = GATEWAY_SRC / "limits.c"
HTTP_SERVER_C = REPO / "libs" / "http" / "src" / "server.c"

# Routes in the gateway's table whose service is not deployed yet, as
# {path: service}. They are left out of the document until the service lands;
# then document them and drop them here (test_pending_routes_are_still_pending
# says when). Empty: every service in rules[] is deployed and documented.
PENDING = {}

# The gateway's own API routes (handled in the gateway, not proxied).
GATEWAY_OWN = {"/me/overview", "/healthz", "/readyz", "/metrics", "/openapi.json", "/docs",
               "/graphql", "/graphql/schema.graphql"}

# Who may call the gateway's own routes (the proxied ones say it in rules[]).
GATEWAY_OWN_ACCESS = {"/me/overview": "ACCESS_USER"}

# Gateway routes that serve files rather than API operations: not documented.
NOT_API = {"/docs/{file}": "Swagger UI's static files (JS, CSS, images)",
           "/graphql/ui/{file}": "GraphiQL's static files (JS, CSS)"}

# rules[] names upstreams; their routes are registered under services/<name>/src.
UPSTREAM_SERVICE = {
    "UP_AUTH": "auth",
    "UP_PRODUCT": "product",
    "UP_ORDER": "order",
    "UP_NOTIFICATION": "notification",
    "UP_ANALYTICS": "analytics",
}

# Errors that are not problem details by contract: the OAuth 2.0 token
# endpoint answers RFC 6749 section 5.2 JSON ({"error": "..."}).
OAUTH_ERRORS = {("POST", "/oauth/token"): {"400", "401"}}

# The GraphQL endpoint's own refusals are GraphQL responses ({"errors": [...]}
# as application/json, what GraphQL clients read), not problem details.
GRAPHQL_ERRORS = {("/graphql", "400"), ("/graphql", "405")}

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
PROBLEM_MEMBERS = {"type", "title", "status", "detail", "instance", "request_id"}


# --------------------------------------------------------------------------
# reading the code


C_TOKENS = re.compile(r'("(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\')|/\*.*?\*/|//[^\n]*', re.S)


def c_source(path):
    """A C file's text without comments (a commented-out route is no route);
    string literals stay as they are, "http://..." included."""
    text = Path(path).read_text(encoding="utf-8")
    return C_TOKENS.sub(lambda m: m.group(1) or " ", text)


def openapi_path(template):
    """"/users/:id" -> "/users/{id}"."""
    return re.sub(r":(\w+)", r"{\1}", template)


RULE = re.compile(
    r'\{\s*(?:NULL|"(?P<method>[A-Z]+)")\s*,\s*"(?P<path>[^"]+)"\s*,'
    r"\s*(?P<upstream>UP_\w+)\s*,\s*(?P<access>ACCESS_\w+|PERM\(\s*[\w\s|]+\))\s*"
    r"(?:,\s*(?:true|false)\s*)?\}"
)


def gateway_rules():
    """proxy.c's rules[] in order: dicts with method (None: any), path
    (OpenAPI style), upstream (service name) and access."""
    text = c_source(PROXY_C)
    table = re.search(r"\brules\s*\[\s*\]\s*=\s*\{(.*?)\n\s*\};", text, re.S)
    assert table, f"no rules[] table in {PROXY_C}"
    body = table.group(1)
    rules = [m.groupdict() for m in RULE.finditer(body)]
    # Every entry must have been understood: a reshaped entry must fail here,
    # not drop out of the comparison.
    assert len(rules) == body.count("{"), f"unparsed entries in rules[]: {body}"
    for r in rules:  # PERM(...): a valid token holding permissions
        r["access"] = "ACCESS_PERM" if r["access"].startswith("PERM(") else r["access"]
    assert rules, "rules[] is empty"
    for r in rules:
        assert r["upstream"] in UPSTREAM_SERVICE, f"unknown upstream {r['upstream']} in rules[]"
        r["path"] = openapi_path(r["path"])
        r["upstream"] = UPSTREAM_SERVICE[r["upstream"]]
    return rules


def first_rule(rules, method, path):
    """The rule the gateway applies to method + path (gw_rule_match: first match)."""
    for r in rules:
        if (r["method"] is None or r["method"] == method) and r["path"] == path:
            return r
    return None


ROUTE_CALL = re.compile(r'souk_http_route\(\s*\w+\s*,\s*"([A-Z]+)"\s*,\s*"([^"]+)"')


def registered_routes(files):
    """{(METHOD, path)} registered with souk_http_route() in these C files."""
    routes = set()
    for f in files:
        for method, template in ROUTE_CALL.findall(c_source(f)):
            routes.add((method, openapi_path(template)))
    return routes


def service_routes(service):
    """{(METHOD, path)} that services/<service> registers."""
    files = sorted((REPO / "services" / service / "src").glob("*.c"))
    assert files, f"services/{service}/src has no C sources"
    return registered_routes(files)


# Requests the gateway's edge serves itself on its loop threads, registered
# on no souk/http.h server (services/gateway/src/graphql_edge.c,
# gw_graphql_edge_wants): GraphQL's POST (its GET with a query too, but GET
# /graphql is also the internal server's route, for GraphiQL).
EDGE_ROUTES = {("POST", "/graphql")}
GRAPHQL_EDGE_C = GATEWAY_SRC / "graphql_edge.c"


def gateway_routes():
    """{(METHOD, path)} the gateway handles itself: its own registrations, what
    its edge serves (EDGE_ROUTES), and the probes every souk HTTP server
    registers (libs/http)."""
    builtin = registered_routes([HTTP_SERVER_C])
    assert {p for _, p in builtin} >= {"/healthz", "/readyz", "/metrics"}, builtin
    assert '#define ROUTE "/graphql"' in c_source(GRAPHQL_EDGE_C), (
        f"{GRAPHQL_EDGE_C} no longer serves /graphql: update EDGE_ROUTES")
    return registered_routes(sorted(GATEWAY_SRC.glob("*.c"))) | builtin | EDGE_ROUTES


def rate_limit_exempt():
    """Paths limits.c's is_probe() exempts from the rate limit."""
    text = c_source(LIMITS_C)
    fn = re.search(r"\bis_probe\s*\([^)]*\)\s*\{(.*?)\n\}", text, re.S)
    assert fn, f"no is_probe() in {LIMITS_C}"
    paths = set(re.findall(r'strcmp\(\s*\w+\s*,\s*"([^"]+)"\s*\)', fn.group(1)))
    assert paths, "is_probe() names no path"
    return paths


def served_paths():
    """Every path the gateway serves and the document must describe."""
    proxied = {r["path"] for r in gateway_rules()}
    own = {p for _, p in gateway_routes()}
    return (proxied | own) - set(PENDING) - set(NOT_API)


# --------------------------------------------------------------------------
# reading the document


def load_yaml():
    with open(DOC_PATH, encoding="utf-8") as f:
        return yaml.safe_load(f)


def operations(doc):
    """(path, METHOD, operation) for every operation in the document."""
    for path, item in doc.get("paths", {}).items():
        for method in HTTP_METHODS:
            if method in item:
                yield path, method.upper(), item[method]


def resolve(doc, node):
    """Follows local $refs (JSON pointers) until a non-reference node."""
    seen = set()
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert isinstance(ref, str) and ref.startswith("#/"), f"not a local reference: {ref!r}"
        assert ref not in seen, f"reference cycle at {ref}"
        seen.add(ref)
        node = doc
        for token in ref[2:].split("/"):
            token = token.replace("~1", "/").replace("~0", "~")
            assert isinstance(node, dict) and token in node, f"{ref} does not resolve"
            node = node[token]
    return node


def is_protected(doc, op):
    requirements = op.get("security", doc.get("security", []))
    return any(requirement for requirement in requirements)


def coverage_problems(doc):
    """Mismatches between a document's paths/methods and the code, as text."""
    problems = []
    rules = gateway_rules()
    own = gateway_routes()
    documented = set(doc.get("paths", {}))
    served = served_paths()
    for path in sorted(served - documented):
        problems.append(f"{path}: served by the gateway but not documented")
    for path in sorted(documented - served):
        problems.append(f"{path}: documented but not served by the gateway")

    registered = {}
    for service in {r["upstream"] for r in rules}:
        if (REPO / "services" / service / "src").is_dir():
            registered[service] = service_routes(service)
    ops = {(path, method) for path, method, _ in operations(doc)}

    for path, method in sorted(ops):
        if (method, path) in own:
            continue
        rule = first_rule(rules, method, path)
        if rule is None:
            problems.append(f"{method} {path}: documented but the gateway routes no such request")
            continue
        routes = registered.get(rule["upstream"], set())
        if (method, path) not in routes and not (
            method == "HEAD" and ("GET", path) in routes
        ):
            problems.append(
                f"{method} {path}: documented but {rule['upstream']}-service does not register it"
            )

    # ... and the other way: every method a service registers on a path the
    # gateway routes to it is documented.
    for service, routes in registered.items():
        for method, path in sorted(routes):
            rule = first_rule(rules, method, path)
            if rule is None or rule["upstream"] != service or path in PENDING:
                continue
            if (path, method) not in ops:
                problems.append(
                    f"{method} {path}: {service}-service serves it through the gateway "
                    "but it is not documented"
                )
    for method, path in sorted(own):
        if path in documented and (path, method) not in ops:
            problems.append(f"{method} {path}: the gateway serves it but it is not documented")
    return problems


# --------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """(JSON text, parsed) of scripts/openapi-json's output for docs/openapi.yaml."""
    out = tmp_path_factory.mktemp("openapi") / "openapi.json"
    run = subprocess.run([str(CONVERTER), str(out)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, f"scripts/openapi-json failed: {run.stderr}"
    text = out.read_text(encoding="utf-8")
    return text, json.loads(text)


@pytest.fixture(scope="module")
def doc(converted):
    return converted[1]


# --------------------------------------------------------------------------
# the conversion


def test_yaml_parses_and_is_openapi_3_1():
    doc = load_yaml()
    assert isinstance(doc, dict)
    assert isinstance(doc.get("openapi"), str) and re.fullmatch(r"3\.1\.\d+", doc["openapi"])
    assert doc["info"]["title"] and doc["info"]["version"]


def test_conversion_is_compact_json_of_the_yaml(converted):
    text, data = converted
    assert data == load_yaml()
    assert text == json.dumps(data, ensure_ascii=False, separators=(",", ":"))


@pytest.mark.parametrize(
    "yaml_text, why",
    [
        ('openapi: "3.1.0"\npaths: [\n', "YAML syntax error"),
        ('openapi: "3.0.3"\npaths: {}\n', "openapi is not 3.1.x"),
        ("paths: {}\n", "no openapi member"),
        ('openapi: "3.1.0"\npaths:\n  /a:\n    get: {}\n    get: {}\n', "duplicate key"),
        ('openapi: "3.1.0"\nresponses:\n  200: {description: x}\n', "unquoted response code"),
        ('openapi: "3.1.0"\nx: 2025-01-31\n', "a date"),
    ],
)
def test_conversion_fails_loudly(tmp_path, yaml_text, why):
    src, out = tmp_path / "in.yaml", tmp_path / "out.json"
    src.write_text(yaml_text, encoding="utf-8")
    run = subprocess.run(
        [str(CONVERTER), str(out), str(src)], capture_output=True, text=True, timeout=60
    )
    assert run.returncode != 0, f"accepted ({why})"
    assert run.stderr.strip(), f"no message ({why})"
    assert not out.exists(), f"wrote output anyway ({why})"


# --------------------------------------------------------------------------
# the document's own consistency


def test_every_ref_resolves(doc):
    refs = []

    def walk(node):
        if isinstance(node, dict):
            if "$ref" in node:
                refs.append(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    assert refs, "no $ref at all?"
    for ref in refs:
        resolve(doc, {"$ref": ref})


def test_operation_ids_are_unique(doc):
    ids = [op.get("operationId") for _, _, op in operations(doc)]
    assert all(ids), "an operation lacks operationId"
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_path_parameters_are_declared(doc):
    for path, method, op in operations(doc):
        params = [resolve(doc, p) for p in doc["paths"][path].get("parameters", [])]
        params += [resolve(doc, p) for p in op.get("parameters", [])]
        declared = {p["name"] for p in params if p["in"] == "path"}
        assert declared == set(re.findall(r"\{(\w+)\}", path)), f"{method} {path}: {declared}"
        assert all(p.get("required") is True for p in params if p["in"] == "path"), path


def test_every_operation_has_a_4xx(doc):
    for path, method, op in operations(doc):
        codes = set(op.get("responses", {}))
        assert any(re.fullmatch(r"4\d\d", c) for c in codes), f"{method} {path}: {sorted(codes)}"


def test_protected_operations_answer_401_with_a_challenge(doc):
    schemes = doc["components"]["securitySchemes"]
    bearer = schemes["bearerAuth"]
    assert bearer["type"] == "http" and bearer["scheme"] == "bearer", bearer
    assert bearer.get("bearerFormat") == "JWT", bearer
    protected = 0
    for path, method, op in operations(doc):
        for requirement in op.get("security", doc.get("security", [])):
            assert set(requirement) <= set(schemes), f"{method} {path}: unknown scheme"
        if not is_protected(doc, op):
            continue
        protected += 1
        assert "401" in op["responses"], f"{method} {path} is protected but lists no 401"
        headers = resolve(doc, op["responses"]["401"]).get("headers", {})
        assert "WWW-Authenticate" in headers, f"{method} {path}: 401 without WWW-Authenticate"
    assert protected, "no protected operation at all?"


def test_errors_are_problem_json(doc):
    problem = doc["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == PROBLEM_MEMBERS
    assert set(problem["properties"]) == PROBLEM_MEMBERS | {"errors"}
    field_error = resolve(doc, problem["properties"]["errors"]["items"])
    assert set(field_error["required"]) == {"field", "message"}
    for path, method, op in operations(doc):
        for code, response in op["responses"].items():
            if not re.fullmatch(r"[45]\d\d", code):
                continue
            if code in OAUTH_ERRORS.get((method, path), ()):
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/OAuthError"}, f"{path} {code}"
                continue
            if (path, code) in GRAPHQL_ERRORS:
                content = resolve(doc, response).get("content", {})
                assert list(content) == ["application/json"], f"{method} {path} {code}"
                schema = content["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/GraphQLErrors"}, f"{method} {path}"
                continue
            assert "$ref" in response, f"{method} {path} {code}: use a components/responses entry"
            content = resolve(doc, response).get("content", {})
            assert list(content) == ["application/problem+json"], f"{method} {path} {code}"
            schema = content["application/problem+json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Problem"}, f"{method} {path} {code}"


def test_429_carries_retry_after(doc):
    for path, method, op in operations(doc):
        if "429" in op["responses"]:
            headers = resolve(doc, op["responses"]["429"]).get("headers", {})
            assert headers.get("Retry-After", {}).get("required") is True, f"{method} {path}"


def test_lists_take_paging_parameters(doc):
    page_refs = {"#/components/parameters/Page", "#/components/parameters/Limit"}
    lists = 0
    for path, method, op in operations(doc):
        ok = op["responses"].get("200", {})
        schema = ok.get("content", {}).get("application/json", {}).get("schema", {})
        if not schema.get("$ref", "").endswith("Page"):
            continue
        lists += 1
        refs = {p.get("$ref") for p in op.get("parameters", [])}
        assert page_refs <= refs, f"{method} {path} answers a page but takes no page/limit"
        page = resolve(doc, schema)
        assert any(part.get("$ref") == "#/components/schemas/Page" for part in page["allOf"])
    assert lists >= 2


def test_contract_schemas_exist(doc):
    schemas = doc["components"]["schemas"]
    for name in (
        "User", "TokenPair", "Product", "ProductInput", "ProductPatch", "Problem",
        "UserPage", "ProductPage", "Order", "OrderItem", "OrderRequest", "OrderPage",
    ):  # fmt: skip
        assert name in schemas, name
    user = set(schemas["User"]["properties"])
    assert user == {"id", "email", "name", "roles", "disabled", "created_at", "updated_at"}
    product = set(schemas["Product"]["properties"])
    assert product == {
        "id", "sku", "name", "description", "price_cents", "currency", "stock", "category",
        "created_at", "updated_at",
    }  # fmt: skip
    product_input = set(schemas["ProductInput"]["properties"])
    assert product_input == product - {"id", "created_at", "updated_at"}
    assert set(schemas["ProductInput"]["required"]) == {"name", "price_cents", "stock"}
    assert set(schemas["ProductPatch"]["properties"]) == product_input
    token_pair = set(schemas["TokenPair"]["required"])
    assert token_pair == {"access_token", "token_type", "expires_in", "refresh_token", "user"}
    # Request bodies whose unknown members the services refuse with 400.
    for name in (
        "RegisterRequest", "LoginRequest", "RefreshRequest", "LogoutRequest", "UserPatch",
        "ProductInput", "ProductPatch", "OrderRequest",
    ):  # fmt: skip
        assert schemas[name].get("additionalProperties") is False, name
    # PATCH with {} is a 400.
    for name in ("UserPatch", "ProductPatch"):
        assert schemas[name].get("minProperties") == 1, name

    order = schemas["Order"]
    order_members = {
        "id", "user_id", "status", "reason", "items", "total_cents", "currency", "created_at",
        "updated_at",
    }  # fmt: skip
    assert set(order["properties"]) == order_members
    assert set(order["required"]) == order_members
    status = resolve(doc, order["properties"]["status"])
    assert set(status["enum"]) == {"pending", "confirmed", "rejected", "cancelled"}
    assert set(order["properties"]["reason"]["type"]) == {"string", "null"}
    item = resolve(doc, order["properties"]["items"]["items"])
    assert set(item["properties"]) == {"product_id", "name", "quantity", "unit_price_cents"}
    assert set(item["required"]) == set(item["properties"])
    request = schemas["OrderRequest"]
    assert set(request["properties"]) == set(request["required"]) == {"items"}
    lines = request["properties"]["items"]
    assert (lines["minItems"], lines["maxItems"]) == (1, 50)
    line = resolve(doc, lines["items"])
    assert set(line["properties"]) == set(line["required"]) == {"product_id", "quantity"}
    assert line.get("additionalProperties") is False
    quantity = line["properties"]["quantity"]
    assert (quantity["minimum"], quantity["maximum"]) == (1, 1000)

    overview = schemas["Overview"]["properties"]
    assert overview["orders"]["items"] == {"$ref": "#/components/schemas/Order"}
    assert set(overview["order_count"]["type"]) == {"integer", "null"}
    warning = resolve(doc, overview["warnings"]["items"])
    assert set(warning["required"]) == {"source", "detail"}


# --------------------------------------------------------------------------
# the document against the code


def test_paths_and_methods_match_the_gateway(doc):
    problems = coverage_problems(doc)
    assert not problems, "docs/openapi.yaml and the code disagree:\n  " + "\n  ".join(problems)


def test_gateway_serves_its_own_routes():
    own = {p for _, p in gateway_routes()}
    missing = GATEWAY_OWN - own
    assert not missing, f"the gateway registers none of {sorted(missing)}"
    unexpected = own - GATEWAY_OWN - set(NOT_API)
    assert not unexpected, (
        f"the gateway registers {sorted(unexpected)}: document them and add them to GATEWAY_OWN "
        "(or NOT_API when they are not API operations)"
    )
    for path in NOT_API:
        assert path in own, f"{path} is in NOT_API but the gateway does not serve it any more"


def test_pending_routes_are_still_pending(doc):
    proxied = {r["path"] for r in gateway_rules()}
    for path, service in PENDING.items():
        assert path in proxied, f"{path} is in PENDING but not in the gateway's rules[]: drop it"
        assert path not in doc["paths"], (
            f"{path} ({service}) is documented now: drop it from PENDING"
        )


def test_security_matches_gateway_access(doc):
    rules = gateway_rules()
    own = gateway_routes()
    for path, method, op in operations(doc):
        if (method, path) in own:
            access = GATEWAY_OWN_ACCESS.get(path, "ACCESS_PUBLIC")
        else:
            rule = first_rule(rules, method, path)
            assert rule, f"{method} {path}: not routed"
            access = rule["access"]
        where = f"{method} {path} ({access})"
        if access == "ACCESS_PUBLIC":
            assert not is_protected(doc, op), f"{where}: public at the gateway but has security"
        else:
            assert is_protected(doc, op), f"{where}: the gateway wants a token; add bearerAuth"
        if access == "ACCESS_PERM":
            assert "403" in op["responses"], f"{where}: needs a permission but lists no 403"


def test_gateway_statuses_are_documented(doc):
    """What the gateway answers by itself, before or instead of a service."""
    rules = gateway_rules()
    own = gateway_routes()
    exempt = rate_limit_exempt()
    for path, method, op in operations(doc):
        codes = set(op["responses"])
        need = {"413", "415"}  # body limit and content type: every route
        if path not in exempt:
            need.add("429")
        if (method, path) not in own:
            need |= {"502", "503", "504"}  # upstream failed, unavailable, timed out
        if is_protected(doc, op):
            need |= {"401", "503"}  # no/bad token; token keys not loaded yet
        rule = None if (method, path) in own else first_rule(rules, method, path)
        if rule and rule["access"] == "ACCESS_PERM":
            need.add("403")
        missing = need - codes
        assert not missing, f"{method} {path} does not list {sorted(missing)}"
