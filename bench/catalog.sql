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
-- Every description also names a maker ("By Alard."), made of two parts
-- (40 x 50 = 2,000 makers) and drawn with a long tail: maker k of 0..1999
-- comes up with probability ~ (k+1)^(1/4) - k^(1/4) over 2000^(1/4), so
-- the first holds about 5 % of the catalog and the last about 0.012 %
-- (some twelve products of 100,000). The makers give the search queries
-- (bench/search_queries.sql) their rare end; a common prefix of them ("ala",
-- "bel") matches thousands.
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
                   THEN ' Hand-set zircon inlay.' ELSE '' END
           || ' By ' || v.maker_a[1 + m.k / 50] || v.maker_b[1 + m.k % 50] || '.',
       199 + (g.i * 7919) % 49801,
       'USD',
       (g.i * 31) % 500,
       v.category[1 + g.i % 20],
       now() - make_interval(secs => g.i),
       now() - make_interval(secs => g.i)
FROM generate_series(1, :n) AS g(i)
     CROSS JOIN LATERAL (SELECT least(1999, floor(2000 * power(
                ((hashint4(g.i + 4000000)::bigint & 2147483647) / 2147483648.0), 4)))::integer AS k) AS m,
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
                   'Water resistant', 'Gift ready'] AS feature,
             ARRAY['Al', 'Bel', 'Cor', 'Dun', 'El', 'Far', 'Gil', 'Hol', 'Is', 'Jun', 'Kal',
                   'Lor', 'Mor', 'Nes', 'Ost', 'Pal', 'Quor', 'Ros', 'Sil', 'Tam', 'Ul', 'Ver',
                   'Wil', 'Yor', 'Zan', 'Ash', 'Bry', 'Cal', 'Dor', 'Eb', 'Fin', 'Gor', 'Hav',
                   'Ing', 'Jas', 'Kir', 'Lum', 'Mal', 'Nor', 'Orn'] AS maker_a,
             ARRAY['ard', 'berg', 'by', 'dale', 'den', 'ell', 'feld', 'gate', 'ham', 'holm',
                   'ia', 'ica', 'ion', 'ix', 'ley', 'lin', 'lund', 'mark', 'mere', 'mont',
                   'ness', 'nova', 'ora', 'quist', 'ric', 'ridge', 'rock', 'sen', 'sted', 'son',
                   'stad', 'ston', 'strom', 'ta', 'thorpe', 'ton', 'vale', 'vik', 'wick',
                   'worth', 'ya', 'yn', 'za', 'ara', 'ette', 'ika', 'umbra', 'ende', 'ola',
                   'ux'] AS maker_b) AS v;
