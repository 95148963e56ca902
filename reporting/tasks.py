"""Celery tasks of the read side: thin, keyword ids, idempotent; the work lives in
``reporting.notices``."""

from __future__ import annotations

from celery import shared_task

from altay_skills.task_retries import RETRY_TRANSIENT


@shared_task(name="reporting.tasks.notify_outstanding_reports")
def notify_outstanding_reports() -> int:
    """Beat: when a quarter has closed, tell the reviewers which units have not reported."""
    from reporting.notices import raise_outstanding_report_notices

    return raise_outstanding_report_notices()


@shared_task(name="reporting.tasks.check_submitted_claims", acks_late=True)
def check_submitted_claims(
    *, claim_ids: list[int], outbox_id: int | None = None
) -> int | None:
    """Outbox: tell the reviewers of newly submitted claims that look doubtful."""
    from altay_skills.outbox import run_once
    from reporting.notices import raise_claim_check_notices

    return run_once(outbox_id, lambda: raise_claim_check_notices(claim_ids))


@shared_task(name="reporting.tasks.anchor_audit_trail", **RETRY_TRANSIENT)
def anchor_audit_trail() -> str:
    """Beat, daily: write a signed digest of every audit chain's head outside the
    database (``reporting.audit``); returns the file written."""
    from reporting.audit import anchor_write

    return str(anchor_write())


@shared_task(name="reporting.tasks.refresh_anomalies", acks_late=True)
def refresh_anomalies(*, outbox_id: int | None = None) -> int | None:
    """Beat (``ANOMALY_REFRESH_SECONDS``), and a reviewer's 立即更新 (through the
    outbox): compute the anomaly lists and keep them as the page's snapshot; returns
    the number of findings."""
    from altay_skills.outbox import run_once
    from reporting.anomaly_snapshots import anomalies_refresh

    return run_once(outbox_id, lambda: anomalies_refresh().found.total)


@shared_task(name="reporting.tasks.compact_backlog")
def compact_backlog() -> int:
    """Beat, every ten minutes: fold the backlog rows of the reports waiting for
    decisions, one per unit and day (``quarters.services.backlog_compact_waiting``);
    returns the number of rows removed."""
    from quarters.services import backlog_compact_waiting

    return backlog_compact_waiting()
