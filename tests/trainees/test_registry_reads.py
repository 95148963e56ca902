"""Registry reads over the API (issue 14, 3): outside the person's own unit a clerk
sees what the limits need — the masked number, the name, this year's count and the
trades and levels already subsidised — never the phone, the household or the group
flags; people are found by ID number, not by walking ids; reads are rate-limited per
user (429 in Chinese)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from claims import services
from tests.factories import TraineeFactory, make_id_number
from trainees.models import Trainee

pytestmark = pytest.mark.django_db

TRAINEES = "/api/trainees/"
#: What a person outside the reader's unit shows: nothing a limit does not need.
LIMITED = {"id", "id_number_masked", "name", "history", "view"}  # view: "limited"
PRIVATE = {"phone", "groups", "household", "birth_date", "sex"}


def client_for(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def person(db: Any) -> Trainee:
    """Registered by 阿勒泰市 (654301), poor labour and disabled, with a phone."""
    return TraineeFactory(
        registered_by_unit_id="654301",
        groups=["poor_labour", "disabled"],
        phone="13900000001",
    )


# --- Walking ids ------------------------------------------------------------------------
def test_a_clerk_cannot_walk_the_ids_of_other_units_people(other_clerk, person):
    # given 80 people of 阿勒泰市 and one id that does not exist
    people = [person, *TraineeFactory.create_batch(79, registered_by_unit_id="654301")]
    missing = max(p.pk for p in people) + 1000

    # when a clerk of 布尔津县 walks the ids
    answers = [client_for(other_clerk).get(f"{TRAINEES}{p.pk}/") for p in people]
    nobody = client_for(other_clerk).get(f"{TRAINEES}{missing}/")

    # then every one is a 404 exactly like a missing id
    assert {a.status_code for a in answers} == {404}
    assert {a.json()["code"] for a in answers} == {nobody.json()["code"]}
    assert all(a.json() == nobody.json() for a in answers)


def test_a_person_registered_by_no_unit_is_not_walkable_either(other_clerk):
    nobody_s = TraineeFactory(registered_by_unit=None)

    response = client_for(other_clerk).get(f"{TRAINEES}{nobody_s.pk}/")

    assert response.status_code == 404


@pytest.mark.parametrize("role", ["clerk", "reviewer", "finance", "auditor"])
def test_the_own_unit_and_the_prefecture_read_the_whole_record(request, role, person):
    response = client_for(request.getfixturevalue(role)).get(f"{TRAINEES}{person.pk}/")

    assert response.status_code == 200
    data = response.json()
    assert (data["phone"], sorted(data["groups"])) == (
        "13900000001",
        ["disabled", "poor_labour"],
    )
    assert "history" in data


def test_a_live_claim_of_the_clerk_s_unit_opens_the_limited_view_by_id(
    other_clerk, person, institution, claim_input
):
    # given a person of 阿勒泰市 seeking work in 布尔津县, and a draft of 布尔津县 for
    # them: the draft opens nothing (anyone may type a draft for anybody)
    person.job_seeking_unit_id = "654322"
    person.save(update_fields=["job_seeking_unit"])
    draft = services.claim_create(
        data=claim_input(
            trainee_id=person.pk, unit_id="654322", institution_id=institution.pk
        ),
        actor=other_clerk,
    )
    as_draft = client_for(other_clerk).get(f"{TRAINEES}{person.pk}/")

    # when it is submitted
    services.claim_submit(claim_id=draft.pk, actor=other_clerk)
    response = client_for(other_clerk).get(f"{TRAINEES}{person.pk}/")

    # then the person opens by id, in the limited view
    assert as_draft.status_code == 404
    assert response.status_code == 200
    assert set(response.json()) == LIMITED


def test_another_unit_cannot_change_or_reveal_by_walking_ids(other_clerk, person):
    patch = client_for(other_clerk).patch(
        f"{TRAINEES}{person.pk}/", {"name": "乙", "reason": "核对"}, format="json"
    )
    reveal = client_for(other_clerk).post(
        f"{TRAINEES}{person.pk}/id-number/", {"reason": "核对"}, format="json"
    )

    assert (patch.status_code, reveal.status_code) == (404, 404)


# --- Lookup by ID number -----------------------------------------------------------------
def test_a_lookup_outside_the_unit_shows_what_the_limits_need(
    clerk, other_clerk, person, claim_input
):
    # given a submitted claim of 阿勒泰市 in 2020
    claim = services.claim_create(data=claim_input(trainee_id=person.pk), actor=clerk)
    services.claim_submit(claim_id=claim.pk, actor=clerk)

    # when a clerk of 布尔津县 looks the person up by number
    response = client_for(other_clerk).get(
        TRAINEES, {"id_number": person.id_number, "year": 2020}
    )

    # then the masked number, the name and the history; no phone, no flags
    assert response.status_code == 200
    [found] = response.json()
    assert set(found) == LIMITED
    assert not PRIVATE & set(found)
    assert "13900000001" not in response.content.decode()
    assert found["id_number_masked"] == person.id_number_masked
    assert found["history"]["counted_this_year"] == 1
    assert found["history"]["year"] == 2020
    assert [(u["trade"], u["level"]) for u in found["history"]["used"]] == [
        (claim.trade.name, claim.level.name)
    ]


def test_a_lookup_in_the_own_unit_shows_the_whole_record(clerk, person):
    [found] = client_for(clerk).get(TRAINEES, {"id_number": person.id_number}).json()

    assert found["phone"] == "13900000001"
    assert sorted(found["groups"]) == ["disabled", "poor_labour"]


def test_registering_a_known_number_of_another_unit_returns_the_limited_view(
    other_clerk, person
):
    response = client_for(other_clerk).post(
        TRAINEES,
        {"id_number": person.id_number, "name": "别名", "household": "urban"},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["id"] == person.pk
    assert not PRIVATE & set(response.json())
    assert "13900000001" not in response.content.decode()


# --- Rate limit ----------------------------------------------------------------------------
def test_reads_are_limited_per_user_with_a_chinese_429(
    clerk, clerk_same_unit, person, settings
):
    settings.TRAINEE_READ_RATE = "3/hour"
    reader = client_for(clerk)
    number = make_id_number(date(2001, 1, 1))

    answers = [
        reader.get(f"{TRAINEES}{person.pk}/"),
        reader.get(TRAINEES, {"id_number": person.id_number}),
        reader.get(TRAINEES, {"id_number": number}),
        reader.get(f"{TRAINEES}{person.pk}/"),
    ]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert refused["Content-Type"].startswith("application/json")
    assert refused.json()["code"] == "throttled"
    assert "频繁" in refused.json()["message"]
    assert int(refused["Retry-After"]) > 0
    # another user of the same unit is not held up; writes are not reads
    assert client_for(clerk_same_unit).get(f"{TRAINEES}{person.pk}/").status_code == 200
    changed = reader.patch(
        f"{TRAINEES}{person.pk}/", {"name": "新名", "reason": "更正"}, format="json"
    )
    assert changed.status_code == 200


def test_the_default_rate_is_600_reads_an_hour() -> None:
    from django.conf import settings

    assert settings.TRAINEE_READ_RATE == "600/hour"


# --- Found by number, then opened by id (pages, claims) -----------------------------------
CLAIMS = "/api/claims/"


def claim_body(person: Trainee, institution: Any, **overrides: Any) -> dict[str, Any]:
    body = {
        "trainee": person.pk,
        "program": 9,
        "trade": "4-03-02-01",
        "level": "intermediate",
        "institution": institution.pk,
        "unit": "654322",
        "training_start": "2020-03-01",
        "training_end": "2020-03-31",
        "passed": True,
        "certificate_number": "CERT-FOUND-1",
        "employment": "employed",
        "amount_requested": "1800.00",
    }
    return {**body, **overrides}


@pytest.mark.parametrize("path", [CLAIMS, f"{CLAIMS}check/"])
def test_a_claim_for_a_walked_id_is_refused_like_a_missing_one(
    other_clerk, person, path
):
    # given another unit's institution and a clerk of 富蕴县 who never found the person
    from tests.factories import InstitutionFactory

    institution = InstitutionFactory(unit_id="654322")
    client = client_for(other_clerk)
    missing = person.pk + 1000

    # when the clerk files (or dry-runs) a claim for the person's id, and for no one's
    answer = client.post(path, claim_body(person, institution), format="json")
    nobody = client.post(
        path, claim_body(person, institution, trainee=missing), format="json"
    )

    # then both are the same 400, naming no one, and nothing is stored
    assert (answer.status_code, nobody.status_code) == (400, 400)
    assert answer.json()["fields"]["trainee"] == nobody.json()["fields"]["trainee"]
    assert "请先按完整身份证号码查找" in answer.json()["fields"]["trainee"][0]
    assert person.name not in answer.content.decode()
    assert not services.Claim.objects.exists()


def test_finding_a_person_by_full_number_lets_a_clerk_file_for_them(
    other_clerk, person
):
    from tests.factories import InstitutionFactory

    institution = InstitutionFactory(unit_id="654322")
    client = client_for(other_clerk)
    # given the clerk found the person by their full number (the limited view)
    found = client.get(TRAINEES, {"id_number": person.id_number})
    assert found.json()[0]["id"] == person.pk
    # when they file for the id it returned
    answer = client.post(CLAIMS, claim_body(person, institution), format="json")
    # then the claim is stored for that person
    assert answer.status_code == 201, answer.json()
    assert answer.json()["trainee"] == person.pk


def test_the_finding_lapses_after_the_configured_hours(other_clerk, person, settings):
    from tests.factories import InstitutionFactory
    from trainees.models import TraineeFound

    settings.TRAINEE_FOUND_HOURS = 8
    institution = InstitutionFactory(unit_id="654322")
    client = client_for(other_clerk)
    client.get(TRAINEES, {"id_number": person.id_number})
    # when the finding is nine hours old
    from datetime import timedelta

    from django.utils import timezone

    TraineeFound.objects.filter(user=other_clerk).update(
        at=timezone.now() - timedelta(hours=9)
    )
    # then the id opens nothing again
    assert client.get(f"{TRAINEES}{person.pk}/").status_code == 404
    answer = client.post(CLAIMS, claim_body(person, institution), format="json")
    assert answer.status_code == 400


def test_the_person_page_is_not_walkable_and_shows_no_groups_outside_the_unit(
    client, other_clerk, person
):
    # given a clerk of 富蕴县 signed in on the pages
    client.force_login(other_clerk)
    # when they walk to the person's page by id
    walked = client.get(f"/trainees/{person.pk}/")
    # then it is a 404 like a missing id, naming no one
    assert walked.status_code == 404
    assert person.name not in walked.content.decode()
    # when they find the person by the full number on the lookup page
    looked = client.post("/trainees/", {"id_number": person.id_number})
    assert looked.status_code == 200
    page = client.get(f"/trainees/{person.pk}/")
    # then the page opens with what the limits need, not the groups or the phone
    html = page.content.decode()
    assert page.status_code == 200
    assert person.name in html and 'data-testid="limited-view"' in html
    assert "建档立卡" not in html and "残疾" not in html
    assert person.phone not in html and person.id_number not in html


def test_the_own_unit_s_page_shows_the_groups(client, clerk, person):
    client.force_login(clerk)
    html = client.get(f"/trainees/{person.pk}/").content.decode()
    assert "残疾" in html and 'data-testid="limited-view"' not in html
