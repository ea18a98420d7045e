-- search_plan.sql: EXPLAIN ANALYZE of the search that GET /products?q=WORD&limit=20
-- runs, for the products scenario's record. bench/run runs it with psql
-- against PRODUCT_DATABASE_URL, -v pattern=%WORD% (what souk_db_like_contains
-- makes of the word), and -v force_trigram=1 for a second reading with plain
-- index scans off (the planner then has only the trigram index, or a
-- sequential scan, left).
--
-- The statement is product-service's list query sorted by -created_at (the
-- default), as in services/product/src/store.c (q_list, SORT_CREATED_DESC),
-- with the settings its pool gives every connection
-- (services/product/src/main.c): plan_cache_mode=force_custom_plan, so each
-- execution is planned with its actual parameters, and random_page_cost=1.1.
-- Keep them in step. Three executions; bench/run reads the last (caches warm).
\set ON_ERROR_STOP on
SET plan_cache_mode = force_custom_plan;
SET random_page_cost = 1.1;
\if :{?force_trigram}
SET enable_indexscan = off;
\endif

PREPARE bench_search(text, text, bigint, bigint, bigint, bigint) AS
SELECT id, sku, name, description, price_cents, currency, stock, category,
       to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
       to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
       count(*) OVER ()
  FROM products
 WHERE ($1::text IS NULL OR (name || ' ' || description) ILIKE $1)
   AND ($2::text IS NULL OR category = $2)
   AND ($3::bigint IS NULL OR price_cents >= $3)
   AND ($4::bigint IS NULL OR price_cents <= $4)
 ORDER BY created_at DESC, id
 LIMIT $5 OFFSET $6;

EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_search(:'pattern', NULL, NULL, NULL, 20, 0);
EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_search(:'pattern', NULL, NULL, NULL, 20, 0);
EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_search(:'pattern', NULL, NULL, NULL, 20, 0);
