-- The trigram index takes new entries directly. With GIN's default fast
-- update they wait in a pending list (up to 4 MB) that every search reads
-- through in full until a vacuum merges it: after a catalog import, a rare
-- word's search took 1.3 ms instead of 0.16. Catalog writes are rare next to
-- searches, and stock changes do not touch the index (heap-only updates).
ALTER INDEX products_search SET (fastupdate = off);
SELECT gin_clean_pending_list('products_search'::regclass);
