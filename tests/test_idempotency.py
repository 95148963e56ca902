"""Safe retries of API writes with an ``Idempotency-Key`` header (issue 21).

A client whose POST answered 502/503 (a host died mid-request) cannot know whether the
write committed. Sent again with the same key, the write takes effect once: the first
request's answer is stored with its work in one transaction and replayed to the retry.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import OperationalError, connection, connections
from django.utils import timezone

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tokens import token_create
from altay_skills import idempotency
from altay_skills.models import IdempotentRequest, OutboxMessage
from claims import services
from claims.models import Claim, ClaimEvent
from claims.services import ClaimInput
from finance import services as finance_services
from finance.models import LedgerEntry, Payment
from tests.claims.test_apis import as_body
from tests.conftest import requires_postgres
from tests.quarter_run import run_quarter

pytestmark = pytest.mark.django_db

CLAIMS = "/api/claims/"
PAYMENTS = "/api/payments/"
REPLAYED = "Idempotent-Replayed"


def token_client(user: User) -> APIClient:
    """A script's client: ``Authorization: Token …``, as api-contract.md has it."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_create(user=user)}")
    return client


def post(client: APIClient, path: str, body: Any = None, *, key: str) -> Any:
    return client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


@pytest.fixture
def body(claim_input: Callable[..., ClaimInput]) -> Callable[..., dict[str, Any]]:
    def build(**overrides: Any) -> dict[str, Any]:
        return as_body(claim_input(**overrides))

    return build


@pytest.fixture
def draft(clerk: User, claim_input: Callable[..., ClaimInput]) -> Claim:
    return services.claim_create(data=claim_input(), actor=clerk)


# --- Replays -------------------------------------------------------------------------------
def test_a_retried_claim_create_is_replayed_and_makes_one_claim(clerk, body):
    client = token_client(clerk)

    first = post(client, CLAIMS, body(), key="create-1")
    retry = post(client, CLAIMS, body(), key="create-1")

    assert first.status_code == 201, first.json()
    assert REPLAYED not in first
    assert retry.status_code == 201
    assert retry[REPLAYED] == "true"
    assert retry["Content-Type"].startswith("application/json")
    assert retry.json() == first.json()
    assert retry.wsgi_request.resolver_match.view_name == "api-claims"  # the log line
    assert Claim.objects.count() == 1
    assert ClaimEvent.objects.filter(action="create").count() == 1
    stored = IdempotentRequest.objects.get()
    assert (stored.user, stored.key, stored.method, stored.path) == (
        clerk,
        "create-1",
        "POST",
        CLAIMS,
    )
    assert stored.status_code == 201 and stored.response_body == first.json()
    assert len(stored.body_sha256) == 64


def test_a_retried_submit_is_replayed_and_submits_once(clerk, draft):
    client = token_client(clerk)
    url = f"{CLAIMS}{draft.pk}/submit/"

    first = post(client, url, key="submit-1")
    retry = post(client, url, key="submit-1")

    assert first.status_code == 200, first.json()
    assert first.json()["status"] == "submitted"
    assert (retry.status_code, retry[REPLAYED]) == (200, "true")
    assert retry.json() == first.json()
    assert draft.events.filter(action="submit").count() == 1
    # the same retry without a key runs again, and the claim is no longer a draft
    assert client.post(url).status_code == 409


def test_a_session_users_retry_is_replayed_too(clerk, body):
    client = APIClient()
    client.force_login(clerk)

    first = post(client, CLAIMS, body(), key="session-1")
    retry = post(client, CLAIMS, body(), key="session-1")

    assert (first.status_code, retry.status_code, retry[REPLAYED]) == (201, 201, "true")
    assert Claim.objects.count() == 1


def test_a_retried_delete_replays_its_empty_204(clerk, draft):
    client = token_client(clerk)
    url = f"{CLAIMS}{draft.pk}/"

    first = client.delete(url, HTTP_IDEMPOTENCY_KEY="delete-1")
    retry = client.delete(url, HTTP_IDEMPOTENCY_KEY="delete-1")

    assert first.status_code == 204
    assert (retry.status_code, retry[REPLAYED], retry.content) == (204, "true", b"")
    assert client.delete(url).status_code == 404  # gone: without a key it runs again


@pytest.mark.parametrize("megabytes", [1, 6], ids=["in memory", "spooled"])
def test_a_retried_upload_is_replayed_and_stores_one_document(
    clerk, draft, settings, tmp_path, megabytes
):
    """An evidence upload over DATA_UPLOAD_MAX_MEMORY_SIZE (5 MB) is hashed as it is
    read, and the parsers read the same bytes after."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.claims.test_documents import pdf_bytes

    settings.MEDIA_ROOT = tmp_path
    data = pdf_bytes(padding=megabytes * 1024 * 1024)
    client = token_client(clerk)
    url = f"{CLAIMS}{draft.pk}/documents/"

    def send() -> Any:
        upload = SimpleUploadedFile("roster.pdf", data, content_type="application/pdf")
        return client.post(
            url, {"kind": "roster", "file": upload}, HTTP_IDEMPOTENCY_KEY="upload-1"
        )

    first, retry = send(), send()

    assert first.status_code == 201, first.json()
    assert first.json()["size"] == len(data)
    assert (retry.status_code, retry[REPLAYED]) == (201, "true")
    assert retry.json() == first.json()
    assert draft.documents.count() == 1


@pytest.fixture
def ready(claim_input: Any, reviewer: User, settings: Any, tmp_path: Any) -> Any:
    """A closed quarter whose rollup is ready: its approved claims can be paid."""
    settings.MEDIA_ROOT = tmp_path
    quarter = run_quarter(claim_input, reviewer)
    rollup = finance_services.rollup_request(quarter="2020Q1", actor=reviewer)
    assert finance_services.rollup_build(rollup_id=rollup.pk).status == "ready"
    return quarter


def test_a_retried_payment_is_replayed_and_pays_once(ready, finance):
    claim = ready.approved[0]
    payment = {
        "claim": claim.pk,
        "kind": "balance",
        "amount": str(claim.approved_amount),
        "paid_on": "2020-05-10",
        "status": "paid",
        "reference": "PZ-001",
    }
    client = token_client(finance)
    first = post(client, PAYMENTS, payment, key="pay-1")
    ledger = LedgerEntry.objects.count()

    retry = post(client, PAYMENTS, payment, key="pay-1")

    assert first.status_code == 201, first.json()
    assert (retry.status_code, retry[REPLAYED]) == (201, "true")
    assert retry.json() == first.json()
    assert Payment.objects.count() == 1
    assert LedgerEntry.objects.count() == ledger
    # without a key the same body is refused: it was paid
    assert client.post(PAYMENTS, payment, format="json").status_code == 409


def test_keys_are_each_users_own(clerk, clerk_same_unit, body, trainee):
    first = post(token_client(clerk), CLAIMS, body(), key="shared-key")
    other = post(
        token_client(clerk_same_unit),
        CLAIMS,
        body(certificate_number="CERT-OTHER"),
        key="shared-key",
    )

    assert first.status_code == 201 and other.status_code == 201, other.json()
    assert REPLAYED not in other
    assert other.json()["id"] != first.json()["id"]
    assert IdempotentRequest.objects.count() == 2


# --- Refusals ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "change",
    [
        {"path": "/api/claims/check/"},
        {"body": "another amount"},
        {"method": "put"},
    ],
    ids=["another path", "another body", "another method"],
)
def test_a_key_reused_for_another_request_is_a_422(clerk, draft, body, change):
    client = token_client(clerk)
    first = post(client, CLAIMS, body(), key="reused")
    assert first.status_code == 201
    claims = Claim.objects.count()

    if "path" in change:
        again = post(client, change["path"], body(), key="reused")
    elif "body" in change:
        again = post(client, CLAIMS, body(amount_requested="1500.00"), key="reused")
    else:
        again = client.put(
            f"{CLAIMS}{draft.pk}/", body(), format="json", HTTP_IDEMPOTENCY_KEY="reused"
        )

    assert again.status_code == 422
    data = again.json()
    assert data["code"] == "idempotency_key_reused"
    assert "幂等键" in data["message"]
    assert REPLAYED not in again
    assert Claim.objects.count() == claims


@pytest.mark.parametrize(
    "key",
    ["", "x" * 101, "申报-1", "a\tb", "a b"],
    ids=["empty", "101 characters", "not ASCII", "control character", "space"],
)
def test_a_malformed_key_is_a_400_and_nothing_runs(clerk, body, key):
    response = post(token_client(clerk), CLAIMS, body(), key=key)

    assert response.status_code == 400
    data = response.json()
    assert data["code"] == "invalid_idempotency_key"
    assert "幂等键" in data["message"] and "100" in data["message"]
    assert not Claim.objects.exists()
    assert not IdempotentRequest.objects.exists()


def test_the_longest_key_is_taken(clerk, body):
    key = "".join(chr(c) for c in range(0x21, 0x7F))[:100]

    assert post(token_client(clerk), CLAIMS, body(), key=key).status_code == 201
    assert IdempotentRequest.objects.get().key == key


def test_a_non_2xx_answer_is_not_stored_and_the_retry_runs(clerk, body):
    client = token_client(clerk)

    refused = post(client, CLAIMS, body(trainee_id=999999), key="retry-me")
    assert refused.status_code == 400
    assert not IdempotentRequest.objects.exists()

    corrected = post(client, CLAIMS, body(), key="retry-me")
    assert corrected.status_code == 201, corrected.json()
    assert REPLAYED not in corrected
    assert Claim.objects.count() == 1


def test_reads_and_anonymous_requests_ignore_the_header(clerk, body):
    anonymous = post(APIClient(), CLAIMS, body(), key="anon-1")
    read = token_client(clerk).get(CLAIMS, HTTP_IDEMPOTENCY_KEY="read-1")
    malformed_read = token_client(clerk).get(CLAIMS, HTTP_IDEMPOTENCY_KEY="a b")

    assert anonymous.status_code == 401
    assert read.status_code == 200 and malformed_read.status_code == 200
    assert not IdempotentRequest.objects.exists()


def test_a_session_without_its_csrf_token_is_refused_as_before(clerk, body):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(clerk)

    response = post(client, CLAIMS, body(), key="no-csrf")

    assert response.status_code == 403
    assert not Claim.objects.exists()
    assert not IdempotentRequest.objects.exists()


def test_an_expired_token_is_still_a_401(clerk, body):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")

    response = post(client, CLAIMS, body(), key="with-a-bad-token")

    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"
    assert not IdempotentRequest.objects.exists()


def test_answers_that_hold_secrets_are_never_stored(clerk, trainee):
    """A reveal of a full ID number is audited each time and a token is shown once:
    neither is kept for a replay, the header is ignored."""
    client = token_client(clerk)
    reveal = f"/api/trainees/{trainee.pk}/id-number/"
    first = post(client, reveal, {"reason": "核对身份"}, key="reveal-1")
    again = post(client, reveal, {"reason": "核对身份"}, key="reveal-1")
    assert first.status_code == 200, first.json()
    assert REPLAYED not in again
    assert not IdempotentRequest.objects.exists()

    session = APIClient()
    session.force_login(clerk)
    clerk.set_password("pw-123456-x")
    clerk.save()
    session.force_login(clerk)
    issued = post(
        session,
        "/api/auth/token/",
        {"username": clerk.username, "password": "pw-123456-x"},
        key="token-1",
    )
    assert issued.status_code in (200, 201), issued.json()
    assert not IdempotentRequest.objects.exists()


# --- The database --------------------------------------------------------------------------
def dropped(*args: Any, **kwargs: Any) -> Any:
    raise OperationalError("server closed the connection unexpectedly")


def test_the_database_dropped_under_the_work_is_the_chinese_503(
    clerk, body, monkeypatch
):
    client = token_client(clerk)
    monkeypatch.setattr(services, "claim_create", dropped)

    response = post(client, CLAIMS, body(), key="dropped-1")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["code"] == "database_unavailable"
    assert "未保存" in response.json()["message"]
    assert not IdempotentRequest.objects.exists()
    monkeypatch.undo()
    retry = post(client, CLAIMS, body(), key="dropped-1")
    assert retry.status_code == 201 and REPLAYED not in retry


def test_a_failure_storing_the_answer_keeps_none_of_the_work(clerk, body, monkeypatch):
    """The crash between the work and the record of its answer: both or neither."""
    monkeypatch.setattr(idempotency, "answer_stored", dropped)

    response = post(token_client(clerk), CLAIMS, body(), key="lost-1")

    assert response.status_code == 503
    assert response.json()["code"] == "database_unavailable"
    assert not Claim.objects.exists()
    assert not ClaimEvent.objects.exists()
    assert not IdempotentRequest.objects.exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_work_queued_on_commit_is_published_after_the_outer_commit(
    clerk, draft, monkeypatch
):
    from altay_skills import outbox

    published_in_a_transaction = []
    publish = outbox.publish

    def spy(message_id: int) -> bool:
        published_in_a_transaction.append(connection.in_atomic_block)
        return publish(message_id)

    monkeypatch.setattr(outbox, "publish", spy)

    response = post(token_client(clerk), f"{CLAIMS}{draft.pk}/submit/", key="s-1")

    assert response.status_code == 200, response.json()
    assert published_in_a_transaction and not any(published_in_a_transaction)
    assert not OutboxMessage.objects.filter(published_at__isnull=True).exists()
    assert IdempotentRequest.objects.get().status_code == 200


@requires_postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_concurrent_requests_with_one_key_do_the_work_once(
    clerk, body, monkeypatch
):
    client_body = body()
    token = token_create(user=clerk)
    entered, release = threading.Event(), threading.Event()
    calls: list[int] = []
    create = services.claim_create

    def held_create(**kwargs: Any) -> Claim:
        calls.append(1)
        entered.set()
        assert release.wait(timeout=30), "the test never released the first request"
        return create(**kwargs)

    monkeypatch.setattr(services, "claim_create", held_create)
    answers: dict[str, Any] = {}

    def send(name: str) -> None:
        try:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
            answers[name] = post(client, CLAIMS, client_body, key="race-1")
        finally:
            connections.close_all()

    first = threading.Thread(target=send, args=("first",))
    first.start()
    assert entered.wait(timeout=30), "the first request never reached the work"
    second = threading.Thread(target=send, args=("second",))
    second.start()
    # the second waits on the first's uncommitted key, a row lock of PostgreSQL's
    waited = False
    deadline = time.monotonic() + 20
    while not waited and time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname ="
                " current_database() AND wait_event_type = 'Lock'"
            )
            waited = cursor.fetchone()[0] > 0
        time.sleep(0.05)
    release.set()
    first.join(timeout=30)
    second.join(timeout=30)

    assert waited, "the second request never waited on the first's key"
    assert len(calls) == 1
    assert answers["first"].status_code == 201, answers["first"].json()
    assert REPLAYED not in answers["first"]
    assert (answers["second"].status_code, answers["second"][REPLAYED]) == (
        201,
        "true",
    )
    assert answers["second"].json() == answers["first"].json()
    assert Claim.objects.count() == 1


@requires_postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_retry_waits_for_the_key_no_longer_than_the_bound(
    clerk, body, monkeypatch, settings
):
    """A host that died mid-request can leave its transaction, and the key in it, open
    on PostgreSQL until TCP notices: a retry on the other host answers 409 after
    IDEMPOTENCY_WAIT_SECONDS instead of holding a worker until the proxy gives up."""
    settings.IDEMPOTENCY_WAIT_SECONDS = 1
    client_body = body()
    token = token_create(user=clerk)
    entered, release = threading.Event(), threading.Event()
    create = services.claim_create

    work_lock_timeouts = []

    def held_create(**kwargs: Any) -> Claim:
        with connection.cursor() as cursor:
            cursor.execute("SHOW lock_timeout")
            work_lock_timeouts.append(cursor.fetchone()[0])
        entered.set()
        assert release.wait(timeout=30), "the test never released the first request"
        return create(**kwargs)

    monkeypatch.setattr(services, "claim_create", held_create)
    answers: dict[str, Any] = {}

    def send(name: str) -> None:
        try:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
            answers[name] = post(client, CLAIMS, client_body, key="held-1")
        finally:
            connections.close_all()

    first = threading.Thread(target=send, args=("first",))
    first.start()
    try:
        assert entered.wait(timeout=30), "the first request never reached the work"
        began = time.monotonic()
        send("second")
        waited = time.monotonic() - began
    finally:
        release.set()
        first.join(timeout=30)

    second = answers["second"]
    assert second.status_code == 409, second.json()
    assert second.json()["code"] == "request_in_progress"
    assert "稍后" in second.json()["message"] and second["Retry-After"]
    assert 1 <= waited < 10
    assert answers["first"].status_code == 201
    assert Claim.objects.count() == 1
    # the bound is the key's own: the work of the request that holds it waits as before
    assert work_lock_timeouts == ["0"]
    send("third")
    assert (answers["third"].status_code, answers["third"][REPLAYED]) == (201, "true")


# --- Old keys ------------------------------------------------------------------------------
def test_keys_older_than_the_window_are_purged(clerk, settings):
    from altay_skills.tasks import purge_idempotency_keys

    settings.IDEMPOTENCY_KEY_HOURS = 24
    now = timezone.now()
    for key, age in (("old", 25), ("edge", 23), ("new", 0)):
        row = IdempotentRequest.objects.create(
            user=clerk,
            key=key,
            method="POST",
            path=CLAIMS,
            body_sha256="0" * 64,
            status_code=201,
            response_body={"id": 1},
        )
        IdempotentRequest.objects.filter(pk=row.pk).update(
            created_at=now - timedelta(hours=age)
        )

    assert purge_idempotency_keys() == 1
    assert set(IdempotentRequest.objects.values_list("key", flat=True)) == {
        "edge",
        "new",
    }
    settings.IDEMPOTENCY_KEY_HOURS = 1
    assert purge_idempotency_keys() == 1
    assert list(IdempotentRequest.objects.values_list("key", flat=True)) == ["new"]


def test_the_purge_runs_on_beat(settings):
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "altay_skills.tasks.purge_idempotency_keys" in tasks


def test_the_schema_documents_the_header_on_writes():
    import json

    response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/json")
    paths = json.loads(response.content)["paths"]

    def header(path: str, method: str) -> list[dict[str, Any]]:
        return [
            p
            for p in paths[path][method].get("parameters", [])
            if p.get("in") == "header" and p.get("name") == "Idempotency-Key"
        ]

    for path, method in (
        ("/api/claims/", "post"),
        ("/api/claims/{id}/submit/", "post"),
        ("/api/claims/{id}/", "put"),
        ("/api/claims/{id}/", "delete"),
        ("/api/payments/", "post"),
    ):
        (documented,) = header(path, method)
        assert not documented.get("required", False)
        assert "幂等" in documented["description"]
        responses = paths[path][method]["responses"]
        assert "幂等键" in responses["422"]["description"]
        ok = next(code for code in responses if code.startswith("2"))
        assert REPLAYED in responses[ok].get("headers", {})
    assert not header("/api/claims/", "get")
    assert not header("/api/auth/token/", "post")
    assert not header("/api/trainees/{id}/id-number/", "post")
