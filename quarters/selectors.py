"""Every read of quarterly reports, with the user's unit scope applied.

A report the user may not see is answered exactly like one that does not exist (404).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import (
    Count,
    F,
    IntegerField,
    JSONField,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import ExtractQuarter, ExtractYear

from accounts.models import User
from altay_skills.errors import NotFound
from claims import workflow
from claims.models import Claim, ClaimAction, ClaimEvent
from claims.selectors import documents_visible_to, unit_scoped
from classes.selectors import class_documents_of_claims
from quarters.models import (
    QuarterlyReport,
    ReportAction,
    ReportEvent,
    ReportItem,
    ReportStatus,
    SpotCheck,
    SpotCheckResult,
)


def reports_visible_to(user: User) -> QuerySet[QuarterlyReport]:
    return unit_scoped(QuarterlyReport.objects.select_related("unit"), user)


def quarters_to_report(user: User) -> list[str]:
    """The quarters (newest first) in which the user's submitted claims not yet on a
    report ended their training: the quarters a report built now would hold."""
    claims = unit_scoped(
        Claim.objects.filter(status=workflow.SUBMITTED, report__isnull=True), user
    )
    found = (
        claims.annotate(y=ExtractYear("training_end"), q=ExtractQuarter("training_end"))
        .values_list("y", "q")
        .distinct()
        .order_by()
    )
    return [f"{y}Q{q}" for y, q in sorted(found, reverse=True) if y and q]


def latest_report_quarter(user: User) -> str | None:
    """The quarter of the user's latest report (discarded ones aside), if any."""
    return (
        reports_visible_to(user)
        .exclude(status=ReportStatus.DISCARDED)
        .order_by("-quarter")
        .values_list("quarter", flat=True)
        .first()
    )


def report_for(user: User, report_id: int) -> QuarterlyReport:
    try:
        return reports_visible_to(user).get(pk=report_id)
    except (QuarterlyReport.DoesNotExist, ValueError, TypeError):
        raise NotFound("未找到该报表") from None


def report_figures(report: QuarterlyReport) -> list[dict[str, object]]:
    """Per fund and program: trained, passed, employed (incl. self-employed and
    flexible work), amount requested and advance — what 五(一) asks each report to show.

    A draft report shows its attached claims; a submitted one its frozen items.
    """
    if report.status == "draft":
        claims = Claim.objects.filter(report=report)
    else:
        claims = Claim.objects.filter(report_items__report=report)
    rows = (
        claims.values("fund", "program_id", "program__name")
        .annotate(
            trained=Count("id"),
            passed=Count("id", filter=Q(passed=True)),
            employed=Count("id", filter=~Q(employment="none")),
            requested=Sum("amount_requested"),
            amount=Sum("amount"),
            advance=Sum("advance"),
        )
        .order_by("fund", "program_id")
    )
    return [dict(row) for row in rows]


@dataclass(frozen=True)
class ReportClaim:
    """A claim of a report with the amounts the report holds for it, and its spot
    check when one was drawn."""

    claim: Claim
    amount: Decimal
    advance: Decimal
    check: SpotCheck | None
    #: Still attached to the report: a claim returned to the clerk leaves it, while a
    #: submitted report keeps its frozen line.
    in_report: bool


def report_claims(report: QuarterlyReport) -> list[ReportClaim]:
    """A draft's attached claims with their amounts now, or a submitted report's
    frozen list with the amounts it was submitted with (五(一)); with the sample. The
    report page and the report API both show these (two queries)."""
    checks = {
        c.claim_id: c
        for c in SpotCheck.objects.filter(report=report).select_related("checked_by")
    }
    related = ("trainee", "program", "trade", "level", "institution")
    if report.status in (ReportStatus.DRAFT, ReportStatus.DISCARDED):
        frozen = [
            (c, c.amount, c.advance)
            for c in Claim.objects.filter(report=report)
            .select_related(*related)
            .order_by("pk")
        ]
    else:
        frozen = [
            (item.claim, item.amount, item.advance)
            for item in ReportItem.objects.filter(report=report)
            .select_related(*(f"claim__{name}" for name in related))
            .order_by("claim_id")
        ]
    return [
        ReportClaim(
            claim=claim,
            amount=amount,
            advance=advance,
            check=checks.get(claim.pk),
            in_report=claim.report_id == report.pk,
        )
        for claim, amount, advance in frozen
    ]


def next_undecided_claim(report_id: int, *, after: int) -> int | None:
    """The report's next claim still to decide after ``after`` (in the page's order,
    by id), else its first; None when every claim is decided."""
    pending = (
        Claim.objects.filter(report_id=report_id, status=workflow.SUBMITTED)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return pending.filter(pk__gt=after).first() or pending.first()


# --- Who made a claim or a report (经办与审核分离, issue 12) -----------------------------
#: A claim's own trail: the acts of whoever made the claim what it is. A decision, a
#: spot check or a payment is not among them: the reviewer who returned a claim decides
#: it again once it is corrected.
MAKER_ACTIONS = (
    ClaimAction.CREATE,
    ClaimAction.EDIT,
    ClaimAction.SUBMIT,
    ClaimAction.WITHDRAW,
    ClaimAction.REPORT,
)
#: A report's trail: building (or refreshing) it and sending it on. Drawing and
#: recording spot checks and closing are the reviewer's acts.
REPORT_MAKER_ACTIONS = (ReportAction.BUILD, ReportAction.SUBMIT)


def report_makers(report: QuarterlyReport) -> frozenset[int]:
    """Who built, refreshed or submitted the report (one query): its ``built_by`` and
    ``submitted_by``, and the actors of its build and submit events."""
    actors: set[int | None] = set(
        ReportEvent.objects.filter(
            report=report, action__in=REPORT_MAKER_ACTIONS
        ).values_list("actor_id", flat=True)
    )
    actors.update((report.built_by_id, report.submitted_by_id))
    return frozenset(actor for actor in actors if actor is not None)


def claim_makers(claims: Iterable[Claim]) -> dict[int, frozenset[int]]:
    """Everyone who made each claim what it is, whatever their role is now: who
    created, edited, submitted or withdrew it and who sent it in a report (its
    ``ClaimEvent`` trail), who built, refreshed or submitted a report that holds or
    held it (the report, its ``ReportItem`` and its trail), and who put it into a draft
    later discarded (the draft's build events name the claims they took in).

    One query (a ``UNION ALL``) for any number of claims; a service reads it under the
    claims' row locks, so no maker can be added between the check and the decision."""
    claims = list(claims)
    makers: dict[int, set[int]] = {c.pk: {c.created_by_id} for c in claims}
    if not makers:
        return {}
    ids = list(makers)
    reports = {c.report_id for c in claims if c.report_id is not None}
    no_list = Value(None, output_field=JSONField())

    def rows(qs: QuerySet, claim: str, actor: str) -> QuerySet:  # type: ignore[type-arg]
        return (
            qs.annotate(m_claim=F(claim), m_actor=F(actor), m_list=no_list)
            .order_by()
            .values_list("m_claim", "m_actor", "m_list")
        )

    items = ReportItem.objects.filter(claim_id__in=ids)
    report_trail = ReportEvent.objects.filter(action__in=REPORT_MAKER_ACTIONS)
    found = rows(
        ClaimEvent.objects.filter(claim_id__in=ids, action__in=MAKER_ACTIONS),
        "claim_id",
        "actor_id",
    ).union(
        rows(items, "claim_id", "report__built_by_id"),
        rows(items, "claim_id", "report__submitted_by_id"),
        rows(
            report_trail.filter(report__items__claim_id__in=ids),
            "report__items__claim_id",
            "actor_id",
        ),
        # the report it sits in now (a draft has no items yet)
        rows(
            QuarterlyReport.objects.filter(pk__in=reports, claims__in=ids),
            "claims__id",
            "built_by_id",
        ),
        rows(
            report_trail.filter(report_id__in=reports, report__claims__in=ids),
            "report__claims__id",
            "actor_id",
        ),
        # a discarded draft's claims are named by its build events only
        ReportEvent.objects.filter(
            report__unit_id__in={c.unit_id for c in claims},
            report__status=ReportStatus.DISCARDED,
            action=ReportAction.BUILD,
        )
        .annotate(
            m_claim=Value(None, output_field=IntegerField()),
            m_actor=F("actor_id"),
            m_list=F("changes"),
        )
        .order_by()
        .values_list("m_claim", "m_actor", "m_list"),
        all=True,
    )
    for claim_id, actor_id, changes in found:
        for pk in [claim_id] if claim_id is not None else _claims_in(changes):
            if pk in makers:
                makers[pk].add(actor_id)
    return {pk: frozenset(actors - {None}) for pk, actors in makers.items()}


def _claims_in(changes: Mapping[str, object] | None) -> list[int]:
    taken = (changes or {}).get("claims_in")
    return (
        [pk for pk in taken if isinstance(pk, int)] if isinstance(taken, list) else []
    )


# --- Approvals that overrode a failed spot check (issue 12, 5) -------------------------
@dataclass(frozen=True)
class SpotCheckOverride:
    """An approval of a claim whose spot check found the documents inconsistent
    (材料不符), with the reviewer's stated reason and the findings it overrode."""

    claim_id: int
    unit_name: str
    approved_amount: Decimal | None
    at: datetime
    actor_id: int
    actor_name: str
    reason: str
    notes: list[str]


def spot_check_overrides(*, limit: int = 200) -> list[SpotCheckOverride]:
    """The approvals that overrode an inconsistent spot check, newest first: for the
    auditor and the reviewers (the anomalies page). Read from the approvals' own
    events (hash-chained, append-only) of the claims with such a finding — two
    queries, whatever the number of claims."""
    events = list(
        ClaimEvent.objects.filter(
            action=ClaimAction.APPROVE,
            changes__has_key="spot_check_override",
            claim_id__in=SpotCheck.objects.filter(
                result=SpotCheckResult.INCONSISTENT
            ).values("claim_id"),
        )
        .select_related("actor", "claim__unit")
        .order_by("-at", "-pk")[:limit]
    )
    overridden = {
        check_id: event.pk
        for event in events
        for check_id in event.changes["spot_check_override"].get("spot_checks", [])
    }
    notes: dict[int, list[str]] = {event.pk: [] for event in events}
    for check_id, note in (
        SpotCheck.objects.filter(pk__in=list(overridden))
        .order_by("pk")
        .values_list("pk", "note")
    ):
        notes[overridden[check_id]].append(note)
    return [
        SpotCheckOverride(
            claim_id=event.claim_id,
            unit_name=event.claim.unit.name,
            approved_amount=event.claim.approved_amount,
            at=event.at,
            actor_id=event.actor_id,
            actor_name=event.actor.get_full_name() or event.actor.username,
            reason=event.changes["spot_check_override"].get("reason", ""),
            notes=notes[event.pk],
        )
        for event in events
    ]


def with_spot_check_evidence(user: User, checks: Iterable[SpotCheck]) -> None:
    """Attach to each spot check the evidence documents of its claim the user may open
    (``check.evidence``, oldest first) and the ids of those its record names as
    examined (``check.examined_ids``), in two queries whatever the number of checks
    (issue 16: the documents beside the record)."""
    checks = list(checks)
    by_claim: dict[int, list[Any]] = {c.claim_id: [] for c in checks}
    if by_claim:
        # the claim's own documents, then those of the class it came from
        of_class = class_documents_of_claims(list(by_claim))
        class_ids = {pk for ids in of_class.values() for pk in ids}
        for document in (
            documents_visible_to(user)
            .filter(Q(claim_id__in=list(by_claim)) | Q(pk__in=class_ids))
            .order_by("uploaded_at", "id")
        ):
            if document.claim_id is not None:
                by_claim[document.claim_id].append(document)
            for claim_id, ids in of_class.items():
                if document.pk in ids:
                    by_claim[claim_id].append(document)
    examined: dict[int, set[int]] = {c.pk: set() for c in checks}
    if examined:
        through = SpotCheck.documents_examined.through
        for check_id, document_id in through.objects.filter(
            spotcheck_id__in=list(examined)
        ).values_list("spotcheck_id", "document_id"):
            examined[check_id].add(document_id)
    for check in checks:
        check.evidence = by_claim[check.claim_id]  # type: ignore[attr-defined]
        check.examined_ids = examined[check.pk]  # type: ignore[attr-defined]
