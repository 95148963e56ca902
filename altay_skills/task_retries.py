"""What a task retries, and how (issue 19).

A task that declares retries retries errors that pass by themselves — the database or
the broker restarting, a connection dropped — with exponential backoff and jitter, up to
``max_retries``; an error of the work itself (a full disk, a bug) fails at once and is
shown (the rollup's ``error``). Celery's Django fix-up closes a broken database
connection before the retried run, so it connects afresh.
"""

from __future__ import annotations

from typing import Any

from django.db import InterfaceError, OperationalError

from kombu.exceptions import OperationalError as BrokerOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    BrokerOperationalError,
    RedisConnectionError,
    RedisTimeoutError,
)

#: keyword arguments of ``shared_task`` for a task retried on transient errors:
#: 2, 4, 8 s (jittered), never more than a minute apart
RETRY_TRANSIENT: dict[str, Any] = {
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 3,
}
