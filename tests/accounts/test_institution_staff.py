"""The institution's staff (issue 16): bound to one institution, set up by the operator."""

from __future__ import annotations

import io
from typing import Any

from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction

import pytest

from accounts import services
from accounts.models import Role, User
from altay_skills.errors import DomainError
from tests.factories import InstitutionFactory, UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "pw-Altay-2019-Setup"


def create(*args: str) -> str:
    out = io.StringIO()
    call_command("create_staff_user", *args, "--password", PASSWORD, stdout=out)
    return out.getvalue()


def test_create_staff_user_binds_the_staff_to_their_institution() -> None:
    school = InstitutionFactory()

    output = create(
        "school_a", "--role", "institution_staff", "--institution", str(school.pk)
    )

    user = User.objects.get(username="school_a")
    assert (user.role, user.institution, user.unit) == (
        "institution_staff",
        school,
        None,
    )
    assert user.is_institution_staff and not user.is_staff
    assert f"institution {school.pk}" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--role", "institution_staff"), "--institution is required"),
        (
            ("--role", "institution_staff", "--institution", "999999"),
            "unknown institution",
        ),
        (("--role", "auditor", "--institution", "1"), "only for institution_staff"),
    ],
)
def test_create_staff_user_refuses_a_wrong_institution(
    args: tuple[str, ...], message: str
) -> None:
    with pytest.raises(CommandError, match=message):
        create("someone", *args)
    assert not User.objects.filter(username="someone").exists()


def test_the_database_keeps_institutions_for_staff_only() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        UserFactory(username="unbound", role=Role.INSTITUTION_STAFF, unit_id=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        UserFactory(username="bound_clerk", institution=InstitutionFactory())


def test_a_role_change_does_not_make_institution_staff(administrator: Any) -> None:
    target = UserFactory(username="moving", role=Role.AUDITOR)

    with pytest.raises(DomainError) as refused:
        services.role_change_propose(
            actor=administrator,
            user_id=target.pk,
            role="institution_staff",
            unit_code=None,
            reason="调到培训机构",
        )

    assert refused.value.code == "institution_required"


def test_a_confirmed_change_away_from_the_staff_role_unbinds_the_institution(
    administrator: Any,
) -> None:
    staff = UserFactory(
        username="leaving_school",
        role=Role.INSTITUTION_STAFF,
        unit_id=None,
        institution=InstitutionFactory(),
    )
    second = UserFactory(username="admin_b", role=Role.ADMINISTRATOR, is_staff=True)
    change = services.role_change_propose(
        actor=administrator,
        user_id=staff.pk,
        role="auditor",
        unit_code=None,
        reason="调任督查",
    )

    services.role_change_confirm(actor=second, change_id=change.pk)

    staff.refresh_from_db()
    assert (staff.role, staff.institution) == ("auditor", None)
