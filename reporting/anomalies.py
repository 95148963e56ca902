"""Patterns the reviewer should look at (五(一) 随机抽查, 七(五) 监督): each a list that
links to the claims. Findings, not refusals — the rules of 五(二) already refuse what
is certainly wrong; these are what is *probably* wrong.

Every list is one SQL statement (``GROUP BY … HAVING``, a self-join for overlaps), plus
one to fetch the claims of the groups found: a fixed number of queries in all.

- **One certificate on several claims**: the same certificate number (trimmed,
  case-insensitive) on two or more claims that are not withdrawn.
- **Overlapping trainings**: two live claims (submitted, approved or returned) of one
  person whose [start, end] periods intersect.
- **A burst of claims**: an institution named on ``ANOMALY_CLAIMS_PER_DAY`` (default 20)
  or more claims entered on one day. A fixed threshold rather than mean + 3σ: the
  number of claims per institution is small and uneven (one school, a few classes a
  year), so a σ from it is unstable; 20 is a large class entered at once — worth a
  look, easy to explain, and a setting.
- **Age outside 16–65** at the start of the training (birth date from the ID number),
  on claims that reached the prefecture (not drafts, not withdrawn).
- **One phone number on many people**: ``ANOMALY_PHONE_MIN_TRAINEES`` (default 3) or more
  distinct trainees with the same phone number.
- **One sign-in sheet on claims of different classes** (issue 16): the same attendance
  file (the SHA-256 of what was stored) attached to claims that are not withdrawn and
  do not share one class — a different institution or training period. Claims of one
  class may well carry the class's one sheet; the same sheet for another class or
  another period was not signed there. So too a class's sign-in sheet on a claim that
  class's completion did not make (typed in by hand).
- **One sign-in sheet for two sessions or classes** (issue 16): a class's sign-in sheet
  (one SHA-256) uploaded for two or more of its sessions, or for two or more classes
  (``classes.selectors.shared_class_sign_in_sheets``) — a sheet is signed at one
  session of one class.
- **Training classes** (issue 16, defined in ``classes.warnings``): a person on the
  rosters of two classes whose planned periods meet; a person on a roster younger
  than 16 or older than 65 on the class's planned start; a completed class in which
  every person attended exactly 100% of the planned hours and every one passed.
- **Approved although a spot check found the documents inconsistent** (材料不符): the
  approvals that overrode the finding with a stated reason
  (``quarters.selectors.spot_check_overrides``, issue 12) — a decision taken, listed
  for the auditor to look at.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet, Window
from django.db.models.functions import Trim, TruncDate
from django.utils import timezone

from claims import workflow
from claims.models import Claim, Document, DocumentKind
from claims.warnings import (
    LIVE,
    MAX_AGE,
    MIN_AGE,
    age_number,
    carrying_certificates,
    overlapping_live_claims,
    unusual_age,
)
from classes.models import ClassDocument, RosterLine
from classes.rules import CANCELLED, COMPLETION_GRACE_DAYS
from classes.selectors import SharedClassSheet, shared_class_sign_in_sheets
from classes.warnings import (
    ClassOverlap,
    OverdueClass,
    PerfectClass,
    RosterAge,
    class_overlaps,
    overdue_classes,
    perfect_class_list,
    roster_age_outliers,
)
from quarters.selectors import SpotCheckOverride, spot_check_overrides
from trainees.id_numbers import mask_id_number
from trainees.models import Trainee

DEFAULT_CLAIMS_PER_DAY = 20
DEFAULT_PHONE_MIN_TRAINEES = 3
#: The most items each list shows (the count above it is the full count).
LIST_LIMIT = 200


def claims_per_day_threshold() -> int:
    return int(getattr(settings, "ANOMALY_CLAIMS_PER_DAY", DEFAULT_CLAIMS_PER_DAY))


def phone_threshold() -> int:
    return int(
        getattr(settings, "ANOMALY_PHONE_MIN_TRAINEES", DEFAULT_PHONE_MIN_TRAINEES)
    )


@dataclass(frozen=True)
class ClaimRef:
    id: int
    unit_name: str
    trainee_id: int
    trainee_name: str
    id_number_masked: str
    program: int
    status: str
    training_start: date
    training_end: date
    institution_name: str = ""
    certificate_number: str = ""

    @property
    def status_label(self) -> str:
        return workflow.STATUS_LABELS.get(self.status, self.status)


def _ref(c: Claim) -> ClaimRef:
    return ClaimRef(
        id=c.pk,
        unit_name=c.unit.name,
        trainee_id=c.trainee_id,
        trainee_name=c.trainee.name,
        id_number_masked=mask_id_number(c.trainee.id_number),
        program=c.program_id,
        status=c.status,
        training_start=c.training_start,
        training_end=c.training_end,
        institution_name=c.institution.name,
        certificate_number=c.certificate_number,
    )


def _claims() -> QuerySet[Claim]:
    return Claim.objects.select_related("unit", "trainee", "institution")


# --- One certificate on several claims ------------------------------------------------
@dataclass(frozen=True)
class SharedCertificate:
    certificate_number: str
    claims: list[ClaimRef]


def shared_certificates(*, limit: int = LIST_LIMIT) -> list[SharedCertificate]:
    """Claims sharing a certificate (``claims.warnings.carrying_certificates``)."""
    repeated = (
        carrying_certificates(Claim.objects.all())
        .values("cert")  # type: ignore[misc]
        .annotate(n=Count("id"))
        .filter(n__gte=2)
        .values("cert")
        .order_by()
    )
    groups: dict[str, list[ClaimRef]] = defaultdict(list)
    found = carrying_certificates(_claims()).filter(cert__in=repeated)  # type: ignore[misc]
    for c in found.order_by("cert", "pk"):  # type: ignore[misc]
        groups[c.cert].append(_ref(c))  # type: ignore[attr-defined]
    return [SharedCertificate(k, v) for k, v in groups.items()][:limit]


# --- Overlapping trainings of one person ----------------------------------------------
@dataclass(frozen=True)
class Overlap:
    trainee_id: int
    trainee_name: str
    id_number_masked: str
    first: ClaimRef
    second: ClaimRef

    @property
    def days(self) -> int:
        """Days the two periods share (both ends included)."""
        start = max(self.first.training_start, self.second.training_start)
        end = min(self.first.training_end, self.second.training_end)
        return (end - start).days + 1


def _pair_ref(p: Mapping[str, Any], prefix: str, masked: str) -> ClaimRef:
    """One side of an overlapping pair, from the self-join's row."""
    return ClaimRef(
        id=p[f"{prefix}id"],
        unit_name=p[f"{prefix}unit__name"],
        trainee_id=p["trainee_id"],
        trainee_name=p["trainee__name"],
        id_number_masked=masked,
        program=p[f"{prefix}program_id"],
        status=p[f"{prefix}status"],
        training_start=p[f"{prefix}training_start"],
        training_end=p[f"{prefix}training_end"],
        institution_name=p[f"{prefix}institution__name"],
    )


def overlapping_trainings(*, limit: int = LIST_LIMIT) -> list[Overlap]:
    """Pairs of one person's live claims whose periods intersect: a self-join of
    claims on the trainee (``claims.warnings.overlapping_live_claims``), ``a.id < b.id``."""
    pairs = (
        Claim.objects.filter(status__in=LIVE)
        .annotate(other=overlapping_live_claims(later_only=True))
        .filter(other__isnull=False)
        .values(
            "id",
            "trainee_id",
            "trainee__name",
            "trainee__id_number",
            "unit__name",
            "program_id",
            "status",
            "training_start",
            "training_end",
            "institution__name",
            "other__id",
            "other__unit__name",
            "other__program_id",
            "other__status",
            "other__training_start",
            "other__training_end",
            "other__institution__name",
        )
        .order_by("trainee_id", "id", "other__id")[:limit]
    )
    result = []
    for p in pairs:
        masked = mask_id_number(p["trainee__id_number"])
        result.append(
            Overlap(
                trainee_id=p["trainee_id"],
                trainee_name=p["trainee__name"],
                id_number_masked=masked,
                first=_pair_ref(p, "", masked),
                second=_pair_ref(p, "other__", masked),
            )
        )
    return result


# --- An institution filing many claims on one day -------------------------------------
@dataclass(frozen=True)
class Burst:
    institution_id: int
    institution_name: str
    unit_name: str
    day: date
    count: int
    claim_ids: list[int] = field(default_factory=list)


def claim_bursts(*, limit: int = LIST_LIMIT) -> list[Burst]:
    """One query: each claim with the number filed by its institution on its day (a
    window count over institution and day: one sort, where a correlated count per claim
    took minutes over a million claims), kept when that number reaches the threshold;
    read in chunks, so only the first ``limit`` groups leave the database."""
    threshold = claims_per_day_threshold()
    filed = Claim.objects.exclude(status=workflow.WITHDRAWN).annotate(
        day=TruncDate("created_at")
    )
    rows = (
        filed.annotate(
            n=Window(Count("id"), partition_by=[F("institution_id"), F("day")])
        )
        .filter(n__gte=threshold)
        .order_by("-n", "institution_id", "day", "pk")
        .values(
            "pk",
            "institution_id",
            "institution__name",
            "institution__unit__name",
            "day",
            "n",
        )
    )
    bursts: dict[tuple[int, date], Burst] = {}
    for r in rows.iterator(chunk_size=2000):
        key = (r["institution_id"], r["day"])
        if key not in bursts:
            if len(bursts) >= limit:
                break
            bursts[key] = Burst(
                institution_id=r["institution_id"],
                institution_name=r["institution__name"],
                unit_name=r["institution__unit__name"],
                day=r["day"],
                count=r["n"],
            )
        bursts[key].claim_ids.append(r["pk"])
    return list(bursts.values())


# --- Age at training outside 16–65 ----------------------------------------------------
@dataclass(frozen=True)
class AgeOutlier:
    claim: ClaimRef
    birth_date: date
    age: int


def age_outliers(*, limit: int = LIST_LIMIT) -> list[AgeOutlier]:
    """Age in whole years at ``training_start`` outside MIN_AGE–MAX_AGE
    (``claims.warnings.age_number``), on claims that reached the prefecture."""
    qs = (
        _claims()
        .exclude(status__in=[workflow.DRAFT, workflow.WITHDRAWN])
        .annotate(age_number=age_number(F("training_start"), F("trainee__birth_date")))
        .filter(unusual_age())
        .order_by("training_start", "pk")[:limit]
    )
    return [
        AgeOutlier(
            claim=_ref(c),
            birth_date=c.trainee.birth_date,
            age=c.age_number // 10000,  # type: ignore[attr-defined]
        )
        for c in qs
    ]


# --- One phone number on many trainees ------------------------------------------------
@dataclass(frozen=True)
class PersonRef:
    id: int
    name: str
    id_number_masked: str
    claim_ids: list[int]


@dataclass(frozen=True)
class SharedPhone:
    phone: str
    trainees: list[PersonRef]


def shared_phones(*, limit: int = LIST_LIMIT) -> list[SharedPhone]:
    threshold = phone_threshold()
    keyed = Trainee.objects.annotate(tel=Trim("phone")).exclude(tel="")
    repeated = (
        keyed.values("tel")
        .annotate(n=Count("id", distinct=True))
        .filter(n__gte=threshold)
        .values("tel")
        .order_by()
    )
    people = list(
        keyed.filter(tel__in=repeated)
        .order_by("tel", "pk")
        .values("pk", "tel", "name", "id_number")
    )
    claims: dict[int, list[int]] = defaultdict(list)
    for pk, trainee in (
        Claim.objects.filter(trainee_id__in=keyed.filter(tel__in=repeated).values("pk"))
        .exclude(status=workflow.WITHDRAWN)
        .order_by("pk")
        .values_list("pk", "trainee_id")
    ):
        claims[trainee].append(pk)
    groups: dict[str, list[PersonRef]] = defaultdict(list)
    for p in people:
        groups[p["tel"]].append(
            PersonRef(
                p["pk"], p["name"], mask_id_number(p["id_number"]), claims[p["pk"]]
            )
        )
    return [SharedPhone(k, v) for k, v in groups.items()][:limit]


# --- One sign-in sheet on claims of different classes (issue 16) -----------------------
@dataclass(frozen=True)
class SharedSheet:
    sha256: str
    claims: list[ClaimRef]
    document_ids: list[int]
    #: the classes (not cancelled) whose sign-in sheet the same file is
    classes: list[int] = field(default_factory=list)


def shared_sign_in_sheets(*, limit: int = LIST_LIMIT) -> list[SharedSheet]:
    """Attendance files with one SHA-256 on two or more claims (not withdrawn, not
    deleted) that do not all share one institution and training period — or on a
    claim and as a class's sign-in sheet, the claim not one that class's completion
    made (a claim typed by hand on a class's sheet was not signed there). Four
    queries whatever the number: the repeated hashes grouped in SQL, their claims,
    the classes' uploads of them and the classes the claims came from."""
    sheets = Document.objects.filter(
        kind=DocumentKind.ATTENDANCE, claim__isnull=False
    ).exclude(claim__status__in=[workflow.WITHDRAWN, workflow.DELETED])
    class_sheets = ClassDocument.objects.filter(
        document__kind=DocumentKind.ATTENDANCE
    ).exclude(training_class__status=CANCELLED)
    repeated = (
        sheets.values("sha256")
        .annotate(n=Count("claim_id", distinct=True))
        .filter(n__gte=2)
        .values("sha256")
        .order_by()
    )
    found = sheets.filter(
        Q(sha256__in=repeated) | Q(sha256__in=class_sheets.values("document__sha256"))
    ).select_related("claim__unit", "claim__trainee", "claim__institution")
    claims: dict[str, dict[int, Claim]] = defaultdict(dict)
    documents: dict[str, list[int]] = defaultdict(list)
    for document in found.order_by("sha256", "claim_id", "pk"):
        assert document.claim is not None  # filtered above
        claims[document.sha256][document.claim.pk] = document.claim
        documents[document.sha256].append(document.pk)
    if not claims:
        return []
    classes_of: dict[str, set[int]] = defaultdict(set)
    for sha256, class_id in class_sheets.filter(
        document__sha256__in=list(claims)
    ).values_list("document__sha256", "training_class_id"):
        classes_of[sha256].add(class_id)
    came_from = dict(
        RosterLine.objects.filter(
            claim_id__in={pk for by_id in claims.values() for pk in by_id}
        ).values_list("claim_id", "training_class_id")
    )
    result = []
    for sha256, by_id in claims.items():
        periods = {
            (c.institution_id, c.training_start, c.training_end) for c in by_id.values()
        }
        classes = classes_of.get(sha256, set())
        not_its_class = any(came_from.get(pk) not in classes for pk in by_id)
        if len(periods) > 1 or (classes and not_its_class):
            result.append(
                SharedSheet(
                    sha256,
                    [_ref(c) for c in by_id.values()],
                    documents[sha256],
                    sorted(classes),
                )
            )
    return result[:limit]


# --- All of them ----------------------------------------------------------------------
@dataclass
class Anomalies:
    certificates: list[SharedCertificate]
    overlaps: list[Overlap]
    bursts: list[Burst]
    ages: list[AgeOutlier]
    phones: list[SharedPhone]
    spot_check_overrides: list[SpotCheckOverride]
    claims_per_day: int
    phone_min_trainees: int
    min_age: int = MIN_AGE
    max_age: int = MAX_AGE
    sign_in_sheets: list[SharedSheet] = field(default_factory=list)
    class_sign_in_sheets: list[SharedClassSheet] = field(default_factory=list)
    class_overlaps: list[ClassOverlap] = field(default_factory=list)
    roster_ages: list[RosterAge] = field(default_factory=list)
    perfect_classes: list[PerfectClass] = field(default_factory=list)
    overdue_classes: list[OverdueClass] = field(default_factory=list)
    completion_grace_days: int = COMPLETION_GRACE_DAYS.whole

    @property
    def total(self) -> int:
        return (
            len(self.certificates)
            + len(self.overlaps)
            + len(self.bursts)
            + len(self.ages)
            + len(self.phones)
            + len(self.spot_check_overrides)
            + len(self.sign_in_sheets)
            + len(self.class_sign_in_sheets)
            + len(self.class_overlaps)
            + len(self.roster_ages)
            + len(self.perfect_classes)
            + len(self.overdue_classes)
        )


def anomalies() -> Anomalies:
    """Every list (twenty queries in all)."""
    return Anomalies(
        certificates=shared_certificates(),
        overlaps=overlapping_trainings(),
        bursts=claim_bursts(),
        ages=age_outliers(),
        phones=shared_phones(),
        spot_check_overrides=spot_check_overrides(limit=LIST_LIMIT),
        claims_per_day=claims_per_day_threshold(),
        phone_min_trainees=phone_threshold(),
        sign_in_sheets=shared_sign_in_sheets(),
        class_sign_in_sheets=shared_class_sign_in_sheets(limit=LIST_LIMIT),
        class_overlaps=class_overlaps(limit=LIST_LIMIT),
        roster_ages=roster_age_outliers(limit=LIST_LIMIT),
        perfect_classes=perfect_class_list(limit=LIST_LIMIT),
        overdue_classes=overdue_classes(timezone.localdate(), limit=LIST_LIMIT),
    )
