#!/usr/bin/env bash
# The nightly base backup for point-in-time recovery (altay-skills-pg-basebackup.timer;
# docs/operations.md, "Point-in-time recovery"). Run as postgres:
#   base-backup.sh [--port 5432] [--backups /var/lib/postgresql/base-backups]
#                  [--wal-archive /var/lib/postgresql/wal-archive] [--keep-days 14] [--keep 2]
# Writes BACKUPS/base-<UTC time>/ (base.tar.gz, pg_wal.tar.gz, backup_manifest) by
# pg_basebackup, complete or not at all; then deletes the base backups older than
# --keep-days (the newest --keep always stay) and the archived WAL older than the oldest
# base backup kept, which no restore can use any more.
set -euo pipefail
port=5432
backups=/var/lib/postgresql/base-backups
archive=/var/lib/postgresql/wal-archive
keep_days=14
keep=2
bin=/usr/lib/postgresql/15/bin
while [ $# -gt 0 ]; do
    case "$1" in
        --port) port=$2; shift 2 ;;
        --backups) backups=$2; shift 2 ;;
        --wal-archive) archive=$2; shift 2 ;;
        --keep-days) keep_days=$2; shift 2 ;;
        --keep) keep=$2; shift 2 ;;
        *) echo "base-backup: unknown argument $1" >&2; exit 2 ;;
    esac
done
stamp=$(date -u +%Y%m%dT%H%M%SZ)
label="altay-base-$stamp"
partial="$backups/.base-$stamp.partial"
mkdir -p "$backups"
trap 'rm -rf "$partial"' EXIT
# -Ft -z: one compressed tar per tablespace; -Xstream: the WAL of its own run beside it,
# so the backup alone is consistent; -c fast: the checkpoint now, not spread out.
"$bin/pg_basebackup" -p "$port" -D "$partial" -Ft -z -Xstream -c fast -l "$label"
mv "$partial" "$backups/base-$stamp"
trap - EXIT
echo "base backup written: $backups/base-$stamp"

# Retention: base backups past --keep-days, never the newest --keep.
mapfile -t all < <(find "$backups" -maxdepth 1 -type d -name 'base-*' -printf '%f\n' | sort)
cutoff=$(date -u -d "-$keep_days days" +%Y%m%dT%H%M%SZ)
for ((i = 0; i < ${#all[@]} - keep; i++)); do
    name=${all[$i]}
    if [[ "${name#base-}" < "$cutoff" ]]; then
        rm -rf "${backups:?}/$name"
        echo "base backup deleted (older than $keep_days days): $name"
    fi
done
# The archived WAL the oldest kept base backup does not need: pg_archivecleanup from its
# backup history file (<segment>.<offset>.backup, written into the archive at its end).
oldest=$(find "$backups" -maxdepth 1 -type d -name 'base-*' -printf '%f\n' | sort | head -1)
if [ -n "$oldest" ] && [ -d "$archive" ]; then
    history=$(grep -l "^LABEL: altay-base-${oldest#base-}\$" "$archive"/*.backup 2>/dev/null | head -1 || true)
    if [ -n "$history" ]; then
        "$bin/pg_archivecleanup" "$archive" "$(basename "$history")"
    fi
fi
