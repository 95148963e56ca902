"""How long a checked file is kept: its staging files, its job and its rows' references
(``references``) all expire together, and beat deletes them (``jobs.import_purge_expired``)."""

from __future__ import annotations

from datetime import timedelta

PAYLOAD_TTL = timedelta(hours=1)
