/* store.c: product-service's SQL. Point reads and writes are named
 * statements (prepared once per connection, generic plans). Lists are
 * unnamed statements, planned with their actual values every time, so a
 * filter that is absent ("$n IS NULL OR ...") costs nothing and the indexes
 * that fit the present ones are used.
 *
 * A search takes one of two plans. Few matches are collected through the
 * trigram index, up to PRODUCT_EXACT_TOTAL + 1 of them, counted and sorted
 * in one statement; when the bound is reached, the page comes from walking
 * the index of the sort order instead, which meets a page of many matches
 * soon. A search the planner is sure matches far more than the bound walks
 * straight away: collecting a thousand matches means checking a thousand
 * rows, the most expensive part of a common search. Either way no request
 * does work in proportion to a large match set, and the total is exact up to
 * the bound, an estimate beyond. */
#include "product.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
#define COLS                                                                                       \
    "id, sku, name, description, price_cents, currency, stock, category, " TS(                     \
        "created_at") ", " TS("updated_at")
#define FILTERS                                                                                    \
    " ($2::text IS NULL OR category = $2)"                                                         \
    " AND ($3::bigint IS NULL OR price_cents >= $3)"                                               \
    " AND ($4::bigint IS NULL OR price_cents <= $4)"
#define MATCH " ($1::text IS NULL OR search LIKE lower($1))"
/* The walk's test of a row. strpos, not LIKE: the planner has no statistics
 * for it and assumes a third of the rows match, so it walks the sort order's
 * index; a LIKE's estimate shrinks with the pattern's length until a full
 * scan and a sort look cheaper (50 ms instead of 0.2 at 100,000 products).
 * $1 is the query itself here, not a LIKE pattern. */
#define MATCH_RAW " ($1::text IS NULL OR strpos(search, lower($1)) > 0)"
#define PAGE      " LIMIT $5 OFFSET $6"
#define BOUND     "1001" /* PRODUCT_EXACT_TOTAL + 1 */
/* An estimate this far past the bound skips the count, when it is also a
 * twentieth of the table: five of the hundred buckets of the search text's
 * histogram, where a search of at most 1,000 matches at 100,000 products
 * (one bucket's worth) never reached three (bench/search_queries.sql). */
#define SURELY_MANY       (5 * PRODUCT_EXACT_TOTAL)
#define SURELY_MANY_SHARE 20 /* the table's rows over this */

/* Browse, and search with many matches: the sort order's index, filtered. */
#define WALK(order)                                                                                \
    {                                                                                              \
        "", "SELECT " COLS " FROM products WHERE" MATCH_RAW " AND" FILTERS " ORDER BY " order PAGE \
    }
/* Search with few matches: up to the bound of them through the trigram
 * index, their number and a sorted page of them, in one pass (a page past
 * the end is one row of NULLs with the number). */
#define SET(order)                                                                                 \
    {                                                                                              \
        "", "WITH m AS MATERIALIZED (SELECT * FROM products WHERE" MATCH " AND" FILTERS            \
            " LIMIT " BOUND ") SELECT " COLS ", c.n FROM (SELECT count(*) AS n FROM m) AS c"       \
            " LEFT JOIN LATERAL (SELECT * FROM m ORDER BY " order PAGE ") AS p ON true"            \
            " ORDER BY " order                                                                     \
    }

static const souk_db_stmt_t q_walk[] = {
    [SORT_CREATED_DESC] = WALK("created_at DESC, id"),
    [SORT_PRICE_ASC] = WALK("price_cents, id"),
    [SORT_PRICE_DESC] = WALK("price_cents DESC, id"),
    [SORT_NAME_ASC] = WALK("name, id"),
};
static const souk_db_stmt_t q_set[] = {
    [SORT_CREATED_DESC] = SET("created_at DESC, id"),
    [SORT_PRICE_ASC] = SET("price_cents, id"),
    [SORT_PRICE_DESC] = SET("price_cents DESC, id"),
    [SORT_NAME_ASC] = SET("name, id"),
};
static const souk_db_stmt_t q_count = {"",
                                       "SELECT count(*) FROM (SELECT 1 FROM products WHERE" MATCH
                                       " AND" FILTERS " LIMIT " BOUND ") AS capped"};
static const souk_db_stmt_t q_estimate = {
    "", "EXPLAIN (FORMAT JSON) SELECT 1 FROM products WHERE" MATCH " AND" FILTERS};
/* The same estimate and, in the same plan, the table's: one round trip. */
static const souk_db_stmt_t q_share = {"",
                                       "EXPLAIN (FORMAT JSON) SELECT 1 FROM products WHERE" MATCH
                                       " UNION ALL SELECT 1 FROM products"};
static const souk_db_stmt_t q_insert = {
    "product_insert",
    "INSERT INTO products (id, name, description, price_cents, currency, stock, category, sku)"
    " VALUES ($1, $2, COALESCE($3, ''), $4, $5, $6, $7, $8) RETURNING " COLS};
static const souk_db_stmt_t q_get = {"product_get", "SELECT " COLS " FROM products WHERE id = $1"};
static const souk_db_stmt_t q_update = {
    "product_update",
    "UPDATE products SET name = COALESCE($2, name),"
    " description = CASE WHEN $3::boolean THEN COALESCE($4, '') ELSE description END,"
    " price_cents = COALESCE($5::bigint, price_cents), currency = COALESCE($6, currency),"
    " stock = COALESCE($7::integer, stock),"
    " category = CASE WHEN $8::boolean THEN $9 ELSE category END,"
    " sku = CASE WHEN $10::boolean THEN $11 ELSE sku END, updated_at = now()"
    " WHERE id = $1 RETURNING " COLS};
static const souk_db_stmt_t q_delete = {"product_delete", "DELETE FROM products WHERE id = $1"};
static const souk_db_stmt_t q_batch = {"product_batch",
                                       "SELECT " COLS " FROM products WHERE id = ANY ($1::uuid[])"};
static const souk_db_stmt_t q_any = {"product_any", "SELECT EXISTS (SELECT 1 FROM products)"};

static json_t *text_or_null(const PGresult *res, int row, int col)
{
    const char *v = souk_db_value(res, row, col);
    return v ? json_string(v) : json_null();
}

static json_t *row_json(const PGresult *res, int r)
{
    return json_pack("{s:s, s:o, s:s, s:s, s:I, s:s, s:I, s:o, s:s, s:s}", "id",
                     PQgetvalue(res, r, 0), "sku", text_or_null(res, r, 1), "name",
                     PQgetvalue(res, r, 2), "description", PQgetvalue(res, r, 3), "price_cents",
                     (json_int_t)souk_db_int(res, r, 4), "currency", PQgetvalue(res, r, 5), "stock",
                     (json_int_t)souk_db_int(res, r, 6), "category", text_or_null(res, r, 7),
                     "created_at", PQgetvalue(res, r, 8), "updated_at", PQgetvalue(res, r, 9));
}

static souk_err_t one_row(souk_db_conn_t *c, const souk_db_stmt_t *st, int n,
                          const char *const *params, json_t **out)
{
    PGresult *res;
    souk_err_t err = souk_db_query_one(c, st, n, params, &res);
    if (err == SOUK_OK)
        *out = row_json(res, 0);
    PQclear(res);
    return err;
}

typedef struct {
    char price[24], stock[24];
} numbers_t;

static void format_numbers(const product_input_t *in, numbers_t *n)
{
    snprintf(n->price, sizeof(n->price), "%lld", in->price_cents);
    snprintf(n->stock, sizeof(n->stock), "%lld", in->stock);
}

souk_err_t store_product_insert(souk_db_conn_t *c, const product_input_t *in, json_t **out)
{
    char id[SOUK_UUID_STRLEN + 1];
    numbers_t n;
    souk_uuid_v4(id);
    format_numbers(in, &n);
    const char *p[] = {id,           in->name, in->description, n.price,
                       in->currency, n.stock,  in->category,    in->sku};
    return one_row(c, &q_insert, 8, p, out);
}

souk_err_t store_product_get(souk_db_conn_t *c, const char *id, json_t **out)
{
    return one_row(c, &q_get, 1, (const char *[]){id}, out);
}

souk_err_t store_product_update(souk_db_conn_t *c, const char *id, const product_input_t *in,
                                json_t **out)
{
    numbers_t n;
    format_numbers(in, &n);
    const char *p[] = {id,
                       in->name,
                       in->has_description ? "true" : "false",
                       in->description,
                       in->has_price ? n.price : NULL,
                       in->currency,
                       in->has_stock ? n.stock : NULL,
                       in->has_category ? "true" : "false",
                       in->category,
                       in->has_sku ? "true" : "false",
                       in->sku};
    return one_row(c, &q_update, 11, p, out);
}

souk_err_t store_product_delete(souk_db_conn_t *c, const char *id)
{
    return souk_db_exec_one(c, &q_delete, 1, (const char *[]){id});
}

/* The top node of the plan EXPLAIN (FORMAT JSON) statement st gives; *doc
 * holds it (json_decref; NULL, and so the node, when the query failed). */
static json_t *explain(souk_db_conn_t *c, const souk_db_stmt_t *st, int n,
                       const char *const *params, json_t **doc)
{
    PGresult *res;
    *doc = NULL;
    if (souk_db_query(c, st, n, params, &res) != SOUK_OK)
        return NULL;
    *doc = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);
    return json_object_get(json_array_get(*doc, 0), "Plan");
}

/* A plan node's expected rows; 0 when it has none. */
static double rows_of(const json_t *node)
{
    json_t *v = json_object_get(node, "Plan Rows");
    return json_is_number(v) ? json_number_value(v) : 0;
}

/* The planner's row estimate for the filters in params, at least floor. */
static long long estimate(souk_db_conn_t *c, const char *const *params, long long floor)
{
    json_t *doc;
    double rows = rows_of(explain(c, &q_estimate, 4, params, &doc));
    json_decref(doc);
    return rows > (double)floor ? (long long)rows : floor;
}

static souk_err_t count_capped(souk_db_conn_t *c, const char *const *params, long long *n)
{
    PGresult *res;
    souk_err_t err = souk_db_query(c, &q_count, 4, params, &res);
    if (err == SOUK_OK)
        *n = souk_db_int(res, 0, 0);
    PQclear(res);
    return err;
}

/* The planner's estimates of a search's matches and of the table's rows,
 * 0 when it cannot tell. */
static void estimate_share(souk_db_conn_t *c, const char *pattern, double *matches, double *rows)
{
    json_t *doc;
    json_t *parts =
        json_object_get(explain(c, &q_share, 1, (const char *[]){pattern}, &doc), "Plans");
    *matches = rows_of(json_array_get(parts, 0));
    *rows = rows_of(json_array_get(parts, 1));
    json_decref(doc);
}

/* A page of the walk (p[0] the query itself, not its pattern). The total
 * stays the caller's estimate unless a short page ends the matches. */
static souk_err_t walk(souk_db_conn_t *c, const product_query_t *q, const char *const *p, long skip,
                       product_page_t *out)
{
    PGresult *res = NULL;
    souk_err_t err = souk_db_query(c, &q_walk[q->sort], 6, p, &res);
    if (err == SOUK_OK) {
        int rows = PQntuples(res);
        out->items = json_array();
        for (int i = 0; i < rows; i++)
            json_array_append_new(out->items, row_json(res, i));
        if (rows < q->page.limit && (rows > 0 || skip == 0)) {
            out->exact = skip + rows <= PRODUCT_EXACT_TOTAL;
            out->total = skip + rows;
        }
    }
    PQclear(res);
    return err;
}

/* Few matches of a search: collected, counted and paged in one statement.
 * *done is false when they reached the bound (nothing is set then). */
static souk_err_t collect(souk_db_conn_t *c, const product_query_t *q, const char *const *p,
                          product_page_t *out, bool *done)
{
    PGresult *res = NULL;
    souk_err_t err = souk_db_query(c, &q_set[q->sort], 6, p, &res);
    *done = false;
    if (err == SOUK_OK && PQntuples(res) > 0) {
        long long n = souk_db_int(res, 0, 10);
        *done = n <= PRODUCT_EXACT_TOTAL;
        if (*done) {
            out->exact = true;
            out->total = n;
            out->items = json_array();
            for (int i = 0; i < PQntuples(res); i++)
                if (!PQgetisnull(res, i, 0))
                    json_array_append_new(out->items, row_json(res, i));
        }
    }
    PQclear(res);
    return err;
}

static bool alone(const product_query_t *q)
{
    return !q->category && !q->has_min && !q->has_max;
}

/* A search alone (no other filter, whose correlation with the words the
 * planner cannot know) that the planner is sure matches far more than the
 * bound, or that reached the bound when it was last collected (remembered
 * with no table size); its estimate in *guess either way (0 if not asked). */
static bool surely_many(souk_db_conn_t *c, const product_query_t *q, const char *pattern,
                        product_guesses_t *guesses, double *guess)
{
    double rows = 0;
    *guess = 0;
    if (!alone(q))
        return false;
    if (guesses && product_guesses_get(guesses, q->q, guess, &rows) && rows == 0)
        return true;
    if (rows == 0) {
        estimate_share(c, pattern, guess, &rows);
        if (guesses && rows > 0)
            product_guesses_put(guesses, q->q, *guess, rows);
    }
    return *guess >= SURELY_MANY && *guess * SURELY_MANY_SHARE >= rows;
}

static souk_err_t search(souk_db_conn_t *c, const product_query_t *q, product_guesses_t *guesses,
                         const char **p, long skip, product_page_t *out)
{
    double guess;
    bool done = false, known = surely_many(c, q, p[0], guesses, &guess);
    souk_err_t err = known ? SOUK_OK : collect(c, q, p, out, &done);
    if (err || done)
        return err;
    out->exact = false;
    out->total =
        guess > PRODUCT_EXACT_TOTAL ? (long long)guess : estimate(c, p, PRODUCT_EXACT_TOTAL + 1);
    if (!known && guesses && alone(q))
        product_guesses_put(guesses, q->q, (double)out->total, 0);
    p[0] = q->q;
    return walk(c, q, p, skip, out);
}

static souk_err_t browse(souk_db_conn_t *c, const product_query_t *q, const char *const *p,
                         long skip, product_page_t *out)
{
    long long n = 0;
    souk_err_t err = count_capped(c, p, &n);
    if (err)
        return err;
    out->exact = n <= PRODUCT_EXACT_TOTAL;
    out->total = out->exact ? n : estimate(c, p, n);
    return walk(c, q, p, skip, out);
}

souk_err_t store_product_list(souk_db_conn_t *c, const product_query_t *q,
                              product_guesses_t *guesses, product_page_t *out)
{
    char min[24], max[24], limit[24], offset[24];
    snprintf(min, sizeof(min), "%lld", q->min_price);
    snprintf(max, sizeof(max), "%lld", q->max_price);
    snprintf(limit, sizeof(limit), "%ld", q->page.limit);
    long skip = (q->page.page - 1) * q->page.limit;
    snprintf(offset, sizeof(offset), "%ld", skip);
    char *pattern = q->q ? souk_db_like_contains(q->q) : NULL;
    const char *p[] = {pattern, q->category, q->has_min ? min : NULL, q->has_max ? max : NULL,
                       limit,   offset};
    out->items = NULL;
    souk_err_t err = q->q ? search(c, q, guesses, p, skip, out) : browse(c, q, p, skip, out);
    souk_free(pattern);
    return err;
}

souk_err_t store_product_batch(souk_db_conn_t *c, json_t *ids, json_t **items)
{
    /* A PostgreSQL array literal of ids the caller validated as UUIDs. */
    souk_buf_t lit;
    souk_buf_init(&lit, (SOUK_UUID_STRLEN + 1) * PRODUCT_BATCH_MAX + 3);
    souk_err_t err = souk_buf_append(&lit, "{", 1);
    size_t i;
    json_t *id;
    json_array_foreach(ids, i, id)
    {
        if (err == SOUK_OK && i)
            err = souk_buf_append(&lit, ",", 1);
        if (err == SOUK_OK)
            err = souk_buf_append(&lit, json_string_value(id), SOUK_UUID_STRLEN);
    }
    if (err == SOUK_OK)
        err = souk_buf_append(&lit, "}", 1);
    PGresult *res = NULL;
    if (err == SOUK_OK)
        err = souk_db_query(c, &q_batch, 1, (const char *[]){lit.data}, &res);
    if (err == SOUK_OK) {
        *items = json_array();
        for (int r = 0; r < PQntuples(res); r++)
            json_array_append_new(*items, row_json(res, r));
    }
    PQclear(res);
    souk_buf_cleanup(&lit);
    return err;
}

static const souk_db_stmt_t q_all = {"product_all", "SELECT " COLS " FROM products ORDER BY id"};

souk_err_t store_seed_demo(souk_db_conn_t *c, const char *sql, bool *seeded, json_t **items)
{
    PGresult *res;
    *seeded = false;
    souk_err_t err = souk_db_query(c, &q_any, 0, NULL, &res);
    if (err)
        return err;
    bool empty = !souk_db_bool(res, 0, 0);
    PQclear(res);
    if (!empty)
        return SOUK_OK;
    souk_db_stmt_t seed = {"", sql};
    if ((err = souk_db_query(c, &seed, 0, NULL, NULL)) != SOUK_OK ||
        (err = souk_db_query(c, &q_all, 0, NULL, &res)) != SOUK_OK)
        return err;
    *items = json_array();
    for (int r = 0; r < PQntuples(res); r++)
        json_array_append_new(*items, row_json(res, r));
    PQclear(res);
    *seeded = true;
    return SOUK_OK;
}

/* reservations_by_status: the inventory's decisions as the database holds
 * them (exact whatever retries the consumers made), read at scrape time. */
static const souk_db_stmt_t q_reservations = {
    "reservation_status_counts", "SELECT status, count(*) FROM reservations GROUP BY status"};
static const char *const reservation_statuses[] = {"reserved", "rejected", "released", "cancelled"};
#define NSTATUSES (sizeof(reservation_statuses) / sizeof(reservation_statuses[0]))

static souk_err_t reservation_counts(souk_db_conn_t *c, void *ud)
{
    souk_buf_t *out = ud;
    long long counts[NSTATUSES] = {0};
    PGresult *res;
    souk_err_t err = souk_db_query(c, &q_reservations, 0, NULL, &res);
    if (err)
        return err;
    for (int r = 0; r < PQntuples(res); r++)
        for (size_t s = 0; s < NSTATUSES; s++)
            if (strcmp(PQgetvalue(res, r, 0), reservation_statuses[s]) == 0)
                counts[s] = souk_db_int(res, r, 1);
    PQclear(res);
    err = souk_buf_appendf(out, "# HELP reservations_by_status Orders' inventory reservations by "
                                "status.\n# TYPE reservations_by_status gauge\n");
    for (size_t s = 0; err == SOUK_OK && s < NSTATUSES; s++)
        err = souk_buf_appendf(out, "reservations_by_status{status=\"%s\"} %lld\n",
                               reservation_statuses[s], counts[s]);
    return err;
}

souk_err_t product_collect_reservations(souk_buf_t *out, void *ud)
{
    product_app_t *app = ud;
    souk_err_t err = souk_db_run(app->db, reservation_counts, out);
    /* a scrape without these beats a failed scrape; only a full buffer fails */
    return err == SOUK_ELIMIT ? err : SOUK_OK;
}
