"""Issue 13: the notice read once more, through the services and the API.

Each test is one finding of the issue, run as a clerk would run it: the claim filed and
submitted over the API, the answer the clerk gets. The rules' own table and properties
are in ``test_rules.py``; here the facts come from the database (the person's places and
groups, the enterprise's kind and insurance, the claim's history and the policy entries).
"""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.management import call_command

import pytest
from rest_framework.test import APIClient

from accounts.models import Role, User
from claims import services
from claims.models import Claim
from programs.models import PolicyEntry
from tests.factories import (
    InstitutionFactory,
    TraineeFactory,
    UserFactory,
    make_credit_code,
)
from trainees.models import Trainee

CLAIMS = "/api/claims/"
pytestmark = pytest.mark.django_db


def client_for(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def clerk_of(unit: str) -> User:
    return UserFactory(username=f"clerk_{unit}", role=Role.COUNTY_CLERK, unit_id=unit)


def file_and_submit(user: User, body: dict[str, Any]) -> Any:
    """As a client does: find the person by their full number (which lets the clerk
    file for a person another unit registered, issue 14, 3), then file and submit."""
    client = client_for(user)
    number = Trainee.objects.get(pk=body["trainee"]).id_number
    assert client.get("/api/trainees/", {"id_number": number}).status_code == 200
    created = client.post(CLAIMS, body, format="json")
    assert created.status_code == 201, created.json()
    return client.post(f"{CLAIMS}{created.json()['id']}/submit/")


def codes_of(response: Any) -> list[str]:
    return [v["code"] for v in response.json()["decision"]["violations"]]


def external_cap(program: int, amount: str = "1500.00") -> None:
    """A cap the notice leaves to another document (programs 1, 2, 6, 7, 10):
    illustrative, as an administrator would enter it."""
    PolicyEntry.objects.create(
        program_id=program,
        kind="cap",
        amount=Decimal(amount),
        effective_from=date(2019, 1, 1),
        effective_to=date(2021, 12, 31),
        clause=f"三(一){program}",
        source_document="（示例）其他文件",
        is_demo=True,
    )


def body(person: Trainee, institution: Any, **overrides: Any) -> dict[str, Any]:
    base = {
        "trainee": person.pk,
        "program": 9,
        "trade": "4-03-02-01",
        "level": "primary",
        "institution": institution.pk,
        "training_start": "2020-03-01",
        "training_end": "2020-04-15",
        "passed": True,
        "certificate_number": "C-1",
        "employment": "employed",
        "amount_requested": "1000.00",
    }
    return {**base, **overrides}


# --- 2. Program 11: once a school year, a poor family's 两后生, at a technical school ---
@pytest.fixture
def school(db: Any) -> Any:
    return InstitutionFactory(kind="technical_school", name="阿勒泰技工学校")


@pytest.fixture
def pupil(db: Any) -> Trainee:
    return TraineeFactory(groups=["poor_family_child", "two_after"])


def grant(pupil: Trainee, school: Any, start: str, end: str, **more: Any) -> dict:
    return body(
        pupil,
        school,
        program=11,
        trade=None,
        level=None,
        training_start=start,
        training_end=end,
        amount_requested="3000.00",
        passed=False,
        certificate_number="",
        employment="none",
        **more,
    )


def test_program_11_is_paid_once_a_school_year(clerk, pupil, school):
    first = file_and_submit(clerk, grant(pupil, school, "2020-09-01", "2020-12-31"))
    assert first.status_code == 200, first.json()

    second = file_and_submit(clerk, grant(pupil, school, "2021-01-01", "2021-06-30"))

    assert second.status_code == 409
    assert codes_of(second) == ["school_year_limit"]
    assert "2020/21学年" in str(second.json()["decision"]["violations"])


def test_program_11_next_school_year_is_paid(clerk, pupil, school):
    file_and_submit(clerk, grant(pupil, school, "2020-03-01", "2020-06-30"))

    again = file_and_submit(clerk, grant(pupil, school, "2020-09-01", "2021-06-30"))

    assert again.status_code == 200, again.json()


def test_program_11_does_not_pay_an_adult_poor_labourer(clerk, school):
    labourer = TraineeFactory(groups=["poor_labour"])

    response = file_and_submit(
        clerk, grant(labourer, school, "2020-09-01", "2021-06-30")
    )

    assert response.status_code == 409
    assert codes_of(response) == ["target_group_required"]


@pytest.mark.parametrize("kind", ["program 11", "以工代训"])
def test_a_claim_that_carries_no_trade_keeps_none_it_was_sent(
    clerk, pupil, school, kind
):
    # 五(二) 同一职业同一等级不可重复享受 concerns training in a trade: program 11 and
    # 以工代训 carry none. Sent with one anyway, it was stored, and a later genuine
    # claim of that trade and level passed the dry run but was refused at submit (the
    # database's one-live-per-trade-and-level counted the stored pair)
    if kind == "program 11":
        first = grant(pupil, school, "2020-09-01", "2021-06-30")
    else:
        pupil = TraineeFactory(groups=["poor_labour"])
        employer = InstitutionFactory(kind="enterprise")
        first = work_in_lieu(pupil, employer, "2020-01-01", "2020-04-30", 4)
    first.update(trade="4-03-02-01", level="primary")
    done = file_and_submit(clerk, first)
    assert done.status_code == 200, done.json()
    stored = Claim.objects.get(pk=done.json()["id"])
    assert (stored.trade_id, stored.level_id) == (None, None)

    genuine = body(pupil, InstitutionFactory(), training_end="2020-05-15")
    check = client_for(clerk).post(f"{CLAIMS}check/", genuine, format="json")
    assert check.json()["eligible"], check.json()
    submitted = file_and_submit(clerk, genuine)
    assert submitted.status_code == 200, submitted.json()


@pytest.mark.parametrize("provider", ["enterprise", "project"])
def test_program_11_is_never_advanced(clerk, pupil, school, provider):
    # 3. an enterprise as the institution, or the project flag, advanced 1200 before
    where = (
        InstitutionFactory(kind="enterprise") if provider == "enterprise" else school
    )
    sent = grant(pupil, where, "2020-09-01", "2021-06-30", project_based=True)

    decision = client_for(clerk).post(f"{CLAIMS}check/", sent, format="json").json()

    assert decision["advance"] == "0.00"
    assert decision["payee"] == "family"


# --- 5. 以工代训: months within the dates, six in all, the employer by group ----------
def work_in_lieu(person: Trainee, employer: Any, start: str, end: str, months: int):
    return body(
        person,
        employer,
        employer=employer.pk,
        trade=None,
        level=None,
        training_start=start,
        training_end=end,
        work_in_lieu_months=months,
        amount_requested=str(300 * months),
        passed=False,
        certificate_number="",
        employment="none",
    )


def test_six_months_declared_over_ten_days_is_refused(clerk, trainee):
    employer = InstitutionFactory(kind="enterprise")

    response = file_and_submit(
        clerk, work_in_lieu(trainee, employer, "2021-03-01", "2021-03-10", 6)
    )

    assert response.status_code == 409
    assert codes_of(response) == ["work_in_lieu_months_exceeded"]


def test_six_months_in_all_for_one_person(clerk, trainee):
    employer = InstitutionFactory(kind="enterprise")
    first = file_and_submit(
        clerk, work_in_lieu(trainee, employer, "2021-01-01", "2021-06-30", 6)
    )
    assert first.status_code == 200, first.json()

    second = file_and_submit(
        clerk, work_in_lieu(trainee, employer, "2021-07-01", "2021-12-31", 6)
    )

    assert second.status_code == 409
    assert codes_of(second) == ["work_in_lieu_months_exceeded"]


@pytest.mark.parametrize("kind", ["cooperative", "poverty_workshop"])
def test_a_cooperative_or_workshop_may_train_the_poor_in_lieu_of_work(
    clerk, administrator, trainee, kind
):
    created = client_for(administrator).post(
        "/api/institutions/",
        {
            "name": "某合作社或车间",
            "kind": kind,
            "credit_code": make_credit_code(),
            "unit": "654301",
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    employer = InstitutionFactory(kind=kind)  # an admitted one

    response = file_and_submit(
        clerk, work_in_lieu(trainee, employer, "2021-01-01", "2021-03-31", 3)
    )

    assert response.status_code == 200, response.json()


def test_zero_employment_family_needs_an_insured_enterprise(clerk):
    person = TraineeFactory(groups=["zero_employment_family"])
    uninsured = InstitutionFactory(kind="enterprise", insured=False)
    insured = InstitutionFactory(kind="enterprise", insured=True)
    refused = file_and_submit(
        clerk, work_in_lieu(person, uninsured, "2021-01-01", "2021-02-28", 2)
    )

    accepted = file_and_submit(
        clerk, work_in_lieu(person, insured, "2021-03-01", "2021-04-30", 2)
    )

    assert codes_of(refused) == ["enterprise_not_certified"]
    assert accepted.status_code == 200, accepted.json()


# --- 7. The place of claim --------------------------------------------------------------
def test_the_fuyun_technician_is_filed_by_fuyun_only(db):
    # a technician of a 富蕴县 enterprise, trained at a college in 阿勒泰市, who lives
    # in 阿勒泰市 and seeks work in 吉木乃县
    person = TraineeFactory(
        registered_by_unit_id="654322",
        residence_unit_id="654301",
        job_seeking_unit_id="654326",
    )
    college = InstitutionFactory(kind="vocational_college", unit_id="654301")
    employer = InstitutionFactory(kind="enterprise", unit_id="654322")
    sent = body(
        person,
        college,
        program=3,
        employer=employer.pk,
        level="senior",
        certificate_number="G-1",
        amount_requested="4000.00",
    )
    answers = {}
    for unit in ("654301", "654322", "654326"):
        answers[unit] = file_and_submit(clerk_of(unit), {**sent, "unit": unit})

    assert {u: r.status_code for u, r in answers.items()} == {
        "654301": 409,
        "654322": 200,
        "654326": 409,
    }
    assert codes_of(answers["654301"]) == ["wrong_unit"]


def test_a_unit_where_the_person_has_no_place_cannot_file(clerk, institution):
    stranger = TraineeFactory(registered_by_unit_id="654325")

    response = file_and_submit(clerk, body(stranger, institution))

    assert response.status_code == 409
    assert codes_of(response) == ["wrong_unit"]


def test_the_persons_places_are_registered_and_shown(clerk):
    client = client_for(clerk)
    sent = {
        "id_number": TraineeFactory.build().id_number,
        "name": "新生代",
        "household": "rural",
        "groups": ["zero_employment_family"],
        "residence_unit": "654322",
        "job_seeking_unit": "654326",
        "residence": "urban",
        "months_in_town": 8,
    }

    shown = client.post("/api/trainees/", sent, format="json")

    assert shown.status_code == 201, shown.json()
    person = shown.json()
    assert (person["registered_by_unit"], person["residence_unit"]) == (
        "654301",
        "654322",
    )
    assert (
        person["job_seeking_unit"],
        person["residence"],
        person["months_in_town"],
    ) == (
        "654326",
        "urban",
        8,
    )
    assert person["groups"] == ["zero_employment_family"]


def test_an_unknown_place_is_a_clear_400(clerk):
    sent = {
        "id_number": TraineeFactory.build().id_number,
        "name": "某人",
        "household": "rural",
        "residence_unit": "999999",
    }

    response = client_for(clerk).post("/api/trainees/", sent, format="json")

    assert response.status_code == 400
    assert "999999" in str(response.json())


# --- 8. Programs' own conditions --------------------------------------------------------
def test_program_7_needs_urban_residence_and_six_months_in_town(clerk, institution):
    external_cap(7)
    villager = TraineeFactory(
        groups=["rural_transfer"], residence="rural", months_in_town=12
    )
    newcomer = TraineeFactory(
        groups=["rural_transfer"], residence="urban", months_in_town=5
    )
    settled = TraineeFactory(
        groups=["rural_transfer"], residence="urban", months_in_town=6
    )
    answers = [
        file_and_submit(clerk, body(p, institution, program=7))
        for p in (villager, newcomer, settled)
    ]

    assert [r.status_code for r in answers] == [409, 409, 200]
    assert codes_of(answers[0]) == codes_of(answers[1]) == ["target_group_required"]


def test_program_1_pays_for_staff_hired_within_the_year(clerk, trainee):
    external_cap(1)
    enterprise = InstitutionFactory(kind="enterprise")
    sent = body(trainee, enterprise, program=1, employer=enterprise.pk)
    missing = file_and_submit(clerk, sent)
    long_ago = file_and_submit(clerk, {**sent, "hire_date": "2018-12-31"})

    recent = file_and_submit(clerk, {**sent, "hire_date": "2019-09-01"})

    assert codes_of(missing) == codes_of(long_ago) == ["target_group_required"]
    assert recent.status_code == 200, recent.json()
    assert Claim.objects.get(pk=recent.json()["id"]).hire_date == date(2019, 9, 1)
    assert recent.json()["hire_date"] == "2019-09-01"


def test_program_6_is_an_apprenticeship_of_one_to_two_years(clerk, trainee):
    external_cap(6, "4000.00")
    enterprise = InstitutionFactory(kind="enterprise")
    sent = body(trainee, enterprise, program=6, employer=enterprise.pk)
    short = file_and_submit(clerk, {**sent, "training_start": "2019-10-01"})

    full = file_and_submit(
        clerk, {**sent, "training_start": "2019-03-01", "trade": "6-31-01-03"}
    )

    assert codes_of(short) == ["invalid_dates"]
    assert full.status_code == 200, full.json()


def test_program_2_is_an_insured_enterprise_training_its_own_staff(clerk, trainee):
    external_cap(2)
    uninsured = InstitutionFactory(kind="enterprise", insured=False)
    insured = InstitutionFactory(kind="enterprise", insured=True)
    sent = body(trainee, uninsured, program=2, level="intermediate")
    refused = file_and_submit(clerk, sent)

    accepted = file_and_submit(
        clerk, {**sent, "institution": insured.pk, "trade": "6-31-01-03"}
    )

    assert codes_of(refused) == ["enterprise_not_certified"]
    assert accepted.status_code == 200, accepted.json()


def test_institutions_carry_insured_and_the_new_kinds(administrator):
    client = client_for(administrator)

    created = client.post(
        "/api/institutions/",
        {
            "name": "某扶贫车间",
            "kind": "poverty_workshop",
            "credit_code": make_credit_code(),
            "unit": "654301",
            "insured": True,
        },
        format="json",
    )
    enterprise = client.post(
        "/api/institutions/",
        {
            "name": "某参保企业",
            "kind": "enterprise",
            "credit_code": make_credit_code(),
            "unit": "654301",
            "insured": True,
        },
        format="json",
    )

    assert created.status_code == 400  # only an enterprise is insured
    assert "参保企业" in str(created.json())
    assert enterprise.status_code == 201, enterprise.json()
    assert enterprise.json()["insured"] is True


# --- Existing claims keep their decisions; the report says what today would say ---------
def test_rejudge_report_lists_what_todays_rules_refuse_and_changes_nothing(
    clerk, trainee, institution
):
    claim = services.claim_create(
        data=services.ClaimInput(
            trainee_id=trainee.pk,
            program_id=9,
            institution_id=institution.pk,
            unit_id="654301",
            training_start=date(2020, 3, 1),
            training_end=date(2020, 4, 15),
            amount_requested=Decimal("1000.00"),
            trade_id="4-03-02-01",
            level_id="primary",
            passed=True,
            certificate_number="R-1",
            employment="employed",
        ),
        actor=clerk,
    )
    services.claim_submit(claim_id=claim.pk, actor=clerk)
    # the person is moved to another unit after the claim was submitted
    Trainee.objects.filter(pk=trainee.pk).update(
        registered_by_unit_id="654325", residence_unit_id=None
    )
    out = io.StringIO()

    call_command("rejudge_report", stdout=out)

    claim.refresh_from_db()
    assert claim.status == "submitted" and claim.eligible
    assert "不符合条件1条" in out.getvalue()
    assert "wrong_unit: 1" in out.getvalue()
