"""``/readyz`` against a real Redis broker and a real Celery worker (issue 19): a worker
that answers makes the service ready, none or a broker down makes it 503 and says which."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.core.cache import caches
from django.test import Client

import pytest

from altay_skills import health
from altay_skills.celery import app
from tests.faults.conftest import wait_for

# The worker commits on its own connection: only a transactional test's flush takes
# what it wrote away (tests/conftest.py, SHARES_THE_DATABASE).
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def readiness() -> tuple[int, dict[str, Any]]:
    caches["default"].delete(health._WORKER_KEY)
    response = Client().get("/readyz")
    return response.status_code, json.loads(response.content)["checks"]


def test_ready_only_while_a_worker_answers_and_the_broker_is_up(
    broker: str,
    private_redis: Any,
    start_worker: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given the broker up and no worker: not ready, and the worker is named
    status, checks = readiness()
    assert status == 503
    assert checks["broker"]["ok"] is True
    assert checks["worker"] == {
        "ok": False,
        "message": "没有后台任务进程（Celery worker）应答",
        "ms": checks["worker"]["ms"],
    }
    # when a worker starts, it answers the ping: ready (a worker that has just said
    # "ready." may take a moment to answer its first ping on a busy machine)
    start_worker(name="ready")
    status, checks = wait_for(
        lambda: (answer := readiness())[0] == 200 and answer,
        seconds=30,
        what="/readyz to find the worker",
    )
    assert checks["worker"]["ok"] and checks["broker"]["ok"]
    # and the answer is remembered, so polling does not ping the workers each time
    assert caches["default"].get(health._WORKER_KEY) == 1
    monkeypatch.setattr(app.control, "ping", lambda **kw: pytest.fail("pinged again"))
    assert Client().get("/readyz").status_code == 200
    monkeypatch.undo()
    # when the broker stops, the broker is named
    private_redis.stop()
    status, checks = readiness()
    assert status == 503
    assert checks["broker"] == {
        "ok": False,
        "message": "消息队列（Redis）无法连接",
        "ms": checks["broker"]["ms"],
    }
