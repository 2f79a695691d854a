#!/bin/bash
# First start of the dev PostgreSQL (docker-entrypoint-initdb.d): one login role and one
# database per service, the database owned by the role of the same name (auth-service →
# auth_service). Passwords come from the environment (Secret `postgres-init`).
set -euo pipefail
for pair in auth_service:AUTH_DB_PASSWORD patient_service:PATIENT_DB_PASSWORD \
  appointment_service:APPOINTMENT_DB_PASSWORD billing_service:BILLING_DB_PASSWORD \
  notification_service:NOTIFICATION_DB_PASSWORD; do
  name=${pair%%:*}
  variable=${pair#*:}
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v name="$name" -v password="${!variable}" <<'SQL'
CREATE ROLE :"name" LOGIN PASSWORD :'password';
CREATE DATABASE :"name" OWNER :"name";
SQL
done
