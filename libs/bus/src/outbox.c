/* outbox.c: the producer side of the transactional outbox. An event is a row
 * written in the caller's transaction; a statement trigger NOTIFYs the relay,
 * which sees the row only once the transaction commits. */
#include "bus_int.h"

#include <string.h>

static const char schema[] =
    "CREATE TABLE outbox ("
    "  seq bigserial PRIMARY KEY,"
    "  id uuid NOT NULL,"
    "  topic text NOT NULL,"
    "  key text NOT NULL,"
    "  payload text NOT NULL,"
    "  traceparent text,"
    "  created_at timestamptz NOT NULL DEFAULT now(),"
    "  sent_at timestamptz);"
    "CREATE INDEX outbox_unsent ON outbox (seq) WHERE sent_at IS NULL;"
    "CREATE INDEX outbox_sent_at ON outbox (sent_at) WHERE sent_at IS NOT NULL;"
    "CREATE FUNCTION souk_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS"
    " $$ BEGIN PERFORM pg_notify('souk_outbox', ''); RETURN NULL; END $$;"
    "CREATE TRIGGER outbox_notify AFTER INSERT ON outbox"
    " FOR EACH STATEMENT EXECUTE FUNCTION souk_outbox_notify();"
    "CREATE TABLE processed_events ("
    "  event_id text PRIMARY KEY,"
    "  type text NOT NULL,"
    "  topic text NOT NULL,"
    "  outcome text NOT NULL DEFAULT 'handled',"
    "  processed_at timestamptz NOT NULL DEFAULT now());";

/* Events that can never be handled, kept for people to look at (and replay
 * by hand) instead of being dropped. */
static const char dead_letters[] =
    "CREATE TABLE dead_letters ("
    "  id bigserial PRIMARY KEY,"
    "  event_id text,"
    "  type text,"
    "  source text,"
    "  topic text NOT NULL,"
    "  partition integer NOT NULL,"
    "  kafka_offset bigint NOT NULL,"
    "  reason text NOT NULL,"
    "  attempts integer NOT NULL,"
    "  payload text,"
    "  created_at timestamptz NOT NULL DEFAULT now());"
    "CREATE INDEX dead_letters_created ON dead_letters (created_at);";

const souk_migration_t souk_bus_migrations[] = {
    {"bus_0001_outbox_inbox.sql", schema},
    {"bus_0002_dead_letters.sql", dead_letters},
    {NULL, NULL},
};

static const souk_db_stmt_t q_add = {"bus_outbox_add",
                                     "INSERT INTO outbox (id, topic, key, payload, traceparent)"
                                     " VALUES ($1, $2, $3, $4, $5)"};

souk_err_t souk_outbox_add(souk_db_conn_t *c, const char *source, const souk_outbox_msg_t *m)
{
    char id[SOUK_UUID_STRLEN + 1], now[SOUK_RFC3339_LEN];
    souk_uuid_v4(id);
    souk_time_rfc3339(souk_now_unix_ms(), now);
    json_t *env = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:O}", "specversion", "1.0", "id",
                            id, "source", source, "type", m->type, "time", now, "subject",
                            m->subject ? m->subject : m->key, "datacontenttype", "application/json",
                            "data", m->data);
    char *payload = env ? json_dumps(env, JSON_COMPACT) : NULL;
    json_decref(env);
    if (!payload)
        return SOUK_EINVAL;
    const char *tp = m->traceparent && *m->traceparent ? m->traceparent : NULL;
    souk_err_t err =
        souk_db_query(c, &q_add, 5, (const char *[]){id, m->topic, m->key, payload, tp}, NULL);
    free(payload);
    return err;
}
