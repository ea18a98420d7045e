-- Search matches against a stored lower-case copy of name and description:
-- the trigram index serves LIKE on it directly, and rechecking a candidate
-- row is a plain LIKE instead of case-folding two columns per row (ILIKE).
ALTER TABLE products
    ADD COLUMN search text GENERATED ALWAYS AS (lower(name || ' ' || description)) STORED;
DROP INDEX products_search;
CREATE INDEX products_search ON products USING gin (search gin_trgm_ops);
