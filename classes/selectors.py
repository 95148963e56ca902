"""Every read of training classes, with the user's scope applied.

A clerk sees their unit's classes; institution staff their institution's; the
reviewer, finance and the auditor every class (as they read every claim); anyone else
none. A class the user may not see is answered exactly like a missing one (404).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Count, Max, Min, Q, QuerySet

from accounts.models import User
from altay_skills.errors import NotFound
from claims import rules as claim_rules
from claims.models import Document, DocumentKind
from claims.rules import AttendanceFacts
from claims.selectors import documents_visible_to
from classes import rules
from classes.models import (
    ClassDocument,
    ClassEvent,
    ClassSession,
    RosterLine,
    TrainingClass,
)


def classes_visible_to(user: User) -> QuerySet[TrainingClass]:
    qs = TrainingClass.objects.select_related(
        "institution", "program", "trade", "level", "unit"
    )
    if not user.is_authenticated or not user.is_active:
        return qs.none()
    if user.is_clerk:
        return qs.filter(unit_id=user.unit_id)
    if user.is_institution_staff and user.institution_id is not None:
        return qs.filter(institution_id=user.institution_id)
    if user.is_reviewer or user.is_finance or user.is_auditor:
        return qs
    return qs.none()


def class_for(user: User, class_id: int) -> TrainingClass:
    try:
        return classes_visible_to(user).get(pk=class_id)
    except (TrainingClass.DoesNotExist, ValueError, TypeError):
        raise NotFound("未找到该培训班") from None


def live_roster(class_id: int) -> QuerySet[RosterLine]:
    return (
        RosterLine.objects.filter(training_class_id=class_id, removed_at__isnull=True)
        .select_related("trainee", "level_achieved")
        .order_by("id")
    )


#: The actions that make a class what it is: drafted, its roster set or amended, filed,
#: accepted (备案), started, its sessions recorded, its evidence uploaded, completed.
MAKER_ACTIONS = (
    "create",
    "roster",
    "amend",
    "file",
    "accept",
    "start",
    "session",
    "attach_document",
    "complete",
)


def class_makers(cls: TrainingClass) -> frozenset[int]:
    """Everyone who made the class what it is, whatever their role is now (one query)."""
    actors = ClassEvent.objects.filter(
        training_class_id=cls.pk, action__in=MAKER_ACTIONS
    ).values_list("actor_id", flat=True)
    named = {pk for pk in (cls.created_by_id, cls.accepted_by_id) if pk is not None}
    return frozenset(actors) | frozenset(named)


def class_makers_of_claims(claim_ids: list[int]) -> dict[int, frozenset[int]]:
    """For the claims among ``claim_ids`` a class's completion created: who made that
    class (``class_makers``), in two queries whatever the number of claims."""
    lines = list(
        RosterLine.objects.filter(claim_id__in=claim_ids).select_related(
            "training_class"
        )
    )
    if not lines:
        return {}
    classes = {line.training_class_id: line.training_class for line in lines}
    actors: dict[int, set[int]] = {
        pk: {a for a in (c.created_by_id, c.accepted_by_id) if a is not None}
        for pk, c in classes.items()
    }
    for class_id, actor_id in ClassEvent.objects.filter(
        training_class_id__in=list(classes), action__in=MAKER_ACTIONS
    ).values_list("training_class_id", "actor_id"):
        if actor_id is not None:
            actors[class_id].add(actor_id)
    return {
        line.claim_id: frozenset(actors[line.training_class_id])
        for line in lines
        if line.claim_id is not None
    }


#: A class whose roster gives its people their training: accepted (备案) and not
#: cancelled — a draft, a filing not yet accepted or one returned promises nothing.
SEATED = (rules.ACCEPTED, rules.RUNNING, rules.COMPLETED)


#: ``claims.rules.ClassSeat``'s fields, from a roster line.
SEAT_FIELDS = {
    "class_id": "training_class_id",
    "program": "training_class__program_id",
    "institution_id": "training_class__institution_id",
    "planned_start": "training_class__planned_start",
    "planned_end": "training_class__planned_end",
    "trade": "training_class__trade_id",
    "level": "training_class__level_id",
}


def class_seats_of_people(
    trainee_ids: Collection[int],
) -> dict[int, list[claim_rules.ClassSeat]]:
    """trainee id → their places on the live rosters of accepted classes (one query),
    offered to ``claims.facts.class_seats_of``: a claim by hand for the training one
    of them gave is that class's to make (``claims.rules._check_class_seat``)."""
    found: dict[int, list[claim_rules.ClassSeat]] = {}
    rows = RosterLine.objects.filter(
        trainee_id__in=list(trainee_ids),
        removed_at__isnull=True,
        training_class__status__in=SEATED,
    ).values("trainee_id", "claim_id", *SEAT_FIELDS.values())
    for row in rows:
        found.setdefault(row["trainee_id"], []).append(
            claim_rules.ClassSeat(
                **{name: row[field] for name, field in SEAT_FIELDS.items()},
                claimed=row["claim_id"] is not None,
            )
        )
    return found


def roster_size_at(class_id: int, moment: Any) -> int:
    """How many people were on the class's roster at ``moment`` (its acceptance)."""
    return (
        RosterLine.objects.filter(training_class_id=class_id, added_at__lte=moment)
        .filter(Q(removed_at__isnull=True) | Q(removed_at__gt=moment))
        .count()
    )


def class_sessions(class_id: int) -> QuerySet[ClassSession]:
    return (
        ClassSession.objects.filter(training_class_id=class_id)
        .prefetch_related("present")
        .order_by("date", "id")
    )


def class_events(class_id: int) -> QuerySet[ClassEvent]:
    return ClassEvent.objects.filter(training_class_id=class_id).order_by("id")


def attended_hours_of(class_id: int) -> dict[int, Decimal]:
    """trainee id → the hours of the class's sessions they were present at."""
    attended: dict[int, Decimal] = defaultdict(Decimal)
    for session in class_sessions(class_id):
        for person in session.present.all():
            attended[person.pk] += session.hours
    return attended


def sessions_span(class_id: int) -> tuple[date | None, date | None]:
    """The days of the class's first and last sessions (None, None: none yet)."""
    span = ClassSession.objects.filter(training_class_id=class_id).aggregate(
        first=Min("date"), last=Max("date")
    )
    return span["first"], span["last"]


def attendance_facts(
    cls: TrainingClass,
    trainee_id: int,
    attended: dict[int, Decimal],
    span: tuple[date | None, date | None] = (None, None),
) -> AttendanceFacts:
    """``span``: the days of the class's first and last sessions, where it ran."""
    term = rules.ATTENDANCE_THRESHOLD
    return AttendanceFacts(
        planned_hours=cls.hours,
        attended_hours=attended.get(trainee_id, Decimal(0)),
        threshold=term.value,
        source=term.source,
        sessions_from=span[0],
        sessions_to=span[1],
    )


def attendance_of_claim(claim_id: int) -> AttendanceFacts | None:
    """The attendance a claim created by a class's completion is judged with (registered
    with ``claims.facts.offer_attendance``)."""
    line = (
        RosterLine.objects.filter(claim_id=claim_id)
        .select_related("training_class")
        .first()
    )
    if line is None:
        return None
    cls = line.training_class
    facts = attendance_facts(
        cls, line.trainee_id, attended_hours_of(cls.pk), sessions_span(cls.pk)
    )
    # as the claim holds them: a program without a trade and level (11) keeps none
    keeps = claim_rules.keeps_trade_level(cls.program_id, 0)
    return replace(
        facts,
        class_id=cls.pk,
        fixed=(
            ("trainee_id", line.trainee_id),
            ("program_id", cls.program_id),
            ("institution_id", cls.institution_id),
            ("unit_id", cls.unit_id),
            ("training_start", cls.planned_start),
            ("training_end", cls.planned_end),
            ("trade_id", cls.trade_id if keeps else None),
            ("level_id", (line.level_achieved_id or cls.level_id) if keeps else None),
            ("project_based", cls.project_based),
        ),
    )


# --- Evidence (issue 16) -----------------------------------------------------------------
def class_document_reads(user: User) -> QuerySet[ClassDocument, Any] | None:
    """The class documents institution staff may open beyond the unit scope of
    ``claims.selectors.documents_visible_to``: their institution's classes' (a clerk's
    unit scope and the prefecture's already cover a class's documents, whose unit is the
    class's). Registered by ``ClassesConfig.ready()``; ids, as a subquery."""
    if not user.is_authenticated or not user.is_active:
        return None
    if not user.is_institution_staff or user.institution_id is None:
        return None
    return ClassDocument.objects.filter(
        training_class__institution_id=user.institution_id
    ).values("document_id")


def class_documents(user: User, class_id: int) -> list[Document]:
    """A class's documents as the user may open them, oldest first; each carries
    ``session_id`` (the session a sign-in sheet records, or None)."""
    links = dict(
        ClassDocument.objects.filter(training_class_id=class_id).values_list(
            "document_id", "session_id"
        )
    )
    documents = list(
        documents_visible_to(user)
        .filter(pk__in=list(links))
        .select_related("uploaded_by")
        .order_by("uploaded_at", "id")
    )
    for document in documents:
        document.session_id = links[document.pk]  # type: ignore[attr-defined]
    return documents


def class_documents_of_claims(claim_ids: Iterable[int]) -> dict[int, set[int]]:
    """claim id → the ids of the documents of the class the claim came from (its
    roster line's class), for the reviewer's spot check (one query)."""
    found: dict[int, set[int]] = defaultdict(set)
    rows = ClassDocument.objects.filter(
        training_class__roster__claim_id__in=list(claim_ids)
    ).values_list("training_class__roster__claim_id", "document_id")
    for claim_id, document_id in rows:
        found[claim_id].add(document_id)
    return found


def class_document_chains() -> dict[int, tuple[str, str | None]]:
    """document id → (its class, as a trail names it; the SHA-256 its class's
    ``attach_document`` event chained, or None), for every class document and every
    such event (``claims.audit.documents_verify``, registered by
    ``ClassesConfig.ready()``). A database not yet migrated to classes 0002 holds
    none."""
    if ClassDocument._meta.db_table not in connection.introspection.table_names():
        return {}
    found: dict[int, tuple[str, str | None]] = {}
    for class_id, document_id in ClassDocument.objects.values_list(
        "training_class_id", "document_id"
    ).iterator(chunk_size=2000):
        found[document_id] = (f"培训班 #{class_id} 的", None)
    events = ClassEvent.objects.filter(action="attach_document").values_list(
        "training_class_id", "changes"
    )
    for class_id, changes in events.iterator(chunk_size=2000):
        if isinstance(changes, dict) and isinstance(changes.get("document"), int):
            owner = f"培训班 #{class_id} 的"
            linked = found.get(changes["document"])
            if linked is not None and linked[0] != owner:
                owner = f"{linked[0]}（审计链中为培训班 #{class_id}）"
            found[changes["document"]] = (owner, str(changes.get("sha256", "")))
    return found


@dataclass(frozen=True)
class SharedClassSheet:
    """One sign-in sheet file (one SHA-256) uploaded for two or more sessions or
    classes: a sheet is signed at one session of one class."""

    sha256: str
    #: (document id, class id, session id or None, session date or None)
    uploads: list[tuple[int, int, int | None, object]]


def shared_class_sign_in_sheets(*, limit: int = 200) -> list[SharedClassSheet]:
    """Sign-in sheets (class documents of kind ``attendance``) whose one SHA-256 was
    uploaded for two or more classes, or for two or more sessions: the repeated
    hashes grouped in SQL, their uploads read once (two queries)."""
    sheets = ClassDocument.objects.filter(document__kind=DocumentKind.ATTENDANCE)
    grouped = (
        sheets.values("document__sha256")
        .annotate(
            classes=Count("training_class_id", distinct=True),
            sessions=Count("session_id", distinct=True),
        )
        .filter(Q(classes__gte=2) | Q(sessions__gte=2))
        .order_by()
    )
    repeated = list(grouped.values_list("document__sha256", flat=True)[:limit])
    if not repeated:
        return []
    uploads: dict[str, list[tuple[int, int, int | None, object]]] = defaultdict(list)
    for sha256, document_id, class_id, session_id, on in (
        sheets.filter(document__sha256__in=repeated)
        .order_by("document__sha256", "training_class_id", "document_id")
        .values_list(
            "document__sha256",
            "document_id",
            "training_class_id",
            "session_id",
            "session__date",
        )
    ):
        uploads[sha256].append((document_id, class_id, session_id, on))
    return [SharedClassSheet(k, v) for k, v in uploads.items()][:limit]
