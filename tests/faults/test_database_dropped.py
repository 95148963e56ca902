"""The database connection dropped mid-request (issue 6, faults).

The app runs under gunicorn with one sync worker, so the request after the fault is
served by the same process and the same connection handling. A trigger makes the insert
of the audit event sleep; by then the submit's transaction has written the claim's new
status, its yearly slot and its policy links. The test terminates that PostgreSQL
backend (``pg_terminate_backend``) from outside. The clerk gets a 503 with a Chinese
message (JSON from the API, a page from the browser view), nothing of the submit is in
the database, and the clerk's retry succeeds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.db import connection
from django.test import Client

import pytest
import requests

from accounts.tokens import token_create
from altay_skills.models import OutboxMessage
from claims import services
from claims.models import Claim, ClaimEvent
from tests.conftest import requires_redis
from tests.faults.conftest import requires_shared_database, wait_for

pytestmark = [
    requires_shared_database,
    requires_redis,
    pytest.mark.real_celery,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

EVENTS = ClaimEvent._meta.db_table


@contextmanager
def event_inserts_held() -> Iterator[None]:
    """Every insert of an audit event sleeps (its transaction stays open, mid-way)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION faults_hold_event() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN PERFORM pg_sleep(30); RETURN NEW; END $$"
        )
        cursor.execute(
            f"CREATE TRIGGER faults_hold_event BEFORE INSERT ON {EVENTS} "
            "FOR EACH ROW EXECUTE FUNCTION faults_hold_event()"
        )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TRIGGER IF EXISTS faults_hold_event ON {EVENTS}")
            cursor.execute("DROP FUNCTION IF EXISTS faults_hold_event()")


def terminate_the_held_request() -> None:
    """Find the backend asleep in the trigger — a transaction that has already
    written (it has a transaction id) — and terminate it."""

    def held() -> int | None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND wait_event = 'PgSleep'"
                " AND backend_xid IS NOT NULL"
            )
            row = cursor.fetchone()
        return row[0] if row else None

    pid = wait_for(held, seconds=20, what="the submit to reach the audit event")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        assert cursor.fetchone()[0] is True


def during_the_fault(request: Callable[[], requests.Response]) -> requests.Response:
    with event_inserts_held(), ThreadPoolExecutor(1) as pool:
        pending = pool.submit(request)
        terminate_the_held_request()
        return pending.result(timeout=30)


def assert_nothing_was_written(claim: Claim) -> None:
    fresh = Claim.objects.get(pk=claim.pk)
    assert (fresh.status, fresh.submitted_at, fresh.limit_slot) == ("draft", None, None)
    assert list(fresh.events.values_list("action", flat=True)) == ["create"]
    assert not OutboxMessage.objects.exists()


def assert_logged_without_a_traceback(tmp_path: Path, path: str) -> None:
    (log,) = tmp_path.glob("gunicorn-*.log")
    text = log.read_text(errors="replace")
    assert f"database unavailable during POST {path}: OperationalError" in text
    assert "Traceback" not in text


@pytest.fixture
def draft(claim_input: Any, clerk: Any) -> Claim:
    return services.claim_create(data=claim_input(), actor=clerk)


@pytest.mark.parametrize(
    "conn_max_age", ["0", "60"], ids=["connection per request", "kept connections"]
)
def test_the_api_answers_503_saves_nothing_and_the_retry_works(
    draft, clerk, start_web, tmp_path, conn_max_age
):
    # given the app under gunicorn (one worker) and a clerk with a draft
    base = start_web(workers=1, CONN_MAX_AGE=conn_max_age)
    headers = {"Authorization": f"Token {token_create(user=clerk)}"}
    url = f"{base}/api/claims/{draft.pk}/submit/"
    assert requests.get(f"{base}/api/claims/", headers=headers).status_code == 200

    # when the database connection drops while the submit is half written
    began = time.monotonic()
    response = during_the_fault(lambda: requests.post(url, headers=headers, timeout=30))
    print(f"\n503 after {time.monotonic() - began:.2f}s")

    # then a clean JSON error in Chinese, and nothing of the submit saved
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json() == {
        "code": "database_unavailable",
        "message": "数据库暂时无法连接，您刚才的操作未保存，请稍后重试。",
    }
    assert_nothing_was_written(draft)
    # and the clerk's retry, served by the same worker, goes through
    retry = requests.post(url, headers=headers, timeout=30)
    assert retry.status_code == 200, retry.text
    assert retry.json()["status"] == "submitted"
    assert Claim.objects.get(pk=draft.pk).status == "submitted"
    assert_logged_without_a_traceback(tmp_path, f"/api/claims/{draft.pk}/submit/")


def test_a_write_with_an_idempotency_key_answers_503_and_its_retry_runs_once(
    draft, clerk, start_web, tmp_path
):
    """Issue 21: the key's transaction wraps the submit's; the connection dropped under
    it is the same Chinese 503, the key is not kept, and the retry runs, then replays."""
    from altay_skills.models import IdempotentRequest

    # given the app under gunicorn (one worker) and a clerk with a draft
    base = start_web(workers=1)
    headers = {
        "Authorization": f"Token {token_create(user=clerk)}",
        "Idempotency-Key": "submit-after-a-fault",
    }
    url = f"{base}/api/claims/{draft.pk}/submit/"

    # when the database connection drops while the submit is half written
    response = during_the_fault(lambda: requests.post(url, headers=headers, timeout=30))

    # then the same clean JSON 503, and neither the submit nor the key saved
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json()["code"] == "database_unavailable"
    assert_nothing_was_written(draft)
    assert not IdempotentRequest.objects.exists()
    # and the retry with the key runs, once: a second retry replays its answer
    retry = requests.post(url, headers=headers, timeout=30)
    assert retry.status_code == 200, retry.text
    assert "Idempotent-Replayed" not in retry.headers
    again = requests.post(url, headers=headers, timeout=30)
    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (200, "true")
    assert again.json() == retry.json()
    assert Claim.objects.get(pk=draft.pk).events.filter(action="submit").count() == 1
    assert_logged_without_a_traceback(tmp_path, f"/api/claims/{draft.pk}/submit/")


def test_the_page_answers_503_saves_nothing_and_the_retry_works(
    draft, clerk, start_web, tmp_path
):
    # given the app under gunicorn (one worker) and a clerk signed in on the claim page
    base = start_web(workers=1)
    browser = requests.Session()
    signed_in = Client()
    signed_in.force_login(clerk)
    browser.cookies.set("sessionid", signed_in.cookies["sessionid"].value)
    page = browser.get(f"{base}/claims/{draft.pk}/", timeout=30)
    assert page.status_code == 200 and "提交" in page.text
    url = f"{base}/claims/{draft.pk}/submit/"
    form = {"csrfmiddlewaretoken": browser.cookies["csrftoken"]}

    # when the database connection drops while the submit is half written
    response = during_the_fault(
        lambda: browser.post(url, data=form, allow_redirects=False, timeout=30)
    )

    # then the Chinese 503 page, and nothing of the submit saved
    assert response.status_code == 503
    assert "数据库暂时无法连接" in response.text and "未保存" in response.text
    assert "Traceback" not in response.text
    assert_nothing_was_written(draft)
    # and the clerk's retry, served by the same worker, goes through
    retry = browser.post(url, data=form, allow_redirects=False, timeout=30)
    assert retry.status_code == 302 and retry.headers["Location"].endswith(
        f"/claims/{draft.pk}/"
    )
    assert Claim.objects.get(pk=draft.pk).status == "submitted"
    assert_logged_without_a_traceback(tmp_path, f"/claims/{draft.pk}/submit/")
