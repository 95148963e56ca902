"""Celery tasks: thin, keyword ids, idempotent; the work lives in the services."""

from __future__ import annotations

from celery import shared_task


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=3)
def build_rollup(self: object, *, rollup_id: int) -> str:
    from reporting.services import rollup_build

    return rollup_build(rollup_id=rollup_id).status


@shared_task
def notify_outstanding_reports() -> int:
    """Beat: when a quarter has closed, tell the reviewers which units have not reported."""
    from reporting.notices import raise_outstanding_report_notices

    return raise_outstanding_report_notices()


@shared_task
def requeue_stuck_rollups() -> int:
    """Beat: a rollup queued while the broker was down, or whose worker died, runs again."""
    from reporting.services import requeue_stuck_rollups as requeue

    return requeue()
