-- analytics-service: projections of the orders, products and users topics,
-- a journal of changes, and the pre-aggregated rows reports read. Days are
-- the events' own days in UTC. No personal data: users are ids.

-- Each order's place in the figures (one row per order; only the handler of
-- that order's events writes it).
CREATE TABLE orders (
    order_id      uuid PRIMARY KEY,
    user_id       uuid NOT NULL,
    currency      text NOT NULL,
    status        text NOT NULL CHECK (status IN ('pending', 'confirmed', 'rejected', 'cancelled')),
    placed        boolean NOT NULL DEFAULT false, -- its order.placed was counted
    confirmed_day date,                            -- the day its sale counts on
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE products (
    product_id  uuid PRIMARY KEY,
    name        text,
    category    text,
    price_cents bigint,
    currency    text,
    deleted     boolean NOT NULL DEFAULT false,
    changed_at  timestamptz NOT NULL -- the newest event applied
);
CREATE INDEX products_category ON products (category) WHERE NOT deleted;

CREATE TABLE users (
    user_id        uuid PRIMARY KEY,
    registered_day date,
    deleted        boolean NOT NULL DEFAULT false
);

-- What the handlers changed and the roll-up has not folded yet. kind:
-- placed, rejected, cancelled (day: the event's), sold (day: the sale's),
-- unsold (day: the cancellation's, sale_day: the sale it undoes),
-- registered (day: the registration's).
CREATE TABLE changes (
    seq         bigserial PRIMARY KEY,
    kind        text NOT NULL
                CHECK (kind IN ('placed', 'rejected', 'cancelled', 'sold', 'unsold', 'registered')),
    day         date NOT NULL,
    sale_day    date,
    currency    text,
    user_id     uuid,
    total_cents bigint NOT NULL DEFAULT 0,
    units       bigint NOT NULL DEFAULT 0,
    items       jsonb
);

-- Per day and currency. sold_orders, units and revenue count confirmed
-- orders not cancelled afterwards, on the day of their confirmation.
CREATE TABLE daily_orders (
    day           date NOT NULL,
    currency      text NOT NULL,
    placed        bigint NOT NULL DEFAULT 0,
    confirmed     bigint NOT NULL DEFAULT 0,
    rejected      bigint NOT NULL DEFAULT 0,
    cancelled     bigint NOT NULL DEFAULT 0,
    sold_orders   bigint NOT NULL DEFAULT 0,
    units         bigint NOT NULL DEFAULT 0,
    revenue_cents bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (day, currency)
);

CREATE TABLE daily_users (
    day        date PRIMARY KEY,
    registered bigint NOT NULL DEFAULT 0
);

CREATE TABLE daily_products (
    day           date NOT NULL,
    product_id    uuid NOT NULL,
    currency      text NOT NULL,
    name          text NOT NULL,
    units         bigint NOT NULL DEFAULT 0,
    revenue_cents bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (day, product_id, currency)
);

-- category '' stands for "none".
CREATE TABLE daily_categories (
    day           date NOT NULL,
    category      text NOT NULL,
    currency      text NOT NULL,
    units         bigint NOT NULL DEFAULT 0,
    revenue_cents bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (day, category, currency)
);

-- Recommendations: how many sold orders held both products (both
-- directions stored), units sold per product, and what each user bought.
CREATE TABLE copurchases (
    product_id uuid NOT NULL,
    other_id   uuid NOT NULL,
    orders     bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (product_id, other_id)
);
CREATE TABLE product_sales (
    product_id uuid PRIMARY KEY,
    units      bigint NOT NULL DEFAULT 0
);
CREATE INDEX product_sales_units ON product_sales (units DESC, product_id);
CREATE TABLE user_products (
    user_id    uuid NOT NULL,
    product_id uuid NOT NULL,
    units      bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, product_id)
);
