-- search_plan.sql: EXPLAIN ANALYZE of what GET /products?q=QUERY&limit=20
-- runs in product-service, for the products scenario's record: the
-- collecting statement (up to 1,001 matches through the trigram index,
-- counted and the first page sorted, in one pass), which answers a search of
-- up to 1,000 matches on its own, then the walk (the index of the sort order,
-- filtered until a page is full), which answers one of more. The service
-- skips the collecting statement when the planner's estimate is sure of many
-- matches. bench/run runs it with psql against PRODUCT_DATABASE_URL,
-- -v pattern=%QUERY% (what souk_db_like_contains makes of a query of
-- letters) and -v q=QUERY (what the walk is given).
--
-- The statements are q_set and q_walk of services/product/src/store.c for
-- the default sort (newest first), with the setting the service's pool gives
-- every connection (services/product/src/main.c: random_page_cost=1.1). The
-- service runs them unnamed, planned with their actual values each time;
-- literal values do the same here. Keep them in step. Three executions of
-- each; bench/run reads the last of each (caches warm).
\set ON_ERROR_STOP on
SET random_page_cost = 1.1;

\set collect 'EXPLAIN (ANALYZE, BUFFERS) WITH m AS MATERIALIZED (SELECT * FROM products WHERE (' :'pattern' '::text IS NULL OR search LIKE lower(' :'pattern' ')) AND (NULL::text IS NULL OR category = NULL) AND (NULL::bigint IS NULL OR price_cents >= NULL) AND (NULL::bigint IS NULL OR price_cents <= NULL) LIMIT 1001) SELECT id, sku, name, description, price_cents, currency, stock, category, to_char(created_at AT TIME ZONE ''UTC'', ''YYYY-MM-DD"T"HH24:MI:SS.MS"Z"''), to_char(updated_at AT TIME ZONE ''UTC'', ''YYYY-MM-DD"T"HH24:MI:SS.MS"Z"''), c.n FROM (SELECT count(*) AS n FROM m) AS c LEFT JOIN LATERAL (SELECT * FROM m ORDER BY created_at DESC, id LIMIT 20 OFFSET 0) AS p ON true ORDER BY created_at DESC, id'
:collect;
:collect;
:collect;

\set walk 'EXPLAIN (ANALYZE, BUFFERS) SELECT id, sku, name, description, price_cents, currency, stock, category, to_char(created_at AT TIME ZONE ''UTC'', ''YYYY-MM-DD"T"HH24:MI:SS.MS"Z"''), to_char(updated_at AT TIME ZONE ''UTC'', ''YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'') FROM products WHERE (' :'q' '::text IS NULL OR strpos(search, lower(' :'q' ')) > 0) AND (NULL::text IS NULL OR category = NULL) AND (NULL::bigint IS NULL OR price_cents >= NULL) AND (NULL::bigint IS NULL OR price_cents <= NULL) ORDER BY created_at DESC, id LIMIT 20 OFFSET 0'
:walk;
:walk;
:walk;
