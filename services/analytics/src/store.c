/* store.c: analytics-service's SQL. Handlers write only their aggregate's
 * row and append to the journal (changes); the roll-up is the one writer of
 * the aggregates, set-based, in a repeatable-read transaction so that what
 * it folds and what it deletes are exactly the same rows; reports and
 * recommendations read the aggregates. */
#include "analytics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROLLUP_MAX_ROWS "50000" /* journal rows folded per roll-up */

static const souk_db_stmt_t q_state = {
    "order_state", "SELECT status, placed, to_char(confirmed_day, 'YYYY-MM-DD') FROM orders"
                   " WHERE order_id = $1 FOR UPDATE"};
static const souk_db_stmt_t q_change = {
    "order_change",
    "WITH o AS (INSERT INTO orders (order_id, user_id, currency, status, placed, confirmed_day)"
    " VALUES ($1, $2, $3, $4, $5, $6::date) ON CONFLICT (order_id) DO UPDATE"
    " SET status = EXCLUDED.status, placed = orders.placed OR EXCLUDED.placed,"
    " confirmed_day = COALESCE(EXCLUDED.confirmed_day, orders.confirmed_day), updated_at = now())"
    " INSERT INTO changes (kind, day, sale_day, currency, user_id, total_cents, units, items)"
    " VALUES ($7, $8::date, $9::date, $3, $2, $10, $11, $12::jsonb)"};
/* The same two steps as one statement, guarded by the state assumed. */
#define JOURNAL_FROM_O                                                                             \
    " INSERT INTO changes (kind, day, sale_day, currency, user_id, total_cents, units, items)"     \
    " SELECT $7, $8::date, $9::date, $3, $2, $10, $11, $12::jsonb FROM o"
static const souk_db_stmt_t q_change_if_new = {
    "order_change_if_new",
    "WITH o AS (INSERT INTO orders (order_id, user_id, currency, status, placed, confirmed_day)"
    " VALUES ($1, $2, $3, $4, $5, $6::date) ON CONFLICT (order_id) DO NOTHING RETURNING "
    "1)" JOURNAL_FROM_O};
static const souk_db_stmt_t q_change_if_pending = {
    "order_change_if_pending",
    "WITH o AS (UPDATE orders SET status = $4, placed = placed OR $5::boolean,"
    " confirmed_day = COALESCE($6::date, confirmed_day), updated_at = now()"
    " WHERE order_id = $1 AND status = 'pending' RETURNING 1)" JOURNAL_FROM_O};
static const souk_db_stmt_t q_product_put = {
    "product_put",
    "INSERT INTO products (product_id, name, category, price_cents, currency, deleted, changed_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (product_id) DO UPDATE"
    " SET name = COALESCE(EXCLUDED.name, products.name),"
    " category = CASE WHEN EXCLUDED.deleted THEN products.category ELSE EXCLUDED.category END,"
    " price_cents = COALESCE(EXCLUDED.price_cents, products.price_cents),"
    " currency = COALESCE(EXCLUDED.currency, products.currency),"
    " deleted = EXCLUDED.deleted OR products.deleted, changed_at = EXCLUDED.changed_at"
    " WHERE products.changed_at <= EXCLUDED.changed_at"};
static const souk_db_stmt_t q_user_registered = {
    "user_registered",
    "WITH u AS (INSERT INTO users (user_id, registered_day) VALUES ($1, $2::date)"
    " ON CONFLICT (user_id) DO NOTHING RETURNING registered_day)"
    " INSERT INTO changes (kind, day) SELECT 'registered', registered_day FROM u"};
static const souk_db_stmt_t q_user_deleted = {
    "user_deleted", "WITH u AS (INSERT INTO users (user_id, deleted) VALUES ($1, true)"
                    " ON CONFLICT (user_id) DO UPDATE SET deleted = true)"
                    " DELETE FROM user_products WHERE user_id = $1"};

/* ---- the roll-up ------------------------------------------------------------ */

static const souk_db_stmt_t q_rr = {"rollup_isolation",
                                    "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"};
static const souk_db_stmt_t q_rollup_lock = {
    "rollup_lock", "SELECT pg_try_advisory_xact_lock(hashtext('souk-analytics-rollup'))"};
static const souk_db_stmt_t q_rollup_hi = {
    "rollup_hi", "SELECT max(seq), count(*) FROM (SELECT seq FROM changes ORDER BY seq"
                 " LIMIT " ROLLUP_MAX_ROWS ") s"};
static const souk_db_stmt_t q_fold_orders = {
    "fold_orders",
    "INSERT INTO daily_orders AS d (day, currency, placed, confirmed, rejected, cancelled,"
    " sold_orders, units, revenue_cents)"
    " SELECT day, currency, sum(placed), sum(confirmed), sum(rejected), sum(cancelled), sum(sold),"
    " sum(units), sum(revenue) FROM ("
    " SELECT day, currency, (kind = 'placed')::int AS placed, (kind = 'sold')::int AS confirmed,"
    " (kind = 'rejected')::int AS rejected, (kind IN ('cancelled', 'unsold'))::int AS cancelled,"
    " (kind = 'sold')::int AS sold, CASE WHEN kind = 'sold' THEN units ELSE 0 END AS units,"
    " CASE WHEN kind = 'sold' THEN total_cents ELSE 0 END AS revenue"
    " FROM changes WHERE seq <= $1 AND kind <> 'registered'"
    " UNION ALL SELECT sale_day, currency, 0, 0, 0, 0, -1, -units, -total_cents"
    " FROM changes WHERE seq <= $1 AND kind = 'unsold') x"
    " GROUP BY day, currency ON CONFLICT (day, currency) DO UPDATE"
    " SET placed = d.placed + EXCLUDED.placed, confirmed = d.confirmed + EXCLUDED.confirmed,"
    " rejected = d.rejected + EXCLUDED.rejected, cancelled = d.cancelled + EXCLUDED.cancelled,"
    " sold_orders = d.sold_orders + EXCLUDED.sold_orders, units = d.units + EXCLUDED.units,"
    " revenue_cents = d.revenue_cents + EXCLUDED.revenue_cents"};
static const souk_db_stmt_t q_fold_users = {
    "fold_users", "INSERT INTO daily_users AS d (day, registered)"
                  " SELECT day, count(*) FROM changes WHERE seq <= $1 AND kind = 'registered'"
                  " GROUP BY day ON CONFLICT (day) DO UPDATE"
                  " SET registered = d.registered + EXCLUDED.registered"};
static const souk_db_stmt_t q_fold_lines = {
    "fold_lines",
    "WITH lines AS (SELECT c.seq, c.user_id, c.currency,"
    " CASE c.kind WHEN 'sold' THEN 1 ELSE -1 END AS sign,"
    " CASE c.kind WHEN 'sold' THEN c.day ELSE c.sale_day END AS day, i.product_id,"
    " max(i.name) AS name, max(i.category) AS category, sum(i.quantity)::bigint AS quantity,"
    " sum(i.quantity * i.unit_price_cents)::bigint AS revenue"
    " FROM changes c CROSS JOIN LATERAL jsonb_to_recordset(c.items)"
    " AS i(product_id uuid, name text, category text, quantity bigint, unit_price_cents bigint)"
    " WHERE c.seq <= $1 AND c.kind IN ('sold', 'unsold') AND i.product_id IS NOT NULL"
    " GROUP BY c.seq, c.user_id, c.currency, c.kind, c.day, c.sale_day, i.product_id),"
    " dp AS (INSERT INTO daily_products AS t (day, product_id, currency, name, units,"
    " revenue_cents) SELECT day, product_id, currency, COALESCE(max(name), ''),"
    " sum(sign * quantity), sum(sign * revenue) FROM lines GROUP BY day, product_id, currency"
    " ON CONFLICT (day, product_id, currency) DO UPDATE SET units = t.units + EXCLUDED.units,"
    " revenue_cents = t.revenue_cents + EXCLUDED.revenue_cents, name = EXCLUDED.name),"
    " dc AS (INSERT INTO daily_categories AS t (day, category, currency, units, revenue_cents)"
    " SELECT day, COALESCE(category, ''), currency, sum(sign * quantity), sum(sign * revenue)"
    " FROM lines GROUP BY 1, 2, 3 ON CONFLICT (day, category, currency) DO UPDATE"
    " SET units = t.units + EXCLUDED.units, revenue_cents = t.revenue_cents + "
    "EXCLUDED.revenue_cents),"
    " ps AS (INSERT INTO product_sales AS t (product_id, units)"
    " SELECT product_id, sum(sign * quantity) FROM lines GROUP BY product_id"
    " ON CONFLICT (product_id) DO UPDATE SET units = t.units + EXCLUDED.units),"
    " up AS (INSERT INTO user_products AS t (user_id, product_id, units)"
    " SELECT user_id, product_id, sum(sign * quantity) FROM lines l WHERE user_id IS NOT NULL"
    " AND NOT EXISTS (SELECT 1 FROM users u WHERE u.user_id = l.user_id AND u.deleted)"
    " GROUP BY user_id, product_id"
    " ON CONFLICT (user_id, product_id) DO UPDATE SET units = t.units + EXCLUDED.units),"
    " cp AS (INSERT INTO copurchases AS t (product_id, other_id, orders)"
    " SELECT a.product_id, b.product_id, sum(a.sign) FROM lines a JOIN lines b"
    " ON a.seq = b.seq AND a.product_id <> b.product_id GROUP BY 1, 2"
    " ON CONFLICT (product_id, other_id) DO UPDATE SET orders = t.orders + EXCLUDED.orders)"
    " SELECT count(*) FROM lines"};
static const souk_db_stmt_t q_fold_delete = {"fold_delete", "DELETE FROM changes WHERE seq <= $1"};
static const souk_db_stmt_t q_journal = {"journal_size", "SELECT count(*) FROM changes"};

/* ---- reports ---------------------------------------------------------------- */

/* One round trip: a row per currency, then one (currency NULL) with the
 * registrations. */
static const souk_db_stmt_t q_summary = {
    "report_summary",
    "(SELECT currency, sum(placed), sum(confirmed), sum(rejected), sum(cancelled),"
    " sum(sold_orders), sum(units), sum(revenue_cents), 0 FROM daily_orders"
    " WHERE day >= $1::date AND day < $2::date GROUP BY currency ORDER BY currency)"
    " UNION ALL SELECT NULL, 0, 0, 0, 0, 0, 0, 0, COALESCE(sum(registered), 0) FROM daily_users"
    " WHERE day >= $1::date AND day < $2::date"};
static const souk_db_stmt_t q_sales = {
    "report_sales",
    "WITH agg AS (SELECT date_trunc($3, day::timestamp)::date AS start, currency,"
    " sum(sold_orders) AS o, sum(units) AS u, sum(revenue_cents) AS r FROM daily_orders"
    " WHERE day >= $1::date AND day < $2::date GROUP BY 1, 2),"
    " periods AS (SELECT generate_series(date_trunc($3, $1::date::timestamp),"
    " ($2::date - 1)::timestamp, ('1 ' || $3)::interval)::date AS start)"
    " SELECT to_char(p.start, 'YYYY-MM-DD'), a.currency, a.o, a.u, a.r"
    " FROM periods p LEFT JOIN agg a USING (start) ORDER BY p.start, a.currency"};
#define TOP_SELECT                                                                                 \
    "SELECT d.product_id, COALESCE(p.name, max(d.name)), sum(d.units) AS u,"                       \
    " sum(d.revenue_cents) AS r, d.currency FROM daily_products d"                                 \
    " LEFT JOIN products p USING (product_id) WHERE d.day >= $1::date AND d.day < $2::date"        \
    " GROUP BY d.product_id, d.currency, p.name HAVING sum(d.units) > 0"
static const souk_db_stmt_t q_top_units = {"report_top_units", TOP_SELECT
                                           " ORDER BY u DESC, r DESC, d.product_id LIMIT $3"};
static const souk_db_stmt_t q_top_revenue = {"report_top_revenue", TOP_SELECT
                                             " ORDER BY r DESC, u DESC, d.product_id LIMIT $3"};
static const souk_db_stmt_t q_categories = {
    "report_categories",
    "SELECT NULLIF(category, ''), currency, sum(units), sum(revenue_cents),"
    " sum(sum(units)) OVER (PARTITION BY category) AS total FROM daily_categories"
    " WHERE day >= $1::date AND day < $2::date GROUP BY category, currency"
    " HAVING sum(units) <> 0 OR sum(revenue_cents) <> 0"
    " ORDER BY total DESC, category = '', category, currency"};

/* ---- recommendations ---------------------------------------------------------- */

#define REC_COLS " p.product_id, p.name, p.price_cents, p.currency"
#define REC_LIVE " NOT p.deleted AND p.name IS NOT NULL AND p.price_cents IS NOT NULL"
static const souk_db_stmt_t q_product_info = {
    "rec_product", "SELECT deleted, category FROM products WHERE product_id = $1"};
static const souk_db_stmt_t q_rec_co = {
    "rec_copurchase",
    "SELECT" REC_COLS " FROM copurchases c JOIN products p ON p.product_id = c.other_id"
    " LEFT JOIN product_sales s ON s.product_id = c.other_id"
    " WHERE c.product_id = $1 AND c.orders > 0 AND p.product_id <> $1 AND" REC_LIVE
    " ORDER BY c.orders DESC, COALESCE(s.units, 0) DESC, p.product_id LIMIT $2"};
static const souk_db_stmt_t q_rec_category = {
    "rec_category", "SELECT" REC_COLS " FROM product_sales s JOIN products p USING (product_id)"
                    " WHERE p.category = $2 AND s.units > 0 AND p.product_id <> $1 AND" REC_LIVE
                    " ORDER BY s.units DESC, p.product_id LIMIT $3"};
static const souk_db_stmt_t q_rec_best = {
    "rec_best", "SELECT" REC_COLS " FROM product_sales s JOIN products p USING (product_id)"
                " WHERE s.units > 0 AND p.product_id <> $1 AND" REC_LIVE
                " ORDER BY s.units DESC, p.product_id LIMIT $2"};
#define NOT_BOUGHT                                                                                 \
    " NOT EXISTS (SELECT 1 FROM user_products b WHERE b.user_id = $1"                              \
    " AND b.product_id = p.product_id AND b.units > 0)"
static const souk_db_stmt_t q_rec_user_co = {
    "rec_user_copurchase",
    "SELECT" REC_COLS " FROM user_products u JOIN copurchases c ON c.product_id = u.product_id"
    " JOIN products p ON p.product_id = c.other_id"
    " WHERE u.user_id = $1 AND u.units > 0 AND c.orders > 0 AND" REC_LIVE " AND" NOT_BOUGHT
    " GROUP BY" REC_COLS " ORDER BY sum(c.orders) DESC, p.product_id LIMIT $2"};
static const souk_db_stmt_t q_rec_user_category = {
    "rec_user_category",
    "SELECT" REC_COLS " FROM product_sales s JOIN products p USING (product_id)"
    " WHERE s.units > 0 AND" REC_LIVE " AND" NOT_BOUGHT " AND p.category IN"
    " (SELECT bp.category FROM user_products u JOIN products bp ON bp.product_id = u.product_id"
    " WHERE u.user_id = $1 AND u.units > 0 AND bp.category IS NOT NULL)"
    " ORDER BY s.units DESC, p.product_id LIMIT $2"};
static const souk_db_stmt_t q_rec_user_best = {
    "rec_user_best", "SELECT" REC_COLS " FROM product_sales s JOIN products p USING (product_id)"
                     " WHERE s.units > 0 AND" REC_LIVE " AND" NOT_BOUGHT
                     " ORDER BY s.units DESC, p.product_id LIMIT $2"};

/* ---- projections -------------------------------------------------------------- */

souk_err_t store_order_state(souk_db_conn_t *c, const char *order_id, an_status_t *status,
                             bool *placed, char confirmed_day[11])
{
    PGresult *res;
    *status = AN_UNSEEN;
    *placed = false;
    confirmed_day[0] = '\0';
    souk_err_t err = souk_db_query_one(c, &q_state, 1, (const char *[]){order_id}, &res);
    if (err == SOUK_ENOTFOUND)
        return SOUK_OK;
    if (err)
        return err;
    if (!an_status_parse(PQgetvalue(res, 0, 0), status))
        err = SOUK_EINTERNAL;
    *placed = souk_db_bool(res, 0, 1);
    const char *d = souk_db_value(res, 0, 2);
    snprintf(confirmed_day, 11, "%s", d ? d : "");
    PQclear(res);
    return err;
}

static souk_err_t change(souk_db_conn_t *c, const souk_db_stmt_t *st, const an_order_change_t *ch,
                         bool one)
{
    char total[24], units[24];
    snprintf(total, sizeof(total), "%lld", ch->total_cents);
    snprintf(units, sizeof(units), "%lld", ch->units);
    const char *p[] = {ch->order_id,
                       ch->user_id,
                       ch->currency,
                       an_status_name(ch->next),
                       ch->placed ? "true" : "false",
                       ch->action == AN_SELL ? ch->day : NULL,
                       an_action_name(ch->action),
                       ch->day,
                       ch->action == AN_UNSELL ? ch->confirmed_day : NULL,
                       total,
                       units,
                       ch->items};
    return one ? souk_db_exec_one(c, st, 12, p) : souk_db_query(c, st, 12, p, NULL);
}

souk_err_t store_order_change(souk_db_conn_t *c, const an_order_change_t *ch)
{
    return change(c, &q_change, ch, false);
}

souk_err_t store_order_change_assuming(souk_db_conn_t *c, const an_order_change_t *ch,
                                       an_status_t assumed, bool *applied)
{
    *applied = false;
    if (assumed != AN_UNSEEN && assumed != AN_PENDING)
        return SOUK_OK;
    souk_err_t err =
        change(c, assumed == AN_UNSEEN ? &q_change_if_new : &q_change_if_pending, ch, true);
    *applied = err == SOUK_OK;
    return err == SOUK_ENOTFOUND ? SOUK_OK : err;
}

souk_err_t store_product_put(souk_db_conn_t *c, const char *id, json_t *data, bool deleted,
                             const char *at)
{
    char price[24];
    json_t *pc = json_object_get(data, "price_cents");
    snprintf(price, sizeof(price), "%lld", (long long)json_integer_value(pc));
    const char *p[] = {id,
                       deleted ? NULL : json_string_value(json_object_get(data, "name")),
                       deleted ? NULL : json_string_value(json_object_get(data, "category")),
                       deleted || !json_is_integer(pc) ? NULL : price,
                       deleted ? NULL : json_string_value(json_object_get(data, "currency")),
                       deleted ? "true" : "false",
                       at};
    return souk_db_query(c, &q_product_put, 7, p, NULL);
}

souk_err_t store_user_registered(souk_db_conn_t *c, const char *user_id, const char *day)
{
    return souk_db_query(c, &q_user_registered, 2, (const char *[]){user_id, day}, NULL);
}

souk_err_t store_user_deleted(souk_db_conn_t *c, const char *user_id)
{
    return souk_db_query(c, &q_user_deleted, 1, (const char *[]){user_id}, NULL);
}

/* ---- the roll-up ------------------------------------------------------------ */

typedef struct {
    long long folded;
} rollup_t;

static souk_err_t rollup_tx(souk_db_conn_t *c, void *ud)
{
    rollup_t *r = ud;
    PGresult *res = NULL;
    souk_err_t err = souk_db_query(c, &q_rr, 0, NULL, NULL);
    if (!err)
        err = souk_db_query_one(c, &q_rollup_lock, 0, NULL, &res);
    bool mine = !err && souk_db_bool(res, 0, 0);
    PQclear(res);
    res = NULL;
    if (err || !mine)
        return err; /* another replica is folding */
    if ((err = souk_db_query_one(c, &q_rollup_hi, 0, NULL, &res)) != SOUK_OK)
        return err;
    char hi[24];
    snprintf(hi, sizeof(hi), "%s", PQgetvalue(res, 0, 0));
    r->folded = souk_db_int(res, 0, 1);
    PQclear(res);
    if (r->folded == 0)
        return SOUK_OK;
    const char *p[] = {hi};
    const souk_db_stmt_t *steps[] = {&q_fold_orders, &q_fold_users, &q_fold_lines, &q_fold_delete};
    for (size_t i = 0; i < SOUK_ARRAY_LEN(steps) && !err; i++)
        err = souk_db_query(c, steps[i], 1, p, NULL);
    return err;
}

souk_err_t store_rollup(souk_db_conn_t *c, long long *folded)
{
    rollup_t r = {0};
    souk_err_t err = souk_db_tx(c, rollup_tx, &r);
    *folded = err ? 0 : r.folded;
    return err;
}

souk_err_t store_journal_size(souk_db_conn_t *c, long long *rows)
{
    PGresult *res;
    souk_err_t err = souk_db_query_one(c, &q_journal, 0, NULL, &res);
    if (err)
        return err;
    *rows = souk_db_int(res, 0, 0);
    PQclear(res);
    return SOUK_OK;
}

/* ---- reports ---------------------------------------------------------------- */

static void range_params(const an_range_t *r, char from[11], char to[11])
{
    an_day_format(r->from, from);
    an_day_format(r->to, to);
}

/* Adds n to obj[key] (an integer member, created at 0). */
static void add_to(json_t *obj, const char *key, long long n)
{
    json_t *v = json_object_get(obj, key);
    json_object_set_new(obj, key, json_integer(json_integer_value(v) + n));
}

souk_err_t store_summary(souk_db_conn_t *c, const an_range_t *r, json_t **out)
{
    char from[11], to[11];
    range_params(r, from, to);
    const char *p[] = {from, to};
    PGresult *res;
    souk_err_t err = souk_db_query(c, &q_summary, 2, p, &res);
    if (err)
        return err;
    long long sums[5] = {0}, users = 0; /* placed confirmed rejected cancelled units */
    json_t *revenue = json_object(), *average = json_object();
    for (int i = 0; i < PQntuples(res); i++) {
        const char *cur = souk_db_value(res, i, 0);
        if (!cur) { /* the registrations' row */
            users = souk_db_int(res, i, 8);
            continue;
        }
        sums[0] += souk_db_int(res, i, 1);
        sums[1] += souk_db_int(res, i, 2);
        sums[2] += souk_db_int(res, i, 3);
        sums[3] += souk_db_int(res, i, 4);
        sums[4] += souk_db_int(res, i, 6);
        long long sold = souk_db_int(res, i, 5), rev = souk_db_int(res, i, 7);
        if (sold == 0 && rev == 0)
            continue;
        json_object_set_new(revenue, cur, json_integer(rev));
        if (sold > 0) /* rounded half away from zero */
            json_object_set_new(average, cur,
                                json_integer((rev + (rev >= 0 ? sold / 2 : -sold / 2)) / sold));
    }
    PQclear(res);
    *out =
        json_pack("{s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:I}", "orders_placed", (json_int_t)sums[0],
                  "orders_confirmed", (json_int_t)sums[1], "orders_rejected", (json_int_t)sums[2],
                  "orders_cancelled", (json_int_t)sums[3], "units_sold", (json_int_t)sums[4],
                  "revenue_by_currency", revenue, "average_order_cents_by_currency", average,
                  "new_users", (json_int_t)users);
    return SOUK_OK;
}

souk_err_t store_sales(souk_db_conn_t *c, const an_range_t *r, const char *interval, json_t **out)
{
    char from[11], to[11];
    range_params(r, from, to);
    PGresult *res;
    souk_err_t err = souk_db_query(c, &q_sales, 3, (const char *[]){from, to, interval}, &res);
    if (err)
        return err;
    json_t *items = json_array(), *cur = NULL;
    const char *cur_start = "";
    for (int i = 0; i < PQntuples(res); i++) {
        const char *start = PQgetvalue(res, i, 0);
        if (!cur || strcmp(start, cur_start) != 0) {
            char ts[32];
            snprintf(ts, sizeof(ts), "%sT00:00:00Z", start);
            cur = json_pack("{s:s, s:i, s:i, s:{}}", "period_start", ts, "orders", 0, "units", 0,
                            "revenue_by_currency");
            json_array_append_new(items, cur);
            cur_start = start;
        }
        const char *currency = souk_db_value(res, i, 1);
        if (!currency)
            continue; /* a period without sales */
        long long orders = souk_db_int(res, i, 2), units = souk_db_int(res, i, 3),
                  rev = souk_db_int(res, i, 4);
        add_to(cur, "orders", orders);
        add_to(cur, "units", units);
        if (orders != 0 || rev != 0)
            json_object_set_new(json_object_get(cur, "revenue_by_currency"), currency,
                                json_integer(rev));
    }
    PQclear(res);
    *out = json_pack("{s:o}", "items", items);
    return SOUK_OK;
}

souk_err_t store_top_products(souk_db_conn_t *c, const an_range_t *r, bool by_revenue, long limit,
                              json_t **out)
{
    char from[11], to[11], lim[16];
    range_params(r, from, to);
    snprintf(lim, sizeof(lim), "%ld", limit);
    PGresult *res;
    souk_err_t err = souk_db_query(c, by_revenue ? &q_top_revenue : &q_top_units, 3,
                                   (const char *[]){from, to, lim}, &res);
    if (err)
        return err;
    json_t *items = json_array();
    for (int i = 0; i < PQntuples(res); i++)
        json_array_append_new(items, json_pack("{s:s, s:s, s:I, s:I, s:s}", "product_id",
                                               PQgetvalue(res, i, 0), "name", PQgetvalue(res, i, 1),
                                               "units", (json_int_t)souk_db_int(res, i, 2),
                                               "revenue_cents", (json_int_t)souk_db_int(res, i, 3),
                                               "currency", PQgetvalue(res, i, 4)));
    PQclear(res);
    *out = json_pack("{s:o}", "items", items);
    return SOUK_OK;
}

souk_err_t store_categories(souk_db_conn_t *c, const an_range_t *r, json_t **out)
{
    char from[11], to[11];
    range_params(r, from, to);
    PGresult *res;
    souk_err_t err = souk_db_query(c, &q_categories, 2, (const char *[]){from, to}, &res);
    if (err)
        return err;
    json_t *items = json_array(), *cur = NULL;
    for (int i = 0; i < PQntuples(res); i++) {
        const char *cat = souk_db_value(res, i, 0);
        const char *prev = cur ? json_string_value(json_object_get(cur, "category")) : NULL;
        bool same = cur && ((!cat && !prev) || (cat && prev && strcmp(cat, prev) == 0));
        if (!same) {
            cur =
                json_pack("{s:s?, s:i, s:{}}", "category", cat, "units", 0, "revenue_by_currency");
            json_array_append_new(items, cur);
        }
        add_to(cur, "units", souk_db_int(res, i, 2));
        json_object_set_new(json_object_get(cur, "revenue_by_currency"), PQgetvalue(res, i, 1),
                            json_integer(souk_db_int(res, i, 3)));
    }
    PQclear(res);
    *out = json_pack("{s:o}", "items", items);
    return SOUK_OK;
}

/* ---- recommendations -------------------------------------------------------- */

static souk_err_t rec_rows(souk_db_conn_t *c, const souk_db_stmt_t *st, int n, const char *const *p,
                           json_t **items)
{
    PGresult *res;
    souk_err_t err = souk_db_query(c, st, n, p, &res);
    if (err)
        return err;
    *items = json_array();
    for (int i = 0; i < PQntuples(res); i++)
        json_array_append_new(*items, json_pack("{s:s, s:s, s:I, s:s}", "id", PQgetvalue(res, i, 0),
                                                "name", PQgetvalue(res, i, 1), "price_cents",
                                                (json_int_t)souk_db_int(res, i, 2), "currency",
                                                PQgetvalue(res, i, 3)));
    PQclear(res);
    return SOUK_OK;
}

/* Runs the strategies in order until one finds something; the last one's
 * (possibly empty) answer otherwise. */
typedef struct {
    const char *name;
    const souk_db_stmt_t *st;
    int n;
    const char *const *params;
} strategy_t;

static souk_err_t first_found(souk_db_conn_t *c, const strategy_t *s, size_t n,
                              const char **strategy, json_t **items)
{
    *items = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!s[i].st)
            continue; /* not applicable (a product without a category) */
        json_decref(*items);
        souk_err_t err = rec_rows(c, s[i].st, s[i].n, s[i].params, items);
        if (err) {
            *items = NULL;
            return err;
        }
        *strategy = s[i].name;
        if (json_array_size(*items) > 0)
            break;
    }
    return SOUK_OK;
}

souk_err_t store_recommend_product(souk_db_conn_t *c, const char *product_id, long limit,
                                   const char **strategy, json_t **items)
{
    char lim[16], category[256] = "";
    snprintf(lim, sizeof(lim), "%ld", limit);
    PGresult *res;
    souk_err_t err = souk_db_query_one(c, &q_product_info, 1, (const char *[]){product_id}, &res);
    bool has_category = false;
    if (err == SOUK_OK) {
        bool deleted = souk_db_bool(res, 0, 0);
        const char *cat = souk_db_value(res, 0, 1);
        has_category = cat != NULL;
        snprintf(category, sizeof(category), "%s", cat ? cat : "");
        PQclear(res);
        if (deleted)
            return SOUK_ENOTFOUND;
    } else if (err != SOUK_ENOTFOUND) {
        return err; /* an unknown product (not projected yet) gets bestsellers */
    }
    const strategy_t s[] = {
        {"co-purchase", &q_rec_co, 2, (const char *[]){product_id, lim}},
        {"category", has_category ? &q_rec_category : NULL, 3,
         (const char *[]){product_id, category, lim}},
        {"bestsellers", &q_rec_best, 2, (const char *[]){product_id, lim}},
    };
    return first_found(c, s, SOUK_ARRAY_LEN(s), strategy, items);
}

souk_err_t store_recommend_user(souk_db_conn_t *c, const char *user_id, long limit,
                                const char **strategy, json_t **items)
{
    char lim[16];
    snprintf(lim, sizeof(lim), "%ld", limit);
    const char *const p[] = {user_id, lim};
    const strategy_t s[] = {
        {"co-purchase", &q_rec_user_co, 2, p},
        {"category", &q_rec_user_category, 2, p},
        {"bestsellers", &q_rec_user_best, 2, p},
    };
    return first_found(c, s, SOUK_ARRAY_LEN(s), strategy, items);
}

typedef struct {
    souk_buf_t *out;
} collect_t;

static souk_err_t collect_fn(souk_db_conn_t *c, void *ud)
{
    long long rows = 0;
    souk_err_t err = store_journal_size(c, &rows);
    if (err)
        return err;
    return souk_buf_appendf(((collect_t *)ud)->out,
                            "# HELP analytics_journal_rows Changes not folded into the reports "
                            "yet.\n# TYPE analytics_journal_rows gauge\nanalytics_journal_rows "
                            "%lld\n",
                            rows);
}

souk_err_t an_collect(souk_buf_t *out, void *ud)
{
    an_app_t *app = ud;
    collect_t x = {out};
    souk_err_t err = souk_db_run(app->db, collect_fn, &x);
    return err == SOUK_ELIMIT ? err : SOUK_OK;
}
