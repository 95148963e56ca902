"""Issue 13, items 1 and 4: the notice's terms end with its plan (2019—2021), and the
project uplift is a county's decision — through the services and through the API, with
successor terms and decisions entered by an administrator (POST /api/policy-entries/).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from altay_skills.errors import Conflict
from claims import services
from claims.services import ClaimInput
from programs.models import PolicyEntry
from programs.services import policy_entry_create
from tests.claims.test_apis import as_body

pytestmark = pytest.mark.django_db

CHECK = "/api/claims/check/"
ENTRIES = "/api/policy-entries/"
NOTICE = "阿行办发〔2019〕50号"


def client_for(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def ending(day: date, *, start: date | None = None) -> dict[str, date]:
    return {"training_start": start or day.replace(day=1), "training_end": day}


def enter(administrator: User, **body: Any) -> Any:
    return client_for(administrator).post(ENTRIES, body, format="json")


def enter_successor_terms(administrator: User, document: str) -> None:
    """An administrator enters a period of successor terms for 2022 and the figures a
    program 9 claim needs, each with its document, through the API."""
    period = {"effective_from": "2022-01-01", "effective_to": "2022-12-31"}
    common = {"clause": "三(二)9", "source_document": document, **period}
    for body in (
        {"kind": "plan_period", "clause": "标题、二"},
        {"kind": "cap", "program": 9, "amount": "1800.00"},
        {"kind": "annual_limit", "quantity": 3, "clause": "五(二)"},
        {"kind": "limit_year_start_month", "quantity": 1, "clause": "五(二)"},
        {"kind": "advance_ratio", "ratio": "0.40", "clause": "五(二)"},
    ):
        response = enter(administrator, **{**common, **body})
        assert response.status_code == 201, response.json()


# --- 1. The plan never ends ------------------------------------------------------------
@pytest.mark.parametrize(
    "end", [date(2022, 6, 30), date(2023, 5, 1), date(2024, 6, 30), date(2018, 12, 31)]
)
def test_a_claim_ended_outside_the_plan_is_refused_and_not_submitted(
    clerk: User, claim_input: Callable[..., ClaimInput], end: date
) -> None:
    claim = services.claim_create(data=claim_input(**ending(end)), actor=clerk)

    assert claim.eligible is False
    assert [v["code"] for v in claim.violations] == ["policy_not_in_force"]
    message = claim.violations[0]["message"]
    assert "2019-01-01至2021-12-31" in message and NOTICE in message
    with pytest.raises(Conflict):
        services.claim_submit(claim_id=claim.pk, actor=clerk)


def test_the_plans_last_day_is_in_force(
    clerk: User, claim_input: Callable[..., ClaimInput]
) -> None:
    data = claim_input(**ending(date(2021, 12, 31)))

    claim = services.claim_submit(
        claim_id=services.claim_create(data=data, actor=clerk).pk, actor=clerk
    )

    assert claim.status == "submitted"
    assert any("2019-01-01至2021-12-31" in line for line in claim.explanation)


def test_the_dry_run_names_the_period_and_does_not_pile_on_missing_caps(
    clerk: User, claim_input: Callable[..., ClaimInput]
) -> None:
    body = as_body(claim_input(**ending(date(2023, 5, 1))))

    response = client_for(clerk).post(CHECK, body, format="json")

    assert response.status_code == 200
    decision = response.json()
    assert decision["eligible"] is False
    assert [v["code"] for v in decision["violations"]] == ["policy_not_in_force"]
    assert decision["violations"][0]["clause"] == "标题、二"
    assert NOTICE in decision["violations"][0]["message"]


def test_successor_terms_entered_with_their_document_let_a_later_claim_in(
    clerk: User, administrator: User, claim_input: Callable[..., ClaimInput]
) -> None:
    body = as_body(claim_input(**ending(date(2022, 6, 30))))
    assert (
        client_for(clerk).post(CHECK, body, format="json").json()["eligible"] is False
    )

    enter_successor_terms(administrator, "阿地人社发〔2022〕1号")
    decision = client_for(clerk).post(CHECK, body, format="json").json()

    assert decision["eligible"] is True, decision["violations"]
    assert decision["cap"] == "1800.00"
    assert any("阿地人社发〔2022〕1号" in line for line in decision["explanation"])
    # a claim after the successor period is refused again, naming both periods
    later = as_body(claim_input(**ending(date(2023, 5, 1))))
    refused = client_for(clerk).post(CHECK, later, format="json").json()
    message = refused["violations"][0]["message"]
    assert "2022-01-01至2022-12-31（阿地人社发〔2022〕1号）" in message
    assert f"2019-01-01至2021-12-31（{NOTICE}）" in message


# --- 4. The uplift is a county's decision -------------------------------------------------
def project(claim_input: Callable[..., ClaimInput], **overrides: Any) -> ClaimInput:
    """A project-based program 9 claim of two months (三(二)9), 2700 requested."""
    fields: dict[str, Any] = {
        "project_based": True,
        "training_start": date(2020, 3, 1),
        "training_end": date(2020, 4, 30),
        "amount_requested": Decimal("2700.00"),
    }
    return claim_input(**(fields | overrides))


def test_without_the_countys_decision_there_is_no_uplift(
    clerk: User, claim_input: Callable[..., ClaimInput]
) -> None:
    decision = services.claim_check(data=project(claim_input), actor=clerk)

    assert decision.cap == Decimal("1800.00")
    # by hand a project of program 9 is refused anyway: it comes from a class (issue 16)
    assert decision.codes == ["class_required", "over_cap"]
    assert any("上浮决定" in line and "不上浮" in line for line in decision.explanation)


def test_the_countys_decision_entered_through_the_api_raises_its_cap_only(
    clerk: User,
    other_clerk: User,
    administrator: User,
    claim_input: Callable[..., ClaimInput],
) -> None:
    response = enter(
        administrator,
        kind="project_uplift",
        program=9,
        unit="654301",
        ratio="0.30",
        effective_from="2020-01-01",
        clause="三(二)9",
        source_document="阿市人社发〔2020〕3号",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["unit"] == "654301"

    mine = (
        client_for(clerk)
        .post(CHECK, as_body(project(claim_input)), format="json")
        .json()
    )
    assert mine["cap"] == "2340.00"  # 1800 × 1.3
    assert any("阿市人社发〔2020〕3号" in line for line in mine["explanation"])
    # 富蕴县 made no decision: its project stays at 1800
    theirs = services.claim_check(
        data=project(claim_input, unit_id="654322"), actor=other_clerk
    )
    assert theirs.cap == Decimal("1800.00")


def test_a_prefecture_wide_uplift_is_history_and_not_applied(
    clerk: User, claim_input: Callable[..., ClaimInput]
) -> None:
    # the notice's own prefecture-wide uplift row is kept (claims decided with it
    # keep it) but a new decision applies no uplift from it
    assert PolicyEntry.objects.filter(kind="project_uplift", unit=None).exists()

    decision = services.claim_check(
        data=project(claim_input, amount_requested=Decimal("1800.00")), actor=clerk
    )

    assert decision.cap == Decimal("1800.00")


# --- POST /api/policy-entries/: the administrator's entry and its refusals --------------
def test_every_signed_in_user_reads_the_policy_entries(clerk: User) -> None:
    response = client_for(clerk).get(ENTRIES)

    assert response.status_code == 200
    periods = [e for e in response.json() if e["kind"] == "plan_period"]
    assert [(p["effective_from"], p["effective_to"]) for p in periods] == [
        ("2019-01-01", "2021-12-31")
    ]
    assert APIClient().get(ENTRIES).status_code == 401


@pytest.mark.parametrize("role", ["clerk", "reviewer", "finance", "auditor"])
def test_only_an_administrator_enters_policy(role: str, request: Any) -> None:
    user = request.getfixturevalue(role)
    before = PolicyEntry.objects.count()

    response = enter(
        user,
        kind="plan_period",
        effective_from="2022-01-01",
        clause="标题、二",
        source_document="x",
    )

    assert response.status_code == 403
    assert PolicyEntry.objects.count() == before


REFUSED = {
    "overlap": (
        {"kind": "cap", "program": 9, "amount": "2000.00"},
        "policy_overlap",
        "重叠",
    ),
    "cap without amount": ({"kind": "cap", "program": 9}, "invalid_value", "金额"),
    "period with an amount": (
        {"kind": "plan_period", "amount": "1.00"},
        "invalid_value",
        "不使用",
    ),
    "uplift without unit": (
        {"kind": "project_uplift", "program": 9, "ratio": "0.5"},
        "invalid_value",
        "须填写作出决定的单位",
    ),
    "uplift above half": (
        {"kind": "project_uplift", "program": 9, "unit": "654301", "ratio": "0.6"},
        "invalid_value",
        "0.5",
    ),
    "uplift of zero": (
        {"kind": "project_uplift", "program": 9, "unit": "654301", "ratio": "0"},
        "invalid_value",
        "大于0",
    ),
    "month 13": (
        {"kind": "work_year_start_month", "quantity": 13},
        "invalid_value",
        "1—12",
    ),
    "dates reversed": (
        {"kind": "plan_period", "effective_to": "2019-12-31"},
        "invalid_dates",
        "失效日期",
    ),
}


@pytest.mark.parametrize("case", REFUSED.values(), ids=REFUSED.keys())
def test_a_bad_policy_entry_is_a_chinese_400_and_writes_nothing(
    administrator: User, case: tuple[dict[str, Any], str, str]
) -> None:
    fields, code, words = case
    before = PolicyEntry.objects.count()
    body = {
        "effective_from": "2020-07-01",
        "clause": "三(二)9",
        "source_document": "测试文件",
        **fields,
    }

    response = enter(administrator, **body)

    assert response.status_code == 400, response.json()
    assert response.json()["code"] == code
    assert words in response.json()["message"]
    assert PolicyEntry.objects.count() == before


def test_an_unknown_kind_or_reference_is_a_400(administrator: User) -> None:
    base = {"effective_from": "2022-01-01", "clause": "x", "source_document": "x"}
    for extra in ({"kind": "bonus"}, {"kind": "plan_period", "unit": "999999"}):
        response = enter(administrator, **{**base, **extra})
        assert response.status_code == 400


def test_the_service_records_who_entered_the_entry(administrator: User) -> None:
    entry = policy_entry_create(
        actor=administrator,
        kind="plan_period",
        effective_from=date(2022, 1, 1),
        effective_to=date(2025, 12, 31),
        clause="标题、二",
        source_document="阿行办发〔2022〕1号",
    )

    last = entry.history.latest()
    assert last.history_user == administrator
    assert last.history_change_reason == "管理员录入政策标准"
