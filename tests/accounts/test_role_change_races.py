"""Administrators acting on one user's role at the same moment (issue 12, 3).

Real threads, each with its own PostgreSQL connection, released together: of many
proposals for one user exactly one is recorded, and of many confirmations of one
proposal exactly one applies it; the others get a clean refusal.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from accounts import services
from accounts.models import Role, RoleChange, User
from tests.conftest import requires_postgres
from tests.factories import UserFactory
from tests.racing import race

pytestmark = [
    requires_postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

ADMINS = 8


@pytest.fixture
def admins(transactional_db: Any) -> list[User]:
    return [
        UserFactory(username=f"race_admin{i}", role=Role.ADMINISTRATOR, is_staff=True)
        for i in range(ADMINS + 1)
    ]


def test_racing_proposals_for_one_user_record_one(admins: list[User]) -> None:
    target = UserFactory(username="race_target", role=Role.COUNTY_CLERK)
    roles = [Role.PREFECTURE_REVIEWER, Role.AUDITOR, Role.FINANCE_OFFICER]

    outcomes = race(
        [
            lambda a=a, i=i: services.role_change_propose(
                actor=a,
                user_id=target.pk,
                role=roles[i % len(roles)],
                unit_code=None,
                reason="调岗",
            )
            for i, a in enumerate(admins[:ADMINS])
        ]
    )

    assert outcomes == Counter({"ok": 1, "role_change_open": ADMINS - 1})
    assert RoleChange.objects.filter(user=target, status="proposed").count() == 1


def test_racing_confirmations_apply_a_change_once(admins: list[User]) -> None:
    target = UserFactory(username="race_target", role=Role.COUNTY_CLERK)
    proposer, *confirmers = admins
    change = services.role_change_propose(
        actor=proposer,
        user_id=target.pk,
        role=Role.PREFECTURE_REVIEWER,
        unit_code=None,
        reason="调任地区审核岗位",
    )

    outcomes = race(
        [
            lambda a=a: services.role_change_confirm(actor=a, change_id=change.pk)
            for a in confirmers
        ]
    )

    assert outcomes == Counter({"ok": 1, "role_change_closed": ADMINS - 1})
    change.refresh_from_db()
    target.refresh_from_db()
    assert change.status == "confirmed" and change.confirmed_by in confirmers
    assert target.role == Role.PREFECTURE_REVIEWER
    assert target.history.filter(role=Role.PREFECTURE_REVIEWER).count() == 1
