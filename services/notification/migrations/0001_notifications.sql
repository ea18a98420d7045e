-- notification-service's own copy of what it needs about people, their
-- preferences, in-app notifications, and the emails it means to send.

-- From the users topic: where emails go and how to greet. A deleted user's
-- row is removed and their id remembered in erased_users, so a late order
-- event cannot bring anything about them back.
CREATE TABLE recipients (
    user_id    uuid PRIMARY KEY,
    email      text NOT NULL,
    name       text,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE erased_users (
    user_id   uuid PRIMARY KEY,
    erased_at timestamptz NOT NULL DEFAULT now()
);

-- Only users who changed something have a row: no row means both true.
CREATE TABLE preferences (
    user_id       uuid PRIMARY KEY,
    order_updates boolean NOT NULL DEFAULT true,
    welcome       boolean NOT NULL DEFAULT true,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- In-app notifications; one per (event, user).
CREATE TABLE notifications (
    id         uuid PRIMARY KEY,
    user_id    uuid NOT NULL,
    event_id   text NOT NULL,
    type       text NOT NULL,
    title      text NOT NULL,
    body       text NOT NULL,
    data       jsonb NOT NULL DEFAULT '{}',
    read_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT notifications_once UNIQUE (event_id, user_id)
);
CREATE INDEX notifications_user ON notifications (user_id, created_at DESC, id);
CREATE INDEX notifications_unread ON notifications (user_id) WHERE read_at IS NULL;

-- Emails: the intent is recorded first (pending), the sender claims a row
-- (sending, one more attempt) before it talks SMTP and marks it sent after;
-- a row left sending past its lease belonged to a sender that died, and is
-- sent again (counted in resends). One per (event, recipient, channel).
CREATE TABLE deliveries (
    id              uuid PRIMARY KEY,
    event_id        text NOT NULL,
    user_id         uuid NOT NULL,
    channel         text NOT NULL DEFAULT 'email' CHECK (channel IN ('email')),
    kind            text NOT NULL,
    subject         text NOT NULL,
    text_body       text NOT NULL,
    html_body       text NOT NULL,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    resends         integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    claimed_at      timestamptz,
    sent_at         timestamptz,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT deliveries_once UNIQUE (event_id, user_id, channel)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_claimed ON deliveries (claimed_at) WHERE status = 'sending';
CREATE INDEX deliveries_status ON deliveries (status, created_at DESC, id);
CREATE INDEX deliveries_user ON deliveries (user_id);

-- Wakes the sender when an email becomes due (it also looks every second).
CREATE FUNCTION notification_deliveries_notify() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN PERFORM pg_notify('notification_deliveries', ''); RETURN NULL; END $$;
CREATE TRIGGER deliveries_notify AFTER INSERT OR UPDATE OF status, next_attempt_at ON deliveries
    FOR EACH ROW WHEN (NEW.status = 'pending') EXECUTE FUNCTION notification_deliveries_notify();
