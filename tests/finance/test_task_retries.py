"""Tasks that declare retries retry what passes (issue 19): a database or broker that
restarts under a task is retried with backoff; an error of the work itself is not."""

from __future__ import annotations

from typing import Any

from django.db import OperationalError

import pytest
from kombu.exceptions import OperationalError as BrokerError

from altay_skills.task_retries import TRANSIENT_ERRORS
from finance import services
from finance.models import Rollup, RollupStatus
from finance.tasks import build_rollup

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued_rollup(closed_quarter: Any, reviewer: Any) -> Rollup:
    return Rollup.objects.create(quarter="2020Q1", requested_by=reviewer)


def failing_first(
    times: int, error: Exception, monkeypatch: pytest.MonkeyPatch
) -> list[int]:
    real = services._build
    calls: list[int] = []

    def build(rollup: Rollup) -> Rollup:
        calls.append(1)
        if len(calls) <= times:
            raise error
        return real(rollup)

    monkeypatch.setattr(services, "_build", build)
    return calls


@pytest.mark.parametrize(
    "error",
    [
        OperationalError("server closed the connection"),
        BrokerError("Connection refused"),
    ],
    ids=["database restarted", "broker restarted"],
)
def test_a_rollup_is_retried_after_a_transient_error_and_completes(
    queued_rollup, monkeypatch, error
):
    calls = failing_first(2, error, monkeypatch)
    build_rollup.apply(kwargs={"rollup_id": queued_rollup.pk})
    queued_rollup.refresh_from_db()
    assert len(calls) == 3
    assert (queued_rollup.status, queued_rollup.attempts) == (RollupStatus.READY, 3)


def test_retries_stop_at_the_declared_maximum(queued_rollup, monkeypatch):
    calls = failing_first(99, OperationalError("down"), monkeypatch)
    build_rollup.apply(kwargs={"rollup_id": queued_rollup.pk})
    queued_rollup.refresh_from_db()
    assert len(calls) == 1 + build_rollup.max_retries
    assert queued_rollup.status == RollupStatus.FAILED


def test_an_error_of_the_work_itself_is_not_retried(queued_rollup, monkeypatch):
    calls = failing_first(1, OSError("磁盘已满"), monkeypatch)
    build_rollup.apply(kwargs={"rollup_id": queued_rollup.pk})
    queued_rollup.refresh_from_db()
    assert len(calls) == 1
    assert queued_rollup.status == RollupStatus.FAILED


def test_the_retries_back_off():
    assert build_rollup.retry_backoff and build_rollup.retry_jitter
    assert build_rollup.retry_backoff_max == 60
    assert set(build_rollup.autoretry_for) == set(TRANSIENT_ERRORS)
