"""Celery tasks of the claims stage: thin, keyword ids, idempotent; the work lives in
``claims.intake``."""

from __future__ import annotations

from celery import shared_task

from altay_skills.sms import SmsTransientError
from altay_skills.task_retries import RETRY_TRANSIENT, TRANSIENT_ERRORS
from claims.intake.jobs import CHECK_IMPORT_TASK, SOFT_TIME_LIMIT, TIME_LIMIT

PURGE_IMPORTS_TASK = "claims.tasks.purge_expired_imports"


@shared_task(
    name=CHECK_IMPORT_TASK,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=SOFT_TIME_LIMIT,
    time_limit=TIME_LIMIT,
    **RETRY_TRANSIENT,
)
def check_import(*, job_id: int) -> str | None:
    """Read and judge an uploaded spreadsheet off the web workers (issue 14, item 4)."""
    from claims.intake import import_job_run

    job = import_job_run(job_id=job_id)
    return job.status if job is not None else None


@shared_task(name=PURGE_IMPORTS_TASK)
def purge_expired_imports() -> int:
    """Beat: delete the import's staging files and jobs once they expire (issue 14)."""
    from claims.intake import import_purge_expired

    return import_purge_expired()


@shared_task(
    name="claims.tasks.send_confirmation_sms",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(SmsTransientError, *TRANSIENT_ERRORS),
    retry_backoff=2,
    retry_backoff_max=5 * 60,  # at most five minutes apart
    retry_jitter=True,
    max_retries=6,
)
def send_confirmation_sms(
    *, confirmation_id: int, outbox_id: int | None = None
) -> str | None:
    """The trainee's confirmation code by text message (issue 17), once: the outbox
    row and the confirmation's ``sms_sent_at`` are marked in one transaction; a
    gateway that answers 5xx or is out of reach is tried again with backoff."""
    from altay_skills.outbox import run_once
    from claims.confirmations import confirmation_sms_send

    return run_once(
        outbox_id, lambda: confirmation_sms_send(confirmation_id=confirmation_id)
    )
