"""The quarterly report over the API: build, submit, discard, spot checks, close, bulk
approval — for every role, with the unit scope and clear 400s that store nothing."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from claims import services
from claims.models import Claim, ClaimEvent
from claims.services import ClaimInput
from quarters import services as quarter_services
from quarters.models import QuarterlyReport, ReportItem, SpotCheck
from tests.factories import TraineeFactory, opened_evidence

pytestmark = pytest.mark.django_db

REPORTS = "/api/reports/"
BULK = "/api/claims/approve-bulk/"
TRADES = ["6-31-01-03", "4-07-05-01", "4-10-01-05", "4-01-06-01"]
ROLES = ["clerk", "other_clerk", "reviewer", "finance", "auditor", "administrator"]
#: api-contract.md and the brief: what a report carries.
REPORT_KEYS = {
    "id",
    "unit",
    "unit_name",
    "quarter",
    "status",
    "claim_count",
    "control_total",
    "built_by",
    "built_at",
    "submitted_by",
    "submitted_at",
    "closed_by",
    "closed_at",
    "spot_check_share",
    "spot_check_seed",
}


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def url(report_id: int, action: str = "") -> str:
    return f"{REPORTS}{report_id}/{action + '/' if action else ''}"


@pytest.fixture
def submitted_claims(
    clerk: User, claim_input: Callable[..., ClaimInput]
) -> list[Claim]:
    """Four submitted claims of 阿勒泰市 (654301), each for its own person."""
    claims = []
    for i, trade in enumerate(TRADES):
        draft = services.claim_create(
            data=claim_input(
                trainee_id=TraineeFactory().pk,
                trade_id=trade,
                amount_requested=Decimal("1800.00") - i,
            ),
            actor=clerk,
        )
        claims.append(services.claim_submit(claim_id=draft.pk, actor=clerk))
    return claims


@pytest.fixture
def draft_report(clerk: User, submitted_claims: list[Claim]) -> QuarterlyReport:
    return quarter_services.report_build(
        unit_id="654301", quarter="2020Q1", actor=clerk
    )


@pytest.fixture
def submitted_report(clerk: User, draft_report: QuarterlyReport) -> QuarterlyReport:
    return quarter_services.report_submit(report_id=draft_report.pk, actor=clerk)


@pytest.fixture
def sampled_report(
    reviewer: User, submitted_report: QuarterlyReport
) -> QuarterlyReport:
    quarter_services.report_draw_spot_checks(
        report_id=submitted_report.pk, actor=reviewer, share=Decimal("0.5")
    )
    submitted_report.refresh_from_db()
    return submitted_report


@pytest.fixture
def checked_report(reviewer: User, sampled_report: QuarterlyReport) -> QuarterlyReport:
    """Sampled, and every sampled claim's documents checked: ready for decisions."""
    for check in sampled_report.spot_checks.all():
        quarter_services.spot_check_record(
            spot_check_id=check.pk,
            actor=reviewer,
            result="consistent",
            documents=opened_evidence(check.pk, reviewer),
        )
    return sampled_report


@pytest.fixture
def other_unit_report(
    other_clerk: User, claim_input: Callable[..., ClaimInput]
) -> QuarterlyReport:
    """A submitted report of 富蕴县 (654322)."""
    from tests.factories import InstitutionFactory

    institution = InstitutionFactory(unit_id="654322")
    draft = services.claim_create(
        data=claim_input(
            trainee_id=TraineeFactory(registered_by_unit_id="654322").pk,
            unit_id="654322",
            institution_id=institution.pk,
        ),
        actor=other_clerk,
    )
    services.claim_submit(claim_id=draft.pk, actor=other_clerk)
    report = quarter_services.report_build(
        unit_id="654322", quarter="2020Q1", actor=other_clerk
    )
    return quarter_services.report_submit(report_id=report.pk, actor=other_clerk)


# --- Build --------------------------------------------------------------------------------
def test_a_clerk_builds_the_units_report(clerk, submitted_claims):
    response = client_for(clerk).post(REPORTS, {"quarter": "2020Q1"}, format="json")

    assert response.status_code == 201
    data = response.json()
    assert set(data) >= REPORT_KEYS | {"figures", "claims"}
    assert (data["unit"], data["unit_name"], data["quarter"], data["status"]) == (
        "654301",
        "阿勒泰市",
        "2020Q1",
        "draft",
    )
    assert data["built_by"] == "clerk_a" and data["submitted_by"] is None
    assert data["claim_count"] == 4
    assert data["control_total"] == str(sum(c.amount for c in submitted_claims))
    assert [c["id"] for c in data["claims"]] == [c.pk for c in submitted_claims]
    assert QuarterlyReport.objects.get().pk == data["id"]


def test_a_report_shows_its_figures_per_fund_and_program(clerk, submitted_claims):
    data = client_for(clerk).post(REPORTS, {"quarter": "2020Q1"}, format="json").json()

    assert data["figures"] == [
        {
            "fund": "special",
            "fund_label": "职业技能提升行动专项资金",
            "program": 9,
            "program_name": data["figures"][0]["program_name"],
            "trained": 4,
            "passed": 4,
            "employed": 4,
            "requested": "7194.00",
            "amount": "7194.00",
            "advance": "0.00",
        }
    ]


def test_a_report_lists_its_claims_compactly_with_masked_ids(clerk, submitted_claims):
    response = client_for(clerk).post(REPORTS, {"quarter": "2020Q1"}, format="json")

    row = response.json()["claims"][0]
    claim = submitted_claims[0]
    assert row == {
        "id": claim.pk,
        "status": "submitted",
        "trainee_name": claim.trainee.name,
        "trainee_id_number_masked": claim.trainee.id_number_masked,
        "program": 9,
        "program_name": claim.program.name,
        "fund": "special",
        "amount": "1800.00",
        "advance": "0.00",
        "approved_amount": None,
        "sampled": False,
        "spot_check": None,
    }
    for c in submitted_claims:
        assert c.trainee.id_number not in response.content.decode()


def test_building_again_refreshes_the_draft_with_200(clerk, draft_report, claim_input):
    late = services.claim_create(
        data=claim_input(trainee_id=TraineeFactory().pk), actor=clerk
    )
    services.claim_submit(claim_id=late.pk, actor=clerk)

    response = client_for(clerk).post(REPORTS, {"quarter": "2020q1 "}, format="json")

    assert response.status_code == 200
    assert response.json()["id"] == draft_report.pk
    assert late.pk in [c["id"] for c in response.json()["claims"]]
    assert QuarterlyReport.objects.count() == 1


def test_a_submitted_report_cannot_be_built_again(clerk, submitted_report):
    response = client_for(clerk).post(REPORTS, {"quarter": "2020Q1"}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "report_frozen"


@pytest.mark.parametrize("role", ["reviewer", "finance", "auditor", "administrator"])
def test_only_clerks_build_reports(request, role, submitted_claims):
    user = request.getfixturevalue(role)

    response = client_for(user).post(REPORTS, {"quarter": "2020Q1"}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert not QuarterlyReport.objects.exists()


def test_anonymous_is_refused_everywhere_with_json(draft_report):
    anonymous = client_for(None)
    for response in (
        anonymous.get(REPORTS),
        anonymous.post(REPORTS, {"quarter": "2020Q1"}, format="json"),
        anonymous.get(url(draft_report.pk)),
        anonymous.post(url(draft_report.pk, "submit")),
        anonymous.post(url(draft_report.pk, "discard")),
        anonymous.post(url(draft_report.pk, "spot-checks")),
        anonymous.post(url(draft_report.pk, "close")),
        anonymous.post("/api/spot-checks/1/", {"result": "consistent"}),
        anonymous.post(BULK, {"claims": [1]}, format="json"),
    ):
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"
    assert QuarterlyReport.objects.get().status == "draft"


@pytest.mark.parametrize(
    "body",
    [
        {"quarter": "2020Q5"},
        {"quarter": "2020Q0"},
        {"quarter": "2020-1"},
        {"quarter": "20201Q1"},
        {"quarter": ""},
        {"quarter": None},
        {"quarter": "2020Q1" * 3},
        {},
    ],
    ids=["Q5", "Q0", "dash", "5 digits", "empty", "null", "long", "missing"],
)
def test_a_bad_quarter_is_a_400_and_nothing_is_stored(clerk, submitted_claims, body):
    response = client_for(clerk).post(REPORTS, body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "quarter" in response.json()["fields"]
    assert not QuarterlyReport.objects.exists()
    assert not Claim.objects.filter(report__isnull=False).exists()


def test_a_quarter_not_yet_begun_is_refused(clerk, submitted_claims):
    response = client_for(clerk).post(REPORTS, {"quarter": "2099Q1"}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_quarter"
    assert not QuarterlyReport.objects.exists()


# --- List and detail: the unit scope -------------------------------------------------------
@pytest.mark.parametrize(
    ("role", "sees"),
    [
        ("clerk", {"654301"}),
        ("other_clerk", {"654322"}),
        ("reviewer", {"654301", "654322"}),
        ("finance", {"654301", "654322"}),
        ("auditor", {"654301", "654322"}),
        ("administrator", set()),
    ],
)
def test_the_list_is_scoped_to_the_user(
    request, role, sees, submitted_report, other_unit_report
):
    user = request.getfixturevalue(role)

    response = client_for(user).get(REPORTS, {"quarter": "2020Q1"})

    assert response.status_code == 200
    data = response.json()
    assert set(data) == {"count", "next", "previous", "results"}
    assert {r["unit"] for r in data["results"]} == sees
    if data["results"]:
        assert set(data["results"][0]) >= REPORT_KEYS


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"quarter": "2020Q1"}, {"654301", "654322"}),
        ({"quarter": "2020q1"}, {"654301", "654322"}),
        ({"quarter": "2020Q2"}, set()),
        ({"unit": "654322"}, {"654322"}),
        ({"status": "submitted"}, {"654322"}),
        ({"status": "draft"}, {"654301"}),
        ({"status": "draft", "unit": "654322"}, set()),
    ],
)
def test_the_list_filters(reviewer, draft_report, other_unit_report, query, expected):
    data = client_for(reviewer).get(REPORTS, query).json()

    assert {r["unit"] for r in data["results"]} == expected


@pytest.mark.parametrize(
    "query", [{"quarter": "2020Q5"}, {"status": "paid"}, {"unit": "6543011"}]
)
def test_a_bad_filter_is_a_400(reviewer, draft_report, query):
    response = client_for(reviewer).get(REPORTS, query)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_the_list_does_not_query_per_report(
    reviewer, submitted_report, other_unit_report, django_assert_max_num_queries
):
    client = client_for(reviewer)

    with django_assert_max_num_queries(3):
        response = client.get(REPORTS)

    assert response.json()["count"] == 2


@pytest.mark.parametrize(
    ("role", "code"),
    [
        ("clerk", 200),
        ("other_clerk", 404),
        ("reviewer", 200),
        ("finance", 200),
        ("auditor", 200),
        ("administrator", 404),
    ],
)
def test_the_detail_is_scoped_to_the_user(request, role, code, submitted_report):
    user = request.getfixturevalue(role)

    response = client_for(user).get(url(submitted_report.pk))

    assert response.status_code == code
    if code == 404:
        assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("report_id", [999999, int("9" * 30)])
def test_an_unknown_report_is_a_404(reviewer, report_id):
    response = client_for(reviewer).get(url(report_id))

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


# --- Submit ---------------------------------------------------------------------------------
def test_the_clerk_submits_and_the_report_is_frozen(clerk, draft_report):
    response = client_for(clerk).post(url(draft_report.pk, "submit"))

    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "submitted"
    assert data["submitted_by"] == "clerk_a" and data["submitted_at"]
    assert (data["claim_count"], data["control_total"]) == (4, "7194.00")
    assert ReportItem.objects.filter(report=draft_report).count() == 4


@pytest.mark.parametrize(
    ("role", "code"),
    [
        ("other_clerk", 404),
        ("reviewer", 403),
        ("finance", 403),
        ("auditor", 403),
        ("administrator", 404),
    ],
)
def test_only_the_units_clerk_submits(request, role, code, draft_report):
    user = request.getfixturevalue(role)

    response = client_for(user).post(url(draft_report.pk, "submit"))

    assert response.status_code == code
    draft_report.refresh_from_db()
    assert draft_report.status == "draft"
    assert not ReportItem.objects.exists()


def test_a_report_is_submitted_once(clerk, submitted_report):
    response = client_for(clerk).post(url(submitted_report.pk, "submit"))

    assert response.status_code == 409
    assert response.json()["code"] == "report_frozen"
    assert ReportItem.objects.count() == 4


def test_an_empty_report_cannot_be_submitted(clerk):
    report = client_for(clerk).post(REPORTS, {"quarter": "2020Q1"}).json()

    response = client_for(clerk).post(url(report["id"], "submit"))

    assert response.status_code == 400
    assert response.json()["code"] == "report_empty"


def test_a_submitted_report_keeps_its_frozen_amounts(
    clerk, reviewer, submitted_report, submitted_claims
):
    quarter_services.claim_reject(
        claim_id=submitted_claims[0].pk, actor=reviewer, reason="材料不全"
    )

    data = client_for(clerk).get(url(submitted_report.pk)).json()

    assert data["claim_count"] == 4 and data["control_total"] == "7194.00"
    assert data["claims"][0]["status"] == "rejected"
    assert data["claims"][0]["amount"] == "1800.00"


# --- Discard --------------------------------------------------------------------------------
def test_the_clerk_discards_a_draft(clerk, draft_report):
    response = client_for(clerk).post(url(draft_report.pk, "discard"))

    assert response.status_code == 200
    assert response.json()["status"] == "discarded"
    assert response.json()["claims"] == []
    assert not Claim.objects.filter(report__isnull=False).exists()


def test_a_submitted_report_cannot_be_discarded(clerk, submitted_report):
    response = client_for(clerk).post(url(submitted_report.pk, "discard"))

    assert response.status_code == 409
    assert response.json()["code"] == "report_frozen"


@pytest.mark.parametrize(
    ("role", "code"),
    [("other_clerk", 404), ("reviewer", 403), ("finance", 403), ("administrator", 404)],
)
def test_only_the_units_clerk_discards(request, role, code, draft_report):
    user = request.getfixturevalue(role)

    response = client_for(user).post(url(draft_report.pk, "discard"))

    assert response.status_code == code
    draft_report.refresh_from_db()
    assert draft_report.status == "draft"


# --- Spot checks ------------------------------------------------------------------------------
def test_the_reviewer_draws_a_reproducible_sample(reviewer, submitted_report):
    from claims import rules

    response = client_for(reviewer).post(
        url(submitted_report.pk, "spot-checks"), {"share": "0.50"}, format="json"
    )

    assert response.status_code == 201
    data = response.json()
    assert re.fullmatch(r"[0-9a-f]{16}", data["seed"])
    assert data["share"] == "0.5000" and data["drawn_by"] == "reviewer"
    ids = submitted_report.items.values_list("claim_id", flat=True)
    assert data["claims"] == rules.spot_check_sample(ids, Decimal("0.5"), data["seed"])
    assert len(data["claims"]) == 2
    assert [c["claim"] for c in data["spot_checks"]] == data["claims"]
    assert {c["result"] for c in data["spot_checks"]} == {"pending"}


def test_the_default_share_applies_without_a_body(reviewer, submitted_report):
    response = client_for(reviewer).post(url(submitted_report.pk, "spot-checks"))

    assert response.status_code == 201
    assert response.json()["share"] == "0.1000"
    assert len(response.json()["claims"]) == 1


def test_the_sample_shows_in_the_report(reviewer, sampled_report):
    data = client_for(reviewer).get(url(sampled_report.pk)).json()

    sampled = [c for c in data["claims"] if c["sampled"]]
    assert len(sampled) == 2
    assert all(c["spot_check"]["result"] == "pending" for c in sampled)
    assert data["spot_check_seed"] == sampled_report.spot_check_seed
    assert data["spot_check_share"] == "0.5000"


def test_the_sample_is_drawn_once(reviewer, sampled_report):
    response = client_for(reviewer).post(url(sampled_report.pk, "spot-checks"))

    assert response.status_code == 409
    assert response.json()["code"] == "spot_checks_drawn"
    assert SpotCheck.objects.count() == 2


def test_a_draft_cannot_be_sampled(reviewer, draft_report):
    response = client_for(reviewer).post(url(draft_report.pk, "spot-checks"))

    assert response.status_code == 409
    assert response.json()["code"] == "report_not_submitted"


@pytest.mark.parametrize(
    ("role", "code"),
    [
        ("clerk", 403),
        ("other_clerk", 404),
        ("finance", 403),
        ("auditor", 403),
        ("administrator", 404),
    ],
)
def test_only_reviewers_draw_samples(request, role, code, submitted_report):
    user = request.getfixturevalue(role)

    response = client_for(user).post(url(submitted_report.pk, "spot-checks"))

    assert response.status_code == code
    assert not SpotCheck.objects.exists()


@pytest.mark.parametrize(
    "share", ["0", "-0.1", "1.5", "NaN", "Infinity", "abc", "0.123456"]
)
def test_a_bad_share_is_a_400_and_nothing_is_drawn(reviewer, submitted_report, share):
    response = client_for(reviewer).post(
        url(submitted_report.pk, "spot-checks"), {"share": share}, format="json"
    )

    assert response.status_code == 400
    assert "share" in response.json()["fields"]
    assert not SpotCheck.objects.exists()
    submitted_report.refresh_from_db()
    assert submitted_report.spot_check_seed == ""


def test_anyone_who_sees_the_report_reads_its_sample(
    clerk, other_clerk, sampled_report
):
    mine = client_for(clerk).get(url(sampled_report.pk, "spot-checks"))
    theirs = client_for(other_clerk).get(url(sampled_report.pk, "spot-checks"))

    assert mine.status_code == 200 and len(mine.json()["claims"]) == 2
    assert theirs.status_code == 404


# --- Recording a spot check ----------------------------------------------------------------
def spot_url(check: SpotCheck) -> str:
    return f"/api/spot-checks/{check.pk}/"


def test_the_reviewer_records_a_result(reviewer, sampled_report):
    check = SpotCheck.objects.first()

    response = client_for(reviewer).post(
        spot_url(check), {"result": "inconsistent", "note": " 签名不符 "}, format="json"
    )

    assert response.status_code == 200
    data = response.json()
    assert (data["result"], data["note"], data["checked_by"]) == (
        "inconsistent",
        "签名不符",
        "reviewer",
    )
    assert ClaimEvent.objects.filter(action="spot_check", claim=check.claim).exists()


def test_an_inconsistent_result_needs_a_note(reviewer, sampled_report):
    check = SpotCheck.objects.first()

    response = client_for(reviewer).post(
        spot_url(check), {"result": "inconsistent"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "reason_required"
    check.refresh_from_db()
    assert check.result == "pending"


@pytest.mark.parametrize("body", [{"result": "pending"}, {"result": "ok"}, {}])
def test_a_bad_result_is_a_400(reviewer, sampled_report, body):
    check = SpotCheck.objects.first()

    response = client_for(reviewer).post(spot_url(check), body, format="json")

    assert response.status_code == 400
    assert "result" in response.json()["fields"]
    check.refresh_from_db()
    assert check.result == "pending"


@pytest.mark.parametrize(
    "role", ["clerk", "other_clerk", "finance", "auditor", "administrator"]
)
def test_only_reviewers_record_results(request, role, sampled_report):
    user = request.getfixturevalue(role)
    check = SpotCheck.objects.first()

    response = client_for(user).post(
        spot_url(check), {"result": "consistent"}, format="json"
    )

    assert response.status_code == 403
    check.refresh_from_db()
    assert check.result == "pending"


def test_an_unknown_spot_check_is_a_404(reviewer):
    response = client_for(reviewer).post(
        "/api/spot-checks/999999/", {"result": "consistent"}, format="json"
    )

    assert response.status_code == 404


# --- Bulk approval and close ---------------------------------------------------------------
def test_the_reviewer_approves_a_selection(reviewer, checked_report, submitted_claims):
    ids = [c.pk for c in submitted_claims[:3]]

    response = client_for(reviewer).post(BULK, {"claims": ids}, format="json")

    assert response.status_code == 200
    data = response.json()
    assert [c["id"] for c in data] == sorted(ids)
    assert {c["status"] for c in data} == {"approved"}
    assert data[0]["approved_amount"] == "1800.00"
    assert Claim.objects.filter(status="approved").count() == 3


def test_bulk_approval_is_all_or_nothing_and_names_the_claim(
    reviewer, checked_report, submitted_claims
):
    quarter_services.claim_reject(
        claim_id=submitted_claims[1].pk, actor=reviewer, reason="材料不全"
    )
    ids = [c.pk for c in submitted_claims]

    response = client_for(reviewer).post(BULK, {"claims": ids}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert f"申报#{submitted_claims[1].pk}" in response.json()["message"]
    assert not Claim.objects.filter(status="approved").exists()


def test_bulk_approval_of_an_unknown_claim_is_a_404_naming_it(
    reviewer, checked_report, submitted_claims
):
    response = client_for(reviewer).post(
        BULK, {"claims": [submitted_claims[0].pk, 999999]}, format="json"
    )

    assert response.status_code == 404
    assert "申报#999999" in response.json()["message"]
    assert not Claim.objects.filter(status="approved").exists()


@pytest.mark.parametrize("role", ["clerk", "finance", "auditor"])
def test_only_reviewers_approve_in_bulk(request, role, submitted_claims):
    user = request.getfixturevalue(role)

    response = client_for(user).post(
        BULK, {"claims": [c.pk for c in submitted_claims]}, format="json"
    )

    assert response.status_code == 403
    assert f"申报#{submitted_claims[0].pk}" in response.json()["message"]
    assert not Claim.objects.filter(status="approved").exists()


def test_an_administrator_sees_no_claim_to_approve(administrator, submitted_claims):
    response = client_for(administrator).post(
        BULK, {"claims": [submitted_claims[0].pk]}, format="json"
    )

    assert response.status_code == 404
    assert not Claim.objects.filter(status="approved").exists()


@pytest.mark.parametrize(
    "body",
    [
        {"claims": []},
        {"claims": "1,2"},
        {"claims": [0]},
        {"claims": ["x"]},
        {"claims": [int("9" * 30)]},
        {"claims": list(range(1, 1002))},
        {},
    ],
    ids=["empty", "string", "zero", "text", "huge", "too many", "missing"],
)
def test_a_bad_selection_is_a_400(reviewer, submitted_claims, body):
    response = client_for(reviewer).post(BULK, body, format="json")

    assert response.status_code == 400
    assert "claims" in response.json()["fields"]
    assert not Claim.objects.filter(status="approved").exists()


def test_a_report_cannot_close_before_its_sample(reviewer, submitted_report):
    response = client_for(reviewer).post(url(submitted_report.pk, "close"))

    assert response.status_code == 409
    assert response.json()["code"] == "spot_checks_missing"


def test_a_report_cannot_close_with_claims_undecided(reviewer, sampled_report):
    response = client_for(reviewer).post(url(sampled_report.pk, "close"))

    assert response.status_code == 409
    assert response.json()["code"] == "claims_undecided"
    sampled_report.refresh_from_db()
    assert sampled_report.status == "submitted"


def decide_all(reviewer: User, claims: list[Claim]) -> None:
    quarter_services.claims_approve_bulk(
        claim_ids=[c.pk for c in claims], actor=reviewer
    )


def test_the_reviewer_closes_a_decided_report(
    reviewer, checked_report, submitted_claims
):
    decide_all(reviewer, submitted_claims)

    response = client_for(reviewer).post(url(checked_report.pk, "close"))

    assert response.status_code == 200
    data = response.json()
    assert (data["status"], data["closed_by"]) == ("closed", "reviewer")
    assert data["closed_at"]


@pytest.mark.parametrize(
    ("role", "code"),
    [
        ("clerk", 403),
        ("other_clerk", 404),
        ("finance", 403),
        ("auditor", 403),
        ("administrator", 404),
    ],
)
def test_only_reviewers_close(request, role, code, checked_report, submitted_claims):
    decide_all(request.getfixturevalue("reviewer"), submitted_claims)
    user = request.getfixturevalue(role)

    response = client_for(user).post(url(checked_report.pk, "close"))

    assert response.status_code == code
    checked_report.refresh_from_db()
    assert checked_report.status == "submitted"


# --- The whole report through the API -----------------------------------------------------
def test_a_report_runs_end_to_end_over_the_api(clerk, reviewer, submitted_claims):
    as_clerk, as_reviewer = client_for(clerk), client_for(reviewer)

    report = as_clerk.post(REPORTS, {"quarter": "2020Q1"}, format="json").json()
    assert as_clerk.post(url(report["id"], "submit")).status_code == 200
    listed = as_reviewer.get(REPORTS, {"quarter": "2020Q1"}).json()["results"]
    assert [r["id"] for r in listed] == [report["id"]]
    sample = as_reviewer.post(url(report["id"], "spot-checks")).json()
    for check in sample["spot_checks"]:
        recorded = as_reviewer.post(
            f"/api/spot-checks/{check['id']}/",
            {
                "result": "consistent",
                "documents": opened_evidence(check["id"], reviewer),
            },
            format="json",
        )
        assert recorded.status_code == 200
    approved = as_reviewer.post(
        BULK, {"claims": [c["id"] for c in report["claims"]]}, format="json"
    )
    assert approved.status_code == 200
    closed = as_reviewer.post(url(report["id"], "close"))

    assert closed.status_code == 200
    data = closed.json()
    assert data["status"] == "closed"
    assert {c["status"] for c in data["claims"]} == {"approved"}
    assert [c["spot_check"]["result"] for c in data["claims"] if c["sampled"]] == [
        "consistent"
    ]
