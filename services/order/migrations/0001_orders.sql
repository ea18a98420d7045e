-- Orders and their lines. Names and prices are snapshotted at placement, so an
-- order keeps what the customer saw whatever the catalog does later.

CREATE TABLE orders (
    id              uuid PRIMARY KEY,
    user_id         uuid NOT NULL,
    status          text NOT NULL CHECK (status IN ('pending', 'confirmed', 'rejected', 'cancelled')),
    reason          text,
    total_cents     bigint NOT NULL CHECK (total_cents >= 0),
    currency        text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    idempotency_key text,
    request_hash    text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT orders_idempotency UNIQUE (user_id, idempotency_key)
);
CREATE INDEX orders_user ON orders (user_id, created_at DESC, id);
CREATE INDEX orders_created ON orders (created_at DESC, id);
CREATE INDEX orders_status ON orders (status);

CREATE TABLE order_items (
    order_id         uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    product_id       uuid NOT NULL,
    name             text NOT NULL,
    quantity         integer NOT NULL CHECK (quantity BETWEEN 1 AND 1000),
    unit_price_cents bigint NOT NULL CHECK (unit_price_cents >= 0),
    PRIMARY KEY (order_id, product_id)
);
