"""A report's trail: one ``ReportEvent`` per report action, written by the action's
service in its own transaction (Saleor's ``order/events.py``; Zulip's ``do_*``).

The chain is a claim's (``claims.audit``): each event stores the ``hash`` of the
report's previous event as ``prev_hash`` and ``hash = HMAC-SHA256(AUDIT_KEY, prev_hash +
canonical JSON)``; the report's row lock (taken first by every report service, see
``altay_skills.lock_objects``) serialises the writers of one report, and the unique
``(report, prev_hash)`` refuses a fork anyway. On PostgreSQL a trigger refuses every
UPDATE and DELETE of the table (migration 0002).
"""

from __future__ import annotations

import json
from datetime import UTC
from typing import Any

from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from accounts.models import User
from altay_skills.lock_objects import lock_report
from claims.audit import Verdict, canonical_json, chain_hash, walk
from quarters.models import QuarterlyReport, ReportAction, ReportEvent, ReportStatus


def report_event_record(
    *,
    report: QuarterlyReport,
    actor: User,
    action: ReportAction,
    reason: str = "",
    changes: dict[str, Any] | None = None,
) -> ReportEvent:
    """Chain and insert one event of ``report`` (inside the action's transaction)."""
    with transaction.atomic():
        lock_report(report.pk)  # held already by the service: a no-op, kept for safety
        prev = (
            ReportEvent.objects.filter(report_id=report.pk)
            .order_by("-id")
            .values_list("hash", flat=True)
            .first()
        )
        event = ReportEvent(
            report=report,
            actor=actor,
            at=timezone.now(),
            action=action,
            reason=(reason or "").strip(),
            changes=json.loads(json.dumps(changes or {})),
            prev_hash=prev or "",
        )
        event.hash = event_hash(event.prev_hash, event)
        event.save(force_insert=True)
    return event


def event_hash(prev_hash: str, event: Any, *, key: str | None = None) -> str:
    """The link of one report event (``at`` in UTC with microseconds), keyed like a
    claim's (``claims.audit.chain_hash``)."""
    body = canonical_json(
        {
            "report": event.report_id,
            "actor": event.actor_id,
            "at": event.at.astimezone(UTC).isoformat(timespec="microseconds"),
            "action": str(event.action),
            "reason": event.reason or "",
            "changes": event.changes if event.changes is not None else {},
        }
    )
    return chain_hash(prev_hash, body, key=key)


def verify() -> Verdict:
    """Walk every report's trail in id order and recompute; stop at the first break
    (the verdict's ``claims`` counts reports, its broken link names a report)."""
    rows = ReportEvent.objects.order_by("report_id", "id").only(
        "id",
        "report_id",
        "actor_id",
        "at",
        "action",
        "reason",
        "changes",
        "prev_hash",
        "hash",
    )
    return walk(rows.iterator(chunk_size=2000), owner="report_id", link=event_hash)


#: The status each status-changing action leaves a report in; spot checks change none.
STATUS_AFTER = {
    ReportAction.BUILD: ReportStatus.DRAFT,
    ReportAction.SUBMIT: ReportStatus.SUBMITTED,
    ReportAction.DISCARD: ReportStatus.DISCARDED,
    ReportAction.CLOSE: ReportStatus.CLOSED,
}


def reports_out_of_step() -> tuple[int, str | None]:
    """Every report against its trail, as ``claims.audit.claims_out_of_step`` does for
    claims: (reports checked, the first disagreement in Chinese, or None). A report's
    status is what its last status-changing event left it in; a report without any
    event is named, so a raw ``UPDATE … SET status='closed'`` is found."""
    changing = [str(action) for action in STATUS_AFTER]
    last = ReportEvent.objects.filter(
        report_id=OuterRef("pk"), action__in=changing
    ).order_by("-id")
    reports = (
        QuarterlyReport.objects.annotate(
            last_event=Subquery(last.values("id")[:1]),
            last_action=Subquery(last.values("action")[:1]),
        )
        .order_by("pk")
        .values_list("pk", "status", "last_event", "last_action")
    )
    total = 0
    for pk, status, last_event, last_action in reports.iterator(chunk_size=2000):
        total += 1
        if last_event is None:
            return total, f"报表 #{pk} 没有任何审计记录"
        expected = STATUS_AFTER[ReportAction(last_action)]
        if status != expected:
            return total, (
                f"报表 #{pk} 的状态为 {status}，但其末条审计记录 #{last_event}"
                f"（{ReportAction(last_action).label}）之后应为 {expected}"
            )
    return total, None
