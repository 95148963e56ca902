"""Issue 13, item 6: 三(三)10 经费从就业专项资金中列支，不足部分从职业技能提升行动专项经费
中补充. A program 10 claim is charged to the employment fund while the unit's
employment-fund budget for the year has room for it, and to the special fund beyond; the
fund is fixed at approval, under the budget's lock, and shown on the claim and in the
finance workbook. Without a budget, the employment fund.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.urls import reverse

import pytest
from openpyxl import load_workbook
from rest_framework.test import APIClient

from accounts.models import User
from claims import services
from claims.models import Claim, ClaimEvent
from claims.services import ClaimInput
from finance import services as finance_services
from programs.models import PolicyEntry
from quarters import budgets
from quarters import services as quarter_services
from tests.factories import TraineeFactory, send_to_prefecture

pytestmark = pytest.mark.django_db

UNIT, YEAR = "654301", 2020


@pytest.fixture(autouse=True)
def program_10_cap(db: Any) -> None:
    """Program 10's cap is set by 阿地人社发〔2018〕125号: illustrative here."""
    PolicyEntry.objects.create(
        program_id=10,
        kind="cap",
        amount=Decimal("1800.00"),
        effective_from=date(2019, 1, 1),
        effective_to=date(2021, 12, 31),
        clause="三(三)10",
        source_document="阿地人社发〔2018〕125号（测试用示意金额）",
        is_demo=True,
    )


def poor_claims(
    claim_input: Callable[..., ClaimInput],
    clerk: User,
    amounts: list[str],
    reviewer: User,
) -> list[Claim]:
    """Program 10 claims of registered poor labour, submitted and sent in a report,
    its spot checks drawn and cleared by ``reviewer`` (the test's reviewer)."""
    claims = []
    for amount in amounts:
        person = TraineeFactory(groups=["poor_labour"])
        data = claim_input(
            trainee_id=person.pk, program_id=10, amount_requested=Decimal(amount)
        )
        draft = services.claim_create(data=data, actor=clerk)
        assert draft.eligible, draft.violations
        claims.append(services.claim_submit(claim_id=draft.pk, actor=clerk))
    send_to_prefecture(*claims, sampled_by=reviewer)
    return claims


def employment_budget(finance: User, amount: str) -> None:
    budgets.budget_set(
        unit_id=UNIT, year=YEAR, fund="employment", amount=amount, actor=finance
    )


def test_program_10_is_charged_to_employment_while_its_budget_has_room(
    claim_input, clerk, reviewer, finance
):
    employment_budget(finance, "3000.00")
    first, second = poor_claims(claim_input, clerk, ["1800.00", "1500.00"], reviewer)
    assert first.fund == second.fund == "employment"  # until approved

    first = quarter_services.claim_approve(claim_id=first.pk, actor=reviewer)
    # 1800 + 1500 would pass the 3000 budget: the second goes to the special fund,
    # without an over-budget reason (the employment budget is never passed)
    second = quarter_services.claim_approve(claim_id=second.pk, actor=reviewer)

    assert (first.fund, second.fund) == ("employment", "special")
    event = ClaimEvent.objects.filter(claim=second, action="approve").get()
    assert event.changes["fund"] == {"before": "employment", "after": "special"}
    assert not ClaimEvent.objects.get(claim=first, action="approve").changes.get("fund")


def test_a_smaller_claim_still_fits_in_the_room_left(
    claim_input, clerk, reviewer, finance
):
    employment_budget(finance, "2500.00")
    big, bigger, small = poor_claims(
        claim_input, clerk, ["1800.00", "1000.00", "700.00"], reviewer
    )

    funds = [
        quarter_services.claim_approve(claim_id=c.pk, actor=reviewer).fund
        for c in (big, bigger, small)
    ]

    assert funds == ["employment", "special", "employment"]


def test_without_an_employment_budget_program_10_stays_on_employment(
    claim_input, clerk, reviewer
):
    claims = poor_claims(claim_input, clerk, ["1800.00", "1800.00"], reviewer)

    funds = {
        quarter_services.claim_approve(claim_id=c.pk, actor=reviewer).fund
        for c in claims
    }

    assert funds == {"employment"}


def test_another_program_on_employment_is_never_moved(
    claim_input, clerk, reviewer, finance
):
    # program 1 draws on the employment fund too, but has no shortfall fund
    employment_budget(finance, "0.00")
    (claim,) = poor_claims(claim_input, clerk, ["1800.00"], reviewer)
    Claim.objects.filter(pk=claim.pk).update(program_id=1)

    with pytest.raises(Exception, match="超出预算"):
        quarter_services.claim_approve(claim_id=claim.pk, actor=reviewer)
    assert Claim.objects.get(pk=claim.pk).fund == "employment"


def test_the_api_answers_with_the_fund_fixed_at_approval(
    claim_input, clerk, reviewer, finance
):
    employment_budget(finance, "1000.00")
    (claim,) = poor_claims(claim_input, clerk, ["1800.00"], reviewer)
    client = APIClient()
    client.force_authenticate(reviewer)

    response = client.post(f"/api/claims/{claim.pk}/approve/", {}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "approved"
    assert response.json()["decision"]["fund"] == "special"


def test_a_bulk_approval_charges_each_claim_in_turn_and_is_not_over_budget(
    claim_input, clerk, reviewer, finance
):
    employment_budget(finance, "2000.00")
    claims = poor_claims(claim_input, clerk, ["1800.00", "1800.00"], reviewer)
    impact = {
        (i.fund, i.claims, i.is_over)
        for i in budgets.budget_impact([c.pk for c in claims])
    }
    assert impact == {("employment", 1, False), ("special", 1, False)}
    client = APIClient()
    client.force_authenticate(reviewer)

    response = client.post(
        "/api/claims/approve-bulk/",
        {"claims": [c.pk for c in claims]},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert sorted(Claim.objects.values_list("fund", flat=True)) == [
        "employment",
        "special",
    ]


def test_the_claim_page_and_the_finance_workbook_show_the_fund(
    claim_input,
    clerk,
    reviewer,
    finance,
    client,
    settings,
    tmp_path,
    django_capture_on_commit_callbacks,
):
    settings.MEDIA_ROOT = tmp_path
    employment_budget(finance, "100.00")
    (claim,) = poor_claims(claim_input, clerk, ["1800.00"], reviewer)
    client.force_login(clerk)
    before = client.get(reverse("claim_detail", args=[claim.pk])).content.decode()
    assert "暂按就业专项资金" in before

    claim.refresh_from_db()
    quarter_services.claim_approve(claim_id=claim.pk, actor=reviewer)
    after = client.get(reverse("claim_detail", args=[claim.pk])).content.decode()
    assert "职业技能提升行动专项资金" in after
    assert "核准时按本单位当年就业专项资金预算余额确定" in after
    # the finance workbook: the claim is a line of the special fund's sheet
    quarter_services.report_close(report_id=claim.report_id, actor=reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        rollup = finance_services.rollup_request(quarter="2020Q1", actor=reviewer)
    rollup.refresh_from_db()
    book = load_workbook(Path(settings.MEDIA_ROOT) / rollup.workbook)
    special = book["职业技能提升行动专项资金"]
    # row 1 the sheet's title, row 2 the header (issue 15, 11: printed on every page)
    rows = list(special.iter_rows(min_row=3, values_only=True))
    assert [r[0] for r in rows[:-1]] == [claim.pk]
    assert "就业专项资金" not in book.sheetnames
