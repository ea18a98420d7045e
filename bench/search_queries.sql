-- search_queries.sql: the search queries of the products scenario, drawn
-- from the vocabulary of the generated catalog (bench/catalog.sql), rare to
-- common. bench/run runs it with psql -At -v n=1000 against
-- PRODUCT_DATABASE_URL once the catalog is loaded; it prints n lines
-- "query|matches", in the order the load cycles through them.
--
-- Candidates: every word of three or more letters in the catalog's names and
-- descriptions (the fixed vocabulary and the makers' names; not the model
-- numbers), and every prefix of three or more letters of those words (what a
-- search box sees as someone types). Each candidate's expected number of
-- matches is estimated from how many products hold the words it begins;
-- candidates are then taken in turn from each half-decade of that estimate
-- (10-31, 32-99, 100-315, ...; within one, in an order fixed by md5), so
-- rare and common queries are equally represented until a band runs out.
--
-- matches: the number of products whose search text contains the query,
-- counted as product-service counts a search's total (search LIKE
-- '%query%', stopping at 1,001): up to 1,000 exact, 1001 meaning "more
-- than 1,000" (the service then answers an estimate, total_exact false).
\set ON_ERROR_STOP on
SET client_min_messages = warning;
SET random_page_cost = 1.1;

CREATE TEMP TABLE words AS
SELECT w, count(*) AS df
  FROM products, regexp_split_to_table(search, '[^a-z-]+') AS w
 WHERE w ~ '^[a-z][a-z-]*[a-z]$' AND length(w) >= 3
 GROUP BY w;

CREATE TEMP TABLE candidates AS
SELECT left(w, k) AS q, sum(df) AS est
  FROM words, generate_series(3, length(w)) AS k
 WHERE right(left(w, k), 1) <> '-'
 GROUP BY 1;

CREATE TEMP TABLE chosen AS
SELECT q, row_number() OVER (ORDER BY r, band) AS ord, NULL::integer AS matches
  FROM (SELECT q, floor(2 * log(est))::integer AS band,
               row_number() OVER (PARTITION BY floor(2 * log(est)) ORDER BY md5(q)) AS r
          FROM candidates) c
 ORDER BY r, band
 LIMIT :n;

-- Each count planned with its own pattern, as the service's unnamed
-- statement is.
DO $$
DECLARE
    c record;
    m integer;
BEGIN
    FOR c IN SELECT q FROM chosen LOOP
        EXECUTE 'SELECT count(*) FROM (SELECT 1 FROM products WHERE search LIKE $1 LIMIT 1001) s'
           INTO m USING '%' || c.q || '%';
        UPDATE chosen SET matches = m WHERE q = c.q;
    END LOOP;
END $$;

SELECT q, matches FROM chosen ORDER BY ord;
