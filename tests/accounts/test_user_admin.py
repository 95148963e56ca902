"""The user admin shows a role and a unit but never changes them (issue 12, 3).

Observed before: an administrator that is not a superuser opened its own user in
/admin/, set role=prefecture_reviewer and then approved claims.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse

import pytest

from accounts.models import Role, User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_admin(db: Any) -> User:
    """A 系统管理员 as create_staff_user makes one: staff, not a superuser."""
    return UserFactory(username="sysadmin", role=Role.ADMINISTRATOR, is_staff=True)


def change_url(user: User) -> str:
    return reverse("admin:accounts_user_change", args=[user.pk])


def change_form(user: User, **overrides: Any) -> dict[str, Any]:
    """Everything the change page could post, including the protected fields."""
    return {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": "",
        "email": "",
        "role": user.role,
        "unit": user.unit_id or "",
        "is_active": "on",
        "is_staff": "on" if user.is_staff else "",
        "date_joined_0": "2020-01-01",
        "date_joined_1": "00:00:00",
        "initial-date_joined_0": "2020-01-01",
        "initial-date_joined_1": "00:00:00",
    } | overrides


def test_an_administrator_cannot_give_itself_the_reviewer_role(
    client: Any, staff_admin: User
) -> None:
    client.force_login(staff_admin)
    # the page shows the role read-only, with the way to ask for a change
    page = client.get(change_url(staff_admin))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="role"' not in html and 'name="unit"' not in html
    assert 'name="is_superuser"' not in html and 'name="is_active"' not in html
    assert reverse("role_change_propose") in html

    response = client.post(
        change_url(staff_admin),
        change_form(
            staff_admin,
            role="prefecture_reviewer",
            is_superuser="on",
            first_name="改名",
        ),
    )

    assert response.status_code == 302
    staff_admin.refresh_from_db()
    assert staff_admin.first_name == "改名"  # what the page may change, changes
    assert (staff_admin.role, staff_admin.is_superuser) == (Role.ADMINISTRATOR, False)


def test_no_one_changes_another_users_role_or_unit_on_the_change_page(
    client: Any, staff_admin: User, clerk: User
) -> None:
    for actor in (staff_admin, UserFactory(username="root", is_superuser=True)):
        client.force_login(actor)
        response = client.post(
            change_url(clerk),
            change_form(clerk, role="prefecture_reviewer", unit="654322"),
        )
        assert response.status_code == 302
        clerk.refresh_from_db()
        assert (clerk.role, clerk.unit_id) == (Role.COUNTY_CLERK, "654301")


def test_an_old_role_is_never_restored_from_the_history(
    client: Any, staff_admin: User, clerk: User
) -> None:
    # given a history in which the clerk was once a reviewer
    clerk.role, clerk.unit = Role.PREFECTURE_REVIEWER, None
    clerk.save()
    reviewer_version = clerk.history.order_by("-history_id").first()
    clerk.role, clerk.unit_id = Role.COUNTY_CLERK, "654301"
    clerk.save()
    client.force_login(staff_admin)
    url = reverse(
        "admin:accounts_user_simple_history",
        args=[clerk.pk, reviewer_version.history_id],
    )
    # when the administrator posts the "revert" form of that version
    response = client.post(url, change_form(clerk))
    # then
    assert response.status_code == 403
    clerk.refresh_from_db()
    assert clerk.role == Role.COUNTY_CLERK


def test_a_new_user_gets_no_role_from_an_administrator_alone(
    client: Any, staff_admin: User
) -> None:
    client.force_login(staff_admin)
    page = client.get(reverse("admin:accounts_user_add")).content.decode()
    assert 'name="role"' not in page

    response = client.post(
        reverse("admin:accounts_user_add"),
        {
            "username": "newbie",
            "usable_password": "true",
            "password1": "pw-Altay-2019-New",
            "password2": "pw-Altay-2019-New",
            "first_name": "新人",
            "role": "prefecture_reviewer",
        },
    )

    assert response.status_code == 302
    newbie = User.objects.get(username="newbie")
    assert (newbie.role, newbie.is_staff, newbie.is_superuser) == ("", False, False)


def test_a_superuser_setting_up_a_system_creates_a_user_with_a_role(
    client: Any,
) -> None:
    client.force_login(UserFactory(username="root", is_superuser=True, is_staff=True))
    response = client.post(
        reverse("admin:accounts_user_add"),
        {
            "username": "first_clerk",
            "usable_password": "true",
            "password1": "pw-Altay-2019-New",
            "password2": "pw-Altay-2019-New",
            "role": "county_clerk",
            "unit": "654301",
        },
    )
    assert response.status_code == 302
    assert User.objects.get(username="first_clerk").role == Role.COUNTY_CLERK
    response = client.post(
        reverse("admin:accounts_user_add"),
        {
            "username": "first_admin",
            "usable_password": "true",
            "password1": "pw-Altay-2019-New",
            "password2": "pw-Altay-2019-New",
            "role": "administrator",
        },
    )
    assert response.status_code == 302
    assert User.objects.get(username="first_admin").is_staff  # may use the admin


def test_role_changes_are_listed_read_only_in_the_admin(
    client: Any, staff_admin: User
) -> None:
    client.force_login(staff_admin)
    assert (
        client.get(reverse("admin:accounts_rolechange_changelist")).status_code == 200
    )
    assert client.get(reverse("admin:accounts_rolechange_add")).status_code == 403


def test_an_administrator_cannot_set_another_users_password(client, staff_admin):
    """Setting a reviewer's password would let the administrator sign in as the
    reviewer and approve: only a superuser setting up the system may."""
    from tests.factories import UserFactory

    reviewer = UserFactory(role="prefecture_reviewer")
    before = reviewer.password
    client.force_login(staff_admin)
    url = f"/admin/accounts/user/{reviewer.pk}/password/"
    assert client.get(url).status_code == 403
    response = client.post(
        url, {"password1": "Nw-pass-8842!", "password2": "Nw-pass-8842!"}
    )
    assert response.status_code == 403
    reviewer.refresh_from_db()
    assert reviewer.password == before
