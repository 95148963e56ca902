"""Training classes over the API (api-contract.md "Training classes and evidence")."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import Role, User
from classes.models import TrainingClass
from programs.models import Institution
from tests.classes.conftest import END, START
from tests.factories import InstitutionFactory, TraineeFactory, UserFactory
from trainees.models import Trainee

pytestmark = pytest.mark.django_db
CLASSES = "/api/classes/"


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def url(class_id: int, action: str = "") -> str:
    return f"{CLASSES}{class_id}/{action + '/' if action else ''}"


def body(**overrides: Any) -> dict[str, Any]:
    values = {
        "program": 9,
        "trade": "4-03-02-01",
        "level": "intermediate",
        "unit": "654301",
        "project_based": True,
        "planned_start": START.isoformat(),
        "planned_end": END.isoformat(),
        "hours": "100",
        "location": "阿勒泰市职业技能培训中心",
        "teachers": ["王老师", "李老师"],
    }
    values.update(overrides)
    return values


@pytest.fixture
def drafted(clock: Any, staff: User, people: list[Trainee]) -> int:
    response = client_for(staff).post(CLASSES, body(), format="json")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def test_staff_draft_a_class_of_their_institution(
    clock: Any, staff: User, school: Institution
) -> None:
    response = client_for(staff).post(CLASSES, body(), format="json")

    assert response.status_code == 201
    data = response.json()
    assert data["status"] == "draft"
    assert data["institution"] == school.pk
    assert data["teachers"] == ["王老师", "李老师"]
    assert "roster" in data["allowed_actions"]
    assert "accept" not in data["allowed_actions"]


def test_a_class_body_with_its_end_before_its_start_is_a_400(
    clock: Any, staff: User
) -> None:
    response = client_for(staff).post(
        CLASSES, body(planned_end=START - timedelta(days=1)), format="json"
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("start", "end"),
    [("0001-01-01", "0001-03-01"), ("2020-04-01", "9999-12-31"), ("1999-12-31", END)],
)
def test_class_dates_outside_the_scheme_s_years_are_a_400(
    clock: Any, staff: User, start: Any, end: Any
) -> None:
    # the claims' range (2000–2099): a class dated 0001 was saved, and its page then
    # answered 500 (the last filing day before the year 1 overflowed)
    response = client_for(staff).post(
        CLASSES, body(planned_start=str(start), planned_end=str(end)), format="json"
    )
    assert response.status_code == 400, response.content
    assert response.json()["code"] in ("invalid", "invalid_dates")
    assert "2000-01-01至2099-12-31" in response.content.decode()
    assert not TrainingClass.objects.exists()


def test_the_class_form_refuses_them_too(clock: Any, staff: User) -> None:
    from django.test import Client
    from django.urls import reverse

    client = Client()
    client.force_login(staff)
    form = {**body(planned_start="0001-01-01", planned_end="0001-03-01")}
    form.pop("teachers")
    page = client.post(reverse("class_create"), form)
    assert page.status_code in (200, 400)
    assert "2000-01-01至2099-12-31" in page.content.decode()
    assert not TrainingClass.objects.exists()


def test_the_roster_answers_each_lines_precheck(
    drafted: int, staff: User, people: list[Trainee]
) -> None:
    response = client_for(staff).put(
        url(drafted, "roster"), {"trainees": [p.pk for p in people]}, format="json"
    )

    assert response.status_code == 200
    roster = response.json()["roster"]
    assert [line["trainee"]["id"] for line in roster] == [p.pk for p in people]
    assert all(line["precheck"]["eligible"] for line in roster)
    assert "id_number" not in roster[0]["trainee"]  # masked only


def test_a_roster_above_fifty_is_a_400_with_its_code(drafted: int, staff: User) -> None:
    crowd = [TraineeFactory().pk for _ in range(51)]

    response = client_for(staff).put(
        url(drafted, "roster"), {"trainees": crowd}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "roster_too_large"


def test_a_late_filing_is_a_409_in_chinese(
    drafted: int, staff: User, people: list[Trainee], clock: Any
) -> None:
    client = client_for(staff)
    client.put(url(drafted, "roster"), {"trainees": [people[0].pk]}, format="json")
    clock(START - timedelta(days=3))

    response = client.post(url(drafted, "file"))

    assert response.status_code == 409
    assert response.json()["code"] == "filing_too_late"
    assert "备案" in response.json()["message"]


@pytest.mark.parametrize("action", ["", "roster", "file", "accept", "return", "start"])
def test_another_units_class_is_404_like_a_missing_one(
    drafted: int, other_clerk: User, action: str
) -> None:
    client = client_for(other_clerk)
    payload = {"trainees": []} if action == "roster" else {"reason": "资料不全"}
    method = "get" if not action else "put" if action == "roster" else "post"

    hidden = getattr(client, method)(url(drafted, action), payload, format="json")
    missing = getattr(client, method)(url(999999, action), payload, format="json")

    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()


def test_another_institutions_staff_see_nothing(drafted: int) -> None:
    stranger = UserFactory(
        username="other_school",
        role=Role.INSTITUTION_STAFF,
        unit_id=None,
        institution=InstitutionFactory(),
    )
    client = client_for(stranger)

    assert client.get(CLASSES).json()["count"] == 0
    assert client.get(url(drafted)).status_code == 404


def test_the_list_is_scoped(
    drafted: int, clerk: User, other_clerk: User, reviewer: User, administrator: User
) -> None:
    assert client_for(clerk).get(CLASSES).json()["count"] == 1
    assert client_for(other_clerk).get(CLASSES).json()["count"] == 0
    assert client_for(reviewer).get(CLASSES).json()["count"] == 1
    assert client_for(administrator).get(CLASSES).json()["count"] == 0


def test_a_class_from_filing_to_completion(
    drafted: int,
    staff: User,
    clerk: User,
    people: list[Trainee],
    clock: Any,
) -> None:
    # given: filed by the institution, accepted by the unit, started
    school_side, unit_side = client_for(staff), client_for(clerk)
    roster = {"trainees": [p.pk for p in people]}
    response = school_side.put(url(drafted, "roster"), roster, format="json")
    assert response.status_code == 200
    assert school_side.post(url(drafted, "file")).json()["status"] == "filed"
    assert unit_side.post(url(drafted, "accept")).json()["status"] == "accepted"
    clock(START)
    assert school_side.post(url(drafted, "start")).json()["status"] == "running"
    # ten sessions; the last person attends seven
    clock(END)
    for n in range(10):
        present = [p.pk for p in (people if n < 7 else people[:2])]
        session = {
            "date": (START + timedelta(days=n)).isoformat(),
            "hours": "10",
            "present": present,
        }
        response = school_side.post(url(drafted, "sessions"), session, format="json")
        assert response.status_code == 201, response.json()
    clock(END + timedelta(days=1))
    results = [
        {
            "trainee": p.pk,
            "passed": True,
            "certificate_number": f"C{p.pk}",
            "level": "intermediate",
            "employment": "employed",
        }
        for p in people
    ]

    # when: institution staff may not complete; the unit's clerk does
    refused = school_side.post(
        url(drafted, "complete"), {"results": results}, format="json"
    )
    response = unit_side.post(
        url(drafted, "complete"), {"results": results}, format="json"
    )

    # then
    assert refused.status_code == 403
    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["training_class"]["status"] == "completed"
    hours = [line["attended_hours"] for line in data["training_class"]["roster"]]
    assert hours == ["100.0", "100.0", "70.0"]
    claims = data["claims"]
    assert [c["trainee"] for c in claims] == [p.pk for p in people]
    assert [c["status"] for c in claims] == ["draft"] * 3
    assert [c["decision"]["eligible"] for c in claims] == [True, True, False]
    assert [v["code"] for v in claims[2]["decision"]["violations"]] == [
        "attendance_insufficient"
    ]
    # the created claims are the clerk's, in the clerk's list
    listed = unit_side.get("/api/claims/").json()
    assert listed["count"] == 3


def test_completion_with_a_person_missing_creates_nothing(
    running_class: TrainingClass, clerk: User, people: list[Trainee], clock: Any
) -> None:
    clock(END + timedelta(days=1))
    one = {"trainee": people[0].pk, "passed": True, "employment": "employed"}

    response = client_for(clerk).post(
        url(running_class.pk, "complete"), {"results": [one]}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "results_incomplete"
    assert client_for(clerk).get("/api/claims/").json()["count"] == 0
    running_class.refresh_from_db()
    assert running_class.status == "running"
