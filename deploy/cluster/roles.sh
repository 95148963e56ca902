#!/bin/sh
# Patroni's post_bootstrap (run once, on the first primary, as postgres): the owner of
# the tables (migrations) and the application's role, as docs/operations.md section 1
# creates them on one host; `manage.py db_roles` then grants the app role its rights.
#
#   roles.sh ROLES_ENV CONNECTION_URL     (Patroni appends the URL)
set -eu
. "$1"
psql -X -q -v ON_ERROR_STOP=1 "$2" \
  -c "CREATE ROLE altay_owner LOGIN PASSWORD '$OWNER_PASSWORD'" \
  -c "CREATE ROLE altay_app LOGIN PASSWORD '$APP_PASSWORD'" \
  -c "CREATE DATABASE $DATABASE OWNER altay_owner"
