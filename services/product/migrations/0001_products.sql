-- The catalog. Search is a trigram index over name and description, so
-- "q=" substring searches stay indexed (no sequential ILIKE scan).

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE products (
    id          uuid PRIMARY KEY,
    sku         text UNIQUE CHECK (char_length(sku) BETWEEN 1 AND 64),
    name        text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    description text NOT NULL DEFAULT '' CHECK (char_length(description) <= 5000),
    price_cents bigint NOT NULL CHECK (price_cents >= 0 AND price_cents < 1000000000000),
    currency    text NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$'),
    stock       integer NOT NULL CHECK (stock >= 0),
    category    text CHECK (char_length(category) BETWEEN 1 AND 100),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX products_search ON products USING gin ((name || ' ' || description) gin_trgm_ops);
CREATE INDEX products_category ON products (category, created_at DESC, id);
CREATE INDEX products_price ON products (price_cents, id);
CREATE INDEX products_name ON products (name, id);
CREATE INDEX products_created ON products (created_at DESC, id);
