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


@shared_task(acks_late=True)
def check_submitted_claims(
    *, claim_ids: list[int], outbox_id: int | None = None
) -> int | None:
    """Outbox: tell the reviewers of newly submitted claims that look doubtful."""
    from reporting.notices import raise_claim_check_notices
    from reporting.outbox import run_once

    return run_once(outbox_id, lambda: raise_claim_check_notices(claim_ids))


@shared_task
def dispatch_outbox() -> int:
    """Beat: publish again the outbox messages the broker did not take."""
    from reporting.outbox import dispatch_pending

    return dispatch_pending().published
