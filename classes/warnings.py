"""What is worth a look about a training class's people (issue 16) — findings, not
refusals (五(一) 随机抽查, 七(五) 监督), each defined once here:

- ``class_overlap``: a person on the live rosters of two classes (neither cancelled)
  whose planned periods intersect, both ends included. Sessions are recorded only
  within a class's planned dates (``class_session_record``), so two classes whose
  sessions overlap are always found; the period shows it before the first session.
- ``age_unusual`` on a roster: the person is younger than 16 or older than 65 (whole
  years, from the birth date of the ID number) on the class's planned start — the
  claims' own definition (``claims.warnings.age_number``), at the class's start.
- ``class_perfect``: a completed class in which every person on the roster attended
  exactly 100% of the planned hours and every one passed. It happens; it is also what
  a made-up class looks like.

They are shown on a roster line's pre-check (overlap and age), as a claim's warnings
for the claims a class created (``warnings_for_class_claims``, offered to
``claims.warnings``), and prefecture-wide on the anomaly page (``reporting.anomalies``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Count, DateField, F, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from altay_skills.statements import rows_for_keys
from claims.warnings import AGE_UNUSUAL, ClaimWarning, age_number, unusual_age
from classes import rules
from classes.models import ClassSession, RosterLine, TrainingClass
from trainees.models import Trainee

CLASS_OVERLAP = "class_overlap"
CLASS_PERFECT = "class_perfect"
LABELS = {CLASS_OVERLAP: "培训班时间重叠", CLASS_PERFECT: "全员满勤且全部合格"}


def live_lines() -> QuerySet[RosterLine]:
    """The people on rosters that count: live lines of classes not cancelled."""
    return RosterLine.objects.filter(removed_at__isnull=True).exclude(
        training_class__status=rules.CANCELLED
    )


def periods_meet(a: tuple[date, date], b: tuple[date, date]) -> bool:
    """Two [start, end] periods intersect, both ends included."""
    return a[0] <= b[1] and b[0] <= a[1]


# --- A person on two classes at once -----------------------------------------------------
@dataclass(frozen=True)
class RosterPlace:
    """One person's place on one class's roster."""

    class_id: int
    planned_start: date
    planned_end: date
    status: str
    institution_name: str = ""
    unit_name: str = ""

    @property
    def status_label(self) -> str:
        return rules.STATUS_LABELS.get(self.status, self.status)


PLACE_FIELDS = (
    "trainee_id",
    "training_class_id",
    "training_class__planned_start",
    "training_class__planned_end",
    "training_class__status",
    "training_class__institution__name",
    "training_class__unit__name",
)


def _place(row: Any) -> RosterPlace:
    return RosterPlace(
        class_id=row["training_class_id"],
        planned_start=row["training_class__planned_start"],
        planned_end=row["training_class__planned_end"],
        status=row["training_class__status"],
        institution_name=row["training_class__institution__name"],
        unit_name=row["training_class__unit__name"],
    )


def places_of(trainee_ids: Iterable[int]) -> dict[int, list[RosterPlace]]:
    """trainee id → their places on rosters that count (one query)."""
    found: dict[int, list[RosterPlace]] = defaultdict(list)
    rows = (
        live_lines()
        .filter(trainee_id__in=set(trainee_ids))
        .order_by("trainee_id", "training_class__planned_start", "training_class_id")
        .values(*PLACE_FIELDS)
    )
    for row in rows:
        found[row["trainee_id"]].append(_place(row))
    return found


def overlapping_places(
    places: list[RosterPlace], period: tuple[date, date], *, besides: int
) -> list[RosterPlace]:
    """The places, other than on class ``besides``, whose periods meet ``period``."""
    return [
        p
        for p in places
        if p.class_id != besides
        and periods_meet((p.planned_start, p.planned_end), period)
    ]


def overlap_message(other: RosterPlace) -> str:
    return (
        f"该人员同时在培训班#{other.class_id}的名单上（计划"
        f"{other.planned_start.isoformat()}至{other.planned_end.isoformat()}，"
        f"{other.status_label}），培训时间重叠：同一时间参加两个培训班，请核实"
    )


def overlapping_classes(
    cls: TrainingClass, trainee_ids: list[int]
) -> dict[int, list[dict[str, Any]]]:
    """Trainee id → a warning for each other class (not cancelled) on whose roster
    they are and whose planned dates meet this one's (the roster's pre-check)."""
    found: dict[int, list[dict[str, Any]]] = {}
    period = (cls.planned_start, cls.planned_end)
    for trainee_id, places in places_of(trainee_ids).items():
        for other in overlapping_places(places, period, besides=cls.pk):
            found.setdefault(trainee_id, []).append(
                {"code": CLASS_OVERLAP, "message": overlap_message(other)}
            )
    return found


@dataclass(frozen=True)
class ClassOverlap:
    trainee_id: int
    trainee_name: str
    id_number_masked: str
    first: RosterPlace
    second: RosterPlace

    @property
    def days(self) -> int:
        start = max(self.first.planned_start, self.second.planned_start)
        end = min(self.first.planned_end, self.second.planned_end)
        return (end - start).days + 1


def class_overlaps(*, limit: int) -> list[ClassOverlap]:
    """Every pair of one person's places whose periods meet, prefecture-wide: the
    people on two or more rosters found in SQL, their places read once (one query),
    paired here."""
    from trainees.id_numbers import mask_id_number

    several = (
        live_lines()
        .values("trainee_id")
        .annotate(n=Count("training_class_id", distinct=True))
        .filter(n__gte=2)
        .values("trainee_id")
        .order_by()
    )
    rows = (
        live_lines()
        .filter(trainee_id__in=several)
        .order_by("trainee_id", "training_class__planned_start", "training_class_id")
        .values(*PLACE_FIELDS, "trainee__name", "trainee__id_number")
    )
    by_person: dict[int, list[tuple[RosterPlace, Any]]] = defaultdict(list)
    for row in rows:
        by_person[row["trainee_id"]].append((_place(row), row))
    pairs = []
    for trainee_id, places in by_person.items():
        for i, (first, row) in enumerate(places):
            for second, _ in places[i + 1 :]:
                if second.class_id != first.class_id and periods_meet(
                    (first.planned_start, first.planned_end),
                    (second.planned_start, second.planned_end),
                ):
                    pairs.append(
                        ClassOverlap(
                            trainee_id=trainee_id,
                            trainee_name=row["trainee__name"],
                            id_number_masked=mask_id_number(row["trainee__id_number"]),
                            first=first,
                            second=second,
                        )
                    )
                    if len(pairs) >= limit:
                        return pairs
    return pairs


# --- A roster's age outside 16–65 ----------------------------------------------------------
def roster_ages(cls: TrainingClass, trainee_ids: list[int]) -> dict[int, ClaimWarning]:
    """Trainee id → the ``age_unusual`` warning of those outside 16–65 on the class's
    planned start (one query)."""
    from claims.warnings import age_warning

    start = Value(cls.planned_start, output_field=DateField())
    return {
        pk: age_warning(number)
        for pk, number in Trainee.objects.filter(pk__in=trainee_ids)
        .annotate(age_number=age_number(start, F("birth_date")))
        .filter(unusual_age())
        .values_list("pk", "age_number")
    }


@dataclass(frozen=True)
class RosterAge:
    trainee_id: int
    trainee_name: str
    id_number_masked: str
    birth_date: date
    age: int
    place: RosterPlace


def roster_age_outliers(*, limit: int) -> list[RosterAge]:
    """People on rosters that count whose age on the class's planned start is outside
    16–65 (``claims.warnings.unusual_age``), one query."""
    from trainees.id_numbers import mask_id_number

    rows = (
        live_lines()
        .annotate(
            age_number=age_number(
                F("training_class__planned_start"), F("trainee__birth_date")
            )
        )
        .filter(unusual_age())
        .order_by("training_class__planned_start", "training_class_id", "trainee_id")
        .values(
            *PLACE_FIELDS,
            "trainee__name",
            "trainee__id_number",
            "trainee__birth_date",
            "age_number",
        )[:limit]
    )
    return [
        RosterAge(
            trainee_id=row["trainee_id"],
            trainee_name=row["trainee__name"],
            id_number_masked=mask_id_number(row["trainee__id_number"]),
            birth_date=row["trainee__birth_date"],
            age=row["age_number"] // 10000,
            place=_place(row),
        )
        for row in rows
    ]


# --- A completed class where everyone attended everything and passed ---------------------
def perfect_classes(class_ids: Collection[int] | None = None) -> set[int]:
    """The completed classes (of ``class_ids``, or all) in which every person on the
    roster attended exactly the planned hours and passed: two queries."""
    classes = TrainingClass.objects.filter(status=rules.COMPLETED)
    if class_ids is not None:
        classes = classes.filter(pk__in=list(class_ids))
    lines = RosterLine.objects.filter(
        removed_at__isnull=True, training_class__in=classes
    ).values_list("training_class_id", "trainee_id", "passed", "training_class__hours")
    through = ClassSession.present.through
    attended: dict[tuple[int, int], Decimal] = {
        (row["classsession__training_class_id"], row["trainee_id"]): row["hours"]
        for row in through.objects.filter(classsession__training_class__in=classes)
        .values("classsession__training_class_id", "trainee_id")
        .annotate(hours=Sum("classsession__hours"))
        .order_by()
    }
    perfect: dict[int, bool] = {}
    for class_id, trainee_id, passed, planned in lines:
        full = attended.get((class_id, trainee_id), Decimal(0)) == planned
        perfect[class_id] = perfect.get(class_id, True) and bool(passed) and full
    return {pk for pk, yes in perfect.items() if yes}


def perfect_message(class_id: int) -> str:
    return (
        f"培训班#{class_id}名单上每个人出勤都恰好100%且全部合格："
        "并非违规，但值得核对签到表和结业记录"
    )


@dataclass(frozen=True)
class PerfectClass:
    class_id: int
    institution_name: str
    unit_name: str
    planned_start: date
    planned_end: date
    people: int
    claim_ids: list[int]


def perfect_class_list(*, limit: int) -> list[PerfectClass]:
    """The completed classes of ``perfect_classes``, with their claims (four queries)."""
    ids = sorted(perfect_classes())[:limit]
    claims: dict[int, list[int]] = defaultdict(list)
    people: dict[int, int] = defaultdict(int)
    for class_id, claim_id in (
        RosterLine.objects.filter(removed_at__isnull=True, training_class_id__in=ids)
        .order_by("training_class_id", "id")
        .values_list("training_class_id", "claim_id")
    ):
        people[class_id] += 1
        if claim_id is not None:
            claims[class_id].append(claim_id)
    return [
        PerfectClass(
            class_id=cls.pk,
            institution_name=cls.institution.name,
            unit_name=cls.unit.name,
            planned_start=cls.planned_start,
            planned_end=cls.planned_end,
            people=people[cls.pk],
            claim_ids=claims[cls.pk],
        )
        for cls in TrainingClass.objects.filter(pk__in=ids)
        .select_related("institution", "unit")
        .order_by("-planned_end", "pk")
    ]


@dataclass(frozen=True)
class OverdueClass:
    """A class still running more than ``rules.COMPLETION_GRACE_DAYS`` after its
    planned end, with the advance paid on it (0 when none): until it is completed the
    advance is neither shared out nor recovered."""

    class_id: int
    institution_name: str
    unit_name: str
    planned_start: date
    planned_end: date
    days_past_end: int
    advance: Decimal


def overdue_classes(today: date, *, limit: int) -> list[OverdueClass]:
    """The running classes past their planned end by more than the grace, those
    holding the largest advance first (one query: classes are few beside claims)."""
    cutoff = today - timedelta(days=rules.COMPLETION_GRACE_DAYS.whole)
    rows = (
        TrainingClass.objects.filter(status=rules.RUNNING, planned_end__lt=cutoff)
        .select_related("institution", "unit")
        .annotate(paid=Coalesce(F("advance__amount"), Value(Decimal("0.00"))))
        .order_by("-paid", "planned_end", "pk")[:limit]
    )
    return [
        OverdueClass(
            class_id=cls.pk,
            institution_name=cls.institution.name,
            unit_name=cls.unit.name,
            planned_start=cls.planned_start,
            planned_end=cls.planned_end,
            days_past_end=(today - cls.planned_end).days,
            advance=cls.paid,
        )
        for cls in rows
    ]


# --- A claim's warnings from its class ---------------------------------------------------
#: Claims one statement looks up on the rosters (SQLite's parameter limit).
CLAIMS_PER_STATEMENT = 1000


def _roster_lines_of(claim_ids: Collection[int]) -> list[tuple[int, int, int]]:
    """(claim, person, class) of the roster lines that created these claims: one
    statement on the roster table alone, written from its columns (the claim list
    asks it for every page, and most pages name no class: the ORM's compiling cost
    more than the reading; issue 20)."""
    meta: Any = RosterLine._meta
    q = connection.ops.quote_name
    claim, person, training_class = (
        q(meta.get_field(name).column)
        for name in ("claim", "trainee", "training_class")
    )
    rows = rows_for_keys(
        lambda marks: (  # identifiers from the model, every value a parameter
            f"SELECT {claim}, {person}, {training_class} "  # noqa: S608  # nosec B608
            f"FROM {q(meta.db_table)} WHERE {claim} IN ({marks})"
        ),
        claim_ids,
        per=CLAIMS_PER_STATEMENT,
    )
    return [(claim_id, trainee, class_id) for claim_id, trainee, class_id in rows]


def warnings_for_class_claims(
    claim_ids: Collection[int],
) -> dict[int, list[ClaimWarning]]:
    """The warnings of claims created by a class's completion (offered to
    ``claims.warnings``): the person on another class at the same time, and a class
    in which everyone attended everything and passed. One query when none of the
    claims came from a class, five otherwise (the classes' periods read apart)."""
    lines = _roster_lines_of(claim_ids)
    if not lines:
        return {}
    periods = dict(
        (pk, (start, end))
        for pk, start, end in TrainingClass.objects.filter(
            pk__in={class_id for _, _, class_id in lines}
        ).values_list("pk", "planned_start", "planned_end")
    )
    places = places_of({trainee for _, trainee, _ in lines})
    perfect = perfect_classes({class_id for _, _, class_id in lines})
    found: dict[int, list[ClaimWarning]] = defaultdict(list)
    for claim_id, trainee_id, class_id in sorted(lines):
        for other in overlapping_places(
            places.get(trainee_id, []), periods[class_id], besides=class_id
        ):
            found[claim_id].append(ClaimWarning(CLASS_OVERLAP, overlap_message(other)))
        if class_id in perfect:
            found[claim_id].append(
                ClaimWarning(CLASS_PERFECT, perfect_message(class_id))
            )
    return dict(found)


__all__ = [
    "AGE_UNUSUAL",
    "CLASS_OVERLAP",
    "CLASS_PERFECT",
    "ClassOverlap",
    "PerfectClass",
    "RosterAge",
    "class_overlaps",
    "overlapping_classes",
    "perfect_class_list",
    "perfect_classes",
    "roster_age_outliers",
    "roster_ages",
    "warnings_for_class_claims",
]
