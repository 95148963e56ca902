"""What each role is told on its home page (issue 4 item 6), and beat-raised notices."""

from __future__ import annotations

from django.utils import timezone

from claims.models import QuarterlyReport, ReportStatus
from claims.quarters import previous_quarter, quarter_of
from programs.models import Unit
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
