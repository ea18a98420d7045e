#!/bin/bash
# Creates one database and one owning role per souk service, on a cluster's
# first start: souk_<name> for each name in SOUK_DATABASES (default: auth
# product order notification analytics), password SOUK_DB_PASSWORD. Run by the
# PostgreSQL image's entrypoint from /docker-entrypoint-initdb.d (the official
# image and deploy/compose/local/Dockerfile's stand-in alike), as the
# superuser over the local socket; also usable against a managed server (RDS)
# as a CREATEROLE/CREATEDB user through PGHOST, PGPASSWORD, ... Idempotent.
set -euo pipefail
: "${SOUK_DB_PASSWORD:?SOUK_DB_PASSWORD must be set}"
for name in ${SOUK_DATABASES:-auth product order notification analytics}; do
    if [[ ! $name =~ ^[a-z][a-z0-9_]*$ ]]; then
        echo "init-databases: bad service name '$name'" >&2
        exit 1
    fi
    db=souk_$name
    psql -v ON_ERROR_STOP=1 -X -q --username "${POSTGRES_USER:-postgres}" --dbname postgres \
        -v db="$db" -v pw="$SOUK_DB_PASSWORD" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'db', :'pw')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'db') \gexec
-- A CREATEROLE user that is no superuser (RDS's master user) may only make
-- a database owned by a role it belongs to.
SELECT format('GRANT %I TO %I', :'db', current_user)
 WHERE NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
   AND NOT pg_has_role(current_user, :'db', 'MEMBER') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'db')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'db') \gexec
SQL
    echo "init-databases: $db ready"
done
