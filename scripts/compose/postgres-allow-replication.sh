#!/bin/sh
# Run once by the postgres image when it initialises its data folder (docker-entrypoint-initdb.d):
# lets the scale-out profile's replica (postgres-replica) stream WAL with the postgres user's password.
set -e
echo "host replication all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
