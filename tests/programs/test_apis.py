"""Reference data over the API: plain arrays for any signed-in user; institutions."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from programs.models import Institution
from tests.factories import InstitutionFactory, make_credit_code

pytestmark = pytest.mark.django_db

INSTITUTIONS = "/api/institutions/"


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def test_units_are_the_nine_with_codes(clerk):
    response = client_for(clerk).get("/api/units/")

    assert response.status_code == 200
    units = {u["code"]: u["name"] for u in response.json()}
    assert len(units) == 9
    assert units["654301"] == "阿勒泰市"
    assert units["654300"] == "地区本级"
    assert units["654399"].startswith("喀纳斯景区")


def test_programs_are_the_24_with_the_contract_fields(auditor):
    programs = client_for(auditor).get("/api/programs/").json()

    assert [p["number"] for p in programs] == list(range(1, 25))
    assert all(
        set(p) >= {"number", "name", "section", "fund", "claimable"} for p in programs
    )
    by_number = {p["number"]: p for p in programs}
    assert (by_number[9]["fund"], by_number[9]["claimable"]) == ("special", True)
    assert (by_number[4]["claimable"], by_number[12]["fund"]) == (False, None)
    assert by_number[3]["section"] == "三(一)"


def test_trades_have_code_and_name(finance):
    trades = client_for(finance).get("/api/trades/").json()

    assert len(trades) >= 72
    cook = next(t for t in trades if t["code"] == "4-03-02-01")
    assert cook["name"] and {"code", "name", "edition"} <= set(cook)


def test_levels_are_the_seven_of_the_contract(reviewer):
    levels = client_for(reviewer).get("/api/levels/").json()

    assert {lv["code"] for lv in levels} == {
        "primary",
        "intermediate",
        "senior",
        "technician",
        "senior_technician",
        "special_ability",
        "training_certificate",
    }


@pytest.mark.parametrize(
    "path",
    ["/api/units/", "/api/programs/", "/api/trades/", "/api/levels/", INSTITUTIONS],
)
def test_reference_data_needs_a_signed_in_user(path):
    response = client_for(None).get(path)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


# --- Institutions ---------------------------------------------------------------------
def institution_body(**overrides: object) -> dict[str, object]:
    return {
        "name": "阿勒泰市职业技能培训学校",
        "kind": "training_institution",
        "credit_code": make_credit_code(),
        "unit": "654301",
        "certified_difficult": False,
    } | overrides


def test_institutions_are_listed_and_filtered_by_unit(clerk):
    here = InstitutionFactory(unit_id="654301")
    there = InstitutionFactory(unit_id="654322")
    client = client_for(clerk)

    everything = client.get(INSTITUTIONS).json()
    filtered = client.get(INSTITUTIONS, {"unit": "654322"}).json()

    assert {i["id"] for i in everything} == {here.pk, there.pk}
    assert [i["id"] for i in filtered] == [there.pk]
    assert set(filtered[0]) >= {
        "id",
        "name",
        "kind",
        "credit_code",
        "unit",
        "certified_difficult",
    }


def test_a_clerk_registers_an_institution_of_their_unit(clerk):
    sent = institution_body()

    response = client_for(clerk).post(INSTITUTIONS, sent, format="json")

    assert response.status_code == 201
    data = response.json()
    assert {k: data[k] for k in sent} == sent
    assert Institution.objects.get(pk=data["id"]).unit_id == "654301"


def test_unit_defaults_to_the_clerks_own(other_clerk):
    sent = institution_body()
    del sent["unit"]

    response = client_for(other_clerk).post(INSTITUTIONS, sent, format="json")

    assert response.status_code == 201
    assert response.json()["unit"] == "654322"


def test_a_clerk_cannot_register_for_another_unit(clerk):
    response = client_for(clerk).post(
        INSTITUTIONS, institution_body(unit="654322"), format="json"
    )

    assert response.status_code == 403
    assert not Institution.objects.exists()


def test_a_clerk_cannot_certify_an_enterprise_in_difficulty(clerk):
    response = client_for(clerk).post(
        INSTITUTIONS,
        institution_body(kind="enterprise", certified_difficult=True),
        format="json",
    )

    assert response.status_code == 403
    assert not Institution.objects.exists()


def test_an_administrator_registers_in_any_unit_and_certifies(administrator):
    response = client_for(administrator).post(
        INSTITUTIONS,
        institution_body(kind="enterprise", unit="654325", certified_difficult=True),
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["certified_difficult"] is True


@pytest.mark.parametrize("role", ["reviewer", "finance", "auditor"])
def test_other_roles_cannot_register(request, role):
    response = client_for(request.getfixturevalue(role)).post(
        INSTITUTIONS, institution_body(), format="json"
    )

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


@pytest.mark.parametrize(
    "code",
    ["91654301MA0000001X", "91654301MA00000", "91654301MAO000001A", ""],
    ids=["wrong check", "short", "letter O", "blank"],
)
def test_a_bad_credit_code_is_400_invalid_credit_code(clerk, code):
    response = client_for(clerk).post(
        INSTITUTIONS, institution_body(credit_code=code), format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] in ("invalid_credit_code", "invalid")
    if code:
        assert response.json()["code"] == "invalid_credit_code"
    assert not Institution.objects.exists()


def test_a_credit_code_is_registered_once(clerk):
    sent = institution_body()
    client = client_for(clerk)
    client.post(INSTITUTIONS, sent, format="json")

    response = client.post(INSTITUTIONS, sent | {"name": "另一家"}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "duplicate_credit_code"
    assert Institution.objects.count() == 1


@pytest.mark.parametrize(
    "change", [{"kind": "church"}, {"name": ""}, {"unit": "999999"}]
)
def test_other_bad_fields_are_400(clerk, change):
    response = client_for(clerk).post(
        INSTITUTIONS, institution_body(**change), format="json"
    )

    assert response.status_code == 400
    assert set(response.json()["fields"]) == set(change)
    assert not Institution.objects.exists()
