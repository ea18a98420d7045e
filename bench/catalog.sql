-- catalog.sql: a generated catalog for the products scenario, in one
-- statement, straight into product-service's database (bench/run runs it
-- with psql -v n=100000 against PRODUCT_DATABASE_URL, then ANALYZE).
--
-- Names and descriptions come from a fixed vocabulary, so the search words
-- of the scenario match known shares of the catalog:
--   "kettle"  one noun of 20, in the name and the description: 5 %
--   "walnut"  a trim added to about 1 % of the products (by a hash of i)
--   "zircon"  an inlay added to about 0.1 % of the products (another hash)
-- None of the three is part of any other word of the vocabulary; bench/run
-- counts the actual matches and records them next to the figures.
-- Every product gets a gen_random_uuid() id, a unique sku (BENCH-000001...),
-- a category that follows its noun, a price, stock, and its own created_at
-- (one second apart), so sorting by created_at is a total order.
\set ON_ERROR_STOP on

INSERT INTO products (id, sku, name, description, price_cents, currency, stock, category,
                      created_at, updated_at)
SELECT gen_random_uuid(),
       'BENCH-' || lpad(g.i::text, 6, '0'),
       v.adj[1 + (g.i * 7) % 25] || ' ' || v.noun[1 + g.i % 20] || ' ' || (100 + g.i % 900),
       CASE WHEN left(v.adj[1 + (g.i * 13) % 25], 1) IN ('A', 'E', 'I', 'O', 'U')
            THEN 'An ' ELSE 'A ' END
           || lower(v.adj[1 + (g.i * 13) % 25]) || ' ' || lower(v.noun[1 + g.i % 20])
           || ' in ' || v.colour[1 + (hashint4(g.i + 2000000)::bigint & 2147483647) % 12]
           || ', made of ' || v.material[1 + (hashint4(g.i + 3000000)::bigint & 2147483647) % 10]
           || '. ' || v.feature[1 + (g.i * 17) % 8] || '.'
           || CASE WHEN (hashint4(g.i)::bigint & 2147483647) % 100 = 37
                   THEN ' Walnut trim.' ELSE '' END
           || CASE WHEN (hashint4(g.i + 1000000)::bigint & 2147483647) % 1000 = 411
                   THEN ' Hand-set zircon inlay.' ELSE '' END,
       199 + (g.i * 7919) % 49801,
       'USD',
       (g.i * 31) % 500,
       v.category[1 + g.i % 20],
       now() - make_interval(secs => g.i),
       now() - make_interval(secs => g.i)
FROM generate_series(1, :n) AS g(i),
     (SELECT ARRAY['Classic', 'Compact', 'Rustic', 'Modern', 'Vintage', 'Sleek', 'Sturdy',
                   'Handmade', 'Portable', 'Deluxe', 'Minimal', 'Elegant', 'Rugged', 'Smart',
                   'Cozy', 'Bold', 'Premium', 'Essential', 'Nordic', 'Urban', 'Coastal',
                   'Heritage', 'Studio', 'Everyday', 'Travel'] AS adj,
             ARRAY['Lamp', 'Chair', 'Table', 'Kettle', 'Backpack', 'Blanket', 'Mug', 'Speaker',
                   'Keyboard', 'Jacket', 'Sneaker', 'Clock', 'Wallet', 'Bottle', 'Pillow',
                   'Headphones', 'Notebook', 'Skillet', 'Umbrella', 'Planter'] AS noun,
             ARRAY['lighting', 'furniture', 'furniture', 'kitchen', 'bags', 'home', 'kitchen',
                   'audio', 'computers', 'clothing', 'shoes', 'home', 'accessories', 'kitchen',
                   'home', 'audio', 'office', 'kitchen', 'accessories', 'garden'] AS category,
             ARRAY['red', 'blue', 'green', 'black', 'white', 'grey', 'navy', 'olive', 'amber',
                   'ivory', 'teal', 'coral'] AS colour,
             ARRAY['oak', 'steel', 'cotton', 'wool', 'leather', 'bamboo', 'glass', 'ceramic',
                   'linen', 'canvas'] AS material,
             ARRAY['Easy to clean', 'Built to last', 'Ships in recycled packaging',
                   'Two-year warranty', 'Designed for everyday use', 'Lightweight and durable',
                   'Water resistant', 'Gift ready'] AS feature) AS v;
