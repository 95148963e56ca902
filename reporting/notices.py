"""What each role is told on its home page (issue 4 item 6), and beat-raised notices."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils import timezone

from altay_skills.periods import previous_quarter, quarter_of
from claims.models import Claim
from claims.warnings import (
    CERTIFICATE_REUSED,
    LIVE,
    TRAINING_OVERLAP,
    warnings_for_claims,
)
from programs.models import Unit
from quarters.models import QuarterlyReport, ReportStatus
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


#: The warnings (``claims.warnings``) the prefecture is told of as claims arrive, and
#: the kind of notice each raises.
NOTICE_KINDS = {
    TRAINING_OVERLAP: "overlapping_training",
    CERTIFICATE_REUSED: "shared_certificate",
}


def raise_claim_check_notices(claim_ids: Sequence[int]) -> int:
    """Queued (through the outbox) when claims are submitted: tell the prefecture's
    reviewers, as the claims arrive, of those with a warning of ``claims.warnings``
    — a certificate number already on another claim, or a training that overlaps
    another live claim of the same person (often another unit's). Keyed per claim
    and pattern, so a second run raises nothing new. Three queries whatever the
    number of claims (the import submits thousands at once), and one more to write.
    """
    claims = list(
        Claim.objects.filter(pk__in=claim_ids, status__in=LIVE).select_related(
            "unit", "trainee"
        )
    )
    if not claims:
        return 0
    found = warnings_for_claims([c.pk for c in claims])
    notices: list[Notice] = []
    for c in claims:
        who = f"申报#{c.pk}（{c.unit.name}，{c.trainee.name}）"
        for warning in found[c.pk]:
            kind = NOTICE_KINDS.get(warning.code)
            if kind is not None:
                notices.append(_claim_notice(c, kind, f"{who}：{warning.message}"))
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
