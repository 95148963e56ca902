"""A change of role or unit: proposed by one administrator, in force only once a second
confirms it; nobody changes their own; the auditor reads them all (issue 12, 3)."""

from __future__ import annotations

import io
from typing import Any

from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

import pytest

from accounts import services
from accounts.models import Role, RoleChange, RoleChangeIsFinal, User
from accounts.permissions import can_confirm_role_change, can_propose_role_change
from accounts.tokens import token_create
from altay_skills.errors import Conflict, DomainError, NotFound, PermissionDenied
from tests.conftest import requires_postgres
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def make_admin(username: str, **extra: Any) -> User:
    return UserFactory(
        username=username, role=Role.ADMINISTRATOR, is_staff=True, **extra
    )


@pytest.fixture
def admin_a(db: Any) -> User:
    return make_admin("admin_a")


@pytest.fixture
def admin_b(db: Any) -> User:
    return make_admin("admin_b")


def propose(actor: User, target: User, **overrides: Any) -> RoleChange:
    args: dict[str, Any] = {
        "role": Role.PREFECTURE_REVIEWER,
        "unit_code": None,
        "reason": "调任地区审核岗位",
    } | overrides
    return services.role_change_propose(actor=actor, user_id=target.pk, **args)


# --- Two people -------------------------------------------------------------------------
def test_a_proposed_change_takes_effect_only_when_a_second_administrator_confirms(
    admin_a: User, admin_b: User, clerk: User
) -> None:
    # given
    change = propose(admin_a, clerk)
    # then nothing has changed yet
    clerk.refresh_from_db()
    assert (clerk.role, clerk.unit_id) == (Role.COUNTY_CLERK, "654301")
    assert (change.status, change.from_role, change.from_unit_id) == (
        "proposed",
        Role.COUNTY_CLERK,
        "654301",
    )
    # when a second administrator confirms
    services.role_change_confirm(actor=admin_b, change_id=change.pk)
    # then it is in force, and who, when, from and to are recorded
    clerk.refresh_from_db()
    change.refresh_from_db()
    assert (clerk.role, clerk.unit_id) == (Role.PREFECTURE_REVIEWER, None)
    assert change.status == "confirmed"
    assert (change.proposed_by, change.confirmed_by) == (admin_a, admin_b)
    assert change.proposed_at <= change.confirmed_at <= timezone.now()
    assert (change.to_role, change.to_unit_id) == (Role.PREFECTURE_REVIEWER, None)


def test_the_proposer_cannot_confirm_their_own_proposal(
    admin_a: User, clerk: User
) -> None:
    change = propose(admin_a, clerk)

    with pytest.raises(PermissionDenied, match="另一位系统管理员"):
        services.role_change_confirm(actor=admin_a, change_id=change.pk)

    clerk.refresh_from_db()
    assert clerk.role == Role.COUNTY_CLERK
    assert RoleChange.objects.get().status == "proposed"


def test_the_user_concerned_cannot_confirm_their_own_change(
    admin_a: User, admin_b: User
) -> None:
    # admin_a proposes to make admin_b a reviewer; admin_b may not confirm it
    change = propose(admin_a, admin_b)

    with pytest.raises(PermissionDenied, match="本人的角色变更"):
        services.role_change_confirm(actor=admin_b, change_id=change.pk)

    admin_b.refresh_from_db()
    assert admin_b.role == Role.ADMINISTRATOR


def test_nobody_proposes_a_change_of_their_own_role(admin_a: User) -> None:
    with pytest.raises(PermissionDenied, match="不能变更本人"):
        propose(admin_a, admin_a)
    assert not RoleChange.objects.exists()


@pytest.mark.parametrize(
    "role", ["county_clerk", "prefecture_reviewer", "finance_officer", "auditor"]
)
def test_only_an_administrator_proposes_or_confirms(
    role: str, admin_a: User, clerk: User
) -> None:
    someone = UserFactory(username=f"someone_{role}", role=role)
    with pytest.raises(PermissionDenied, match="只有系统管理员"):
        propose(someone, clerk)
    change = propose(admin_a, clerk)
    with pytest.raises(PermissionDenied, match="只有系统管理员"):
        services.role_change_confirm(actor=someone, change_id=change.pk)


def test_a_superuser_too_needs_a_second_person(clerk: User) -> None:
    root = make_admin("root", is_superuser=True)

    change = propose(root, clerk)

    with pytest.raises(PermissionDenied):
        services.role_change_confirm(actor=root, change_id=change.pk)


def test_an_administrator_cannot_change_a_superuser(
    admin_a: User, admin_b: User
) -> None:
    root = make_admin("root", is_superuser=True)
    with pytest.raises(PermissionDenied, match="超级用户"):
        propose(admin_a, root)
    change = propose(make_admin("root2", is_superuser=True), root)
    with pytest.raises(PermissionDenied, match="超级用户"):
        services.role_change_confirm(actor=admin_b, change_id=change.pk)


def test_the_database_refuses_a_confirmer_who_proposed_or_is_the_user(
    admin_a: User, admin_b: User, clerk: User
) -> None:
    change = propose(admin_a, clerk)
    for confirmer in (admin_a, clerk):
        with (
            pytest.raises(IntegrityError),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(
                "UPDATE accounts_rolechange SET status = 'confirmed',"
                " confirmed_by_id = %s, confirmed_at = %s WHERE id = %s",
                [confirmer.pk, timezone.now(), change.pk],
            )
    with pytest.raises(IntegrityError), transaction.atomic():
        RoleChange.objects.create(
            user=admin_b,
            from_role=Role.ADMINISTRATOR,
            to_role=Role.AUDITOR,
            reason="自己提议自己",
            proposed_by=admin_b,
        )


# --- What a proposal must be -------------------------------------------------------------
def test_a_county_clerk_needs_a_unit(admin_a: User, reviewer: User) -> None:
    with pytest.raises(DomainError) as refused:
        propose(admin_a, reviewer, role=Role.COUNTY_CLERK, unit_code="")
    assert refused.value.code == "unit_required"
    change = propose(admin_a, reviewer, role=Role.COUNTY_CLERK, unit_code="654322")
    assert (change.to_role, change.to_unit_id) == (Role.COUNTY_CLERK, "654322")


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"reason": "  "}, "reason_required"),
        ({"reason": "调岗\u202e"}, "invalid"),
        ({"role": "superhero"}, "invalid"),
        ({"unit_code": "999999"}, "invalid"),
        ({"role": Role.COUNTY_CLERK, "unit_code": "654301"}, "no_change"),
    ],
)
def test_a_proposal_is_checked(
    admin_a: User, clerk: User, overrides: dict[str, Any], code: str
) -> None:
    with pytest.raises(DomainError) as refused:
        propose(admin_a, clerk, **overrides)
    assert refused.value.code == code
    assert not RoleChange.objects.exists()


def test_a_unit_change_alone_is_a_change(admin_a: User, admin_b: User, clerk: User):
    change = propose(admin_a, clerk, role=Role.COUNTY_CLERK, unit_code="654322")
    services.role_change_confirm(actor=admin_b, change_id=change.pk)
    clerk.refresh_from_db()
    assert (clerk.role, clerk.unit_id) == (Role.COUNTY_CLERK, "654322")


def test_one_open_proposal_per_user(admin_a: User, admin_b: User, clerk: User) -> None:
    propose(admin_a, clerk)
    with pytest.raises(Conflict) as refused:
        propose(admin_b, clerk, role=Role.AUDITOR)
    assert refused.value.code == "role_change_open"


def test_an_unknown_change_is_not_found(admin_a: User) -> None:
    with pytest.raises(NotFound):
        services.role_change_confirm(actor=admin_a, change_id=987654)


# --- Closing ------------------------------------------------------------------------------
def test_a_cancelled_change_is_never_confirmed(
    admin_a: User, admin_b: User, clerk: User
) -> None:
    change = propose(admin_a, clerk)
    services.role_change_cancel(actor=admin_a, change_id=change.pk)

    with pytest.raises(Conflict) as refused:
        services.role_change_confirm(actor=admin_b, change_id=change.pk)

    assert refused.value.code == "role_change_closed"
    change.refresh_from_db()
    assert (change.status, change.cancelled_by) == ("cancelled", admin_a)
    clerk.refresh_from_db()
    assert clerk.role == Role.COUNTY_CLERK


def test_the_user_concerned_cannot_cancel_their_demotion(
    admin_a: User, admin_b: User
) -> None:
    change = propose(admin_a, admin_b, role=Role.AUDITOR)
    with pytest.raises(PermissionDenied, match="不能取消本人"):
        services.role_change_cancel(actor=admin_b, change_id=change.pk)


def test_a_proposal_overtaken_by_another_change_is_refused(
    admin_a: User, admin_b: User, clerk: User
) -> None:
    change = propose(admin_a, clerk)
    User.objects.filter(pk=clerk.pk).update(unit_id="654322")  # e.g. create_staff_user

    with pytest.raises(Conflict) as refused:
        services.role_change_confirm(actor=admin_b, change_id=change.pk)

    assert refused.value.code == "role_change_stale"


def test_staff_status_follows_the_administrator_role(
    admin_a: User, admin_b: User, clerk: User
) -> None:
    change = propose(admin_a, clerk, role=Role.ADMINISTRATOR)
    services.role_change_confirm(actor=admin_b, change_id=change.pk)
    clerk.refresh_from_db()
    assert clerk.is_staff and clerk.role == Role.ADMINISTRATOR
    change = propose(admin_a, clerk, role=Role.AUDITOR)
    services.role_change_confirm(actor=admin_b, change_id=change.pk)
    clerk.refresh_from_db()
    assert not clerk.is_staff


def test_confirming_ends_the_users_token_and_sessions(
    client: Any, admin_a: User, admin_b: User, clerk: User
) -> None:
    # given the clerk signed in and holding an API token
    token_create(user=clerk)
    client.force_login(clerk)
    other = UserFactory(username="bystander")
    client_other = type(client)()
    client_other.force_login(other)
    change = propose(admin_a, clerk)
    # when
    services.role_change_confirm(actor=admin_b, change_id=change.pk)
    # then the clerk signs in again, under the new role; others stay signed in
    assert not clerk.api_tokens.exists()
    owners = [s.get_decoded().get("_auth_user_id") for s in Session.objects.all()]
    assert owners == [str(other.pk)]
    assert client.get(reverse("home")).status_code == 302
    assert client_other.get(reverse("home")).status_code == 200


def test_the_user_keeps_the_history_of_the_change(
    admin_a: User, admin_b: User, clerk: User
) -> None:
    change = propose(admin_a, clerk)
    services.role_change_confirm(actor=admin_b, change_id=change.pk)
    latest = clerk.history.order_by("-history_date").first()
    assert latest.role == Role.PREFECTURE_REVIEWER
    assert latest.history_user == admin_b


# --- Append-only --------------------------------------------------------------------------
def test_a_role_change_is_never_rewritten_nor_deleted(
    admin_a: User, admin_b: User, clerk: User
) -> None:
    change = propose(admin_a, clerk)
    with pytest.raises(RoleChangeIsFinal):
        RoleChange.objects.filter(pk=change.pk).update(reason="改写")
    with pytest.raises(RoleChangeIsFinal):
        RoleChange.objects.all().delete()
    with pytest.raises(RoleChangeIsFinal):
        change.delete()
    change.reason = "改写"
    with pytest.raises(RoleChangeIsFinal):
        change.save()
    with pytest.raises(RoleChangeIsFinal):
        change.save(update_fields=["reason"])


@requires_postgres
def test_postgres_refuses_rewriting_or_deleting_a_role_change(
    admin_a: User, admin_b: User, clerk: User
) -> None:
    change = propose(admin_a, clerk)
    services.role_change_confirm(actor=admin_b, change_id=change.pk)
    for sql in (
        "UPDATE accounts_rolechange SET reason = 'x' WHERE id = %s",
        "UPDATE accounts_rolechange SET status = 'proposed', confirmed_by_id = NULL,"
        " confirmed_at = NULL WHERE id = %s",
        "DELETE FROM accounts_rolechange WHERE id = %s",
    ):
        with (
            pytest.raises(Exception, match="role change"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [change.pk])


# --- The permission predicates ------------------------------------------------------------
def test_the_predicates_say_why(admin_a: User, admin_b: User, clerk: User) -> None:
    assert can_propose_role_change(admin_a, clerk) == (True, "")
    allowed, why = can_propose_role_change(clerk, admin_a)
    assert not allowed and "系统管理员" in why
    change = propose(admin_a, clerk)
    assert can_confirm_role_change(admin_b, change) == (True, "")
    allowed, why = can_confirm_role_change(admin_a, change)
    assert not allowed and "另一位系统管理员" in why


# --- The pages ----------------------------------------------------------------------------
def test_the_auditor_reads_every_role_change(
    client: Any, auditor: User, admin_a: User, admin_b: User, clerk: User
) -> None:
    # given one confirmed and one open change
    first = propose(admin_a, clerk)
    services.role_change_confirm(actor=admin_b, change_id=first.pk)
    propose(admin_b, UserFactory(username="newcomer", role=Role.FINANCE_OFFICER))
    client.force_login(auditor)
    # when
    response = client.get(reverse("role_change_list"))
    # then both rows, who proposed and who confirmed, and no button to act
    page = response.content.decode()
    assert response.status_code == 200
    assert f'data-testid="role-change-{first.pk}"' in page
    assert "newcomer" in page and "admin_a" in page and "admin_b" in page
    assert "调任地区审核岗位" in page
    assert 'data-testid="confirm-role-change"' not in page
    assert 'data-testid="propose-role-change"' not in page


@pytest.mark.parametrize(
    "role", ["county_clerk", "prefecture_reviewer", "finance_officer"]
)
def test_other_roles_do_not_read_role_changes(client: Any, role: str) -> None:
    client.force_login(UserFactory(username="u_" + role, role=role))
    assert client.get(reverse("role_change_list")).status_code == 403
    assert client.get(reverse("role_change_propose")).status_code == 403


def test_administrators_propose_and_confirm_on_the_pages(
    client: Any, admin_a: User, admin_b: User, clerk: User
) -> None:
    # given admin_a proposes on the page
    client.force_login(admin_a)
    form = client.get(reverse("role_change_propose") + f"?user={clerk.pk}")
    assert form.status_code == 200
    assert f'value="{admin_a.pk}"' not in form.content.decode()  # not themselves
    response = client.post(
        reverse("role_change_propose"),
        {"user": clerk.pk, "role": "auditor", "unit": "", "reason": "调任督查"},
    )
    assert response.status_code == 302
    change = RoleChange.objects.get()
    # then admin_a is not offered to confirm it, and is refused if they try
    listing = client.get(reverse("role_change_list")).content.decode()
    assert 'data-testid="confirm-role-change"' not in listing
    assert 'data-testid="cancel-role-change"' in listing
    refused = client.post(reverse("role_change_confirm", args=[change.pk]))
    assert refused.status_code == 403
    # when admin_b confirms
    client.force_login(admin_b)
    listing = client.get(reverse("role_change_list")).content.decode()
    assert 'data-testid="confirm-role-change"' in listing
    done = client.post(reverse("role_change_confirm", args=[change.pk]))
    # then
    assert done.status_code == 302
    clerk.refresh_from_db()
    assert clerk.role == Role.AUDITOR
    again = client.post(reverse("role_change_confirm", args=[change.pk]))
    assert again.status_code == 409


def test_a_refused_proposal_shows_its_reason_on_the_form(
    client: Any, admin_a: User, reviewer: User
) -> None:
    client.force_login(admin_a)
    response = client.post(
        reverse("role_change_propose"),
        {"user": reviewer.pk, "role": "county_clerk", "unit": "", "reason": "调岗"},
    )
    assert response.status_code == 400
    assert "县(市)经办人必须选择所属单位" in response.content.decode()


def test_create_staff_user_says_it_is_for_setting_up() -> None:
    from accounts.management.commands.create_staff_user import Command

    assert "setting up a new system" in Command.help
    assert "confirmed by a second" in Command.help


def test_create_staff_user_still_sets_up_an_administrator(db: Any) -> None:
    call_command(
        "create_staff_user",
        "first_admin",
        "--role",
        "administrator",
        "--password",
        "pw-Altay-2019-Setup",
        stdout=io.StringIO(),
    )
    user = User.objects.get(username="first_admin")
    assert (user.role, user.is_staff) == ("administrator", True)
