-- search_plan.sql: EXPLAIN ANALYZE of what GET /products?q=QUERY&limit=20
-- runs in product-service, for the products scenario's record: first the
-- total (a count that stops at 1,001 matches), then the first page, by the
-- plan the service picks from that count: with up to 1,000 matches the
-- matching rows are collected through the trigram index and then sorted
-- (-v few=1); with more, the index of the sort order is walked and filtered
-- until a page is full (-v few=0). bench/run runs it with psql against
-- PRODUCT_DATABASE_URL and -v pattern=%QUERY% (what souk_db_like_contains
-- makes of a query of letters).
--
-- The statements are q_count, q_set and q_walk of
-- services/product/src/store.c for the default sort (newest first), with the
-- setting the service's pool gives every connection
-- (services/product/src/main.c: random_page_cost=1.1). The service runs
-- them unnamed, planned with their actual values each time; literal values
-- do the same here. Keep them in step. Three executions of each; bench/run
-- reads the last of each (caches warm).
\set ON_ERROR_STOP on
SET random_page_cost = 1.1;

\set count 'EXPLAIN (ANALYZE, BUFFERS) SELECT count(*) FROM (SELECT 1 FROM products WHERE (' :'pattern' '::text IS NULL OR search LIKE lower(' :'pattern' ')) AND (NULL::text IS NULL OR category = NULL) AND (NULL::bigint IS NULL OR price_cents >= NULL) AND (NULL::bigint IS NULL OR price_cents <= NULL) LIMIT 1001) AS capped'
:count;
:count;
:count;

\if :few
\set page 'EXPLAIN (ANALYZE, BUFFERS) WITH m AS MATERIALIZED (SELECT * FROM products WHERE (' :'pattern' '::text IS NULL OR search LIKE lower(' :'pattern' ')) AND (NULL::text IS NULL OR category = NULL) AND (NULL::bigint IS NULL OR price_cents >= NULL) AND (NULL::bigint IS NULL OR price_cents <= NULL)) SELECT id, sku, name, description, price_cents, currency, stock, category, to_char(created_at AT TIME ZONE ''UTC'', ''YYYY-MM-DD"T"HH24:MI:SS.MS"Z"''), to_char(updated_at AT TIME ZONE ''UTC'', ''YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'') FROM m ORDER BY created_at DESC, id LIMIT 20 OFFSET 0'
\else
\set page 'EXPLAIN (ANALYZE, BUFFERS) SELECT id, sku, name, description, price_cents, currency, stock, category, to_char(created_at AT TIME ZONE ''UTC'', ''YYYY-MM-DD"T"HH24:MI:SS.MS"Z"''), to_char(updated_at AT TIME ZONE ''UTC'', ''YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'') FROM products WHERE (' :'pattern' '::text IS NULL OR (search || '''') LIKE lower(' :'pattern' ')) AND (NULL::text IS NULL OR category = NULL) AND (NULL::bigint IS NULL OR price_cents >= NULL) AND (NULL::bigint IS NULL OR price_cents <= NULL) ORDER BY created_at DESC, id LIMIT 20 OFFSET 0'
\endif
:page;
:page;
:page;
