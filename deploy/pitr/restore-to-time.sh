#!/usr/bin/env bash
# Point-in-time recovery of one Debian PostgreSQL cluster (docs/operations.md,
# "Point-in-time recovery"). Run as root, with the application stopped:
#   restore-to-time.sh --cluster 15/main --base-backup /var/lib/postgresql/base-backups/base-<time> \
#       --wal-archive /var/lib/postgresql/wal-archive \
#       (--time '2020-04-01 14:05:00+08' | --restore-point NAME | --latest)
#       [--timeline N] [--timeout 600]
# It stops the cluster, moves its data directory aside (DATA.before-restore-<time>, never
# deleted here), unpacks the base backup in its place, replays the archived WAL up to the
# target, promotes, and prints the recovered database's time. The base backup must be
# older than the target: take the newest base backup made before it. After a restore the
# archive holds a new timeline, which later restores follow; --timeline N goes back to
# the abandoned one (its number: the *.history files of the archive).
set -euo pipefail
die() { echo "restore-to-time: $*" >&2; exit 1; }
cluster= base= archive= target= moment= timeline= timeout=600
while [ $# -gt 0 ]; do
    case "$1" in
        --cluster) cluster=$2; shift 2 ;;
        --base-backup) base=$2; shift 2 ;;
        --wal-archive) archive=$2; shift 2 ;;
        --time) target="recovery_target_time = '$2'"; moment=$2; shift 2 ;;
        --restore-point) target="recovery_target_name = '$2'"; shift 2 ;;
        --latest) target="# no target: replay every archived segment"; shift ;;
        --timeline) timeline="recovery_target_timeline = '$2'"; shift 2 ;;
        --timeout) timeout=$2; shift 2 ;;
        *) die "unknown argument $1" ;;
    esac
done
[ -n "$cluster" ] && [ -n "$base" ] && [ -n "$archive" ] && [ -n "$target" ] \
    || die "usage: --cluster VER/NAME --base-backup DIR --wal-archive DIR (--time T | --restore-point N | --latest)"
[[ "$target" != *"''"* ]] || die "an empty target"
[ "$(id -u)" = 0 ] || die "run as root"
ver=${cluster%%/*}
name=${cluster#*/}
[ -f "$base/base.tar.gz" ] || die "$base/base.tar.gz not found (a pg_basebackup -Ft -z directory)"
[ -f "$base/backup_manifest" ] || die "$base is incomplete: no backup_manifest"
[ -d "$archive" ] || die "WAL archive $archive not found"
if [ -n "$moment" ]; then
    # PostgreSQL cannot stop before its base backup ends: a base backup newer than the
    # moment would come back at the backup's own time, later than asked, without a word.
    # Its start in UTC from its label (base-backup.sh: altay-base-<UTC time>): the label's
    # START TIME is in the server's zone, and an abbreviation such as CST (China) reads
    # as US Central to date(1).
    label=$(tar -xzOf "$base/base.tar.gz" backup_label | sed -n 's/^LABEL: //p')
    if [[ "$label" =~ ^altay-base-([0-9]{4})([0-9]{2})([0-9]{2})T([0-9]{2})([0-9]{2})([0-9]{2})Z$ ]]; then
        r=("${BASH_REMATCH[@]}")
        started="${r[1]}-${r[2]}-${r[3]} ${r[4]}:${r[5]}:${r[6]} UTC"
        at=$(date -u -d "$moment" +%s) || die "cannot read the time '$moment' (e.g. '2020-04-01 14:05:00+08')"
        [ "$at" -gt "$(date -u -d "$started" +%s)" ] \
            || die "the base backup started at $started, not before $moment: take an older one"
    else
        echo "restore-to-time: '$label' is not a base-backup.sh label; not checked against the moment" >&2
    fi
fi
# ver cluster port status owner data log
read -r _ _ port status owner data _ < <(pg_lsclusters -h "$ver" "$name") \
    || die "no cluster $cluster (pg_lsclusters)"
conf=/etc/postgresql/$ver/$name
[ -d "$conf/conf.d" ] || die "$conf/conf.d not found"
recovery_conf="$conf/conf.d/zz-point-in-time-recovery.conf"
as_owner() { runuser -u "$owner" -- "$@"; }
sql() { as_owner /usr/lib/postgresql/"$ver"/bin/psql -X -p "$port" -d postgres -Atc "$1"; }

if [[ "$status" != down* ]]; then  # online, online,recovery; down,recovery is down
    echo "stopping $cluster"
    pg_ctlcluster "$ver" "$name" stop -m fast
fi
aside="$data.before-restore-$(date -u +%Y%m%dT%H%M%SZ)"
mv "$data" "$aside"
echo "the data directory as it was: $aside (delete it once the restore is accepted)"
install -d -m 700 -o "$owner" -g "$owner" "$data"
as_owner tar -xzf "$base/base.tar.gz" -C "$data"
if [ -f "$base/pg_wal.tar.gz" ]; then
    as_owner tar -xzf "$base/pg_wal.tar.gz" -C "$data/pg_wal"
fi
cat > "$recovery_conf" <<CONF
# Written by restore-to-time.sh; removed when the recovery has promoted.
restore_command = 'cp "$archive/%f" "%p"'
$target
${timeline:-# recovery_target_timeline: the latest (a restore before this one forked it)}
recovery_target_action = 'promote'
CONF
as_owner touch "$data/recovery.signal"

echo "replaying the archived WAL of $archive ($target)"
pg_ctlcluster "$ver" "$name" start || true
deadline=$(( $(date +%s) + timeout ))
until [ "$(sql 'SELECT pg_is_in_recovery()' 2>/dev/null)" = f ]; do
    if [[ "$(pg_lsclusters -h "$ver" "$name" | awk '{print $4}')" == down* ]]; then
        rm -f "$recovery_conf"
        tail -n 20 "/var/log/postgresql/postgresql-$ver-$name.log" >&2 || true
        die "the recovery stopped (the log above); the previous data is in $aside"
    fi
    [ "$(date +%s)" -lt "$deadline" ] \
        || die "still recovering after ${timeout}s; it goes on (${recovery_conf} is removed once it has promoted: remove it by hand then)"
    sleep 1
done
rm -f "$recovery_conf"
echo "recovered and promoted: $(sql "SELECT 'timeline ' || timeline_id FROM pg_control_checkpoint()"), last replayed transaction at $(sql "SELECT coalesce(pg_last_xact_replay_timestamp()::text, 'none')")"
echo "next: manage.py verify_audit, then start the application"
