"""The core's Celery tasks: the outbox's dispatcher (its name is the one it had under
``reporting.tasks`` before issue 11, so beat schedules already stored still find it) and
the purge of the answers kept for retried API writes."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="reporting.tasks.dispatch_outbox")
def dispatch_outbox() -> int:
    """Beat: publish again the outbox messages the broker did not take."""
    from altay_skills.outbox import dispatch_pending

    return dispatch_pending().published


@shared_task(name="altay_skills.tasks.purge_idempotency_keys")
def purge_idempotency_keys() -> int:
    """Beat: delete the Idempotency-Key answers older than IDEMPOTENCY_KEY_HOURS."""
    from altay_skills.idempotency import purge_expired

    return purge_expired()
