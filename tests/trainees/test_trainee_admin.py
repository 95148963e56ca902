"""Nothing in the admin changes a registered person (issue 12, 3): the registry is
read-only there, for administrators and superusers alike, so every change goes through
``trainee_update_facts`` and its record."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

import pytest

from accounts.models import Role, User
from tests.factories import TraineeFactory, UserFactory, make_id_number
from trainees.models import Trainee

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["administrator", "superuser"])
def admin_user(request: Any) -> User:
    return UserFactory(
        username="sysadmin",
        role=Role.ADMINISTRATOR,
        is_staff=True,
        is_superuser=request.param == "superuser",
    )


def test_the_admin_cannot_rewrite_a_persons_facts(client: Any, admin_user: User):
    person = TraineeFactory(
        name="古丽", household="rural", groups=[], registered_by_unit_id="654301"
    )
    client.force_login(admin_user)
    url = reverse("admin:trainees_trainee_change", args=[person.pk])
    page = client.get(url)
    assert page.status_code == 200  # shown, read-only, the number masked
    assert 'name="name"' not in page.content.decode()

    response = client.post(
        url,
        {
            "name": "别人",
            "household": "urban",
            "groups": ["veteran"],
            "phone": "1",
            "registered_by_unit": "654322",
        },
    )

    assert response.status_code == 403
    person.refresh_from_db()
    assert (person.name, person.household, person.groups) == ("古丽", "rural", [])
    assert person.registered_by_unit_id == "654301"


def test_the_admin_neither_adds_nor_deletes_people(client: Any, admin_user: User):
    person = TraineeFactory()
    client.force_login(admin_user)
    add = client.post(
        reverse("admin:trainees_trainee_add"),
        {"id_number": make_id_number(), "name": "新人", "household": "rural"},
    )
    delete = client.post(
        reverse("admin:trainees_trainee_delete", args=[person.pk]), {"post": "yes"}
    )
    assert (add.status_code, delete.status_code) == (403, 403)
    assert list(Trainee.objects.all()) == [person]


def test_the_change_records_are_read_only_in_the_admin(client: Any) -> None:
    client.force_login(UserFactory(username="root", is_superuser=True, is_staff=True))
    assert (
        client.get(reverse("admin:trainees_traineefactchange_changelist")).status_code
        == 200
    )
    assert (
        client.get(reverse("admin:trainees_traineefactchange_add")).status_code == 403
    )
