"""Every read of quarterly reports, with the user's unit scope applied.

A report the user may not see is answered exactly like one that does not exist (404).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.db import connection, transaction
from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    JSONField,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import ExtractQuarter, ExtractYear
from django.utils import timezone

from accounts.models import User
from altay_skills.errors import Conflict, NotFound
from claims import workflow
from claims.facts import policy_terms
from claims.models import Claim, ClaimAction, ClaimEvent, TraineeGrievance
from claims.rules import term_in_force
from claims.selectors import (
    CHECKER_ACTIONS,
    MAKER_ACTIONS,
    documents_visible_to,
    offered_claim_makers,
    offered_claim_payers,
    unit_scoped,
)
from classes.selectors import class_documents_of_claims
from programs.models import PolicyKind, name_field
from quarters.models import (
    Objection,
    ObjectionStatus,
    PublicNotice,
    QuarterlyReport,
    ReportAction,
    ReportEvent,
    ReportItem,
    ReportStatus,
    SpotCheck,
    SpotCheckResult,
)
from quarters.rules import masked_name
from trainees.id_numbers import mask_id_number


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


def quarters_sent(user: User) -> set[str]:
    """The quarters whose report the user's unit has already sent (submitted or
    closed): a report of them is not built again (``report_build`` refuses it)."""
    return set(
        reports_visible_to(user)
        .exclude(status__in=(ReportStatus.DRAFT, ReportStatus.DISCARDED))
        .values_list("quarter", flat=True)
    )


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
    for claim, _, _ in frozen:
        if claim.pk in checks:  # its claim and report, without a query each
            checks[claim.pk].claim, checks[claim.pk].report = claim, report
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


def spot_checks_waiting(report_ids: Collection[int]) -> dict[int, dict[str, int]]:
    """Each report's spot checks by result (one query), a pending check whose claim was
    returned from the report counted as ``left`` (``SpotCheck.left_report``): it no
    longer waits for a result there."""
    counts: dict[int, dict[str, int]] = {pk: {} for pk in report_ids}
    left = Q(result=SpotCheckResult.PENDING) & ~Q(claim__report_id=F("report_id"))
    rows = (
        SpotCheck.objects.filter(report_id__in=list(report_ids))
        .annotate(counted=Case(When(left, then=Value("left")), default=F("result")))
        .values_list("report_id", "counted")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for report_id, counted, n in rows:
        counts[report_id][counted] = n
    return counts


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
# A claim's own trail: ``claims.selectors.MAKER_ACTIONS``.
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


def _claims_per_statement() -> int | None:
    """How many claims one ``claim_makers`` statement may name: none on PostgreSQL;
    on SQLite (``make run``) its limit on a statement's parameters, which the claims'
    ids fill six times over (a bank batch of 6,000 claims passed it)."""
    if connection.vendor != "sqlite":
        return None
    connection.ensure_connection()
    limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return max(1, (limit - 500) // 6)


def claim_makers(claims: Iterable[Claim]) -> dict[int, frozenset[int]]:
    """Everyone who made each claim what it is, whatever their role is now: who
    created, edited, submitted or withdrew it, uploaded its evidence and who sent it in
    a report (its ``ClaimEvent`` trail), who made the class it came from (the makers
    ``classes`` offers), who built, refreshed or submitted a report that holds or
    held it (the report, its ``ReportItem`` and its trail), and who put it into a draft
    later discarded (the draft's build events name the claims they took in).

    One query (a ``UNION ALL``) for any number of claims; a service reads it under the
    claims' row locks, so no maker can be added between the check and the decision."""
    claims = list(claims)
    per_statement = _claims_per_statement()
    if per_statement is not None and len(claims) > per_statement:
        in_parts: dict[int, frozenset[int]] = {}
        for start in range(0, len(claims), per_statement):
            in_parts |= claim_makers(claims[start : start + per_statement])
        return in_parts
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
    # a class's claims: who drafted, rostered, filed, accepted, ran or documented it
    for pk, actors in offered_claim_makers(
        ids, besides=report_makers_of_claims
    ).items():
        makers[pk] |= actors
    return {pk: frozenset(actors - {None}) for pk, actors in makers.items()}


def claim_makers_and_payers(claims: Iterable[Claim]) -> dict[int, frozenset[int]]:
    """Who may not decide, check or rule on each claim: its makers (``claim_makers``)
    and whoever paid it (``claims.selectors.offered_claim_payers``: a finance officer
    who paid an advance and was then made a reviewer approved the claim)."""
    claims = list(claims)
    makers = claim_makers(claims)
    payers = offered_claim_payers([c.pk for c in claims])
    return {pk: actors | payers.get(pk, frozenset()) for pk, actors in makers.items()}


def claim_makers_and_checkers(claims: Iterable[Claim]) -> dict[int, frozenset[int]]:
    """Who may not pay each claim, send its batch or settle what it owes: its makers
    (``claim_makers``) and whoever checked or decided it — approved, rejected or
    returned it, recorded its spot check (``CHECKER_ACTIONS`` of its trail), ruled on
    an objection to it or on its trainee's "not me" (a reviewer who checked a claim's
    documents, or dismissed the dispute that held its balance, and was then made
    finance could pay it)."""
    claims = list(claims)
    found = {pk: set(actors) for pk, actors in claim_makers(claims).items()}
    ids = list(found)
    for claim_id, actor_id in (
        ClaimEvent.objects.filter(claim_id__in=ids, action__in=CHECKER_ACTIONS)
        .order_by()
        .values_list("claim_id", "actor_id")
        .union(
            Objection.objects.filter(claim_id__in=ids, decided_by__isnull=False)
            .order_by()
            .values_list("claim_id", "decided_by_id"),
            TraineeGrievance.objects.filter(claim_id__in=ids, found_by__isnull=False)
            .order_by()
            .values_list("claim_id", "found_by_id"),
            all=True,
        )
    ):
        if actor_id is not None:
            found[claim_id].add(actor_id)
    for claim in claims:
        if claim.reviewed_by_id is not None:
            found[claim.pk].add(claim.reviewed_by_id)
    return {pk: frozenset(actors) for pk, actors in found.items()}


def report_makers_of_claims(claim_ids: list[int]) -> dict[int, frozenset[int]]:
    """``claim_makers`` by the claims' ids, for ``claims.selectors.offer_claim_makers``:
    who built, refreshed or submitted a report that held a claim made it what it is
    for a trainee's "not me" too, as for the reviewer's decision."""
    claims = Claim.all_rows.filter(pk__in=claim_ids).only(
        "id", "report_id", "created_by_id", "unit_id"
    )
    return claim_makers(claims)


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


# --- Public notice (公示, issue 17) ---------------------------------------------------------
#: The cache key whose value is the generation of every public notice: a notice opened,
#: an objection lodged or found bumps it, so the cached public lists are stale at once.
NOTICE_GENERATION_KEY = "public-notices:generation"


def notice_period(unit_id: str, on: date) -> tuple[int, int | None]:
    """The working days a unit's notice opened on ``on`` runs for, and the policy entry
    they come from (``notice_working_days``, a dated term; a unit's own beats the
    prefecture's). Without a term in force the report cannot go on notice: 409."""
    term = term_in_force(
        policy_terms(), PolicyKind.NOTICE_WORKING_DAYS, on=on, unit=unit_id
    )
    if term is None:
        raise Conflict(
            "notice_period_missing",
            "未设置公示期（政策标准“公示期（工作日）”），请管理员录入后再报送",
        )
    return int(term.value), term.entry_id


@dataclass(frozen=True)
class PublicLine:
    """One claim as a public notice shows it: nothing personal beyond the masked forms."""

    line: int
    name: str
    id_number: str
    institution: str
    program: str
    trade: str
    level: str
    amount: Decimal
    objections_open: int


@dataclass(frozen=True)
class PublicNoticeView:
    id: int
    unit: str
    unit_name: str
    quarter: str
    opened_on: date
    closes_on: date
    last_day: date
    is_open: bool
    working_days: int
    calendar_covered: bool
    line_count: int
    total: Decimal
    lines: list[PublicLine]


def notice_generation() -> int:
    """The notices' generation; a new one (the clock's nanoseconds) when the cache has
    none, so entries of an earlier generation are never read again."""
    cache = caches["default"]
    generation = cache.get_or_set(NOTICE_GENERATION_KEY, time.time_ns(), None)
    return int(generation) if generation is not None else time.time_ns()


def notice_generation_bump() -> None:
    """Now (so this transaction's own reads are fresh) and again once it commits (so a
    list read meanwhile by someone else, without this change, is not kept)."""
    cache = caches["default"]

    def bump() -> None:
        try:
            cache.incr(NOTICE_GENERATION_KEY)
        except ValueError:  # not there (expired, cleared): a new generation
            cache.set(NOTICE_GENERATION_KEY, time.time_ns(), None)

    bump()
    transaction.on_commit(bump)


def public_notices(
    *, unit: str = "", quarter: str = "", with_lines: bool = True
) -> list[PublicNoticeView]:
    """Open and closed notices, newest quarter first, by unit and quarter, cached for
    ``PUBLIC_NOTICE_CACHE_SECONDS`` under the notices' generation and today's date (a
    notice closes at midnight)."""
    today = timezone.localdate()
    key = (
        f"public-notices:{notice_generation()}:{today.isoformat()}:"
        f"{unit}:{quarter}:{int(with_lines)}:{name_field()}"
    )
    cache = caches["default"]
    found = cache.get(key)
    if found is None:
        found = _public_notices(unit=unit, quarter=quarter, with_lines=with_lines)
        cache.set(key, found, settings.PUBLIC_NOTICE_CACHE_SECONDS)
    return list(found)


def _public_notices(
    *, unit: str, quarter: str, with_lines: bool
) -> list[PublicNoticeView]:
    today = timezone.localdate()
    live = Q(report__items__claim__report_id=F("report_id")) & ~Q(
        report__items__claim__status=workflow.REJECTED
    )
    notices = PublicNotice.objects.select_related("unit").annotate(
        line_count=Count("report__items", filter=live, distinct=True),
        total=Sum("report__items__amount", filter=live),
    )
    if unit:
        notices = notices.filter(unit_id=unit)
    if quarter:
        notices = notices.filter(quarter=quarter)
    notices = notices.order_by("-quarter", "unit__sort_order", "unit_id")
    lines: dict[int, list[PublicLine]] = {}
    if with_lines:
        lines = _public_lines([n.report_id for n in notices])
    return [
        PublicNoticeView(
            id=n.pk,
            unit=n.unit_id,
            unit_name=n.unit.local_name(),
            quarter=n.quarter,
            opened_on=n.opened_on,
            closes_on=n.closes_on,
            last_day=n.closes_on - timedelta(days=1),
            is_open=n.is_open_on(today),
            working_days=n.working_days,
            calendar_covered=n.calendar_covered,
            line_count=n.line_count,
            total=n.total or Decimal(0),
            lines=lines.get(n.report_id, []),
        )
        for n in notices
    ]


#: A report's line still on its notice: its claim still in the report (a returned one
#: left it, and is on the notice of the report it is sent in again) and not rejected.
ON_NOTICE = Q(claim__report_id=F("report_id")) & ~Q(claim__status=workflow.REJECTED)


def _public_lines(report_ids: list[int]) -> dict[int, list[PublicLine]]:
    """The lines of the notices still on them (``ON_NOTICE``), the program, trade and
    level named in the visitor's language (``name_ug``/``name_kk_arab`` beside the
    rows, else the Chinese)."""
    local = name_field()
    rows = (
        ReportItem.objects.filter(report_id__in=report_ids)
        .filter(ON_NOTICE)
        .annotate(
            open_objections=Count(
                "objections", filter=Q(objections__status=ObjectionStatus.OPEN)
            )
        )
        .order_by("report_id", "pk")
        .values_list(
            "pk",
            "report_id",
            "claim__trainee__name",
            "claim__trainee__id_number",
            "claim__institution__name",
            "program_id",
            "program__name",
            "claim__trade__name",
            "claim__level__name",
            "amount",
            "open_objections",
            f"program__{local}",
            f"claim__trade__{local}",
            f"claim__level__{local}",
        )
    )
    found: dict[int, list[PublicLine]] = {}
    for (
        pk,
        report_id,
        name,
        id_number,
        institution,
        program_id,
        program_name,
        trade,
        level,
        amount,
        open_objections,
        program_local,
        trade_local,
        level_local,
    ) in rows:
        found.setdefault(report_id, []).append(
            PublicLine(
                line=pk,
                name=masked_name(name or ""),
                id_number=mask_id_number(id_number or ""),
                institution=institution or "",
                program=f"{program_id} {program_local or program_name}",
                trade=trade_local or trade or "",
                level=level_local or level or "",
                amount=amount,
                objections_open=open_objections,
            )
        )
    return found


def public_notice(notice_id: int) -> PublicNoticeView | None:
    """One notice with its lines, through the same cache as the lists."""
    unit_quarter = (
        PublicNotice.objects.filter(pk=notice_id)
        .values_list("unit_id", "quarter")
        .first()
    )
    if unit_quarter is None:
        return None
    found = public_notices(unit=unit_quarter[0], quarter=unit_quarter[1])
    return next((n for n in found if n.id == notice_id), None)


def objection_by_reference(reference: str) -> Objection | None:
    """The objection its lodger looks up by the reference code they were given."""
    reference = (reference or "").strip().upper()
    if not reference or len(reference) > 16:
        return None
    return (
        Objection.objects.select_related("notice", "notice__unit")
        .filter(reference=reference)
        .first()
    )


def objections_visible_to(user: User) -> QuerySet[Objection]:
    """The objections a user may read: a clerk their unit's; the reviewer, finance and
    the auditor every unit's (the auditor's list of objections and findings)."""
    if not user.is_authenticated or not user.is_active:
        return Objection.objects.none()
    qs = Objection.objects.select_related(
        "notice", "notice__unit", "claim", "decided_by", "lodged_by"
    )
    if user.is_clerk:
        return qs.filter(notice__unit_id=user.unit_id)
    if user.is_reviewer or user.is_finance or user.is_auditor:
        return qs
    return qs.none()


def spot_check_results(claims: Iterable[Claim]) -> dict[int, set[str]]:
    """The results of each claim's spot checks that bear on approving it (one query):
    every recorded result, wherever it was drawn (材料不符 found in an earlier report
    still stands), but a check still pending only in the claim's current report — one
    left pending in a report the claim was returned from can no longer be recorded
    (that report may be closed) and must not hold the claim up for good."""
    current = {claim.pk: claim.report_id for claim in claims}
    results: dict[int, set[str]] = {pk: set() for pk in current}
    rows = SpotCheck.objects.filter(claim_id__in=list(current)).values_list(
        "claim_id", "report_id", "result"
    )
    for claim_id, report_id, result in rows:
        if result != SpotCheckResult.PENDING or report_id == current[claim_id]:
            results[claim_id].add(result)
    return results


def claims_with_open_objections(claim_ids: Iterable[int]) -> set[int]:
    return set(
        Objection.objects.filter(
            claim_id__in=list(claim_ids), status=ObjectionStatus.OPEN
        ).values_list("claim_id", flat=True)
    )
