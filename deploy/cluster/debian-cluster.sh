#!/bin/sh
# Patroni's bootstrap and replica-creation methods for a Debian cluster of a name of
# our own (docs/operations.md, "Several hosts"). Debian's pg_createcluster_patroni and
# pg_clonecluster_patroni take the cluster's name from Patroni's scope, which is the
# same on every member; on one machine with several members each needs its own name.
#
#   debian-cluster.sh create NAME --scope=… --datadir=…              (bootstrap: primary)
#   debian-cluster.sh clone NAME --scope=… --datadir=… --connstring=…  (a standby)
#
# Run by Patroni as the postgres user. The cluster is created with --start-conf=manual:
# Patroni starts and stops it, never the init scripts.
set -eu
action=$1 name=$2
shift 2
datadir='' connstring=''
for arg in "$@"; do
  case $arg in
    --datadir=*) datadir=${arg#*=} ;;
    --connstring=*) connstring=${arg#*=} ;;
  esac
done
version=15
[ -n "$datadir" ] || { echo "debian-cluster.sh: --datadir is required" >&2; exit 2; }
if [ -f "/etc/postgresql/$version/$name/postgresql.conf" ]; then
  pg_dropcluster "$version" "$name"
fi
case $action in
  create)
    pg_createcluster --start-conf=manual --datadir="$datadir" "$version" "$name" \
      -- --data-checksums --encoding=UTF8 >/dev/null
    ;;
  clone)
    pg_createcluster --start-conf=manual --datadir="$datadir" "$version" "$name" >/dev/null
    rm -rf "$datadir"
    "/usr/lib/postgresql/$version/bin/pg_basebackup" --pgdata="$datadir" -X stream \
      --checkpoint=fast --dbname="$connstring"
    ;;
  *) echo "debian-cluster.sh: create or clone, not $action" >&2; exit 2 ;;
esac
