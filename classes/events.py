"""A class's trail: one ``ClassEvent`` per action, written by the action's service in
its own transaction, hash-chained like a report's (``quarters.events``): each event
stores the ``hash`` of the class's previous event and ``hash = HMAC-SHA256(AUDIT_KEY,
prev_hash + canonical JSON)``. The class's row lock (taken first by every class
service) serialises the writers of one class; the unique ``(training_class,
prev_hash)`` refuses a fork anyway. On PostgreSQL a trigger refuses every UPDATE and
DELETE of the table (migration 0001).
"""

from __future__ import annotations

import json
from datetime import UTC
from decimal import Decimal
from typing import Any

from django.db.models import OuterRef, Subquery
from django.utils import timezone

from accounts.models import User
from claims.audit import Verdict, canonical_json, chain_hash, walk
from classes.models import ClassEvent, ClassSession, RosterLine, TrainingClass


def class_event_record(
    *,
    training_class: TrainingClass,
    actor: User,
    action: str,
    from_status: str,
    reason: str = "",
    changes: dict[str, Any] | None = None,
) -> ClassEvent:
    """Chain and insert one event (the caller holds the class's row lock)."""
    prev = (
        ClassEvent.objects.filter(training_class_id=training_class.pk)
        .order_by("-id")
        .values_list("hash", flat=True)
        .first()
    )
    event = ClassEvent(
        training_class=training_class,
        actor=actor,
        at=timezone.now(),
        action=action,
        from_status=from_status,
        to_status=training_class.status,
        reason=(reason or "").strip(),
        changes=json.loads(json.dumps(changes or {}, default=str)),
        prev_hash=prev or "",
    )
    event.hash = event_hash(event.prev_hash, event)
    event.save(force_insert=True)
    return event


def event_hash(prev_hash: str, event: Any, *, key: str | None = None) -> str:
    body = canonical_json(
        {
            "class": event.training_class_id,
            "actor": event.actor_id,
            "at": event.at.astimezone(UTC).isoformat(timespec="microseconds"),
            "action": str(event.action),
            "from": event.from_status or "",
            "to": event.to_status or "",
            "reason": event.reason or "",
            "changes": event.changes if event.changes is not None else {},
        }
    )
    return chain_hash(prev_hash, body, key=key)


def verify() -> Verdict:
    """Walk every class's trail in id order and recompute; stop at the first break
    (the verdict's ``claims`` counts classes, its broken link names a class)."""
    rows = ClassEvent.objects.order_by("training_class_id", "id").only(
        "id",
        "training_class_id",
        "actor_id",
        "at",
        "action",
        "from_status",
        "to_status",
        "reason",
        "changes",
        "prev_hash",
        "hash",
    )
    return walk(
        rows.iterator(chunk_size=2000), owner="training_class_id", link=event_hash
    )


def classes_out_of_step() -> tuple[int, str | None]:
    """Every class against its trail: its status is its last event's ``to_status``."""
    last = ClassEvent.objects.filter(training_class_id=OuterRef("pk")).order_by("-id")
    rows = (
        TrainingClass.objects.annotate(
            last_event=Subquery(last.values("id")[:1]),
            last_to=Subquery(last.values("to_status")[:1]),
        )
        .order_by("pk")
        .values_list("pk", "status", "last_event", "last_to")
    )
    total = 0
    for pk, status, last_event, last_to in rows.iterator(chunk_size=2000):
        total += 1
        if last_event is None:
            return total, f"培训班 #{pk} 没有任何审计记录"
        if last_to != status:
            return total, (
                f"培训班 #{pk} 的状态为 {status}，"
                f"但其末条审计记录 #{last_event} 记为 {last_to or '(空)'}"
            )
    return total, None


def sessions_out_of_step() -> tuple[int, str | None]:
    """Every session against the chained event that recorded it: its date, its hours
    and who was present. A person added to a session's present list in the database
    (or its hours raised) would change a claim's attendance with the trail intact."""
    recorded: dict[int, dict[str, Any]] = {}
    for changes in (
        ClassEvent.objects.filter(action="session")
        .order_by("id")
        .values_list("changes", flat=True)
        .iterator(chunk_size=2000)
    ):
        if isinstance(changes, dict) and "session" in changes:
            recorded[int(changes["session"])] = changes
    present: dict[int, set[int]] = {}
    for session_id, trainee_id in (
        ClassSession.present.through.objects.order_by()
        .values_list("classsession_id", "trainee_id")
        .iterator(chunk_size=5000)
    ):
        present.setdefault(session_id, set()).add(trainee_id)
    total = 0
    for pk, on, hours in (
        ClassSession.objects.order_by("pk")
        .values_list("pk", "date", "hours")
        .iterator(chunk_size=2000)
    ):
        total += 1
        event = recorded.get(pk)
        if event is None:
            return total, f"课次 #{pk} 没有记录它的审计记录"
        if event.get("date") != on.isoformat():
            return total, f"课次 #{pk} 的日期为 {on}，审计记录为 {event.get('date')}"
        if Decimal(str(event.get("hours"))) != hours:
            return (
                total,
                f"课次 #{pk} 的学时为 {hours}，审计记录为 {event.get('hours')}",
            )
        if set(event.get("present") or []) != present.get(pk, set()):
            return total, f"课次 #{pk} 的出勤人员与审计记录不符"
    return total, None


def rosters_out_of_step() -> tuple[int, str | None]:
    """Every class's live roster against its chained roster and amendment events (who
    was added, who removed), and each line's claim against the completion event that
    made the class's claims. A person put on an accepted roster in the database, or a
    line pointed at another claim, would be paid on the class's attendance with the
    trail intact."""
    expected: dict[int, set[int]] = {}
    made: dict[int, set[int]] = {}
    for class_id, action, changes in (
        ClassEvent.objects.filter(action__in=("roster", "amend", "complete"))
        .order_by("id")
        .values_list("training_class_id", "action", "changes")
        .iterator(chunk_size=2000)
    ):
        if not isinstance(changes, dict):
            continue
        if action == "complete":
            made[class_id] = {int(pk) for pk in changes.get("claims") or []}
            continue
        people = expected.setdefault(class_id, set())
        people.update(int(pk) for pk in changes.get("added") or [])
        people.difference_update(int(pk) for pk in changes.get("removed") or [])
    live: dict[int, set[int]] = {}
    claims: dict[int, set[int]] = {}
    for class_id, trainee_id, claim_id in (
        RosterLine.objects.filter(removed_at__isnull=True)
        .order_by()
        .values_list("training_class_id", "trainee_id", "claim_id")
        .iterator(chunk_size=5000)
    ):
        live.setdefault(class_id, set()).add(trainee_id)
        if claim_id is not None:
            claims.setdefault(class_id, set()).add(claim_id)
    total = 0
    for class_id in sorted(set(expected) | set(live)):
        total += 1
        if live.get(class_id, set()) != expected.get(class_id, set()):
            return total, f"培训班 #{class_id} 的名单与审计记录不符"
        if claims.get(class_id, set()) != made.get(class_id, set()):
            return total, f"培训班 #{class_id} 名单上的申报与结业审计记录不符"
    return total, None
