"""Warnings: what a person must see before deciding a claim that does not by itself
refuse it (api-contract.md, a decision's ``warnings``). Findings, not refusals: the
rules of 五(二) refuse what is certainly wrong (``claims.rules``); these are what is
*probably* wrong and is checked by a person (五(一) 随机抽查, 七(五) 监督).

Each anomaly that concerns one claim is defined here once. The reviewer's anomaly page
(``reporting.anomalies``) lists them prefecture-wide with the same predicates; a
claim's warnings name the claims it is found with:

- ``training_overlap``: another live claim (submitted, approved or returned) of the
  same person whose [start, end] training period intersects this one's.
- ``certificate_reused``: the certificate number (trimmed, case-insensitive) is on
  another claim that is not withdrawn.
- ``age_unusual``: the person is younger than 16 or older than 65 (whole years) when
  the training starts (birth date from the ID number). No other claim is involved.

A later stage may add warnings of its own to a claim's (``offer_warnings``): a claim
created by a training class's completion carries the class's (``classes.warnings``: the
person on two classes at once, a class where everyone attended everything and passed).

The other anomalies of that page concern a group, not a claim (an institution's claims
of one day, one phone number on several people) or record a decision already taken (an
approval that overrode a spot check), so they are not a claim's warnings.

A warning names the other claims by id only, whatever their unit: that another claim
exists is the fact to check, and its id is what the prefecture asks about; its person,
unit and dates stay behind the user's scope (a page links only the ids the user may
open).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import connection
from django.db.models import (
    DateField,
    F,
    FilteredRelation,
    Q,
    QuerySet,
    Value,
)
from django.db.models.functions import (
    ExtractDay,
    ExtractMonth,
    ExtractYear,
    Trim,
    Upper,
)

from claims import workflow
from claims.models import Claim
from claims.rules import COUNTING_STATUSES
from trainees.models import Trainee

TRAINING_OVERLAP = "training_overlap"
CERTIFICATE_REUSED = "certificate_reused"
AGE_UNUSUAL = "age_unusual"
LABELS = {
    TRAINING_OVERLAP: "培训时间重叠",
    CERTIFICATE_REUSED: "证书编号重复",
    AGE_UNUSUAL: "年龄异常",
}

#: The claims an overlap is looked for among: the live ones (a draft counts for
#: nothing until submitted; a rejected or withdrawn training did not happen).
LIVE = sorted(COUNTING_STATUSES)
MIN_AGE, MAX_AGE = 16, 65


@dataclass(frozen=True)
class ClaimWarning:
    code: str
    message: str
    #: the other claims it is found with (ids only; see the module's docstring)
    claims: tuple[int, ...] = ()

    @property
    def label(self) -> str:
        return LABELS.get(self.code) or _offered_labels.get(self.code, "提示")

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "claims": list(self.claims)}


# --- The definitions ------------------------------------------------------------------
def certificate_key(expression: Any = "certificate_number") -> Upper:
    """A certificate number as compared: trimmed, upper case."""
    return Upper(Trim(expression))


def carrying_certificates(claims: QuerySet[Claim]) -> QuerySet[Claim]:
    """The claims whose certificate number counts, annotated with its key ``cert``."""
    return (
        claims.exclude(status=workflow.WITHDRAWN)
        .annotate(cert=certificate_key())
        .exclude(cert="")  # type: ignore[misc]  # an annotation, unknown to the stubs
    )


def overlaps(start: Any, end: Any, *, prefix: str = "") -> Q:
    """Claims (at ``prefix``) whose period intersects [start, end], both ends included."""
    return Q(
        **{f"{prefix}training_start__lte": end, f"{prefix}training_end__gte": start}
    )


def overlapping_live_claims(*, later_only: bool) -> FilteredRelation:
    """The same person's live claims overlapping each claim, as a relation to join
    (``later_only``: only those with a greater id, each pair once)."""
    prefix = "trainee__claims__"
    other_id = (
        Q(trainee__claims__id__gt=F("id"))
        if later_only
        else Q(trainee__claims__id__gt=F("id")) | Q(trainee__claims__id__lt=F("id"))
    )
    return FilteredRelation(
        "trainee__claims",
        condition=Q(trainee__claims__status__in=LIVE)
        & overlaps(F("training_start"), F("training_end"), prefix=prefix)
        & other_id,
    )


def _date_number(expression: Any) -> Any:
    """A date as the integer YYYYMMDD: two of them subtract to an age × 10000 + …"""
    return (
        ExtractYear(expression) * 10000
        + ExtractMonth(expression) * 100
        + ExtractDay(expression)
    )


def age_number(start: Any, birth: Any) -> Any:
    """Age in whole years at ``start`` × 10000 (+ the rest): exact for birthdays, in
    SQL on SQLite and PostgreSQL alike."""
    return _date_number(start) - _date_number(birth)


def unusual_age(name: str = "age_number") -> Q:
    """The annotation ``name`` (an ``age_number``) outside MIN_AGE–MAX_AGE."""
    return Q(**{f"{name}__lt": MIN_AGE * 10000}) | Q(
        **{f"{name}__gte": (MAX_AGE + 1) * 10000}
    )


# --- The messages ---------------------------------------------------------------------
def _ids(ids: Collection[int], shown: int = 5) -> str:
    """The other claims in a message: the first few (``claims`` lists them all)."""
    ordered = sorted(ids)
    named = "、".join(f"申报#{i}" for i in ordered[:shown])
    return named if len(ordered) <= shown else f"{named}等{len(ordered)}笔申报"


def _overlap(ids: Collection[int]) -> ClaimWarning:
    return ClaimWarning(
        TRAINING_OVERLAP,
        f"培训时间与该人员的其他申报（{_ids(ids)}）重叠：同一时间参加两项培训，请核实",
        tuple(sorted(ids)),
    )


def _certificate(number: str, ids: Collection[int]) -> ClaimWarning:
    return ClaimWarning(
        CERTIFICATE_REUSED,
        f"证书编号 {number.strip()} 已用于其他申报（{_ids(ids)}）：请核实证书是否重复使用",
        tuple(sorted(ids)),
    )


def age_warning(number: int) -> ClaimWarning:
    return ClaimWarning(
        AGE_UNUSUAL,
        f"培训开始时该人员{number // 10000}周岁，不在{MIN_AGE}–{MAX_AGE}周岁之间："
        "请核实身份证号码和出生日期",
    )


# --- Warnings a later stage knows ------------------------------------------------------
#: claim ids → the warnings a later stage finds for them (``classes.warnings``, issue
#: 16). This stage may not import that one, so it registers from its
#: ``AppConfig.ready()`` (as ``claims.facts.offer_attendance``).
WarningSource = Callable[[Collection[int]], dict[int, list[ClaimWarning]]]
_warning_sources: list[WarningSource] = []
_offered_labels: dict[str, str] = {}


def offer_warnings(source: WarningSource, labels: dict[str, str]) -> None:
    if source not in _warning_sources:
        _warning_sources.append(source)
    _offered_labels.update(labels)


# --- A claim's warnings ---------------------------------------------------------------
#: Claims judged per statement: three ``IN`` lists of this many ids stay far below
#: SQLite's limit of bound parameters (32,766) and PostgreSQL's (65,535).
CLAIMS_PER_STATEMENT = 1000


def _warning_statement(count: int) -> str:
    """The one statement that finds the warnings of ``count`` stored claims: a UNION
    ALL of three legs, each row (leg, claim, other claim, certificate key, training
    start, birth date):

    1. the same person's live claims overlapping each claim (``overlaps``);
    2. the live claims carrying each claim's certificate key (``carrying_certificates``;
       the claim itself neither withdrawn nor without a number);
    3. each claim's training start and its person's birth date (``age_number`` is
       taken from them in Python, ``age_number_of``: the same whole-year arithmetic).

    Written from the models' tables and columns, every value a parameter: the ORM
    built and compiled the same findings as four querysets in 7 of the claim list's
    24 ms (issue 20). The querysets above stay the definitions the anomaly page runs;
    tests/claims/test_warnings.py runs both over random claims and compares them."""
    q = connection.ops.quote_name
    claim, trainee = Claim._meta, Trainee._meta

    def col(meta: Any, name: str) -> str:
        return q(meta.get_field(name).column)

    table, people = q(claim.db_table), q(trainee.db_table)
    pk, person = col(claim, "id"), col(claim, "trainee")
    status, cert = col(claim, "status"), col(claim, "certificate_number")
    start, end = col(claim, "training_start"), col(claim, "training_end")
    ids = ", ".join(["%s"] * count)
    live = ", ".join(["%s"] * len(LIVE))
    key = f"UPPER(TRIM({{}}.{cert}))"
    no_day = "CAST(NULL AS DATE)"  # typed: PostgreSQL reads two bare NULLs as text
    holding = (
        f"{key.format('o')} = {key.format('s')} "
        f"AND o.{status} IN ({live}) AND o.{pk} <> s.{pk}"
    )
    if connection.vendor == "postgresql":
        # Each claim's holders as a subquery planned for one key (OFFSET 0 keeps it
        # from being folded into a join): a join's estimate counts the empty key,
        # the most common value, on both sides though the claim's side excludes it —
        # 1.07 million rows estimated for none at 1M, 10.6 million at 10M, where the
        # cost passed the JIT threshold (docs/performance.md sections 13 and 14).
        holders = (
            f"CROSS JOIN LATERAL (SELECT o.{pk} FROM {table} o WHERE {holding} "  # noqa: S608  # nosec B608
            "OFFSET 0) o"
        )
    else:  # SQLite has no LATERAL, and plans the join per claim by the index
        holders = f"JOIN {table} o ON {holding}"
    return (  # identifiers from the models, every value a parameter
        f"SELECT 1, s.{pk}, o.{pk}, NULL, {no_day}, {no_day} "  # noqa: S608  # nosec B608
        f"FROM {table} s JOIN {table} o ON o.{person} = s.{person} "
        f"WHERE s.{pk} IN ({ids}) AND s.{status} <> %s "
        f"AND o.{status} IN ({live}) AND o.{pk} <> s.{pk} "
        f"AND o.{start} <= s.{end} AND o.{end} >= s.{start} "
        f"UNION ALL SELECT 2, s.{pk}, o.{pk}, {key.format('s')}, {no_day}, {no_day} "
        f"FROM {table} s {holders} "
        f"WHERE s.{pk} IN ({ids}) AND s.{status} NOT IN (%s, %s) "
        f"AND {key.format('s')} <> '' "
        f"UNION ALL SELECT 3, s.{pk}, NULL, NULL, s.{start}, t.{col(trainee, 'birth_date')} "
        f"FROM {table} s JOIN {people} t ON t.{col(trainee, 'id')} = s.{person} "
        f"WHERE s.{pk} IN ({ids}) AND s.{status} <> %s"
    )


def warning_parameters(chunk: Sequence[int]) -> list[Any]:
    """The values of ``_warning_statement(len(chunk))`` for these claims, in order."""
    return [
        *chunk, workflow.DELETED, *LIVE,
        *LIVE, *chunk, workflow.DELETED, workflow.WITHDRAWN,
        *chunk, workflow.DELETED,
    ]  # fmt: skip


def _day(value: Any) -> date | None:
    """A date column read by a raw cursor (SQLite may hand back its ISO text)."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def age_number_of(start: date, birth: date) -> int:
    """``age_number`` in Python: (YYYYMMDD of the start) − (YYYYMMDD of the birth)."""
    return (start.year - birth.year) * 10000 + (
        (start.month - birth.month) * 100 + start.day - birth.day
    )


def is_unusual_age(number: int) -> bool:
    """``unusual_age`` in Python."""
    return number < MIN_AGE * 10000 or number >= (MAX_AGE + 1) * 10000


def warnings_for_claims(claim_ids: Collection[int]) -> dict[int, list[ClaimWarning]]:
    """The warnings of stored claims, as the database stands now: one statement for up
    to ``CLAIMS_PER_STATEMENT`` claims (a page, a report; ``_warning_statement``) and
    those of the later stages' sources (``offer_warnings``: one more query when none of
    the claims came from a class, five when some did). A claim deleted or unknown has
    none.

    The certificate's other holders are claims that reached the prefecture (LIVE), not
    a draft typed anywhere: a draft proves nothing, and counting drafts would let any
    clerk probe whether a certificate number exists in another unit."""
    found: dict[int, list[ClaimWarning]] = {pk: [] for pk in claim_ids}
    if not found:
        return found
    overlapping: dict[int, set[int]] = defaultdict(set)
    holders: dict[int, set[int]] = defaultdict(set)
    keys: dict[int, str] = {}
    ages: dict[int, int] = {}
    subjects = sorted(found)
    for at in range(0, len(subjects), CLAIMS_PER_STATEMENT):
        chunk = subjects[at : at + CLAIMS_PER_STATEMENT]
        with connection.cursor() as cursor:
            cursor.execute(_warning_statement(len(chunk)), warning_parameters(chunk))
            rows = cursor.fetchall()
        for leg, pk, other, key, start, birth in rows:
            if leg == 1:
                overlapping[pk].add(other)
            elif leg == 2:
                holders[pk].add(other)
                keys[pk] = key
            else:
                start, birth = _day(start), _day(birth)
                if start is not None and birth is not None:
                    number = age_number_of(start, birth)
                    if is_unusual_age(number):
                        ages[pk] = number
    for pk, warnings in found.items():
        if overlapping.get(pk):
            warnings.append(_overlap(overlapping[pk]))
        if holders.get(pk):
            warnings.append(_certificate(keys[pk], holders[pk]))
        if pk in ages:
            warnings.append(age_warning(ages[pk]))
    for source in _warning_sources:
        for pk, more in source(list(found)).items():
            found[pk].extend(more)
    return found


def warnings_for_input(
    *,
    trainee_id: int,
    training_start: date,
    training_end: date,
    certificate_number: str,
    claim_id: int | None = None,
) -> list[ClaimWarning]:
    """The warnings of a claim as entered (the dry run, the form): judged against the
    database now, leaving out the claim being edited (``claim_id``)."""
    others = Claim.objects.exclude(pk=claim_id) if claim_id else Claim.objects.all()
    warnings = []
    overlapping = set(
        others.filter(trainee_id=trainee_id, status__in=LIVE)
        .filter(overlaps(training_start, training_end))
        .values_list("pk", flat=True)
    )
    if overlapping:
        warnings.append(_overlap(overlapping))
    if certificate_number.strip():
        reused = set(
            carrying_certificates(others.filter(status__in=LIVE))
            .filter(cert=certificate_key(Value(certificate_number)))  # type: ignore[misc]
            .values_list("pk", flat=True)
        )
        if reused:
            warnings.append(_certificate(certificate_number, reused))
    start = Value(training_start, output_field=DateField())
    age = (
        Trainee.objects.filter(pk=trainee_id)
        .annotate(age_number=age_number(start, F("birth_date")))
        .filter(unusual_age())
        .values_list("age_number", flat=True)
        .first()
    )
    if age is not None:
        warnings.append(age_warning(age))
    return warnings
