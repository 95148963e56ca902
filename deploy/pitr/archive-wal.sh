#!/bin/sh
# PostgreSQL's archive_command (deploy/pitr/archiving.conf): copy one finished WAL
# segment into the archive directory, durably, never overwriting a different file.
#   archive-wal.sh %p %f /var/lib/postgresql/wal-archive
# Exit 0 only when the segment is safely in the archive; PostgreSQL retries otherwise.
set -eu
src=$1
name=$2
archive=$3
dest="$archive/$name"
if [ -f "$dest" ]; then
    # archived before (a retry after a crash): fine if identical, an alarm if not
    cmp -s "$src" "$dest" && exit 0
    echo "archive-wal: $dest exists and differs from $src; refusing to overwrite" >&2
    exit 1
fi
tmp="$archive/.$name.partial"
cp "$src" "$tmp"
sync "$tmp" 2>/dev/null || sync
mv "$tmp" "$dest"
