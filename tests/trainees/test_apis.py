"""The registry API: register once, look up by number, the number never shown whole."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from claims import services
from tests.factories import make_id_number
from trainees.models import Trainee

pytestmark = pytest.mark.django_db

TRAINEES = "/api/trainees/"
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def person(**overrides: Any) -> dict[str, Any]:
    return {
        "id_number": make_id_number(date(1992, 2, 29), sex="F"),
        "name": "古丽",
        "household": "rural",
        "groups": ["poor_labour", "two_after"],
        "phone": "13900000000",
    } | overrides


def test_registering_a_new_person_is_201_with_facts_from_the_number(clerk):
    sent = person()

    response = client_for(clerk).post(TRAINEES, sent, format="json")

    assert response.status_code == 201
    data = response.json()
    assert set(data) >= {
        "id",
        "id_number_masked",
        "name",
        "birth_date",
        "sex",
        "household",
        "groups",
    }
    assert (data["birth_date"], data["sex"], data["name"]) == (
        "1992-02-29",
        "F",
        "古丽",
    )
    assert (
        data["id_number_masked"]
        == sent["id_number"][:6] + "********" + sent["id_number"][-4:]
    )
    assert sorted(data["groups"]) == ["poor_labour", "two_after"]
    assert data["registered_by_unit"] == "654301"
    assert Trainee.objects.get(pk=data["id"]).id_number == sent["id_number"]


def test_the_full_number_is_never_in_a_response(clerk):
    sent = person()
    client = client_for(clerk)

    created = client.post(TRAINEES, sent, format="json")
    detail = client.get(f"{TRAINEES}{created.json()['id']}/")
    found = client.get(TRAINEES, {"id_number": sent["id_number"]})

    for response in (created, detail, found):
        assert response.status_code in (200, 201)
        assert sent["id_number"] not in response.content.decode()
        assert "id_number" not in str(response.json()).replace("id_number_masked", "")


def test_posting_an_existing_number_returns_that_person_with_200(clerk, other_clerk):
    sent = person()
    first = client_for(clerk).post(TRAINEES, sent, format="json")

    # another unit posts the same person with other details
    again = client_for(other_clerk).post(
        TRAINEES, person(id_number=sent["id_number"], name="别名"), format="json"
    )

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["name"] == "古丽"  # never silently changed
    assert Trainee.objects.count() == 1


def test_a_lower_case_x_finds_the_same_person(clerk):
    number = next(
        n
        for serial in range(1, 2000)
        if (n := make_id_number(date(1985, 1, 1), serial=serial)).endswith("X")
    )
    client = client_for(clerk)

    first = client.post(TRAINEES, person(id_number=number), format="json")
    again = client.post(TRAINEES, person(id_number=number.lower()), format="json")

    assert (first.status_code, again.status_code) == (201, 200)
    assert Trainee.objects.count() == 1


def _wrong_check_digit(number: str) -> str:
    return number[:17] + ("0" if number[17] != "0" else "1")


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(lambda n: _wrong_check_digit(n), id="wrong check digit"),
        pytest.param(lambda n: n.translate(FULL_WIDTH), id="full-width digits"),
        pytest.param(lambda n: n[:17], id="17 characters"),
        pytest.param(lambda n: n + "0", id="19 characters"),
        pytest.param(lambda n: n[:10] + "1302" + n[14:], id="no 13th month"),
        pytest.param(lambda n: "", id="blank"),
        pytest.param(lambda n: n[:6] + " " + n[6:], id="a space inside"),
    ],
)
def test_a_bad_id_number_is_400_invalid_id_number(clerk, bad):
    sent = person()
    sent["id_number"] = bad(sent["id_number"])

    response = client_for(clerk).post(TRAINEES, sent, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_id_number", response.json()
    assert "id_number" in response.json()["fields"]
    assert not Trainee.objects.exists()
    if " " in sent["id_number"]:  # not "当前为19位": the space is named
        assert "空格" in response.json()["fields"]["id_number"][0], response.json()


@pytest.mark.parametrize(
    "change",
    [
        {"household": "nomad"},
        {"groups": ["astronaut"]},
        {"groups": "poor_labour"},
        {"name": ""},
        {"name": "名" * 51},
        {"phone": "1" * 21},
    ],
)
def test_other_bad_fields_are_400_invalid(clerk, change):
    response = client_for(clerk).post(TRAINEES, person(**change), format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert set(response.json()["fields"]) == set(change)
    assert not Trainee.objects.exists()


@pytest.mark.parametrize("role", ["reviewer", "finance", "auditor"])
def test_only_clerks_and_administrators_register(request, role):
    response = client_for(request.getfixturevalue(role)).post(
        TRAINEES, person(), format="json"
    )

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert not Trainee.objects.exists()


def test_an_administrator_registers(administrator):
    response = client_for(administrator).post(TRAINEES, person(), format="json")

    assert response.status_code == 201


def test_anonymous_is_refused():
    assert client_for(None).post(TRAINEES, person(), format="json").status_code == 401
    assert client_for(None).get(TRAINEES, {"id_number": "x"}).status_code == 401


# --- Look-up --------------------------------------------------------------------------
def test_lookup_by_full_number_across_units(other_clerk, trainee):
    # the registry is prefecture-wide: a clerk of another unit finds the person
    response = client_for(other_clerk).get(TRAINEES, {"id_number": trainee.id_number})

    assert response.status_code == 200
    assert [t["id"] for t in response.json()] == [trainee.pk]


@pytest.mark.parametrize("role", ["reviewer", "finance", "auditor", "administrator"])
def test_every_role_may_look_up(request, role, trainee):
    response = client_for(request.getfixturevalue(role)).get(
        TRAINEES, {"id_number": trainee.id_number}
    )

    assert [t["id"] for t in response.json()] == [trainee.pk]


def test_lookup_of_an_unregistered_number_is_an_empty_list(clerk, trainee):
    response = client_for(clerk).get(
        TRAINEES, {"id_number": make_id_number(date(2000, 1, 1))}
    )

    assert (response.status_code, response.json()) == (200, [])


def test_lookup_with_an_invalid_number_is_400(clerk, trainee):
    response = client_for(clerk).get(
        TRAINEES, {"id_number": _wrong_check_digit(trainee.id_number)}
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_id_number"


def test_lookup_needs_a_number(clerk, trainee):
    response = client_for(clerk).get(TRAINEES)

    assert response.status_code == 400
    assert "id_number" in response.json()["fields"]


# --- A person and their history -------------------------------------------------------
def test_detail_shows_the_history_of_every_unit(
    clerk, other_clerk, claim_input, trainee
):
    claim = services.claim_create(data=claim_input(), actor=clerk)
    services.claim_submit(claim_id=claim.pk, actor=clerk)
    services.claim_create(  # a draft counts for nothing
        data=claim_input(trade_id="4-10-01-05"), actor=clerk
    )

    # another unit's clerk finds the person by number (issue 14, 3: not by id)
    response = client_for(other_clerk).get(
        TRAINEES, {"id_number": trainee.id_number, "year": 2020}
    )

    assert response.status_code == 200
    [data] = response.json()
    assert data["id_number_masked"] == trainee.id_number_masked
    assert data["history"] == {
        "year": 2020,
        "counted_this_year": 1,
        "annual_limit": 3,
        "remaining_this_year": 2,
        "used": [
            {
                "trade": claim.trade.name,
                "level": claim.level.name,
                "unit": "阿勒泰市",
                "year": 2020,
                "status": "submitted",
            }
        ],
    }


def test_detail_defaults_to_this_year(clerk, trainee):
    trainee.registered_by_unit_id = clerk.unit_id
    trainee.save(update_fields=["registered_by_unit"])
    data = client_for(clerk).get(f"{TRAINEES}{trainee.pk}/").json()

    assert data["history"]["year"] == date.today().year
    assert data["history"]["counted_this_year"] == 0


def test_detail_of_a_missing_person_is_404(clerk):
    response = client_for(clerk).get(f"{TRAINEES}999999/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_detail_with_a_bad_year_is_400(clerk, trainee):
    response = client_for(clerk).get(f"{TRAINEES}{trainee.pk}/", {"year": "soon"})

    assert response.status_code == 400
