"""A task queued by a request names that request in the worker's log (issue 19): the
request id travels in the task message's headers and the worker's lines are JSON."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from altay_skills.celery import app
from altay_skills.request_context import REQUEST_ID
from tests.faults.conftest import wait_for

# The worker commits on its own connection: only a transactional test's flush takes
# what it wrote away (tests/conftest.py, SHARES_THE_DATABASE).
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

TASK = "reporting.tasks.notify_outstanding_reports"


def publish() -> None:
    """On a connection of its own to the private broker (a pooled producer may still
    hold the suite's REDIS_URL, as the outbox knows)."""
    with app.connection_for_write() as connection:
        app.send_task(TASK, connection=connection)


def test_the_worker_s_lines_of_a_task_carry_the_request_id(
    broker: str, start_worker: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOG_FORMAT", "json")
    worker = start_worker(name="request-id")
    # given a request's context, a task is queued
    token = REQUEST_ID.set("req-0123456789ab")
    try:
        publish()
    finally:
        REQUEST_ID.reset(token)
    # then the worker writes JSON lines for it that name the request and the task

    def lines() -> list[dict[str, Any]]:
        found = []
        for line in worker.output().splitlines():
            if line.startswith("{"):
                found.append(json.loads(line))
        return found

    wait_for(
        lambda: any(
            line.get("request_id") == "req-0123456789ab"
            and "succeeded" in line["message"]
            for line in lines()
        ),
        seconds=30,
        what="the task's lines",
    )
    named = [line for line in lines() if line.get("request_id") == "req-0123456789ab"]
    assert {line["task"] for line in named} == {TASK}
    assert any(line["message"] == f"task {TASK} started" for line in named)
    # a task queued outside any request names none
    publish()
    wait_for(
        lambda: sum("succeeded" in line["message"] for line in lines()) >= 2,
        seconds=30,
        what="the second task",
    )
    second = [line for line in lines() if "succeeded" in line["message"]][-1]
    assert "request_id" not in second
