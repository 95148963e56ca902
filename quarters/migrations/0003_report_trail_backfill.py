"""Reports older than their trail (issue 14, 10): a report built before the report events
of migration 0002 has none, so ``verify_audit`` — which now checks every report's status
against its last status-changing event — could not tell it from a report whose events
were deleted. This writes one event for each such report, once: the action its status
stands for (编制, 报送, 审结, 作废), by the person and at the time the report itself
records, reason "迁移补记", chained and keyed as the live code does (the links of
``claims/migrations/0014_audit_hmac``). A report with any event is left alone."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC
from typing import Any

from django.conf import settings
from django.db import migrations

ACTION_FOR = {
    "draft": "build",
    "submitted": "submit",
    "closed": "close",
    "discarded": "discard",
}
REASON = "迁移补记：本报表编制于报表审计记录启用之前，按其现状补记一条"


def _link(prev: str, event: dict[str, Any]) -> str:
    body = json.dumps(
        {
            "report": event["report_id"],
            "actor": event["actor_id"],
            "at": event["at"].astimezone(UTC).isoformat(timespec="microseconds"),
            "action": event["action"],
            "reason": event["reason"],
            "changes": event["changes"],
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    key = settings.AUDIT_KEY.encode("utf-8")
    return hmac.new(key, (prev + body).encode("utf-8"), hashlib.sha256).hexdigest()


def forwards(apps: Any, schema_editor: Any) -> None:
    report_model = apps.get_model("quarters", "QuarterlyReport")
    event_model = apps.get_model("quarters", "ReportEvent")
    bare = report_model.objects.filter(events__isnull=True).order_by("pk")
    for report in bare.iterator():
        event = {
            "report_id": report.pk,
            "actor_id": (
                report.closed_by_id or report.submitted_by_id or report.built_by_id
            ),
            "at": report.closed_at or report.submitted_at or report.built_at,
            "action": ACTION_FOR[report.status],
            "reason": REASON,
            "changes": {"backfilled": True, "status": report.status},
        }
        event_model.objects.create(
            report_id=event["report_id"],
            actor_id=event["actor_id"],
            at=event["at"],
            action=event["action"],
            reason=event["reason"],
            changes=event["changes"],
            prev_hash="",
            hash=_link("", event),
        )


class Migration(migrations.Migration):
    # after the links became keyed (claims 0014 re-keys the chains it finds)
    dependencies = [
        ("quarters", "0002_reportevent"),
        ("claims", "0014_audit_hmac"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
