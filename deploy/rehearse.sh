#!/usr/bin/env bash
# A rehearsal of docs/operations.md on one host (issue 19): its section 1 (install), 5
# (backup and restore) and 6 (/readyz) followed as written, as root, from a clone of
# this repository. Where the host has no systemd as PID 1 (a container, this build
# machine) each unit's ExecStart runs as a plain process under the unit's User with its
# EnvironmentFile: the same command lines. Run it on a scratch host only: it creates the
# user `altay`, the database `altay_skills`, /srv/altay-skills and /etc/altay-skills.
#
#   bash deploy/rehearse.sh [REPOSITORY]      (default: this checkout)
set -euo pipefail
REPO=${1:-$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)}
SRV=/srv/altay-skills
APP=$SRV/app
ENVFILE=/etc/altay-skills/env
say() { printf '\n== %s\n' "$*"; }
as_altay() { runuser -u altay -- sh -c "set -a; . $ENVFILE; set +a; cd $APP && $1"; }
stop_units() { # what systemctl stop does: TERM, then KILL after the units' timeout
  pkill -TERM -u altay -f 'bin/(gunicorn|celery)' || return 0
  for _ in $(seq 60); do pgrep -u altay -f 'bin/(gunicorn|celery)' >/dev/null || return 0; sleep 1; done
  pkill -KILL -u altay -f 'bin/(gunicorn|celery)' || true
}
unit_exec() { # the ExecStart lines of a unit, %%H as systemd expands it
  sed -n 's/^ExecStart=//p' "$APP/deploy/systemd/$1" | sed "s/%%H/$(hostname)/g"
}

say "1. packages"
apt-get install -o DPkg::Lock::Timeout=600 -y -qq --no-install-recommends python3.11 python3.11-venv postgresql-client \
  redis-server nginx git make openssl >/dev/null

say "1. the user and the folders"
id altay >/dev/null 2>&1 && stop_units  # a rehearsal before this one
id altay >/dev/null 2>&1 || adduser --system --group --home $SRV altay >/dev/null
install -d -o altay -g altay $SRV/{media,backups,static} /etc/altay-skills
rm -rf $APP && git clone -q "$REPO" $APP && chown -R altay:altay $APP
runuser -u altay -- make -C $APP venv >/dev/null

say "1. the database: an owner for migrations and the application's role (db_roles grants)"
OWNER_PW=$(openssl rand -hex 16) APP_PW=$(openssl rand -hex 16)
psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS altay_skills" \
  -c "DROP ROLE IF EXISTS altay_app" -c "DROP ROLE IF EXISTS altay_owner"
psql -q -h 127.0.0.1 -U postgres -c "CREATE ROLE altay_owner LOGIN PASSWORD '$OWNER_PW'" \
  -c "CREATE ROLE altay_app LOGIN PASSWORD '$APP_PW'"
createdb -h 127.0.0.1 -U postgres -O altay_owner altay_skills

say "1. the environment, from .env.example"
install -m 0640 -o root -g altay $APP/.env.example $ENVFILE
sed -i \
  -e "s|^SECRET_KEY=.*|SECRET_KEY=$(openssl rand -base64 48 | tr -d '\n')|" \
  -e "s|^AUDIT_KEY=.*|AUDIT_KEY=$(openssl rand -base64 48 | tr -d '\n')|" \
  -e "s|^DATABASE_URL=.*|DATABASE_URL=postgres://altay_app:$APP_PW@127.0.0.1:5432/altay_skills|" \
  -e "s|^MIGRATION_DATABASE_URL=.*|MIGRATION_DATABASE_URL=postgres://altay_owner:$OWNER_PW@127.0.0.1:5432/altay_skills|" \
  -e "s|^REDIS_URL=.*|REDIS_URL=redis://127.0.0.1:6379/9|" \
  -e "s|^PROMETHEUS_MULTIPROC_DIR=.*|PROMETHEUS_MULTIPROC_DIR=/run/altay-skills-metrics|" \
  $ENVFILE
install -d -o altay -g altay /run/altay-skills-metrics $SRV/backups/audit-anchors

say "1. altay-skills-migrate (migrate, db_roles, collectstatic)"
while read -r line; do as_altay "$line"; done < <(unit_exec altay-skills-migrate.service)

say "1. web, worker and beat from their units' ExecStart"
for u in web worker beat; do
  as_altay "exec $(unit_exec altay-skills-$u.service)" >/tmp/rehearse-$u.log 2>&1 &
done
trap 'set +e; stop_units; nginx -s stop 2>/dev/null' EXIT

say "1. nginx with the site as shipped (a self-signed certificate stands in)"
install -d /etc/ssl/altay-skills
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=altay.example.cn \
  -keyout /etc/ssl/altay-skills/privkey.pem -out /etc/ssl/altay-skills/fullchain.pem 2>/dev/null
cp $APP/deploy/nginx/altay-skills.conf /etc/nginx/sites-available/
ln -sf ../sites-available/altay-skills.conf /etc/nginx/sites-enabled/
rm -f /etc/nginx/sites-enabled/default
nginx -t 2>&1 | tail -n 1
nginx -s reload 2>/dev/null || nginx

say "6. /readyz through the proxy until every check is ok (30 s at most)"
for _ in $(seq 30); do
  ready=$(curl -sk --resolve altay.example.cn:443:127.0.0.1 https://altay.example.cn/readyz || true)
  grep -q '"status": *"ok"' <<<"$ready" && break
  sleep 1
done
echo "$ready"
grep -q '"status": *"ok"' <<<"$ready"
curl -sk -o /dev/null -w 'login page over TLS: %{http_code}\n' \
  --resolve altay.example.cn:443:127.0.0.1 https://altay.example.cn/accounts/login/
curl -s -o /dev/null -w 'plain HTTP is redirected: %{http_code}\n' \
  -H 'Host: altay.example.cn' http://127.0.0.1/
curl -sk -o /dev/null -w 'a static file through nginx: %{http_code}\n' \
  --resolve altay.example.cn:443:127.0.0.1 https://altay.example.cn/static/app/app.css

say "1. the first administrator"
as_altay "DJANGO_SUPERUSER_PASSWORD=$(openssl rand -hex 12) .venv/bin/python manage.py \
  createsuperuser --noinput --username it_office --email it@altay.example.cn"

say "4. altay-skills-backup (as the timer would start it)"
while read -r line; do as_altay "$line"; done < <(unit_exec altay-skills-backup.service)
archive=$(ls -t $SRV/backups/*.tar.gz | head -n 1)
echo "archive: $archive"

say "5. restore (the web, worker and beat stopped first), then verify_audit"
stop_units
as_altay "ALTAY_DATABASE_AS_OWNER=1 .venv/bin/python manage.py restore $archive --force"
as_altay ".venv/bin/python manage.py verify_audit"
as_altay ".venv/bin/python manage.py shell -c \"from accounts.models import User; \
print('restored administrator:', User.objects.filter(username='it_office').exists())\""
say "rehearsal done"
