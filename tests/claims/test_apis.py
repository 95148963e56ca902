"""The claims API: the contract's shapes, the roles, the unit scope, clear 400s."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from claims import services
from claims.models import Claim, ClaimEvent
from claims.services import ClaimInput
from programs.models import Institution
from quarters import services as quarter_services
from tests.factories import (
    InstitutionFactory,
    TraineeFactory,
    clear_spot_checks,
    county_uplift,
    send_to_prefecture,
)
from trainees.models import Trainee

pytestmark = pytest.mark.django_db

CLAIMS = "/api/claims/"
CHECK = "/api/claims/check/"

#: api-contract.md, "Body of a claim".
CONTRACT_BODY_KEYS = {
    "trainee",
    "program",
    "trade",
    "level",
    "institution",
    "employer",
    "unit",
    "training_start",
    "training_end",
    "project_based",
    "work_in_lieu_months",
    "passed",
    "certificate_number",
    "employment",
    "amount_requested",
}
#: api-contract.md, "A decision".
CONTRACT_DECISION_KEYS = {
    "eligible",
    "cap",
    "amount",
    "advance",
    "fund",
    "violations",
    "explanation",
    "warnings",
}
DECISION_EXTRAS = {"payee", "policy_entry_ids"}


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def url(claim_id: int, action: str = "") -> str:
    return f"{CLAIMS}{claim_id}/{action + '/' if action else ''}"


def as_body(data: ClaimInput) -> dict[str, Any]:
    """A ClaimInput as the JSON body of the contract."""
    return {
        "trainee": data.trainee_id,
        "program": data.program_id,
        "trade": data.trade_id,
        "level": data.level_id,
        "institution": data.institution_id,
        "employer": data.employer_id,
        "unit": data.unit_id,
        "training_start": data.training_start.isoformat(),
        "training_end": data.training_end.isoformat(),
        "project_based": data.project_based,
        "work_in_lieu_months": data.work_in_lieu_months,
        "passed": data.passed,
        "certificate_number": data.certificate_number,
        "employment": data.employment,
        "amount_requested": str(data.amount_requested),
    }


@pytest.fixture
def body(claim_input: Callable[..., ClaimInput]) -> Callable[..., dict[str, Any]]:
    def build(**overrides: Any) -> dict[str, Any]:
        return as_body(claim_input(**overrides))

    return build


@pytest.fixture
def draft(clerk: User, claim_input: Callable[..., ClaimInput]) -> Claim:
    return services.claim_create(data=claim_input(), actor=clerk)


@pytest.fixture
def submitted(clerk: User, draft: Claim) -> Claim:
    return services.claim_submit(claim_id=draft.pk, actor=clerk)


@pytest.fixture
def reported(submitted: Claim) -> Claim:
    """Submitted and sent in the unit's quarterly report: ready for review."""
    send_to_prefecture(submitted)
    submitted.refresh_from_db()
    return submitted


def nothing_stored() -> bool:
    return not Claim.objects.exists() and not ClaimEvent.objects.exists()


# --- Create ---------------------------------------------------------------------------
def test_create_returns_201_with_a_draft_and_its_decision(clerk, body):
    response = client_for(clerk).post(CLAIMS, body(), format="json")

    assert response.status_code == 201
    data = response.json()
    assert data["status"] == "draft"
    assert data["decision"]["eligible"] is True
    assert data["decision"]["cap"] == "1800.00"
    assert data["decision"]["amount"] == "1800.00"
    assert data["decision"]["fund"] == "special"
    assert data["decision"]["violations"] == []
    assert Claim.objects.get(pk=data["id"]).created_by == clerk


def test_a_claim_carries_every_contract_field_as_given(clerk, body):
    sent = body()
    data = client_for(clerk).post(CLAIMS, sent, format="json").json()

    assert set(data) >= CONTRACT_BODY_KEYS | {"id", "status", "decision"}
    assert {key: data[key] for key in CONTRACT_BODY_KEYS} == sent
    assert set(data["decision"]) == CONTRACT_DECISION_KEYS | DECISION_EXTRAS


def test_a_claim_carries_read_only_extras(clerk, body, trainee):
    data = client_for(clerk).post(CLAIMS, body(), format="json").json()

    assert data["trainee_name"] == trainee.name
    assert data["trainee_id_number_masked"] == trainee.id_number_masked
    assert data["program_name"] and data["unit_name"] == "阿勒泰市"
    assert data["created_by"] == "clerk_a"
    assert data["created_at"] and data["submitted_at"] is None
    assert data["reviewed_by"] is None and data["approved_amount"] is None
    assert data["allowed_actions"] == ["edit", "submit", "withdraw", "delete"]


def test_the_full_id_number_is_never_in_a_claim(clerk, body, trainee):
    response = client_for(clerk).post(CLAIMS, body(), format="json")

    assert trainee.id_number not in response.content.decode()


def test_unit_defaults_to_the_clerks_own(clerk, body):
    sent = body()
    del sent["unit"]

    response = client_for(clerk).post(CLAIMS, sent, format="json")

    assert response.status_code == 201
    assert response.json()["unit"] == "654301"


def test_a_refused_draft_is_still_saved(clerk, body):
    response = client_for(clerk).post(
        CLAIMS, body(amount_requested="5000.00"), format="json"
    )

    assert response.status_code == 201
    decision = response.json()["decision"]
    assert decision["eligible"] is False
    assert [v["code"] for v in decision["violations"]] == ["over_cap"]
    assert set(decision["violations"][0]) == {"code", "message", "clause"}


def test_status_amounts_and_maker_cannot_be_written(clerk, reviewer, body):
    sent = body() | {
        "status": "approved",
        "created_by": reviewer.pk,
        "reviewed_by": reviewer.pk,
        "approved_amount": "9999.00",
        "amount": "9999.00",
        "cap": "9999.00",
        "eligible": True,
        "submitted_at": "2020-01-01T00:00:00Z",
        "id": 424242,
    }

    data = client_for(clerk).post(CLAIMS, sent, format="json").json()

    claim = Claim.objects.get()
    assert data["id"] == claim.pk != 424242
    assert (claim.status, claim.created_by, claim.reviewed_by) == (
        "draft",
        clerk,
        None,
    )
    assert claim.approved_amount is None and claim.submitted_at is None
    assert str(claim.amount) == "1800.00" and str(claim.cap) == "1800.00"


def test_a_clerk_cannot_file_for_another_unit(clerk, body):
    response = client_for(clerk).post(CLAIMS, body(unit_id="654322"), format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert nothing_stored()


@pytest.mark.parametrize("role", ["reviewer", "finance", "auditor", "administrator"])
def test_only_clerks_create_claims(request, role, body):
    user = request.getfixturevalue(role)
    sent = body()

    response = client_for(user).post(CLAIMS, sent, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert nothing_stored()


def test_anonymous_is_refused_with_json(body):
    for response in (
        client_for(None).get(CLAIMS),
        client_for(None).post(CLAIMS, body(), format="json"),
    ):
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"
        assert response.json()["message"]
    assert nothing_stored()


# --- Bad input: a clear 400 that changes nothing --------------------------------------
BAD_INPUTS = {
    "amount NaN": {"amount_requested": "NaN"},
    "amount Infinity": {"amount_requested": "Infinity"},
    "amount 3 decimals": {"amount_requested": "1.234"},
    "amount negative": {"amount_requested": "-1"},
    # a claim of nothing was eligible, and took one of the person's three subsidies
    # of the year and their trade and level for good
    "amount zero": {"amount_requested": "0"},
    "amount minus zero": {"amount_requested": "-0.00"},
    "amount huge": {"amount_requested": "1e20"},
    "amount not a number": {"amount_requested": "一千八"},
    "amount missing": {"amount_requested": None},
    "unknown trade": {"trade": "9-99-99-99"},
    "unknown level": {"level": "grandmaster"},
    "unknown program": {"program": 25},
    "unknown institution": {"institution": 999999},
    "unknown employer": {"employer": 999999},
    "unknown trainee": {"trainee": 999999},
    "unknown unit": {"unit": "999999"},
    "months negative": {"work_in_lieu_months": -1},
    "months absurd": {"work_in_lieu_months": 121},
    "certificate too long": {"certificate_number": "X" * 51},
    "unknown employment": {"employment": "astronaut"},
    "date malformed": {"training_start": "2020-02-30"},
    "date missing": {"training_end": None},
}


@pytest.mark.parametrize("change", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_is_a_400_and_nothing_is_stored(clerk, body, change):
    sent = body() | change

    response = client_for(clerk).post(CLAIMS, sent, format="json")

    assert response.status_code == 400
    data = response.json()
    assert data["code"] == "invalid" and data["message"]
    assert set(data["fields"]) & set(change)
    assert nothing_stored()


@pytest.mark.parametrize("field", ["trainee", "program", "institution", "employer"])
def test_an_id_with_a_fraction_is_refused_not_rounded_to_another_record(
    clerk, body, field
):
    """``"trainee": 1.5`` once made a claim for person 1: Django's integer lookup
    rounds a JSON number down. An id is a whole number."""
    sent = body()
    if sent.get(field) is None:
        sent[field] = sent["institution"]  # the employer: the institution, say
    sent[field] = sent[field] + 0.5

    response = client_for(clerk).post(CLAIMS, sent, format="json")

    assert response.status_code == 400, response.json()
    data = response.json()
    assert data["code"] == "invalid"
    assert "整数" in data["fields"][field][0]
    assert nothing_stored()


def test_end_before_start_is_refused_with_invalid_dates(clerk, body):
    sent = body(training_start=date(2020, 5, 1), training_end=date(2020, 4, 30))

    response = client_for(clerk).post(CLAIMS, sent, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_dates"
    assert "training_end" in response.json()["fields"]
    assert nothing_stored()


def test_a_nan_json_literal_is_a_parse_error(clerk, body):
    raw = '{"amount_requested": NaN}'

    response = client_for(clerk).post(CLAIMS, raw, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert nothing_stored()


# --- The dry run ----------------------------------------------------------------------
def test_check_returns_the_decision_and_stores_nothing(clerk, body):
    response = client_for(clerk).post(CHECK, body(), format="json")

    assert response.status_code == 200
    data = response.json()
    assert set(data) == CONTRACT_DECISION_KEYS | DECISION_EXTRAS
    assert (data["eligible"], data["cap"], data["amount"], data["advance"]) == (
        True,
        "1800.00",
        "1800.00",
        "0.00",
    )
    assert nothing_stored()


def test_check_reports_end_before_start_in_the_decision(clerk, body):
    sent = body(training_start=date(2020, 5, 1), training_end=date(2020, 4, 30))

    response = client_for(clerk).post(CHECK, sent, format="json")

    assert response.status_code == 200
    assert "invalid_dates" in [v["code"] for v in response.json()["violations"]]
    assert response.json()["eligible"] is False
    assert nothing_stored()


def test_check_judges_history_from_the_database(clerk, submitted, body):
    response = client_for(clerk).post(CHECK, body(), format="json")

    codes = [v["code"] for v in response.json()["violations"]]
    assert codes == ["duplicate_trade_level"]


def test_check_project_based_uplift_and_advance(clerk, body):
    county_uplift("654301")  # the county's decision (issue 13, 4)
    sent = body(
        project_based=True,
        training_start=date(2020, 3, 1),
        training_end=date(2020, 4, 30),
        amount_requested="2700.00",
    )

    data = client_for(clerk).post(CHECK, sent, format="json").json()

    # the dry run shows what the project is worth, and that a project-based claim of
    # program 9 comes from a filed class, not by hand (class_required, issue 16)
    assert (data["eligible"], data["cap"], data["advance"], data["payee"]) == (
        False,
        "2700.00",
        "1080.00",
        "institution",
    )
    assert [v["code"] for v in data["violations"]] == ["class_required"]


def test_check_refuses_bad_input_with_400(clerk, body):
    response = client_for(clerk).post(
        CHECK, body() | {"amount_requested": "NaN"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_check_for_another_unit_is_forbidden_to_a_clerk(clerk, body):
    response = client_for(clerk).post(CHECK, body(unit_id="654322"), format="json")

    assert response.status_code == 403


# --- Submit ---------------------------------------------------------------------------
def test_submit_returns_the_submitted_claim(clerk, draft):
    response = client_for(clerk).post(url(draft.pk, "submit"))

    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "submitted" and data["submitted_at"]
    assert data["allowed_actions"] == ["withdraw"]


def test_submit_of_an_ineligible_claim_is_409_with_the_decision(clerk, claim_input):
    claim = services.claim_create(data=claim_input(employment="none"), actor=clerk)

    response = client_for(clerk).post(url(claim.pk, "submit"))

    assert response.status_code == 409
    data = response.json()
    assert data["code"] == "not_eligible" and data["message"]
    assert "detail" not in data
    assert set(data["decision"]) == CONTRACT_DECISION_KEYS | DECISION_EXTRAS
    assert data["decision"]["eligible"] is False
    assert [v["code"] for v in data["decision"]["violations"]] == [
        "employment_required"
    ]
    claim.refresh_from_db()
    assert claim.status == "draft"


def test_submitting_twice_is_a_409_invalid_transition(clerk, submitted):
    response = client_for(clerk).post(url(submitted.pk, "submit"))

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"


# --- The unit scope: another unit's claim is a 404 ------------------------------------
@pytest.mark.parametrize(
    ("method", "action"),
    [
        ("get", ""),
        ("get", "events"),
        ("patch", ""),
        ("put", ""),
        ("post", "submit"),
        ("post", "withdraw"),
    ],
)
def test_another_units_claim_is_404_like_a_missing_one(
    other_clerk, draft, body, method, action
):
    client = client_for(other_clerk)
    payload = body(unit_id="654322") if method in ("put", "patch") else {}

    hidden = getattr(client, method)(url(draft.pk, action), payload, format="json")
    missing = getattr(client, method)(url(999999, action), payload, format="json")

    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()
    assert hidden.json()["code"] == "not_found"
    draft.refresh_from_db()
    assert draft.status == "draft"


def test_another_units_claims_are_not_listed(clerk, other_clerk, draft):
    assert client_for(other_clerk).get(CLAIMS).json()["count"] == 0
    assert client_for(clerk).get(CLAIMS).json()["count"] == 1


def test_an_administrator_sees_no_claims(administrator, draft):
    client = client_for(administrator)

    assert client.get(CLAIMS).json()["count"] == 0
    assert client.get(url(draft.pk)).status_code == 404
    assert client.post(url(draft.pk, "approve")).status_code == 404


@pytest.mark.parametrize("role", ["reviewer", "finance", "auditor"])
def test_prefecture_roles_read_every_unit(request, role, submitted):
    client = client_for(request.getfixturevalue(role))

    listed = client.get(CLAIMS).json()
    detail = client.get(url(submitted.pk))
    events = client.get(url(submitted.pk, "events"))

    assert [c["id"] for c in listed["results"]] == [submitted.pk]
    assert detail.status_code == 200 and detail.json()["status"] == "submitted"
    assert [e["action"] for e in events.json()] == ["create", "submit"]


# --- Roles on transitions -------------------------------------------------------------
@pytest.mark.parametrize(
    ("role", "action"),
    [
        ("finance", "approve"),
        ("auditor", "approve"),
        ("auditor", "withdraw"),
        ("finance", "withdraw"),
        ("finance", "reject"),
        ("reviewer", "withdraw"),
        ("clerk", "approve"),
        ("clerk", "return"),
    ],
)
def test_a_wrong_role_is_403_with_a_code(request, submitted, role, action):
    user = request.getfixturevalue(role)

    response = client_for(user).post(
        url(submitted.pk, action), {"reason": "理由"}, format="json"
    )

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    submitted.refresh_from_db()
    assert submitted.status == "submitted"


def test_a_reviewer_cannot_edit_a_claim(reviewer, draft, body):
    response = client_for(reviewer).patch(
        url(draft.pk), {"amount_requested": "1.00"}, format="json"
    )

    assert response.status_code == 403
    draft.refresh_from_db()
    assert str(draft.amount_requested) == "1800.00"


def test_approve_records_reviewer_and_amount(reviewer, reported):
    # before the report's sample is drawn the approval is refused, saying why
    refused = client_for(reviewer).post(url(reported.pk, "approve"))
    assert refused.status_code == 409
    assert refused.json()["code"] == "spot_checks_not_drawn"
    assert "随机抽查" in refused.json()["message"]
    clear_spot_checks(reported.report, reviewer)

    response = client_for(reviewer).post(url(reported.pk, "approve"))

    assert response.status_code == 200
    data = response.json()
    assert (data["status"], data["approved_amount"], data["reviewed_by"]) == (
        "approved",
        "1800.00",
        "reviewer",
    )
    assert data["allowed_actions"] == []


def test_the_maker_cannot_check_their_own_claim(clerk, reported):
    # the clerk who entered it is later made a reviewer
    clerk.role = "prefecture_reviewer"
    clerk.unit = None
    clerk.save()
    client = client_for(clerk)

    assert client.get(url(reported.pk)).json()["allowed_actions"] == []
    response = client.post(url(reported.pk, "approve"))

    assert response.status_code == 403
    assert "本人录入" in response.json()["message"]
    reported.refresh_from_db()
    assert reported.status == "submitted"


@pytest.mark.parametrize("action", ["reject", "return"])
@pytest.mark.parametrize(
    "payload", [{}, {"reason": ""}, {"reason": "   "}, {"reason": None}]
)
def test_reject_and_return_require_a_reason(reviewer, reported, action, payload):
    response = client_for(reviewer).post(
        url(reported.pk, action), payload, format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "reason_required"
    reported.refresh_from_db()
    assert reported.status == "submitted"


def test_reject_with_a_reason_records_it(reviewer, reported):
    response = client_for(reviewer).post(
        url(reported.pk, "reject"), {"reason": "材料不实"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["status"] == "rejected"
    event = ClaimEvent.objects.get(claim=reported, action="reject")
    assert (event.reason, event.actor) == ("材料不实", reviewer)


def test_a_returned_claim_is_corrected_and_resubmitted(clerk, reviewer, reported):
    client_for(reviewer).post(
        url(reported.pk, "return"), {"reason": "证书编号有误"}, format="json"
    )
    clerk_client = client_for(clerk)

    edited = clerk_client.patch(
        url(reported.pk), {"certificate_number": "CERT-9999"}, format="json"
    )
    rereported = clerk_client.post(url(reported.pk, "submit"))

    assert edited.status_code == 200
    assert edited.json()["status"] == "returned"
    assert edited.json()["certificate_number"] == "CERT-9999"
    assert rereported.json()["status"] == "submitted"
    events = clerk_client.get(url(reported.pk, "events")).json()
    assert [e["action"] for e in events] == [
        "create",
        "submit",
        "report",
        "return",
        "edit",
        "submit",
    ]
    assert events[3]["reason"] == "证书编号有误"
    assert events[4]["changes"] == {
        "certificate_number": [reported.certificate_number, "CERT-9999"]
    }
    assert set(events[0]) >= {
        "actor",
        "at",
        "action",
        "from_status",
        "to_status",
        "reason",
        "changes",
    }
    assert events[0]["actor"] == "clerk_a"


def test_withdraw_by_the_clerk(clerk, submitted):
    response = client_for(clerk).post(url(submitted.pk, "withdraw"))

    assert response.status_code == 200
    assert response.json()["status"] == "withdrawn"


def test_approve_of_a_draft_is_409(reviewer, draft):
    response = client_for(reviewer).post(url(draft.pk, "approve"))

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"


# --- Update ---------------------------------------------------------------------------
def test_patch_changes_a_field_and_judges_again(clerk, draft):
    response = client_for(clerk).patch(
        url(draft.pk), {"amount_requested": "5000.00"}, format="json"
    )

    assert response.status_code == 200
    data = response.json()
    assert data["amount_requested"] == "5000.00"
    assert data["training_start"] == "2020-03-01"  # untouched fields stay
    assert [v["code"] for v in data["decision"]["violations"]] == ["over_cap"]


def test_put_replaces_the_body(clerk, draft, body):
    response = client_for(clerk).put(
        url(draft.pk), body(amount_requested="1500.00"), format="json"
    )

    assert response.status_code == 200
    assert response.json()["decision"]["amount"] == "1500.00"


def test_patch_cannot_write_status(clerk, draft):
    response = client_for(clerk).patch(
        url(draft.pk), {"status": "approved"}, format="json"
    )

    assert response.status_code == 200
    draft.refresh_from_db()
    assert draft.status == "draft"


def test_patch_with_end_before_start_is_invalid_dates(clerk, draft):
    response = client_for(clerk).patch(
        url(draft.pk), {"training_end": "2020-02-01"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_dates"
    draft.refresh_from_db()
    assert draft.training_end == date(2020, 3, 31)


def test_patch_to_another_unit_is_forbidden(clerk, draft):
    response = client_for(clerk).patch(url(draft.pk), {"unit": "654322"}, format="json")

    assert response.status_code == 403
    draft.refresh_from_db()
    assert draft.unit_id == "654301"


def test_a_submitted_claim_cannot_be_edited(clerk, submitted):
    response = client_for(clerk).patch(
        url(submitted.pk), {"amount_requested": "1.00"}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"


def test_patch_with_a_bad_amount_changes_nothing(clerk, draft):
    response = client_for(clerk).patch(
        url(draft.pk), {"amount_requested": "1.234"}, format="json"
    )

    assert response.status_code == 400
    assert ClaimEvent.objects.filter(claim=draft).count() == 1


# --- Lists ----------------------------------------------------------------------------
@pytest.fixture
def three_claims(
    clerk: User,
    claim_input: Callable[..., ClaimInput],
    trainee: Trainee,
    institution: Institution,
) -> dict[str, Claim]:
    other = TraineeFactory(name="张三", groups=["laid_off"])
    q1 = services.claim_create(data=claim_input(), actor=clerk)
    q2 = services.claim_create(
        data=claim_input(
            trainee_id=other.pk,
            training_start=date(2020, 4, 1),
            training_end=date(2020, 5, 31),
        ),
        actor=clerk,
    )
    services.claim_submit(claim_id=q2.pk, actor=clerk)
    q4 = services.claim_create(
        data=claim_input(
            trade_id="4-10-01-05",
            training_start=date(2020, 11, 1),
            training_end=date(2020, 12, 15),
        ),
        actor=clerk,
    )
    return {"q1": q1, "q2": q2, "q4": q4, "other": other}


def test_the_list_is_paginated(clerk, three_claims):
    data = client_for(clerk).get(CLAIMS).json()

    # the contract's four keys, and whether the count is an estimate (issue 20)
    assert set(data) == {"count", "count_is_estimate", "next", "previous", "results"}
    assert data["count_is_estimate"] is False
    assert data["count"] == 3 and data["next"] is None and data["previous"] is None
    assert {c["id"] for c in data["results"]} == {
        three_claims[k].pk for k in ("q1", "q2", "q4")
    }
    assert set(data["results"][0]) >= CONTRACT_BODY_KEYS | {"id", "status", "decision"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "submitted"}, {"q2"}),
        ({"status": "draft"}, {"q1", "q4"}),
        ({"quarter": "2020Q1"}, {"q1"}),
        ({"quarter": "2020q2"}, {"q2"}),
        ({"quarter": "2020Q4"}, {"q4"}),
        ({"q": "张三"}, {"q2"}),
        ({"unit": "654301", "status": "draft", "quarter": "2020Q4"}, {"q4"}),
        ({"unit": "654322"}, set()),
        ({"program": 9}, {"q1", "q2", "q4"}),
    ],
)
def test_the_list_filters(clerk, three_claims, query, expected):
    data = client_for(clerk).get(CLAIMS, query).json()

    assert {c["id"] for c in data["results"]} == {three_claims[k].pk for k in expected}


@pytest.mark.parametrize("quarter", ["2020Q5", "9999Q4", "0001Q1"])
def test_a_quarter_filter_it_does_not_know_is_a_400(clerk, three_claims, quarter):
    response = client_for(clerk).get(CLAIMS, {"quarter": quarter})

    assert response.status_code == 400
    assert "quarter" in response.json()["fields"]


def test_the_list_filters_by_full_id_number(clerk, three_claims):
    number = three_claims["other"].id_number

    data = client_for(clerk).get(CLAIMS, {"q": number}).json()

    assert [c["id"] for c in data["results"]] == [three_claims["q2"].pk]
    assert number not in str(data)


def test_the_list_filters_by_trainee(clerk, three_claims, trainee):
    data = client_for(clerk).get(CLAIMS, {"trainee": trainee.pk}).json()

    assert {c["id"] for c in data["results"]} == {
        three_claims["q1"].pk,
        three_claims["q4"].pk,
    }


def test_an_unknown_status_filter_is_a_400(clerk, three_claims):
    response = client_for(clerk).get(CLAIMS, {"status": "paid"})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_a_page_beyond_the_end_is_a_json_404(clerk, three_claims):
    response = client_for(clerk).get(CLAIMS, {"page": 9})

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_the_list_does_not_query_per_claim(
    clerk, reviewer, reported, claim_input, django_assert_max_num_queries
):
    # given claims with and without a trade, one reviewed in a submitted report
    clear_spot_checks(reported.report, reviewer)
    quarter_services.claim_approve(claim_id=reported.pk, actor=reviewer, reason="")
    for _ in range(4):
        services.claim_create(
            data=claim_input(trainee_id=TraineeFactory().pk), actor=clerk
        )
    for user in (clerk, reviewer):
        client = client_for(user)

        # the page is read in a fixed number of queries: the count, the claims with
        # their person and institution, the policy entries' ids and the names of
        # the program, trade, level, unit, users and report of the page (one query),
        # and the page's warnings (two: claims.warnings.warnings_for_claims — one
        # statement for the overlaps, certificates and ages, and whether any claim
        # came from a class, issue 16)
        with django_assert_max_num_queries(6):
            response = client.get(CLAIMS)

        listed = response.json()
        assert listed["count"] == 5
        # and each listed claim is exactly what its own page answers
        for item in listed["results"]:
            assert item == client.get(url(item["id"])).json()
        assert {i["reviewed_by"] for i in listed["results"]} == {"reviewer", None}


# --- Work in lieu, end to end ---------------------------------------------------------
def test_work_in_lieu_claim_through_the_api(clerk):
    # 三(二)9: the hard to employ are trained in lieu of work by an insured enterprise
    enterprise = InstitutionFactory(kind="enterprise", unit_id="654301", insured=True)
    person = TraineeFactory(groups=["hard_to_employ"])
    sent = {
        "trainee": person.pk,
        "program": 9,
        "trade": None,
        "level": None,
        "institution": enterprise.pk,
        "employer": enterprise.pk,
        "training_start": "2020-01-01",
        "training_end": "2020-04-30",
        "work_in_lieu_months": 4,
        "amount_requested": "1200.00",
    }
    client = client_for(clerk)

    created = client.post(CLAIMS, sent, format="json")
    response = client.post(url(created.json()["id"], "submit"))

    assert response.status_code == 200, response.json()
    decision = response.json()["decision"]
    assert (decision["cap"], decision["advance"], decision["payee"]) == (
        "1200.00",
        "480.00",
        "institution",
    )


def test_unknown_api_path_is_json_404(clerk):
    response = client_for(clerk).get("/api/no-such-thing/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


# --- A returned claim still counts: edits the database refuses are 409s, never 500s --
@pytest.fixture
def returned(reviewer: User, reported: Claim) -> Claim:
    return quarter_services.claim_return(
        claim_id=reported.pk, actor=reviewer, reason="请核对"
    )


def test_a_returned_claim_moved_to_another_year_moves_its_slot(clerk, returned):
    response = client_for(clerk).patch(
        url(returned.pk),
        {"training_start": "2020-12-20", "training_end": "2021-01-05"},
        format="json",
    )

    assert response.status_code == 200
    returned.refresh_from_db()
    assert (returned.limit_year, returned.limit_slot) == (2021, 1)


def test_a_returned_claim_cannot_become_a_duplicate_trade_level(
    clerk, claim_input, returned
):
    other = services.claim_create(data=claim_input(trade_id="4-10-01-05"), actor=clerk)
    services.claim_submit(claim_id=other.pk, actor=clerk)

    response = client_for(clerk).patch(
        url(returned.pk), {"trade": "4-10-01-05"}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["code"] == "duplicate_trade_level"
    returned.refresh_from_db()
    assert returned.trade_id == "4-03-02-01"


def test_a_returned_claim_cannot_go_over_its_cap(clerk, returned):
    response = client_for(clerk).patch(
        url(returned.pk), {"amount_requested": "5000.00"}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["code"] == "over_cap"
    returned.refresh_from_db()
    assert str(returned.amount_requested) == "1800.00"


# --- Odd input never reaches the database as a 500 -------------------------------------
HUGE = "9" * 30


@pytest.mark.parametrize(
    "path", [f"{CLAIMS}{HUGE}/", f"{CLAIMS}{HUGE}/events/", f"/api/trainees/{HUGE}/"]
)
def test_an_id_beyond_any_integer_is_a_404(clerk, path):
    response = client_for(clerk).get(path)

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize(
    "change",
    [{"trainee": int(HUGE)}, {"institution": int(HUGE)}, {"program": HUGE}],
)
def test_a_reference_beyond_any_integer_is_a_400(clerk, body, change):
    response = client_for(clerk).post(CLAIMS, body() | change, format="json")

    assert response.status_code == 400
    assert nothing_stored()


def test_a_nul_character_is_a_400(clerk, draft):
    before = draft.certificate_number
    response = client_for(clerk).patch(
        url(draft.pk), {"certificate_number": "A\x00B"}, format="json"
    )

    assert response.status_code == 400
    draft.refresh_from_db()
    assert draft.certificate_number == before
