"""``/healthz`` and ``/readyz`` (issue 19): the proxy's and the monitoring's probes."""

from __future__ import annotations

import json
from typing import Any

from django.db import OperationalError
from django.test import Client

import pytest

from altay_skills import health

pytestmark = pytest.mark.django_db


def answer(path: str, **extra: Any) -> tuple[int, dict[str, Any], Any]:
    response = Client(**extra).get(path)
    assert response["Content-Type"] == "application/json"
    return response.status_code, json.loads(response.content), response


def test_alive_answers_without_the_database(django_assert_num_queries):
    with django_assert_num_queries(0):
        status, body, response = answer("/healthz")
    assert (status, body) == (200, {"status": "ok"})
    assert "sessionid" not in response.cookies
    assert response["Cache-Control"] == "no-store"


def test_ready_names_each_dependency_and_all_pass():
    status, body, _ = answer("/readyz")
    assert status == 200, body
    assert body["status"] == "ok"
    assert set(body["checks"]) == {
        "database",
        "migrations",
        "cache",
        "broker",
        "worker",
        "storage",
    }
    assert all(check["ok"] for check in body["checks"].values())


@pytest.mark.parametrize(
    ("failing", "message"),
    [
        ("database", "数据库无法连接"),
        ("storage", "材料存储不可写"),
        ("cache", "缓存无法连接"),
    ],
)
def test_ready_is_503_naming_the_dependency_that_failed(monkeypatch, failing, message):
    def broken() -> str:
        raise OperationalError("connection to server at 10.0.0.5 failed")

    monkeypatch.setitem(health.READY_CHECKS, failing, broken)
    status, body, _ = answer("/readyz")
    assert status == 503
    assert body["status"] == "unavailable"
    assert body["checks"][failing] == {
        "ok": False,
        "message": message,
        "ms": body["checks"][failing]["ms"],
    }
    # what the exception said (an address) is not given away
    assert "10.0.0.5" not in json.dumps(body)
    others = [c for name, c in body["checks"].items() if name != failing]
    assert all(c["ok"] for c in others)


def test_unapplied_migrations_make_it_unready(monkeypatch):
    from django.db.migrations.executor import MigrationExecutor

    monkeypatch.setattr(health.migrations_applied, "applied", False)
    monkeypatch.setattr(
        MigrationExecutor, "migration_plan", lambda self, targets: [("x", False)] * 2
    )
    status, body, _ = answer("/readyz")
    assert status == 503
    assert body["checks"]["migrations"]["message"].startswith(
        "有 2 个数据库迁移尚未执行"
    )


def test_the_probes_answer_any_host_without_redirect_in_production(settings):
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["altay.example.cn"]
    settings.SECURE_SSL_REDIRECT = True
    status, body, _ = answer("/healthz", HTTP_HOST="10.1.2.3:8000")
    assert (status, body) == (200, {"status": "ok"})
    status, body, _ = answer("/readyz/", HTTP_HOST="127.0.0.1")
    assert status == 200, body
    # everything else still refuses an unknown host
    assert Client(HTTP_HOST="10.1.2.3").get("/accounts/login/").status_code == 400


def test_other_methods_are_refused_in_json():
    response = Client().post("/readyz")
    assert response.status_code == 405
    assert json.loads(response.content)["code"] == "method_not_allowed"
