"""A registered person's facts change only through ``trainee_update_facts``: a clerk of
the person's own unit or the prefecture, a reason, a record (issue 12, 3).

Observed before: an administrator rewrote a person's name, household, groups and unit
in /admin/trainees/trainee/<id>/change/, after which a clerk of the new unit could
reveal the full ID number.
"""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.urls import reverse

import pytest
from rest_framework.test import APIClient

from accounts.models import Role, User
from altay_skills.errors import DomainError, NotFound, PermissionDenied
from tests.conftest import requires_postgres
from tests.factories import TraineeFactory, UserFactory
from trainees import services
from trainees.models import FactChangeIsFinal, Trainee, TraineeFactChange
from trainees.permissions import can_change_trainee_facts

pytestmark = pytest.mark.django_db


@pytest.fixture
def person(db: Any) -> Trainee:
    return TraineeFactory(
        name="古丽",
        household="rural",
        groups=["poor_labour"],
        phone="13900000000",
        registered_by_unit_id="654301",
    )


def update(actor: User, person: Trainee, reason: str = "户口本更正", **fields: Any):
    return services.trainee_update_facts(
        actor=actor, trainee_id=person.pk, reason=reason, **fields
    )


def api(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


# --- The service --------------------------------------------------------------------------
def test_a_clerk_of_the_persons_unit_changes_facts_and_the_change_is_recorded(
    clerk: User, person: Trainee
) -> None:
    # when
    update(clerk, person, name="古丽娜", groups=["two_after", "poor_labour"])
    # then
    person.refresh_from_db()
    assert (person.name, person.groups) == ("古丽娜", ["poor_labour", "two_after"])
    change = TraineeFactChange.objects.get()
    assert (change.trainee, change.actor, change.actor_role, change.reason) == (
        person,
        clerk,
        "county_clerk",
        "户口本更正",
    )
    assert change.changes == {
        "name": ["古丽", "古丽娜"],
        "groups": [["poor_labour"], ["poor_labour", "two_after"]],
    }
    assert ("姓名", "古丽", "古丽娜") in change.lines()


def test_a_reviewer_moves_a_person_to_another_unit(
    reviewer: User, person: Trainee
) -> None:
    update(reviewer, person, registered_by_unit="654322", reason="户籍迁至布尔津县")

    person.refresh_from_db()
    assert person.registered_by_unit_id == "654322"
    assert TraineeFactChange.objects.get().changes == {
        "registered_by_unit": ["654301", "654322"]
    }


def test_a_clerk_of_another_unit_is_refused(other_clerk: User, person: Trainee) -> None:
    with pytest.raises(PermissionDenied, match="本单位"):
        update(other_clerk, person, registered_by_unit="654322")
    person.refresh_from_db()
    assert person.registered_by_unit_id == "654301"
    assert not TraineeFactChange.objects.exists()


@pytest.mark.parametrize("superuser", [False, True])
def test_the_administrator_never_changes_a_person(
    person: Trainee, superuser: bool
) -> None:
    admin = UserFactory(
        username="sysadmin",
        role=Role.ADMINISTRATOR,
        is_staff=True,
        is_superuser=superuser,
    )
    with pytest.raises(PermissionDenied):
        update(admin, person, name="改名")
    assert Trainee.objects.get(pk=person.pk).name == "古丽"


@pytest.mark.parametrize("role", ["finance_officer", "auditor"])
def test_finance_and_the_auditor_only_read(person: Trainee, role: str) -> None:
    user = UserFactory(username="u_" + role, role=role)
    assert can_change_trainee_facts(user, person)[0] is False
    with pytest.raises(PermissionDenied):
        update(user, person, phone="13800000000")


@pytest.mark.parametrize(
    ("fields", "reason", "code"),
    [
        ({"name": "新名"}, "", "reason_required"),
        ({"name": "新名"}, "   ", "reason_required"),
        ({"name": "  "}, "更正", "invalid"),
        ({"name": "古\u200b丽"}, "更正", "invalid"),
        ({"household": "martian"}, "更正", "invalid"),
        ({"groups": ["astronaut"]}, "更正", "invalid"),
        ({"registered_by_unit": "999999"}, "更正", "invalid"),
        ({"phone": "1" * 21}, "更正", "invalid"),
        ({"id_number": "654301199005170011"}, "更正", "invalid"),
        ({"birth_date": "2000-01-01"}, "更正", "invalid"),
        ({"name": "古丽"}, "更正", "no_change"),
    ],
)
def test_facts_are_checked_as_registration_checks_them(
    clerk: User, person: Trainee, fields: dict[str, Any], reason: str, code: str
) -> None:
    with pytest.raises(DomainError) as refused:
        update(clerk, person, reason=reason, **fields)
    assert refused.value.code == code
    assert Trainee.objects.get(pk=person.pk).name == "古丽"
    assert not TraineeFactChange.objects.exists()


def test_an_unknown_person_is_not_found(clerk: User) -> None:
    with pytest.raises(NotFound):
        services.trainee_update_facts(
            actor=clerk, trainee_id=987654, reason="更正", name="x"
        )


def test_the_record_never_holds_a_full_id_number(
    reviewer: User, person: Trainee
) -> None:
    # a number typed into a fact by mistake is masked in the record
    update(reviewer, person, name=f"古丽{person.id_number}")
    stored = str(TraineeFactChange.objects.get().changes)
    assert person.id_number not in stored
    assert person.id_number_masked in stored


def test_a_change_record_is_never_rewritten_nor_deleted(
    clerk: User, person: Trainee
) -> None:
    update(clerk, person, phone="13811112222")
    change = TraineeFactChange.objects.get()
    with pytest.raises(FactChangeIsFinal):
        TraineeFactChange.objects.update(reason="改写")
    with pytest.raises(FactChangeIsFinal):
        TraineeFactChange.objects.all().delete()
    with pytest.raises(FactChangeIsFinal):
        change.delete()
    with pytest.raises(FactChangeIsFinal):
        change.save()


@requires_postgres
def test_postgres_refuses_rewriting_a_change_record(
    clerk: User, person: Trainee
) -> None:
    update(clerk, person, phone="13811112222")
    change = TraineeFactChange.objects.get()
    for sql in (
        "UPDATE trainees_traineefactchange SET reason = 'x' WHERE id = %s",
        "DELETE FROM trainees_traineefactchange WHERE id = %s",
    ):
        with (
            pytest.raises(Exception, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [change.pk])


# --- PATCH /api/trainees/{id}/ ------------------------------------------------------------
def test_patching_a_person_changes_facts_with_a_reason(
    clerk: User, person: Trainee
) -> None:
    response = api(clerk).patch(
        f"/api/trainees/{person.pk}/",
        {"phone": "13811112222", "household": "urban", "reason": "本人来电更正"},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert (response.json()["phone"], response.json()["household"]) == (
        "13811112222",
        "urban",
    )
    assert person.id_number not in response.content.decode()
    assert TraineeFactChange.objects.get().reason == "本人来电更正"


def test_the_language_of_a_persons_text_messages_is_a_recorded_fact(
    clerk: User, person: Trainee
) -> None:
    response = api(clerk).patch(
        f"/api/trainees/{person.pk}/",
        {"message_language": "ug", "reason": "本人要求用维吾尔文接收短信"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["message_language"] == "ug"
    assert TraineeFactChange.objects.get().changes == {
        "message_language": ["zh-hans", "ug"]
    }
    refused = api(clerk).patch(
        f"/api/trainees/{person.pk}/",
        {"message_language": "kk", "reason": "哈萨克文"},  # Cyrillic Kazakh: not ours
        format="json",
    )
    assert refused.status_code == 400
    assert "message_language" in refused.json()["fields"]
    person.refresh_from_db()
    assert person.message_language == "ug"


def test_patching_without_a_reason_is_400_reason_required(
    clerk: User, person: Trainee
) -> None:
    response = api(clerk).patch(
        f"/api/trainees/{person.pk}/", {"name": "新名"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "reason_required"
    assert Trainee.objects.get(pk=person.pk).name == "古丽"


def test_the_id_number_cannot_be_patched(clerk: User, person: Trainee) -> None:
    response = api(clerk).patch(
        f"/api/trainees/{person.pk}/",
        {"id_number": "654301199005170011", "reason": "更正"},
        format="json",
    )
    assert response.status_code == 400
    assert "id_number" in response.json()["fields"]


@pytest.mark.parametrize("who", ["other_clerk", "administrator", "finance"])
def test_patching_someone_elses_person_is_refused(
    request: Any, person: Trainee, who: str
) -> None:
    user = request.getfixturevalue(who)
    response = api(user).patch(
        f"/api/trainees/{person.pk}/",
        {"registered_by_unit": user.unit_id or "654322", "reason": "更正"},
        format="json",
    )
    # another unit's clerk cannot open the person by id at all (issue 14, 3): a 404
    # like a missing id; the administrator and finance read them but may not change them
    expected = (
        (404, "not_found") if who == "other_clerk" else (403, "permission_denied")
    )
    assert (response.status_code, response.json()["code"]) == expected
    assert Trainee.objects.get(pk=person.pk).registered_by_unit_id == "654301"


def test_a_moved_person_is_revealed_to_the_new_units_clerk_only_after_a_recorded_move(
    reviewer: User, other_clerk: User, person: Trainee
) -> None:
    reveal = f"/api/trainees/{person.pk}/id-number/"
    body = {"reason": "核对身份证原件"}
    # before the move another unit's clerk cannot even open the person by id (issue 14, 3)
    assert api(other_clerk).post(reveal, body, format="json").status_code == 404

    update(reviewer, person, registered_by_unit="654322", reason="户籍迁移")

    assert api(other_clerk).post(reveal, body, format="json").status_code == 200
    move = TraineeFactChange.objects.get()
    assert (move.actor, move.reason) == (reviewer, "户籍迁移")


# --- The pages ----------------------------------------------------------------------------
def test_a_clerk_changes_a_person_on_the_page_and_sees_the_record(
    client: Any, clerk: User, person: Trainee
) -> None:
    client.force_login(clerk)
    detail = client.get(reverse("trainee_detail", args=[person.pk])).content.decode()
    assert 'data-testid="edit-trainee"' in detail
    form = client.get(reverse("trainee_edit", args=[person.pk]))
    assert form.status_code == 200
    assert person.id_number not in form.content.decode()

    response = client.post(
        reverse("trainee_edit", args=[person.pk]),
        {
            "name": "古丽娜",
            "household": "rural",
            "groups": ["poor_labour"],
            "phone": "13900000000",
            "registered_by_unit": "654301",
            "reason": "身份证姓名更正",
        },
    )

    assert response.status_code == 302
    assert TraineeFactChange.objects.get().changes == {"name": ["古丽", "古丽娜"]}
    detail = client.get(reverse("trainee_detail", args=[person.pk])).content.decode()
    assert 'data-testid="fact-change-log"' in detail and "身份证姓名更正" in detail


def test_the_page_requires_a_reason(client: Any, clerk: User, person: Trainee) -> None:
    client.force_login(clerk)
    response = client.post(
        reverse("trainee_edit", args=[person.pk]),
        {
            "name": "古丽娜",
            "household": "rural",
            "phone": "",
            "registered_by_unit": "654301",
            "reason": "",
        },
    )
    assert response.status_code == 400
    assert "请填写修改理由" in response.content.decode()
    assert Trainee.objects.get(pk=person.pk).name == "古丽"


def test_the_page_is_not_offered_to_another_units_clerk(
    client: Any, other_clerk: User, person: Trainee
) -> None:
    client.force_login(other_clerk)
    # not by walking ids (issue 14, 3) ...
    assert client.get(reverse("trainee_edit", args=[person.pk])).status_code == 404
    # ... and, once found by the full number, the page offers no change either
    client.post(reverse("trainee_lookup"), {"id_number": person.id_number})
    detail = client.get(reverse("trainee_detail", args=[person.pk])).content.decode()
    assert person.name in detail
    assert 'data-testid="edit-trainee"' not in detail
    assert client.get(reverse("trainee_edit", args=[person.pk])).status_code == 403


def test_the_auditor_reads_the_changes(
    client: Any, auditor: User, clerk: User, person: Trainee
) -> None:
    update(clerk, person, phone="13811112222", reason="本人来电更正")
    client.force_login(auditor)
    detail = client.get(reverse("trainee_detail", args=[person.pk])).content.decode()
    assert "本人来电更正" in detail and "联系电话" in detail
