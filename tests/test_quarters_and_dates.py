"""Quarters and dates (issue 14, item 6): one validation, answered 400 everywhere.

Before, ``quarter=9999Q4`` or ``0000Q1`` was a 500 (``year 10000 is out of range``) on
the public disclosure, the claim, report and quarter lists and ``POST /api/reports/``;
``0001Q1`` built a report (201); a payment dated ``0001-01-01`` was recorded (201).
A quarter is ``2019Q1`` to ``2100Q4`` (``altay_skills.periods``); a payment is dated
neither before its claim's training ended nor after today (``finance.rules``).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.test import Client
from django.utils import timezone

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from altay_skills import periods
from finance import services as finance_services
from finance.models import Payment, Rollup
from quarters.models import QuarterlyReport

pytestmark = pytest.mark.django_db

OUT_OF_RANGE = ["9999Q4", "0000Q1", "0001Q1", "2018Q4", "2101Q1"]


def api_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def production(settings: Any) -> None:
    """DEBUG off, and a view's exception answered as the server would (no re-raise)."""
    settings.DEBUG = False


def test_a_quarter_is_2019_to_2100() -> None:
    assert (periods.FIRST_YEAR, periods.LAST_YEAR) == (2019, 2100)
    assert periods.quarter_bounds("2019Q1") == (date(2019, 1, 1), date(2019, 3, 31))
    assert periods.quarter_bounds("2100q4 ") == (date(2100, 10, 1), date(2100, 12, 31))
    for quarter in OUT_OF_RANGE:
        assert periods.quarter_bounds(quarter) is None, quarter


@pytest.mark.parametrize("quarter", OUT_OF_RANGE)
@pytest.mark.parametrize(
    ("who", "path"),
    [
        (None, "/api/public/disclosure/"),
        ("clerk", "/api/claims/"),
        ("reviewer", "/api/claims/"),
        ("reviewer", "/api/reports/"),
    ],
)
def test_a_quarter_out_of_range_in_a_list_is_a_json_400(
    request: pytest.FixtureRequest,
    production: None,
    who: str | None,
    path: str,
    quarter: str,
) -> None:
    user = request.getfixturevalue(who) if who else None
    client = api_for(user)
    client.raise_request_exception = False

    response = client.get(path, {"quarter": quarter})

    assert response.status_code == 400, response.content[:200]
    assert response["Content-Type"] == "application/json"
    assert "quarter" in response.json()["fields"]
    assert "2019" in str(response.json()["fields"]["quarter"])


@pytest.mark.parametrize("quarter", OUT_OF_RANGE)
@pytest.mark.parametrize(
    ("who", "path"),
    [
        (None, "/public/disclosure/"),
        ("clerk", "/claims/"),
        ("reviewer", "/reports/"),
    ],
)
def test_a_quarter_out_of_range_on_a_page_is_a_400(
    request: pytest.FixtureRequest,
    production: None,
    who: str | None,
    path: str,
    quarter: str,
) -> None:
    client = Client(raise_request_exception=False)
    if who:
        client.force_login(request.getfixturevalue(who))

    response = client.get(path, {"quarter": quarter})

    assert response.status_code == 400, response.status_code
    assert "季度格式应为" in response.content.decode()


@pytest.mark.parametrize("quarter", OUT_OF_RANGE)
def test_no_report_is_built_for_a_quarter_out_of_range(
    production: None, clerk: User, quarter: str
) -> None:
    client = api_for(clerk)
    client.raise_request_exception = False

    response = client.post("/api/reports/", {"quarter": quarter}, format="json")

    assert response.status_code == 400
    assert "quarter" in response.json()["fields"]
    assert not QuarterlyReport.objects.exists()


@pytest.mark.parametrize("quarter", ["9999Q4", "0001Q1"])
def test_no_rollup_is_requested_for_a_quarter_out_of_range(
    production: None, reviewer: User, quarter: str
) -> None:
    client = api_for(reviewer)
    client.raise_request_exception = False

    response = client.post("/api/rollups/", {"quarter": quarter}, format="json")

    assert response.status_code == 400
    assert not Rollup.objects.exists()


# --- Payments: not before the training ended, not after today -----------------------------
@pytest.fixture
def approved_claim(
    closed_quarter: Any, reviewer: User, django_capture_on_commit_callbacks: Any
) -> Any:
    with django_capture_on_commit_callbacks(execute=True):
        finance_services.rollup_request(quarter="2020Q1", actor=reviewer)
    return closed_quarter.approved[0]


def pay(finance: User, claim: Any, paid_on: str) -> Any:
    return api_for(finance).post(
        "/api/payments/",
        {
            "claim": claim.pk,
            "kind": "balance",
            "amount": str(claim.approved_amount),
            "paid_on": paid_on,
            "status": "paid",
            "reference": "BAL-1",
        },
        format="json",
    )


@pytest.mark.parametrize(
    "paid_on",
    [
        "0001-01-01",
        "1900-01-01",
        "2020-03-30",  # the day before the training ended
        str(date.today() + timedelta(days=2)),
    ],
)
def test_a_payment_dated_out_of_range_is_a_400(
    approved_claim: Any, finance: User, paid_on: str
) -> None:
    response = pay(finance, approved_claim, paid_on)

    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "invalid_dates"
    assert not Payment.objects.exists()


def test_the_service_refuses_a_payment_before_the_training_ended(
    approved_claim: Any, finance: User
) -> None:
    from altay_skills.errors import DomainError

    with pytest.raises(DomainError) as refused:
        finance_services.payment_record(
            claim_id=approved_claim.pk,
            kind="balance",
            amount=approved_claim.approved_amount,
            paid_on=approved_claim.training_end - timedelta(days=1),
            status="paid",
            actor=finance,
        )

    assert refused.value.code == "invalid_dates"
    assert not Payment.objects.exists()


@pytest.mark.parametrize("paid_on", ["2020-03-31", "today"])
def test_a_payment_from_the_training_end_to_today_is_recorded(
    approved_claim: Any, finance: User, paid_on: str
) -> None:
    day = str(timezone.localdate()) if paid_on == "today" else paid_on

    response = pay(finance, approved_claim, day)

    assert response.status_code == 201, response.json()
    assert str(Payment.objects.get().paid_on) == day


def test_the_payment_date_rule_is_pure_and_names_the_training_end() -> None:
    from finance.rules import payment_date_refusal

    end, today = date(2020, 3, 31), date(2020, 6, 1)
    assert payment_date_refusal(end, training_end=end, today=today) is None
    assert payment_date_refusal(today, training_end=end, today=today) is None
    early = payment_date_refusal(date(1, 1, 1), training_end=end, today=today)
    assert early is not None and "2020-03-31" in early
    late = payment_date_refusal(date(2020, 6, 2), training_end=end, today=today)
    assert late == "拨付日期不能晚于今天"
