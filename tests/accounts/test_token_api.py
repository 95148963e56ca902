"""Tokens for scripts, with django-axes counting failures; sessions for the browser."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TOKEN = "/api/auth/token/"
PASSWORD = "pw-Altay-2019"


def test_a_token_opens_the_api_end_to_end(clerk):
    client = APIClient()

    response = client.post(
        TOKEN, {"username": "clerk_a", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    assert set(response.json()) == {"token"}

    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    units = client.get("/api/units/")
    claims = client.get("/api/claims/")
    assert units.status_code == 200 and len(units.json()) == 9
    assert claims.status_code == 200 and claims.json()["count"] == 0


def test_each_request_returns_a_new_token(clerk):
    """Issue 14 (8): before, the same key came back every time (it never changed)."""
    client = APIClient()
    body = {"username": "clerk_a", "password": PASSWORD}

    first = client.post(TOKEN, body, format="json").json()["token"]
    second = client.post(TOKEN, body, format="json").json()["token"]

    assert first != second


@pytest.mark.parametrize(
    "body",
    [
        {"username": "clerk_a", "password": "wrong"},
        {"username": "nobody", "password": PASSWORD},
    ],
)
def test_bad_credentials_are_400_with_a_code(clerk, body):
    response = APIClient().post(TOKEN, body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_credentials"
    assert response.json()["message"]
    assert "token" not in response.json()


def test_missing_fields_are_400(clerk):
    response = APIClient().post(TOKEN, {"username": "clerk_a"}, format="json")

    assert response.status_code == 400
    assert "password" in response.json()["fields"]


def test_an_inactive_user_gets_no_token(db):
    UserFactory(username="gone", role="auditor", is_active=False)

    response = APIClient().post(
        TOKEN, {"username": "gone", "password": PASSWORD}, format="json"
    )

    assert response.status_code == 400


def test_repeated_failures_lock_the_account_out(clerk, settings):
    client = APIClient()
    wrong = {"username": "clerk_a", "password": "wrong"}
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert client.post(TOKEN, wrong, format="json").status_code == 400

    locked = client.post(TOKEN, wrong, format="json")
    # even the right password is refused while locked out
    right = client.post(
        TOKEN, {"username": "clerk_a", "password": PASSWORD}, format="json"
    )

    assert locked.status_code == right.status_code == 429
    assert right.json()["code"] == "locked_out"
    assert "token" not in right.json()


def test_a_bad_token_is_401(clerk):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")

    response = client.get("/api/units/")

    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_a_session_needs_csrf_for_writes(clerk: User):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(clerk)

    read = client.get("/api/units/")
    write = client.post("/api/claims/check/", {"amount_requested": "1"}, format="json")

    assert read.status_code == 200
    assert write.status_code == 403
    assert write.json()["code"] == "permission_denied"
