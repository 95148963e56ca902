"""``manage.py audit_rekey``: rotate the audit key. Run as the owner of the tables
(manage.py connects as the owner for this command) with the new key in ``AUDIT_KEY`` and
the old one in ``AUDIT_OLD_KEY``: every chain — the claims' and the reports' — is first
verified under the old key (a chain that does not verify is never signed with the new
one: exit 1, nothing changed), then every link is recomputed under the new key with the
append-only triggers off, all in one transaction, and a fresh anchor is written (the
older anchors hold heads under the old key)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from functools import partial
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from claims import audit
from claims.models import ClaimEvent
from quarters import events as report_events
from quarters.models import ReportEvent
from reporting.audit import anchor_write

TRAILS: list[tuple[Any, str, Callable[..., str], str]] = [
    (ClaimEvent, "claim_id", audit.event_hash, "claims_claimevent_append_only"),
    (
        ReportEvent,
        "report_id",
        report_events.event_hash,
        "quarters_reportevent_append_only",
    ),
]


def _rechain(model: Any, owner: str, link: Callable[..., str]) -> int:
    current, prev, batch, count = None, "", [], 0
    for event in model.objects.order_by(owner, "id").iterator(chunk_size=2000):
        if getattr(event, owner) != current:
            current, prev = getattr(event, owner), ""
        event.prev_hash, event.hash = prev, link(prev, event)
        prev = event.hash
        batch.append(event)
        count += 1
        if len(batch) >= 2000:
            model.objects.bulk_update(batch, ["prev_hash", "hash"])
            batch = []
    if batch:
        model.objects.bulk_update(batch, ["prev_hash", "hash"])
    return count


class Command(BaseCommand):
    help = "Re-key the audit trail from AUDIT_OLD_KEY to AUDIT_KEY (as the owner)."

    def handle(self, *args: object, **options: object) -> None:
        old = os.environ.get("AUDIT_OLD_KEY", "")
        if not old:
            raise CommandError("请在 AUDIT_OLD_KEY 中给出旧的审计密钥")
        for model, owner, link, _trigger in TRAILS:
            rows = model.objects.order_by(owner, "id")
            verdict = audit.walk(
                rows.iterator(chunk_size=2000), owner=owner, link=partial(link, key=old)
            )
            if verdict.broken is not None:
                self.stderr.write(
                    f"审计链在旧密钥下不完整，拒绝重新签名：{verdict.broken}"
                )
                sys.exit(1)
        postgres = connection.vendor == "postgresql"
        with transaction.atomic(), connection.cursor() as cursor:
            if postgres:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                for model, _owner, _link, trigger in TRAILS:
                    table = model._meta.db_table
                    cursor.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
                    cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
            counts = [_rechain(model, owner, link) for model, owner, link, _t in TRAILS]
            if postgres:
                for model, _owner, _link, trigger in TRAILS:
                    table = model._meta.db_table
                    cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")
        path = anchor_write()
        self.stdout.write(
            f"审计链已用新密钥重新签名：{counts[0]} 条申报记录，{counts[1]} 条报表记录；"
            f"新的锚定摘要：{path}"
        )
