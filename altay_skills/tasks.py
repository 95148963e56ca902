"""The core's Celery task: the outbox's dispatcher. Its name is the one it had under
``reporting.tasks`` before issue 11, so beat schedules already stored still find it."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="reporting.tasks.dispatch_outbox")
def dispatch_outbox() -> int:
    """Beat: publish again the outbox messages the broker did not take."""
    from altay_skills.outbox import dispatch_pending

    return dispatch_pending().published
