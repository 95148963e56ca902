"""API tokens (issue 14, item 8): they expire, end with a password change, a role change
and a logout, are stored only as a digest, and are shown once, when issued.

Before, a DRF token never expired, survived a password change and a logout, the same key
was handed out again on every request, and a superuser read every key in the admin. The
contract holds: ``POST /api/auth/token/`` answers ``{"token": "…"}``, sent back as
``Authorization: Token …``.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any
from unittest import mock

from django.db import connection
from django.urls import reverse
from django.utils import timezone

import pytest
from rest_framework.test import APIClient

from accounts import services
from accounts.models import Role, User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TOKEN = "/api/auth/token/"
LOGOUT = "/api/auth/logout/"
PASSWORD = "pw-Altay-2019"


def issue(username: str = "clerk_a", password: str = PASSWORD) -> str:
    response = APIClient().post(
        TOKEN, {"username": username, "password": password}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert set(response.json()) == {"token"}
    return str(response.json()["token"])


def with_token(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def units_status(key: str) -> int:
    return with_token(key).get("/api/units/").status_code


def test_each_request_issues_a_new_token_and_each_works(clerk: User) -> None:
    first, second = issue(), issue()

    assert first != second
    assert units_status(first) == units_status(second) == 200


def test_a_user_holds_at_most_the_configured_number_of_live_tokens(
    clerk: User, settings: Any
) -> None:
    # given a cap of three live tokens
    settings.API_TOKENS_PER_USER = 3
    keys = [issue() for _ in range(5)]
    # then the three newest work and the two oldest were ended
    assert [units_status(k) for k in keys] == [401, 401, 200, 200, 200]
    assert clerk.api_tokens.count() == 3


def test_ten_live_tokens_by_default() -> None:
    from django.conf import settings

    assert settings.API_TOKENS_PER_USER == 10


def test_a_token_lasts_eight_hours_by_default(clerk: User, settings: Any) -> None:
    assert settings.API_TOKEN_TTL_HOURS == 8
    key = issue()
    now = timezone.now()

    with mock.patch("django.utils.timezone.now", return_value=now + timedelta(hours=7)):
        assert units_status(key) == 200
    with mock.patch(
        "django.utils.timezone.now", return_value=now + timedelta(hours=8, minutes=1)
    ):
        response = with_token(key).get("/api/units/")

    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"
    assert "过期" in response.json()["message"]


def test_the_lifetime_is_configurable(clerk: User, settings: Any) -> None:
    settings.API_TOKEN_TTL_HOURS = 1
    key = issue()

    with mock.patch(
        "django.utils.timezone.now", return_value=timezone.now() + timedelta(hours=2)
    ):
        assert units_status(key) == 401


def test_a_password_change_on_the_page_ends_every_token(clerk: User, client) -> None:
    key = issue()
    client.force_login(clerk)

    response = client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "New-pw-Altay-2020",
            "new_password2": "New-pw-Altay-2020",
        },
    )

    assert response.status_code == 302
    assert units_status(key) == 401


def test_a_password_set_anywhere_else_ends_every_token(clerk: User) -> None:
    """The admin's password form, ``create_staff_user``, the shell: all set_password."""
    key = issue()

    clerk.set_password("New-pw-Altay-2020")
    clerk.save()

    assert units_status(key) == 401


def test_a_confirmed_role_change_ends_every_token(clerk: User) -> None:
    admin_a = UserFactory(username="admin_a", role=Role.ADMINISTRATOR, is_staff=True)
    admin_b = UserFactory(username="admin_b", role=Role.ADMINISTRATOR, is_staff=True)
    key = issue()
    change = services.role_change_propose(
        actor=admin_a,
        user_id=clerk.pk,
        role=Role.AUDITOR,
        unit_code=None,
        reason="调岗",
    )

    services.role_change_confirm(actor=admin_b, change_id=change.pk)

    assert units_status(key) == 401


def test_a_role_or_unit_changed_by_any_path_ends_every_token(clerk: User) -> None:
    key = issue()

    User.objects.filter(pk=clerk.pk).update(unit_id="654322")

    assert units_status(key) == 401


def test_a_deactivated_user_s_token_is_refused(clerk: User) -> None:
    key = issue()

    User.objects.filter(pk=clerk.pk).update(is_active=False)

    assert units_status(key) == 401


def test_the_api_logout_ends_the_token_sent(clerk: User) -> None:
    key, other = issue(), issue()

    response = with_token(key).post(LOGOUT)

    assert response.status_code == 204
    assert units_status(key) == 401
    assert units_status(other) == 200  # another script of the same user keeps working


def test_the_api_logout_needs_a_token(db: Any) -> None:
    assert APIClient().post(LOGOUT).status_code == 401


def test_signing_out_in_the_browser_ends_every_token(clerk: User, client) -> None:
    key = issue()
    client.force_login(clerk)

    client.post(reverse("logout"))

    assert units_status(key) == 401


def test_only_a_digest_is_stored(clerk: User) -> None:
    from accounts.models import ApiToken

    key = issue()

    stored = ApiToken.objects.get(user=clerk)
    assert stored.digest == hashlib.sha256(key.encode()).hexdigest()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {ApiToken._meta.db_table}")
        rows = cursor.fetchall()
    assert key not in str(rows)


def test_a_forged_or_tampered_key_is_refused(clerk: User) -> None:
    key = issue()

    assert units_status(key[:-1] + ("A" if key[-1] != "A" else "B")) == 401
    assert units_status("x" * 500) == 401
    assert units_status("") == 401


def test_no_key_is_shown_in_the_admin(clerk: User, client) -> None:
    key = issue()
    root = UserFactory(
        username="root",
        role=Role.ADMINISTRATOR,
        is_staff=True,
        is_superuser=True,
    )
    client.force_login(root)

    index = client.get("/admin/")
    tokens = client.get("/admin/authtoken/tokenproxy/")

    assert index.status_code == 200
    assert key not in index.content.decode()
    assert "authtoken" not in index.content.decode()
    assert tokens.status_code == 404
