-- search_plan.sql: EXPLAIN ANALYZE of the search that GET /products?q=WORD&limit=20
-- runs, for the products scenario's record. bench/run runs it with psql
-- against PRODUCT_DATABASE_URL, -v pattern=%WORD% (what souk_db_like_contains
-- makes of the word), and -v force_trigram=1 for a second reading with plain
-- index scans off (the planner then has only the trigram index, or a
-- sequential scan, left).
--
-- The statement is the total that product-service counts beside every page
-- of results (services/product/src/store.c, q_count): the costly half of a
-- search, since the page itself (LIMIT 20, newest first) stops early. It runs
-- with the settings the service's pool gives every connection
-- (services/product/src/main.c): plan_cache_mode=force_custom_plan, so each
-- execution is planned with its actual parameters, and random_page_cost=1.1.
-- Keep them in step. Three executions; bench/run reads the last (caches warm).
\set ON_ERROR_STOP on
SET plan_cache_mode = force_custom_plan;
SET random_page_cost = 1.1;
\if :{?force_trigram}
SET enable_indexscan = off;
\endif

PREPARE bench_search(text, text, bigint, bigint) AS
SELECT count(*)
  FROM products
 WHERE ($1::text IS NULL OR search LIKE lower($1))
   AND ($2::text IS NULL OR category = $2)
   AND ($3::bigint IS NULL OR price_cents >= $3)
   AND ($4::bigint IS NULL OR price_cents <= $4);

EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_search(:'pattern', NULL, NULL, NULL);
EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_search(:'pattern', NULL, NULL, NULL);
EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_search(:'pattern', NULL, NULL, NULL);
