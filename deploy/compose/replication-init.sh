#!/bin/bash
# Runs once, when the postgres image initialises a primary's empty data directory
# (/docker-entrypoint-initdb.d): a role its streaming replica connects as, the physical slot that
# keeps the WAL the replica still needs, and a pg_hba line admitting replication connections.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
  CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD '${REPLICATION_PASSWORD}';
  SELECT pg_create_physical_replication_slot('replica_1');
SQL
echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"
