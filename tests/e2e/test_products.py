"""/products: the catalog through the gateway (public reads, admin-only
writes, validation, search, filters, sorts and paging), and product-service's
own access checks when it is reached directly.

The catalog is shared (a dev stack may hold a demo catalog, other tests add
products), so every test that counts works in a category of its own and
filters by it."""

import uuid
from urllib.parse import urljoin

import pytest

from conftest import (
    Api,
    assert_problem,
    assert_recent,
    assert_unauthorized,
    assert_uuid,
    b64url_json,
    bearer,
    describe,
    error_fields,
    expect_empty,
    expect_json,
    jwt_decode,
    parse_utc,
)

JSON = {"Content-Type": "application/json"}
MEMBERS = {
    "id",
    "sku",
    "name",
    "description",
    "price_cents",
    "currency",
    "stock",
    "category",
    "created_at",
    "updated_at",
}
PRICE_MAX = 999_999_999_999


def unique_category():
    return f"cat-{uuid.uuid4().hex}"


def unique_sku(prefix="SKU"):
    return f"{prefix}-{uuid.uuid4().hex}"


def assert_product(product, **expected):
    """Check a Product against the contract; keyword arguments are expected values."""
    assert isinstance(product, dict) and set(product) == MEMBERS, product
    assert_uuid(product["id"])
    assert isinstance(product["name"], str) and product["name"].strip(), product
    assert isinstance(product["description"], str), product
    for member in ("price_cents", "stock"):
        assert type(product[member]) is int and product[member] >= 0, product
    assert isinstance(product["currency"], str) and len(product["currency"]) == 3, product
    assert product["currency"].isupper(), product
    for member in ("sku", "category"):
        assert product[member] is None or (isinstance(product[member], str) and product[member]), product
    created, updated = parse_utc(product["created_at"]), parse_utc(product["updated_at"])
    assert created <= updated, product
    assert_recent(created)
    for member, value in expected.items():
        assert product[member] == value, f"{member}: expected {value!r}, got {product[member]!r}"
    return product


def listing(session, **params):
    """GET /products with these query parameters; checks the page shape, returns the body."""
    page = expect_json(session.get("/products", params=params), 200)
    assert set(page) == {"items", "page", "limit", "total", "total_exact"}, page
    assert isinstance(page["items"], list), page
    for member in ("page", "limit", "total"):
        assert type(page[member]) is int, page
    # The suite's catalogs are small: every total here is exact.
    assert page["total_exact"] is True, page
    assert page["page"] == int(params.get("page", 1)), page
    assert page["limit"] == int(params.get("limit", 20)), page
    assert len(page["items"]) <= page["limit"], page
    return page


def ids_of(page):
    return [item["id"] for item in page["items"]]


def get_product(session, product_id):
    return expect_json(session.get(f"/products/{product_id}"), 200)


def patch_product(session, headers, product_id, body):
    return session.patch(f"/products/{product_id}", json=body, headers=headers)


def forge_admin(token):
    """The same token with the admin role added to its claims and the original
    signature kept: a signature check must refuse it."""
    header, _, signature = token.split(".")
    claims = jwt_decode(token)[1]
    claims["roles"] = ["customer", "admin"]
    return f"{header}.{b64url_json(claims)}.{signature}"


# ---------------------------------------------------------------- create, read, update, delete


def test_crud_round_trip(session, admin_headers):
    body = {
        "name": f"Round trip {uuid.uuid4().hex}",
        "description": "A product that lives for one test.",
        "price_cents": 1299,
        "currency": "EUR",
        "stock": 7,
        "category": unique_category(),
        "sku": unique_sku(),
    }
    resp = session.post("/products", json=body, headers=admin_headers)
    created = assert_product(expect_json(resp, 201), **body)
    location = resp.headers.get("Location")
    assert location, f"no Location header: {describe(resp)}"
    assert urljoin(session.base + "/", location) == f"{session.base}/products/{created['id']}", location

    # public read, no token
    assert get_product(session, created["id"]) == created

    patch = {"name": f"Renamed {uuid.uuid4().hex}", "price_cents": 1499}
    patched = expect_json(patch_product(session, admin_headers, created["id"], patch), 200)
    unchanged = {k: v for k, v in created.items() if k not in ("name", "price_cents", "updated_at")}
    assert_product(patched, **patch, **unchanged)
    assert parse_utc(patched["updated_at"]) >= parse_utc(created["updated_at"]), (created, patched)
    assert get_product(session, created["id"]) == patched

    expect_empty(session.delete(f"/products/{created['id']}", headers=admin_headers), 204)
    assert_problem(session.get(f"/products/{created['id']}"), 404)
    assert_problem(session.delete(f"/products/{created['id']}", headers=admin_headers), 404)
    assert_problem(patch_product(session, admin_headers, created["id"], patch), 404)
    assert created["id"] not in ids_of(listing(session, category=body["category"]))


def test_create_defaults(make_product):
    name = f"Minimal {uuid.uuid4().hex}"
    product = make_product(name=name, price_cents=0, stock=0)
    assert_product(
        product, name=name, description="", price_cents=0, currency="USD", stock=0, category=None, sku=None
    )


def test_create_accepts_boundary_values(session, make_product):
    category = unique_category()
    emoji_name = "\U0001f6d2" * 200  # 200 characters, 800 bytes in UTF-8
    cases = [
        {"name": "n" * 200, "price_cents": PRICE_MAX, "stock": 2_147_483_647},
        {"name": emoji_name, "price_cents": 0, "stock": 0, "currency": "JPY"},
        {"name": "x", "sku": uuid.uuid4().hex * 2, "category": category, "currency": "GBP"},
    ]
    for fields in cases:
        fields.setdefault("price_cents", 1)
        fields.setdefault("stock", 1)
        product = make_product(**fields)
        assert_product(product, **fields)
        assert get_product(session, product["id"]) == product
    long_category = "c" * 99 + uuid.uuid4().hex[:1]
    assert_product(make_product(category=long_category), category=long_category)


def test_patch_can_clear_sku_and_category(session, admin_headers, make_product):
    product = make_product(sku=unique_sku(), category=unique_category(), description="kept")
    resp = patch_product(session, admin_headers, product["id"], {"sku": None, "category": None})
    patched = expect_json(resp, 200)
    assert_product(patched, sku=None, category=None, description="kept", name=product["name"])
    assert get_product(session, product["id"]) == patched


def test_patch_description_null_is_not_silently_ignored(session, admin_headers, make_product):
    """description is "" when absent: a null either clears it or is refused;
    a 200 that keeps the old description ignores what was asked."""
    product = make_product(description="to be cleared")
    resp = patch_product(session, admin_headers, product["id"], {"description": None})
    if resp.status_code == 400:
        assert "description" in error_fields(assert_problem(resp, 400)), describe(resp)
        assert get_product(session, product["id"]) == product
    else:
        patched = expect_json(resp, 200)
        assert patched["description"] == "", describe(resp)
        assert get_product(session, product["id"]) == patched


def test_patch_each_field(session, admin_headers, make_product):
    product = make_product(category=unique_category())
    changes = [
        {"description": "now described"},
        {"currency": "CHF"},
        {"stock": 0},
        {"stock": 123},
        {"price_cents": 0},
        {"category": unique_category()},
        {"sku": unique_sku()},
    ]
    current = product
    for change in changes:
        patched = expect_json(patch_product(session, admin_headers, product["id"], change), 200)
        expected = dict(current, **change)
        del expected["updated_at"]
        assert_product(patched, **expected)
        assert parse_utc(patched["updated_at"]) >= parse_utc(current["updated_at"])
        current = patched
    assert get_product(session, product["id"]) == current


# ---------------------------------------------------------------- who may write


def write_attempts(session, product, headers):
    """POST, PATCH and DELETE with these headers; yields each response."""
    new = {"name": "intruder", "price_cents": 1, "stock": 1, "category": product["category"]}
    yield session.post("/products", json=new, headers=headers)
    yield session.patch(f"/products/{product['id']}", json={"price_cents": 1}, headers=headers)
    yield session.delete(f"/products/{product['id']}", headers=headers)


def assert_writes_refused(session, api, product, headers, status):
    for resp in write_attempts(api, product, headers):
        if status == 401:
            assert_unauthorized(resp)
        else:
            assert_problem(resp, status)
    assert get_product(session, product["id"]) == product
    page = listing(session, category=product["category"])
    assert ids_of(page) == [product["id"]] and page["total"] == 1, page


@pytest.mark.parametrize("who", ["customer", "anonymous", "forged-admin"])
def test_non_admin_writes_are_refused(session, make_product, new_user, who):
    product = make_product(category=unique_category())
    if who == "customer":
        headers, status = new_user["headers"], 403
        # reading is public, with or without a token
        assert expect_json(session.get(f"/products/{product['id']}", headers=headers), 200) == product
    elif who == "anonymous":
        headers, status = {}, 401
    else:
        headers, status = bearer(forge_admin(new_user["access_token"])), 401
    assert_writes_refused(session, session, product, headers, status)


@pytest.mark.parametrize("who", ["customer", "anonymous", "forged-admin", "garbage-token"])
def test_product_service_refuses_non_admin_writes_itself(session, product_url, make_product, new_user, who):
    """A request that bypasses the gateway still meets product-service's own checks."""
    product = make_product(category=unique_category())
    if who == "customer":
        headers, status = new_user["headers"], 403
    elif who == "anonymous":
        headers, status = {}, 401
    elif who == "forged-admin":
        headers, status = bearer(forge_admin(new_user["access_token"])), 401
    else:
        headers, status = bearer("not.a.token"), 401
    with Api(product_url) as direct:
        assert_writes_refused(session, direct, product, headers, status)


def test_product_service_serves_admin_directly(session, product_url, admin_headers, make_product):
    """The direct checks above refuse for the right reason: the admin gets through."""
    product = make_product()
    with Api(product_url) as direct:
        resp = direct.patch(f"/products/{product['id']}", json={"stock": 3}, headers=admin_headers)
        assert_product(expect_json(resp, 200), stock=3, name=product["name"])
        assert get_product(session, product["id"])["stock"] == 3


# ---------------------------------------------------------------- listing: filters, sorts, paging

# (name, price_cents) in creation order; names and prices are all distinct.
CATALOG = [
    ("delta", 500),
    ("alpha", 120),
    ("golf", 999),
    ("charlie", 0),
    ("echo", PRICE_MAX),
    ("bravo", 300),
    ("foxtrot", 121),
]


@pytest.fixture
def catalog(make_product):
    """Seven products in a fresh category; returns (category, products in creation order)."""
    category = unique_category()
    token = uuid.uuid4().hex[:8]
    products = [
        make_product(name=f"{word} {token}", price_cents=price, category=category, stock=index)
        for index, (word, price) in enumerate(CATALOG)
    ]
    return category, products


def test_category_filter_is_exact(session, catalog):
    category, products = catalog
    page = listing(session, category=category)
    assert page["total"] == len(products), page
    assert sorted(ids_of(page)) == sorted(p["id"] for p in products), page
    by_id = {p["id"]: p for p in products}
    for item in page["items"]:
        assert item == by_id[item["id"]], item
    assert listing(session, category=unique_category()) == {
        "items": [], "page": 1, "limit": 20, "total": 0, "total_exact": True}


@pytest.mark.parametrize(
    "sort, key, reverse",
    [
        ("price", lambda p: p["price_cents"], False),
        ("-price", lambda p: p["price_cents"], True),
        ("name", lambda p: p["name"], False),
    ],
    ids=["price", "-price", "name"],
)
def test_sorts(session, catalog, sort, key, reverse):
    category, products = catalog
    page = listing(session, category=category, sort=sort)
    expected = [p["id"] for p in sorted(products, key=key, reverse=reverse)]
    assert ids_of(page) == expected, [(i["name"], i["price_cents"]) for i in page["items"]]
    assert page["total"] == len(products)


@pytest.mark.parametrize("sort", [None, "-created_at"], ids=["default", "-created_at"])
def test_newest_first(session, catalog, sort):
    category, products = catalog
    params = {"category": category}
    if sort:
        params["sort"] = sort
    page = listing(session, **params)
    assert ids_of(page) == [p["id"] for p in reversed(products)], [i["name"] for i in page["items"]]


@pytest.mark.parametrize(
    "bounds",
    [
        {"min_price": 300},
        {"max_price": 300},
        {"min_price": 121, "max_price": 500},
        {"min_price": 121, "max_price": 121},
        {"min_price": 0},
        {"max_price": 0},
        {"min_price": PRICE_MAX},
        {"min_price": 501, "max_price": 998},
    ],
    ids=["min", "max", "range", "single-price", "min-zero", "max-zero", "min-max-price", "empty-range"],
)
def test_price_filters_are_inclusive_and_exact(session, catalog, bounds):
    category, products = catalog
    low, high = bounds.get("min_price", 0), bounds.get("max_price", PRICE_MAX)
    by_price = sorted(products, key=lambda p: p["price_cents"])
    expected = [p["id"] for p in by_price if low <= p["price_cents"] <= high]
    page = listing(session, category=category, sort="price", **bounds)
    assert ids_of(page) == expected, [(i["name"], i["price_cents"]) for i in page["items"]]
    assert page["total"] == len(expected), page


@pytest.mark.parametrize("sort", ["price", "-created_at"])
def test_pages_partition_the_result(session, catalog, sort):
    category, products = catalog
    full = ids_of(listing(session, category=category, sort=sort, limit=100))
    assert len(full) == len(products)
    seen = []
    for number, size in ((1, 3), (2, 3), (3, 1)):
        page = listing(session, category=category, sort=sort, limit=3, page=number)
        assert page["total"] == len(products), page
        assert len(page["items"]) == size, page
        seen += ids_of(page)
    assert seen == full, "pages must be consecutive slices of the sorted result"
    for beyond in (4, 1000):
        page = listing(session, category=category, sort=sort, limit=3, page=beyond)
        assert page["items"] == [] and page["total"] == len(products), page


def test_limit_and_page_are_echoed(session, catalog):
    category, products = catalog
    page = listing(session, category=category, limit=100)
    assert (page["page"], page["limit"], page["total"]) == (1, 100, len(products)), page
    page = listing(session, category=category, limit=1, page=7)
    assert (page["page"], page["limit"], page["total"], len(page["items"])) == (7, 1, 7, 1), page
    assert ids_of(page) == [products[0]["id"]], "the 7th newest of seven is the oldest"


# ---------------------------------------------------------------- search


def test_search_by_a_word_of_the_description(session, make_product):
    token = f"zq{uuid.uuid4().hex}"
    product = make_product(name="Plain name", description=f"Hand-made with {token} inside.")
    for q in (token, token.upper(), token.capitalize(), token[2:22]):
        page = listing(session, q=q)
        assert ids_of(page) == [product["id"]] and page["total"] == 1, (q, page)


def test_search_by_part_of_the_name(session, make_product):
    token = uuid.uuid4().hex
    product = make_product(name=f"Widget Deluxe {token}", description="nothing to see")
    for q in (token[4:20], f"DELUXE {token[:12].upper()}", f"get deluxe {token}"):
        page = listing(session, q=q)
        assert ids_of(page) == [product["id"]] and page["total"] == 1, (q, page)
    assert listing(session, q=f"Widget Deluxe {token}x")["total"] == 0


def test_search_within_a_category(session, make_product):
    token = f"zq{uuid.uuid4().hex}"
    category = unique_category()
    inside = [
        make_product(name=f"First {token}", category=category, price_cents=100),
        make_product(name="Second", description=f"also {token.upper()}", category=category, price_cents=200),
    ]
    make_product(name="Unrelated", category=category)
    make_product(name=f"Elsewhere {token}", category=unique_category())
    page = listing(session, q=token, category=category, sort="price")
    assert ids_of(page) == [p["id"] for p in inside] and page["total"] == 2, page
    assert listing(session, q=token)["total"] == 3
    page = listing(session, q=token, category=category, max_price=150)
    assert ids_of(page) == [inside[0]["id"]] and page["total"] == 1, page


# (stored text, the same text in another case)
NON_ASCII_CASES = {
    "latin-accents": ("Caf\u00e9 cr\u00e8me", "CAF\u00c9 CR\u00c8ME"),
    "umlauts": ("\u00dcr\u00fcn", "\u00fcR\u00dcN"),
    "greek": ("\u0394\u03ad\u03bb\u03c4\u03b1", "\u03b4\u0388\u039b\u03a4\u0391"),
}


@pytest.mark.parametrize("stored, q", NON_ASCII_CASES.values(), ids=NON_ASCII_CASES.keys())
def test_search_is_case_insensitive_beyond_ascii(session, make_product, stored, q):
    category = unique_category()
    in_name = make_product(name=f"{stored} {uuid.uuid4().hex[:8]}", category=category)
    in_description = make_product(name="Plain", description=f"with {stored} inside", category=category)
    page = listing(session, q=q, category=category)
    expected = {in_name["id"], in_description["id"]}
    assert set(ids_of(page)) == expected and page["total"] == 2, f"q={q!r} on {stored!r}: {page}"


UNDECODABLE = {"invalid-utf8": "%FF", "truncated-utf8": "%C3", "nul": "%00zz"}


@pytest.mark.parametrize("suffix", UNDECODABLE.values(), ids=UNDECODABLE.keys())
def test_undecodable_filter_is_not_ignored(session, make_product, suffix):
    """A filter value that cannot be text is refused or matches nothing; it is
    never dropped or cut short, which would widen the result."""
    category, token = unique_category(), uuid.uuid4().hex
    make_product(name=f"Filtered {token}", category=category)
    for query in (f"category={category}{suffix}", f"category={category}&q={token}{suffix}"):
        resp = session.get(f"/products?{query}")
        if resp.status_code == 400:
            assert_problem(resp, 400)
        else:
            page = expect_json(resp, 200)
            assert page["items"] == [] and page["total"] == 0, describe(resp)


# needle: (a name holding it literally, a decoy that a LIKE wildcard or escape
# would also match, a q with the needle inside)
WILDCARDS = {
    "percent": ("%", "50% off", "50 percent off", "50%"),
    "underscore": ("_", "snake_case", "snakeXcase", "e_c"),
    "backslash": ("\\", "back\\slash", "backslash", "k\\s"),
}


@pytest.fixture
def wildcard_catalog(make_product):
    """A category with each literal name and its decoy; returns (category, {needle: product})."""
    category = unique_category()
    token = uuid.uuid4().hex[:8]
    literal = {}
    for needle, name, decoy, _ in WILDCARDS.values():
        literal[needle] = make_product(name=f"{name} {token}", category=category)
        make_product(name=f"{decoy} {token}", category=category)
    return category, literal


@pytest.mark.parametrize("needle, name, decoy, q", WILDCARDS.values(), ids=WILDCARDS.keys())
def test_search_wildcards_match_literally(session, wildcard_catalog, needle, name, decoy, q):
    category, literal = wildcard_catalog
    for query in (needle, q):
        page = listing(session, q=query, category=category)
        assert ids_of(page) == [literal[needle]["id"]] and page["total"] == 1, (query, page)


# ---------------------------------------------------------------- unknown and malformed ids

BAD_IDS = {
    "unknown-uuid": lambda: str(uuid.uuid4()),
    "not-a-uuid": lambda: "not-a-uuid",
    "number": lambda: "123",
    "sql": lambda: "%27%20OR%201=1",
    "uuid-with-suffix": lambda: f"{uuid.uuid4()}x",
}


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
@pytest.mark.parametrize("make_id", BAD_IDS.values(), ids=BAD_IDS.keys())
def test_unknown_or_malformed_id_is_404(session, admin_headers, method, make_id):
    kwargs = {"json": {"name": "whatever"}} if method == "PATCH" else {}
    resp = session.request(method, f"/products/{make_id()}", headers=admin_headers, **kwargs)
    assert_problem(resp, 404)


# ---------------------------------------------------------------- sku uniqueness


def test_duplicate_sku_is_a_conflict(session, admin_headers, make_product):
    category = unique_category()
    sku_a, sku_b = unique_sku("A"), unique_sku("B")
    first = make_product(sku=sku_a, category=category)
    dup = {"name": "Duplicate", "price_cents": 1, "stock": 1, "sku": sku_a, "category": category}
    assert_problem(session.post("/products", json=dup, headers=admin_headers), 409)
    assert ids_of(listing(session, category=category)) == [first["id"]]

    second = make_product(sku=sku_b, category=category)
    assert_problem(patch_product(session, admin_headers, second["id"], {"sku": sku_a}), 409)
    assert get_product(session, second["id"]) == second
    assert get_product(session, first["id"]) == first

    # re-stating one's own sku is no conflict
    same = expect_json(patch_product(session, admin_headers, first["id"], {"sku": sku_a}), 200)
    assert same["sku"] == sku_a
    # a cleared sku is free again
    expect_json(patch_product(session, admin_headers, first["id"], {"sku": None}), 200)
    moved = expect_json(patch_product(session, admin_headers, second["id"], {"sku": sku_a}), 200)
    assert moved["sku"] == sku_a
    # products without a sku do not collide with each other
    assert make_product(category=category)["sku"] is None
    assert make_product(category=category)["sku"] is None


def test_deleted_product_frees_its_sku(session, admin_headers, make_product):
    sku = unique_sku()
    first = make_product(sku=sku)
    expect_empty(session.delete(f"/products/{first['id']}", headers=admin_headers), 204)
    assert make_product(sku=sku)["sku"] == sku


# ---------------------------------------------------------------- validation on create

TOO_LONG_NAME = "n" * 10_000

MISSING = object()  # in the tables below: leave the member out of the body

INVALID_CREATES = {
    "name-missing": ({"name": MISSING}, "name"),
    "name-empty": ({"name": ""}, "name"),
    "name-blank": ({"name": "  \t "}, "name"),
    "name-201": ({"name": "n" * 201}, "name"),
    "name-201-emoji": ({"name": "\U0001f6d2" * 201}, "name"),
    "name-10000": ({"name": TOO_LONG_NAME}, "name"),
    "name-number": ({"name": 42}, "name"),
    # a NUL may be refused by the JSON parser or by the field check
    "name-nul": ({"name": "nul\u0000inside"}, None),
    "description-nul": ({"description": "nul\u0000inside"}, None),
    "price-missing": ({"price_cents": MISSING}, "price_cents"),
    "price-fraction": ({"price_cents": 1.5}, "price_cents"),
    "price-string": ({"price_cents": "5"}, "price_cents"),
    "price-negative": ({"price_cents": -1}, "price_cents"),
    "price-10**12": ({"price_cents": 10**12}, "price_cents"),
    "price-huge": ({"price_cents": 10**30}, None),  # may be refused by the JSON parser
    "price-bool": ({"price_cents": True}, "price_cents"),
    "price-null": ({"price_cents": None}, "price_cents"),
    "stock-missing": ({"stock": MISSING}, "stock"),
    "stock-null": ({"stock": None}, "stock"),
    "stock-negative": ({"stock": -1}, "stock"),
    "stock-fraction": ({"stock": 2.5}, "stock"),
    "stock-string": ({"stock": "3"}, "stock"),
    "currency-lower": ({"currency": "usd"}, "currency"),
    "currency-unknown": ({"currency": "ZZZ"}, "currency"),
    "currency-short": ({"currency": "US"}, "currency"),
    "currency-long": ({"currency": "USDD"}, "currency"),
    "currency-number": ({"currency": 840}, "currency"),
    "sku-empty": ({"sku": ""}, "sku"),
    "sku-65": ({"sku": "s" * 65}, "sku"),
    "category-empty": ({"category": ""}, "category"),
    "category-101": ({"category": "c" * 101}, "category"),
    "description-number": ({"description": 7}, "description"),
    "unknown-field": ({"colour": "red"}, "colour"),
}


@pytest.mark.parametrize("change, field", INVALID_CREATES.values(), ids=INVALID_CREATES.keys())
def test_invalid_create_is_rejected(session, admin_headers, change, field):
    category = unique_category()
    body = {"name": f"Invalid {uuid.uuid4().hex}", "price_cents": 100, "stock": 1, "category": category}
    for member, value in change.items():
        if value is MISSING:
            del body[member]
        else:
            body[member] = value
    resp = session.post("/products", json=body, headers=admin_headers)
    problem = assert_problem(resp, 400)
    if field is not None:
        assert field in error_fields(problem), describe(resp)
    if field != "category":
        page = listing(session, category=category)
        assert page["total"] == 0, f"a refused create left a product behind: {page}"


def test_every_invalid_field_is_reported(session, admin_headers):
    body = {"name": "", "price_cents": -1, "stock": -1, "currency": "usd"}
    problem = assert_problem(session.post("/products", json=body, headers=admin_headers), 400)
    assert error_fields(problem) >= {"name", "price_cents", "stock", "currency"}, problem


# ---------------------------------------------------------------- validation on patch

INVALID_PATCHES = {
    "stock-negative": ({"stock": -1}, "stock"),
    "stock-null": ({"stock": None}, "stock"),
    "price-fraction": ({"price_cents": 1.5}, "price_cents"),
    "price-string": ({"price_cents": "5"}, "price_cents"),
    "price-negative": ({"price_cents": -1}, "price_cents"),
    "price-10**12": ({"price_cents": 10**12}, "price_cents"),
    "price-null": ({"price_cents": None}, "price_cents"),
    "name-empty": ({"name": ""}, "name"),
    "name-blank": ({"name": "   "}, "name"),
    "name-null": ({"name": None}, "name"),
    "name-201": ({"name": "n" * 201}, "name"),
    "currency-lower": ({"currency": "usd"}, "currency"),
    "currency-unknown": ({"currency": "ZZZ"}, "currency"),
    "currency-null": ({"currency": None}, "currency"),
    "sku-empty": ({"sku": ""}, "sku"),
    "category-empty": ({"category": ""}, "category"),
    "unknown-field": ({"colour": "red"}, "colour"),
    "id-field": ({"id": str(uuid.uuid4())}, "id"),
    "created-at-field": ({"created_at": "2000-01-01T00:00:00Z"}, "created_at"),
    "valid-and-invalid": ({"name": "half applied", "stock": -1}, "stock"),
    "empty": ({}, None),
}


@pytest.mark.parametrize("patch, field", INVALID_PATCHES.values(), ids=INVALID_PATCHES.keys())
def test_invalid_patch_changes_nothing(session, admin_headers, make_product, patch, field):
    product = make_product(stock=5, sku=unique_sku(), category=unique_category())
    resp = patch_product(session, admin_headers, product["id"], patch)
    problem = assert_problem(resp, 400)
    if field is not None:
        assert field in error_fields(problem), describe(resp)
    assert get_product(session, product["id"]) == product


# ---------------------------------------------------------------- hostile text is just text

HOSTILE = {
    "sql-drop": "'; DROP TABLE products; --",
    "sql-or": "x' OR '1'='1",
    "like-wildcards": "100% _real_ %_%",
    "backslashes": "C:\\path\\to\\ \\' \\\\",
    "quotes": "double \" single ' back ` done",
    "unicode": "caf\u00e9 \u00fcber \u4e2d\u6587 \U0001f6d2\U0001f600 \u202eRTL",
    "json-ish": '{"name": null}, [1,2]',
    "html": "<script>alert(1)</script>&amp;",
}


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_text_is_stored_verbatim(session, admin_headers, make_product, text):
    category = unique_category()
    sku = f"{text[:40]}{uuid.uuid4().hex[:8]}"
    product = make_product(name=text, description=f"about {text}", sku=sku, category=category)
    assert_product(product, name=text, description=f"about {text}", sku=sku, category=category)
    assert get_product(session, product["id"]) == product
    page = listing(session, q=text, category=category)
    assert ids_of(page) == [product["id"]] and page["total"] == 1, page
    assert page["items"][0] == product

    # as a category, too, and in a patch
    odd_category = f"{text[:60]}{uuid.uuid4().hex[:8]}"
    patched = expect_json(patch_product(session, admin_headers, product["id"], {"category": odd_category}), 200)
    assert patched["category"] == odd_category
    page = listing(session, category=odd_category)
    assert ids_of(page) == [product["id"]], page
    # the table survived
    listing(session, limit=1)


HOSTILE_QUERIES = dict(HOSTILE, percents="%%%%", underscores="____", backslash="\\", quote="'", dquote='"')


@pytest.mark.parametrize("q", HOSTILE_QUERIES.values(), ids=HOSTILE_QUERIES.keys())
def test_hostile_queries_never_fail(session, q):
    page = listing(session, q=q, category=unique_category())
    assert page["items"] == [] and page["total"] == 0, page
    page = listing(session, q=q, limit=5)
    for item in page["items"]:
        assert q.lower() in f"{item['name']} {item['description']}".lower(), (q, item)


HOSTILE_FILTERS = {
    "category": {"category": "'; DROP TABLE products; --"},
    "sort": {"sort": "price; DROP TABLE products"},
    "min_price": {"min_price": "1 OR 1=1"},
}


@pytest.mark.parametrize("params", HOSTILE_FILTERS.values(), ids=HOSTILE_FILTERS.keys())
def test_hostile_filters_do_not_leak(session, params):
    resp = session.get("/products", params=params)
    if resp.status_code == 200:
        assert resp.json()["total"] == 0, describe(resp)
    else:
        assert_problem(resp, 400)
    listing(session, limit=1)


# ---------------------------------------------------------------- query validation

INVALID_QUERIES = {
    "limit-0": ({"limit": 0}, {"limit"}),
    "limit-101": ({"limit": 101}, {"limit"}),
    "limit-text": ({"limit": "ten"}, {"limit"}),
    "limit-empty": ({"limit": ""}, {"limit"}),
    "page-0": ({"page": 0}, {"page"}),
    "page-negative": ({"page": -1}, {"page"}),
    "page-fraction": ({"page": "1.5"}, {"page"}),
    "min-price-text": ({"min_price": "abc"}, {"min_price"}),
    "min-price-negative": ({"min_price": -1}, {"min_price"}),
    "max-price-text": ({"max_price": "12abc"}, {"max_price"}),
    "max-price-too-big": ({"max_price": 10**13}, {"max_price"}),
    "sort-random": ({"sort": "random"}, {"sort"}),
    "sort-created-asc": ({"sort": "created_at"}, {"sort"}),
    "sort-case": ({"sort": "PRICE"}, {"sort"}),
    "min-over-max": ({"min_price": 10, "max_price": 5}, {"min_price", "max_price"}),
    "q-too-long": ({"q": "q" * 201}, {"q"}),
    "category-too-long": ({"category": "c" * 101}, {"category"}),
}


@pytest.mark.parametrize("params, fields", INVALID_QUERIES.values(), ids=INVALID_QUERIES.keys())
def test_invalid_query_is_rejected(session, params, fields):
    resp = session.get("/products", params=params)
    problem = assert_problem(resp, 400)
    assert error_fields(problem) & fields, describe(resp)


# ---------------------------------------------------------------- bodies


@pytest.mark.parametrize(
    "data",
    ['{"name": "x", "price_cents": 1', "not json", "", "[]", '"a string"', "null", "{'name': 'x'}"],
    ids=["truncated", "garbage", "empty", "array", "string", "null", "single-quotes"],
)
@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_malformed_body_is_400(session, admin_headers, make_product, method, data):
    product = make_product()
    path = "/products" if method == "POST" else f"/products/{product['id']}"
    resp = session.request(method, path, data=data, headers={**admin_headers, **JSON})
    assert_problem(resp, 400)
    assert get_product(session, product["id"]) == product


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded"])
@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_body_that_is_not_json_is_415(session, admin_headers, make_product, method, ctype):
    category = unique_category()
    product = make_product(category=category)
    path = "/products" if method == "POST" else f"/products/{product['id']}"
    body = f'{{"name": "Plain text", "price_cents": 1, "stock": 1, "category": "{category}"}}'
    resp = session.request(method, path, data=body, headers={**admin_headers, "Content-Type": ctype})
    assert_problem(resp, 415)
    assert get_product(session, product["id"]) == product
    assert ids_of(listing(session, category=category)) == [product["id"]]
