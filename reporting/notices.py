"""What each role is told on its home page (issue 4 item 6), and beat-raised notices."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date

from django.db.models.functions import Trim, Upper
from django.utils import timezone

from altay_skills.periods import previous_quarter, quarter_of
from claims import workflow
from claims.models import Claim
from programs.models import Unit
from quarters.models import QuarterlyReport, ReportStatus
from reporting.anomalies import LIVE
from reporting.models import Notice


def raise_outstanding_report_notices() -> int:
    """For the quarter that has just closed, one notice per unit without a submitted
    report (keyed, so running twice raises nothing new)."""
    quarter = previous_quarter(quarter_of(timezone.localdate()))
    reported = set(
        QuarterlyReport.objects.filter(
            quarter=quarter, status__in=[ReportStatus.SUBMITTED, ReportStatus.CLOSED]
        ).values_list("unit_id", flat=True)
    )
    created = 0
    for unit in Unit.objects.exclude(code__in=reported):
        _, new = Notice.objects.get_or_create(
            key=f"outstanding:{quarter}:{unit.code}",
            defaults={
                "role": "prefecture_reviewer",
                "unit": unit,
                "kind": "outstanding_report",
                "text": f"{quarter}季度已结束，{unit.name}尚未报送季度报表",
            },
        )
        created += new
    return created


def raise_claim_check_notices(claim_ids: Sequence[int]) -> int:
    """Queued (through the outbox) when claims are submitted: tell the prefecture's
    reviewers, as the claims arrive, of those that match a pattern of
    ``reporting.anomalies`` — a certificate number already on another claim, or a
    training that overlaps another live claim of the same person (often another
    unit's). Keyed per claim and pattern, so a second run raises nothing new. Three
    queries whatever the number of claims (the import submits thousands at once).
    """
    claims = list(
        Claim.objects.filter(pk__in=claim_ids, status__in=LIVE).select_related(
            "unit", "trainee"
        )
    )
    if not claims:
        return 0
    certificates = {
        c.pk: c.certificate_number.strip().upper()
        for c in claims
        if c.certificate_number.strip()
    }
    holders: dict[str, list[int]] = defaultdict(list)
    for pk, cert in (
        Claim.objects.exclude(status=workflow.WITHDRAWN)
        .annotate(cert=Upper(Trim("certificate_number")))
        .filter(cert__in=set(certificates.values()))
        .order_by("pk")
        .values_list("pk", "cert")
    ):
        holders[cert].append(pk)
    periods: dict[int, list[tuple[int, date, date]]] = defaultdict(list)
    for pk, trainee_id, start, end in (
        Claim.objects.filter(
            trainee_id__in={c.trainee_id for c in claims}, status__in=LIVE
        )
        .order_by("pk")
        .values_list("pk", "trainee_id", "training_start", "training_end")
    ):
        periods[trainee_id].append((pk, start, end))
    notices: list[Notice] = []
    for c in claims:
        who = f"申报#{c.pk}（{c.unit.name}，{c.trainee.name}）"
        cert = certificates.get(c.pk, "")
        shared = [pk for pk in holders.get(cert, []) if pk != c.pk]
        if shared:
            notices.append(
                _claim_notice(
                    c,
                    "shared_certificate",
                    f"{who}的证书编号{cert}已用于{_claims_named(shared)}，请核查",
                )
            )
        overlapping = [
            pk
            for pk, start, end in periods[c.trainee_id]
            if pk != c.pk and start <= c.training_end and c.training_start <= end
        ]
        if overlapping:
            notices.append(
                _claim_notice(
                    c,
                    "overlapping_training",
                    f"{who}的培训时间{c.training_start}至{c.training_end}"
                    f"与该人员的{_claims_named(overlapping)}重叠，请核查",
                )
            )
    existing = set(
        Notice.objects.filter(key__in=[n.key for n in notices]).values_list(
            "key", flat=True
        )
    )
    fresh = [n for n in notices if n.key not in existing]
    Notice.objects.bulk_create(fresh, ignore_conflicts=True)
    return len(fresh)


def _claim_notice(claim: Claim, kind: str, text: str) -> Notice:
    return Notice(
        key=f"{kind}:{claim.pk}",
        role="prefecture_reviewer",
        unit_id=claim.unit_id,
        kind=kind,
        text=text,
        link=f"/claims/{claim.pk}/",
    )


def _claims_named(ids: list[int], shown: int = 5) -> str:
    named = "、".join(f"申报#{pk}" for pk in ids[:shown])
    return named if len(ids) <= shown else f"{named}等{len(ids)}笔申报"
