"""The transactional outbox: work queued with the change that asks for it (issue 6).

A service that wants a task run calls :func:`enqueue` inside its transaction: the
``OutboxMessage`` row commits with the change or not at all. On commit :func:`publish`
sends it to the broker through a connection of its own with short timeouts, so a clerk's
request never waits more than about half a second on a broker that is down or hung (the
pooled connection of ``.delay()`` waited 6 s on a hung Redis: three tries of the 2 s
socket timeout the worker needs). If publishing fails the row stays ``pending`` and
:func:`dispatch_pending` — beat every minute, ``manage.py dispatch_outbox`` for an
operator — publishes it again. The task runs its work through :func:`run_once`, which
marks the row ``done`` in the work's own transaction under the row's lock, so a message
delivered twice (re-published, or redelivered after a worker died) does its work once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from altay_skills.lock_objects import lock_outbox_message
from altay_skills.models import OutboxMessage, OutboxStatus

logger = logging.getLogger(__name__)
T = TypeVar("T")

#: The publish bound: connect and each socket operation, no retries (the outbox retries).
PUBLISH_TIMEOUT = 0.5
PUBLISH_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": PUBLISH_TIMEOUT,
    "socket_timeout": PUBLISH_TIMEOUT,
    "max_retries": 0,
    "retry_on_timeout": False,
}
#: A row never published is sent again after this long; one published but not done
#: (a broker restarted without its queue, a lost message) after the longer wait.
RETRY_UNSENT_AFTER = timedelta(seconds=60)
RETRY_UNDONE_AFTER = timedelta(minutes=15)


def enqueue(task: str, **kwargs: Any) -> OutboxMessage:
    """Inside the caller's transaction: write the row, publish once it commits."""
    message = OutboxMessage.objects.create(task=task, kwargs=kwargs)
    transaction.on_commit(lambda: publish(message.pk))
    return message


def publish(message_id: int) -> bool:
    """Send a pending message to the broker; never raises, never waits long."""
    message = OutboxMessage.objects.filter(
        pk=message_id, status=OutboxStatus.PENDING
    ).first()
    if message is None:
        return True  # done already
    error = send(message.task, {**message.kwargs, "outbox_id": message.pk})
    now = timezone.now()
    changes: dict[str, Any] = {
        "attempts": message.attempts + 1,
        "last_attempt_at": now,
        "error": error[:2000],
    }
    if not error:
        changes["published_at"] = now
    OutboxMessage.objects.filter(pk=message.pk).update(**changes)
    return not error


def send(task: str, kwargs: dict[str, Any]) -> str:
    """Publish ``task`` with a bounded wait; the error's text, or "" once it is sent."""
    from altay_skills.celery import app

    try:
        if app.conf.task_always_eager:  # no broker: run in-process (make run, tests)
            if task not in app.tasks:  # registers every app's tasks (names kept)
                app.loader.import_default_modules()
            app.tasks[task].delay(**kwargs)
            return ""
        with app.connection_for_write(
            connect_timeout=PUBLISH_TIMEOUT,
            transport_options=PUBLISH_TRANSPORT_OPTIONS,
        ) as connection:
            app.send_task(task, kwargs=kwargs, connection=connection, retry=False)
    except Exception as exc:  # the broker is down or hung: dispatch_pending resends
        logger.warning("outbox: %s not published (%s)", task, type(exc).__name__)
        return f"{type(exc).__name__}: {exc}"
    return ""


@dataclass(frozen=True)
class Dispatched:
    published: int
    failed: int


def dispatch_pending(
    *,
    unsent_after: timedelta = RETRY_UNSENT_AFTER,
    undone_after: timedelta = RETRY_UNDONE_AFTER,
    limit: int = 1000,
) -> Dispatched:
    """Publish again the pending messages that waited long enough, oldest first."""
    now = timezone.now()
    due = OutboxMessage.objects.filter(status=OutboxStatus.PENDING).filter(
        Q(published_at__isnull=True, created_at__lte=now - unsent_after)
        | Q(published_at__lte=now - undone_after)
    )
    published = failed = 0
    for message_id in due.order_by("id").values_list("id", flat=True)[:limit]:
        if publish(message_id):
            published += 1
        else:
            failed += 1
            break  # the broker is still down: the next sweep tries again
    return Dispatched(published, failed)


def run_once(outbox_id: int | None, work: Callable[[], T]) -> T | None:
    """The task's side: do ``work`` and mark the message done in one transaction.

    The row's lock serialises two deliveries of one message; the second finds it done
    and does nothing. Without an ``outbox_id`` (called directly) the work just runs.
    """
    with transaction.atomic():
        if outbox_id is not None:
            message = lock_outbox_message(outbox_id)
            if message is None or message.status == OutboxStatus.DONE:
                return None
        result = work()
        if outbox_id is not None:
            OutboxMessage.objects.filter(pk=outbox_id).update(
                status=OutboxStatus.DONE, done_at=timezone.now()
            )
    return result
