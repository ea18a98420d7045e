-- One row per order that touched inventory: what was reserved, so a
-- cancellation releases exactly that, once. A cancellation that arrives before
-- any reservation leaves a 'cancelled' row, so a late order.placed reserves
-- nothing.
CREATE TABLE reservations (
    order_id   uuid PRIMARY KEY,
    status     text NOT NULL CHECK (status IN ('reserved', 'rejected', 'released', 'cancelled')),
    items      jsonb NOT NULL DEFAULT '[]',
    reason     text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
