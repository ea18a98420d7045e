-- Roles beyond customer and admin (libs/auth's table); accounts created by an
-- OpenID Connect provider, which have no password; the provider identities
-- linked to users; single-use login states and codes; OAuth 2.0 machine
-- clients; the audit log.

ALTER TABLE users DROP CONSTRAINT users_roles_known;
ALTER TABLE users ADD CONSTRAINT users_roles_known
    CHECK (roles <@ ARRAY['customer', 'catalog', 'support', 'analyst', 'admin']
           AND cardinality(roles) > 0);
ALTER TABLE users ALTER COLUMN password_hash DROP NOT NULL;

-- (provider, subject) names one person at one provider for good; an email
-- may change there, the subject does not.
CREATE TABLE user_identities (
    provider   text NOT NULL,
    subject    text NOT NULL,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, subject)
);
CREATE INDEX user_identities_user ON user_identities (user_id);

-- An authorization request in flight: found by the hash of its state, used
-- once (deleted when the callback takes it), dead after expires_at.
CREATE TABLE oauth_states (
    state_hash    bytea PRIMARY KEY,
    provider      text NOT NULL,
    nonce         text NOT NULL,
    code_verifier text NOT NULL,
    redirect_uri  text NOT NULL,
    expires_at    timestamptz NOT NULL
);

-- The one-time code the callback hands the front end, exchanged for tokens.
CREATE TABLE login_codes (
    code_hash  bytea PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at timestamptz NOT NULL
);

-- Machine clients (RFC 6749 §4.4). The secret is random (32 bytes) and kept
-- only as a hash; a deleted client stays as a row while tokens issued to it
-- may still be alive, so verifiers can be told to refuse them.
CREATE TABLE oauth_clients (
    id          uuid PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    secret_hash bytea NOT NULL,
    scopes      text[] NOT NULL,
    created_by  uuid,
    created_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz
);
CREATE INDEX oauth_clients_live ON oauth_clients (created_at DESC, id) WHERE deleted_at IS NULL;
CREATE INDEX oauth_clients_deleted ON oauth_clients (deleted_at) WHERE deleted_at IS NOT NULL;

-- Security-relevant actions of every service. Entries from other services
-- arrive as events (event_id: one entry per event however often delivered).
CREATE TABLE audit_log (
    id          uuid PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor_id    uuid,
    actor_type  text NOT NULL CHECK (actor_type IN ('user', 'client')),
    action      text NOT NULL,
    target_type text,
    target_id   text,
    outcome     text NOT NULL CHECK (outcome IN ('success', 'failure')),
    client_ip   text,
    request_id  text,
    event_id    text UNIQUE
);
CREATE INDEX audit_log_at ON audit_log (at DESC, id);
CREATE INDEX audit_log_actor ON audit_log (actor_id, at DESC);
CREATE INDEX audit_log_action ON audit_log (action, at DESC);
