"""Celery tasks of the money stage: thin, keyword ids, idempotent; the work lives in
``finance.services``. Their names are the ones they had under ``reporting.tasks`` before
issue 11, so messages already queued (and the outbox's rows) still find them."""

from __future__ import annotations

from celery import shared_task

from altay_skills.task_retries import RETRY_TRANSIENT
from finance.services import BUILD_ROLLUP_TASK


@shared_task(
    name=BUILD_ROLLUP_TASK,
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    **RETRY_TRANSIENT,
)
def build_rollup(self: object, *, rollup_id: int) -> str:
    from finance.services import rollup_build

    return rollup_build(rollup_id=rollup_id).status


@shared_task(name="reporting.tasks.requeue_stuck_rollups")
def requeue_stuck_rollups() -> int:
    """Beat: a rollup queued while the broker was down, or whose worker died, runs again."""
    from finance.services import requeue_stuck_rollups as requeue

    return requeue()
