-- get_plan.sql: EXPLAIN ANALYZE of the statement behind GET /products/{id}
-- when it reaches PostgreSQL (a read the product cache did not answer), for
-- the products scenario's record: planning and execution time with a custom
-- plan per execution and with the generic plan a prepared statement may
-- reuse (what pgbench -M prepared does). bench/run runs it with psql
-- against PRODUCT_DATABASE_URL, -v id=<a product id> and
-- -v plan=force_custom_plan or force_generic_plan, and states beside the
-- figures which plan_cache_mode product-service's pool sets.
--
-- The statement is q_get ("product_get", a named statement prepared once
-- per connection) of services/product/src/store.c, with the planner setting
-- its pool gives every connection (services/product/src/main.c). Keep them
-- in step. Three executions; bench/run reads the last.
\set ON_ERROR_STOP on
SET plan_cache_mode = :plan;
SET random_page_cost = 1.1;

PREPARE bench_get(uuid) AS
SELECT id, sku, name, description, price_cents, currency, stock, category,
       to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
       to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
  FROM products
 WHERE id = $1;

EXPLAIN (ANALYZE) EXECUTE bench_get(:'id');
EXPLAIN (ANALYZE) EXECUTE bench_get(:'id');
EXPLAIN (ANALYZE) EXECUTE bench_get(:'id');
