-- A search's plan depends on how many products it matches (store.c): a
-- finer histogram of the search text lets the planner tell a common word
-- from a rare one well enough to skip counting the common ones.
ALTER TABLE products ALTER COLUMN search SET STATISTICS 1000;
ANALYZE products;
