"""The quarter's money over the API: the rollup (202, then polling), the workbook,
payments, recoveries, notices and the public side — for every role."""

from __future__ import annotations

import io
import json
import re
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

from django.db.models import Sum

import pytest
from openpyxl import load_workbook
from rest_framework.test import APIClient

from accounts.models import User
from claims import services as claim_services
from claims.models import Claim
from finance import services
from finance.models import Payment, Recovery, Rollup, RollupLine
from programs.services import enter_illustrative_terms
from quarters import services as quarter_services
from tests.class_run import claim_through_class
from tests.factories import InstitutionFactory
from tests.quarter_run import run_quarter
from trainees.models import Trainee

pytestmark = pytest.mark.django_db

ROLLUPS = "/api/rollups/"
PAYMENTS = "/api/payments/"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PAID_ON = "2020-05-10"
ROLES = ["clerk", "reviewer", "finance", "auditor", "administrator"]
ID_NUMBER = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])")


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def rollup_url(rollup_id: int, action: str = "") -> str:
    return f"{ROLLUPS}{rollup_id}/{action + '/' if action else ''}"


@pytest.fixture(autouse=True)
def media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def request_rollup(django_capture_on_commit_callbacks, reviewer):
    """POST the quarter to finance; the task queued on commit runs (eager Celery)."""

    def post(quarter="2020Q1", user=None):
        with django_capture_on_commit_callbacks(execute=True):
            return client_for(user or reviewer).post(
                ROLLUPS, {"quarter": quarter}, format="json"
            )

    return post


@pytest.fixture
def ready(closed_quarter, request_rollup):
    """The quarter run through and its rollup built."""
    request_rollup()
    closed_quarter.rollup = Rollup.objects.get()
    return closed_quarter


def payment_body(claim: Claim, kind: str = "balance", **changes) -> dict:
    amount = claim.approved_amount if kind == "balance" else claim.advance
    return {
        "claim": claim.pk,
        "kind": kind,
        "amount": str(amount),
        "paid_on": PAID_ON,
        "status": "paid",
        "reference": "PZ-001",
    } | changes


def approved_total() -> Decimal:
    """The sum of the approved claims, to the fen (SQLite drops trailing zeros)."""
    total = Claim.objects.filter(status="approved").aggregate(t=Sum("approved_amount"))[
        "t"
    ]
    return Decimal(total).quantize(Decimal("0.01"))


# --- The rollup: 202, then polling ------------------------------------------------------
def test_the_reviewer_queues_the_rollup_and_polls_it_to_ready(
    closed_quarter, reviewer, django_capture_on_commit_callbacks
):
    client = client_for(reviewer)

    # when the reviewer sends the quarter (the task waits for the commit)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post(ROLLUPS, {"quarter": "2020Q1"}, format="json")

    # then the request is accepted and the rollup is queued
    assert response.status_code == 202
    data = response.json()
    assert (data["quarter"], data["status"], data["progress"]) == (
        "2020Q1",
        "queued",
        0,
    )
    assert data["totals"] is None and data["checksum"] == "" and data["lines"] == []
    assert data["workbook_url"] is None and data["payments"] is None
    assert len(queued) == 1
    assert client.get(rollup_url(data["id"])).json()["status"] == "queued"

    # when the task runs
    queued[0]()

    # then polling shows it ready, with its totals and checksum
    polled = client.get(rollup_url(data["id"])).json()
    assert (polled["status"], polled["progress"], polled["attempts"]) == (
        "ready",
        100,
        1,
    )
    assert re.fullmatch(r"[0-9a-f]{64}", polled["checksum"])
    assert re.fullmatch(r"[0-9a-f]{64}", polled["workbook_sha256"])
    assert polled["finished_at"] and polled["requested_by"] == "reviewer"
    assert polled["workbook_url"] == f"/api/rollups/{data['id']}/xlsx/"


def test_a_ready_rollup_carries_totals_lines_and_payments(ready, reviewer):
    data = client_for(reviewer).get(rollup_url(ready.rollup.pk)).json()

    total = approved_total()
    assert data["totals"] == {
        "trained": 6,
        "passed": 6,
        "employed": 6,
        "approved": str(total),
        "advance": data["totals"]["advance"],
        "balance": str(total - Decimal(data["totals"]["advance"])),
        "recovery": "0.00",
        "lines": 2,
    }
    assert [line["unit"] for line in data["lines"]] == ["654301", "654322"]
    line = data["lines"][0]
    assert set(line) == {
        "unit",
        "unit_name",
        "program",
        "program_name",
        "fund",
        "fund_label",
        "trained",
        "passed",
        "employed",
        "approved",
        "advance",
        "balance",
        "recovery",
    }
    db_line = RollupLine.objects.get(unit_id="654301")
    assert (line["unit_name"], line["approved"], line["balance"]) == (
        "阿勒泰市",
        str(db_line.approved),
        str(db_line.balance),
    )
    assert data["payments"] == {
        "claims": 6,
        "due": str(total),
        "paid": "0.00",
        "outstanding": str(total),
    }


def test_requesting_a_ready_rollup_again_returns_it_unchanged(ready, request_rollup):
    before = Rollup.objects.get()

    response = request_rollup()

    assert response.status_code == 200
    assert response.json()["id"] == before.pk
    assert response.json()["checksum"] == before.checksum
    assert Rollup.objects.get().attempts == before.attempts


@pytest.mark.parametrize("role", ["clerk", "finance", "auditor", "administrator"])
def test_only_reviewers_request_rollups(request, role, closed_quarter, request_rollup):
    response = request_rollup(user=request.getfixturevalue(role))

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert not Rollup.objects.exists()


@pytest.mark.parametrize(
    "body",
    [{"quarter": "2020Q5"}, {"quarter": "Q1"}, {"quarter": ""}, {}],
    ids=["Q5", "no year", "empty", "missing"],
)
def test_a_bad_quarter_queues_nothing(closed_quarter, reviewer, body):
    response = client_for(reviewer).post(ROLLUPS, body, format="json")

    assert response.status_code == 400
    assert "quarter" in response.json()["fields"]
    assert not Rollup.objects.exists()


def test_a_quarter_under_review_cannot_be_rolled_up(clerk, claim_input, request_rollup):
    draft = claim_services.claim_create(data=claim_input(), actor=clerk)
    claim_services.claim_submit(claim_id=draft.pk, actor=clerk)
    report = quarter_services.report_build(
        unit_id="654301", quarter="2020Q1", actor=clerk
    )
    quarter_services.report_submit(report_id=report.pk, actor=clerk)

    response = request_rollup()

    assert response.status_code == 409
    assert response.json()["code"] == "reports_under_review"
    assert not Rollup.objects.exists()


def test_a_quarter_without_reports_cannot_be_rolled_up(reviewer, request_rollup):
    response = request_rollup(quarter="2020Q2")

    assert response.status_code == 409
    assert response.json()["code"] == "no_closed_reports"


@pytest.mark.parametrize(
    ("role", "sees"),
    [
        ("clerk", False),
        ("reviewer", True),
        ("finance", True),
        ("auditor", True),
        ("administrator", False),
    ],
)
def test_rollups_are_read_by_reviewer_finance_and_auditor(request, role, sees, ready):
    client = client_for(request.getfixturevalue(role))

    listed = client.get(ROLLUPS)
    detail = client.get(rollup_url(ready.rollup.pk))

    assert listed.status_code == 200
    assert [r["id"] for r in listed.json()["results"]] == (
        [ready.rollup.pk] if sees else []
    )
    assert detail.status_code == (200 if sees else 404)


def test_anonymous_is_refused_with_json(ready):
    anonymous = client_for(None)
    for response in (
        anonymous.get(ROLLUPS),
        anonymous.post(ROLLUPS, {"quarter": "2020Q1"}, format="json"),
        anonymous.get(rollup_url(ready.rollup.pk)),
        anonymous.get(rollup_url(ready.rollup.pk, "xlsx")),
        anonymous.get(PAYMENTS),
        anonymous.post(PAYMENTS, payment_body(ready.approved[0]), format="json"),
        anonymous.get("/api/advances/"),
        anonymous.get("/api/recoveries/"),
        anonymous.post("/api/recoveries/1/settle/"),
        anonymous.get("/api/notifications/"),
        anonymous.get(f"/api/claims/{ready.approved[0].pk}/payments/"),
    ):
        assert response.status_code == 401, response.request
        assert response.json()["code"] == "not_authenticated"
    assert not Payment.objects.exists()


@pytest.fixture
def failed_rollup(closed_quarter, monkeypatch, request_rollup):
    def crash(*args, **kwargs):
        raise OSError("磁盘已满")

    monkeypatch.setattr(services.exports, "write_finance_workbook", crash)
    request_rollup()
    monkeypatch.undo()
    return Rollup.objects.get()


@pytest.mark.parametrize(
    ("role", "shown"), [("reviewer", True), ("auditor", True), ("finance", False)]
)
def test_the_error_of_a_failed_rollup_is_shown_to_reviewer_and_auditor(
    request, role, shown, failed_rollup
):
    data = client_for(request.getfixturevalue(role)).get(rollup_url(failed_rollup.pk))

    assert data.json()["status"] == "failed"
    assert (data.json()["error"] == "OSError: 磁盘已满") is shown
    assert (data.json()["error"] is None) is not shown


def test_a_failed_rollup_is_queued_again_and_completes(failed_rollup, request_rollup):
    response = request_rollup()

    assert response.status_code == 202
    failed_rollup.refresh_from_db()
    assert failed_rollup.status == "ready" and failed_rollup.attempts == 2


# --- The workbook ---------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["finance", "reviewer", "auditor"])
def test_the_workbook_downloads_and_reconciles_to_the_database(request, role, ready):
    response = client_for(request.getfixturevalue(role)).get(
        rollup_url(ready.rollup.pk, "xlsx")
    )

    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert 'filename="altay-disbursement-2020Q1.xlsx"' in disposition
    assert (
        f"filename*=UTF-8''{quote('阿勒泰地区补贴拨付表-2020Q1.xlsx')}" in disposition
    )
    body = b"".join(response.streaming_content)
    assert response["X-Workbook-SHA256"] == ready.rollup.workbook_sha256
    book = load_workbook(io.BytesIO(body))
    sheet = book["职业技能提升行动专项资金"]
    rows = list(sheet.iter_rows(min_row=3, values_only=True))
    lines, total = rows[:-1], rows[-1]
    approved = Claim.objects.filter(status="approved").order_by("unit_id", "pk")
    assert [r[0] for r in lines] == [c.pk for c in approved]
    assert Decimal(str(total[11])) == approved_total()
    for row, claim in zip(lines, approved, strict=True):
        assert Decimal(str(row[11])) == claim.approved_amount
    for sheet in book.worksheets:
        for row in sheet.iter_rows(values_only=True):
            for value in row:
                assert not ID_NUMBER.search(str(value or ""))


def test_the_workbook_comes_even_when_the_client_asks_only_for_xlsx(finance, ready):
    response = client_for(finance).get(
        rollup_url(ready.rollup.pk, "xlsx"), HTTP_ACCEPT=XLSX
    )

    assert response.status_code == 200
    assert response["Content-Type"] == XLSX


@pytest.mark.parametrize("role", ["clerk", "administrator"])
def test_others_cannot_download_the_workbook(request, role, ready):
    response = client_for(request.getfixturevalue(role)).get(
        rollup_url(ready.rollup.pk, "xlsx")
    )

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_a_workbook_not_ready_is_a_json_409(failed_rollup, finance):
    response = client_for(finance).get(
        rollup_url(failed_rollup.pk, "xlsx"), HTTP_ACCEPT=XLSX
    )

    assert response.status_code == 409
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "rollup_not_ready"


def test_a_workbook_path_outside_media_root_is_never_served(ready, finance, tmp_path):
    outside = tmp_path.parent / "secret.xlsx"
    outside.write_bytes(b"not yours")
    Rollup.objects.filter(pk=ready.rollup.pk).update(workbook="../secret.xlsx")

    response = client_for(finance).get(rollup_url(ready.rollup.pk, "xlsx"))

    assert response.status_code == 409
    assert response.json()["code"] == "workbook_missing"


def test_a_changed_workbook_is_never_served(ready, finance, media):
    path = Path(media) / ready.rollup.workbook
    path.write_bytes(path.read_bytes() + b"tampered")

    response = client_for(finance).get(rollup_url(ready.rollup.pk, "xlsx"))

    assert response.status_code == 409
    assert response.json()["code"] == "workbook_mismatch"


def test_a_deleted_workbook_is_a_409(ready, finance, media):
    (Path(media) / ready.rollup.workbook).unlink()

    response = client_for(finance).get(rollup_url(ready.rollup.pk, "xlsx"))

    assert response.status_code == 409
    assert response.json()["code"] == "workbook_missing"


# --- Payments ------------------------------------------------------------------------------------
def test_finance_records_a_payment(ready, finance):
    claim = ready.approved[0]

    response = client_for(finance).post(PAYMENTS, payment_body(claim), format="json")

    assert response.status_code == 201
    data = response.json()
    payment = Payment.objects.get()
    assert data["id"] == payment.pk
    assert (data["claim"], data["kind"], data["amount"], data["status"]) == (
        claim.pk,
        "balance",
        str(claim.approved_amount),
        "paid",
    )
    assert (data["rollup"], data["paid_on"], data["reference"]) == (
        ready.rollup.pk,
        PAID_ON,
        "PZ-001",
    )
    assert data["recorded_by"] == "finance" and data["claim_payment_state"] == "paid"
    assert data["trainee_id_number_masked"] == claim.trainee.id_number_masked
    assert claim.trainee.id_number not in response.content.decode()


def test_nothing_is_paid_twice(ready, finance):
    client = client_for(finance)
    body = payment_body(ready.approved[0])
    client.post(PAYMENTS, body, format="json")

    response = client.post(PAYMENTS, body, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "already_paid"
    assert Payment.objects.count() == 1


def test_an_advance_then_the_balance(claim_input, reviewer, finance, request_rollup):
    client = client_for(finance)
    advances = {}

    def pay_the_advance(report):  # while the report is with the prefecture
        claim = report.claims.filter(advance__gt=0).order_by("pk").first()
        if claim is not None:
            advances[claim.pk] = client.post(
                PAYMENTS, payment_body(claim, "advance"), format="json"
            )

    quarter = run_quarter(claim_input, reviewer, on_submitted=pay_the_advance)
    request_rollup()
    claim = quarter.approved[0]  # enterprise-run: 40% advanced before the approval
    state = client.get(f"/api/claims/{claim.pk}/payments/").json()["payment_state"]
    wrong = client.post(PAYMENTS, payment_body(claim), format="json")
    balance = client.post(
        PAYMENTS,
        payment_body(claim, amount=str(claim.approved_amount - claim.advance)),
        format="json",
    )

    assert list(advances) == [claim.pk]
    assert advances[claim.pk].status_code == 201
    assert state == "partly_paid"
    assert wrong.status_code == 400 and wrong.json()["code"] == "amount_mismatch"
    assert balance.status_code == 201
    assert balance.json()["claim_payment_state"] == "paid"


def test_no_advance_once_the_report_is_closed(ready, finance):
    claim = ready.approved[0]  # enterprise-run, but its report is closed

    response = client_for(finance).post(
        PAYMENTS, payment_body(claim, "advance"), format="json"
    )

    assert response.status_code == 409
    assert response.json()["code"] == "not_payable"
    assert not Payment.objects.exists()


def test_a_failed_payment_is_reissued(ready, finance):
    claim = ready.approved[0]
    client = client_for(finance)

    failed = client.post(
        PAYMENTS,
        payment_body(claim, status="failed", failure_reason="账户已注销"),
        format="json",
    )
    state = client.get(f"/api/claims/{claim.pk}/payments/").json()
    reissued = client.post(
        PAYMENTS, payment_body(claim, reissue_of=failed.json()["id"]), format="json"
    )
    again = client.post(
        PAYMENTS,
        payment_body(
            claim,
            status="failed",
            failure_reason="仍失败",
            reissue_of=failed.json()["id"],
        ),
        format="json",
    )

    assert failed.status_code == 201 and failed.json()["status"] == "failed"
    assert state["payment_state"] == "failed"
    assert reissued.status_code == 201
    assert reissued.json()["reissue_of"] == failed.json()["id"]
    assert reissued.json()["claim_payment_state"] == "paid"
    assert again.status_code == 409
    listed = client.get(PAYMENTS, {"claim": claim.pk}).json()["results"]
    first = next(p for p in listed if p["id"] == failed.json()["id"])
    assert first["reissued_by"] == reissued.json()["id"]


def test_a_failure_needs_a_reason(ready, finance):
    response = client_for(finance).post(
        PAYMENTS, payment_body(ready.approved[0], status="failed"), format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "reason_required"
    assert not Payment.objects.exists()


def test_no_balance_before_the_rollup_is_ready(closed_quarter, finance):
    response = client_for(finance).post(
        PAYMENTS, payment_body(closed_quarter.approved[0]), format="json"
    )

    assert response.status_code == 409
    assert response.json()["code"] == "not_payable"
    assert not Payment.objects.exists()


BAD_PAYMENTS = {
    "amount negative": {"amount": "-1.00"},
    "amount zero": {"amount": "0"},
    "amount NaN": {"amount": "NaN"},
    "amount Infinity": {"amount": "Infinity"},
    "amount 3 decimals": {"amount": "1.001"},
    "amount text": {"amount": "一千"},
    "amount missing": {"amount": None},
    "paid in the future": {"paid_on": (date.today() + timedelta(days=2)).isoformat()},
    "date malformed": {"paid_on": "2020-02-30"},
    "unknown claim": {"claim": 999999},
    "claim beyond any integer": {"claim": int("9" * 30)},
    "unknown kind": {"kind": "bonus"},
    "unknown status": {"status": "pending"},
    "unknown reissue": {"reissue_of": 999999},
    "reference too long": {"reference": "X" * 61},
}


@pytest.mark.parametrize("change", BAD_PAYMENTS.values(), ids=BAD_PAYMENTS.keys())
def test_bad_payment_input_is_a_400_and_nothing_is_stored(ready, finance, change):
    response = client_for(finance).post(
        PAYMENTS, payment_body(ready.approved[0]) | change, format="json"
    )

    assert response.status_code == 400
    assert set(response.json()["fields"]) & set(change)
    assert not Payment.objects.exists()


def test_a_future_payment_date_has_its_own_code(ready, finance):
    tomorrow = (date.today() + timedelta(days=2)).isoformat()

    response = client_for(finance).post(
        PAYMENTS, payment_body(ready.approved[0], paid_on=tomorrow), format="json"
    )

    assert response.json()["code"] == "invalid_dates"


def test_a_nan_json_literal_is_a_parse_error(ready, finance):
    raw = json.dumps(payment_body(ready.approved[0])).replace(
        f'"{ready.approved[0].approved_amount}"', "NaN"
    )

    response = client_for(finance).post(PAYMENTS, raw, content_type="application/json")

    assert response.status_code == 400
    assert not Payment.objects.exists()


@pytest.mark.parametrize("role", ["clerk", "reviewer", "auditor", "administrator"])
def test_only_finance_records_payments(request, role, ready):
    response = client_for(request.getfixturevalue(role)).post(
        PAYMENTS, payment_body(ready.approved[0]), format="json"
    )

    assert response.status_code == 403
    assert not Payment.objects.exists()


@pytest.mark.parametrize("role", ["clerk", "reviewer"])
def test_others_learn_nothing_from_a_payment_body(request, role, ready):
    body = payment_body(ready.approved[0]) | {"claim": 999999, "reissue_of": 999999}

    response = client_for(request.getfixturevalue(role)).post(
        PAYMENTS, body, format="json"
    )

    assert response.status_code == 403


@pytest.fixture
def paid(ready, finance):
    for claim in ready.approved[:2]:
        services.payment_record(
            claim_id=claim.pk,
            kind="balance",
            amount=claim.approved_amount,
            paid_on=date(2020, 5, 10),
            status="paid",
            actor=finance,
        )
    return ready


@pytest.mark.parametrize(
    ("role", "code"),
    [
        ("clerk", 403),
        ("reviewer", 200),
        ("finance", 200),
        ("auditor", 200),
        ("administrator", 403),
    ],
)
def test_payments_are_read_by_finance_auditor_and_reviewer(request, role, code, paid):
    response = client_for(request.getfixturevalue(role)).get(PAYMENTS)

    assert response.status_code == code
    if code == 200:
        assert response.json()["count"] == 2


def test_payments_filter(paid, finance):
    client = client_for(finance)
    claim = paid.approved[0]

    assert [
        p["claim"] for p in client.get(PAYMENTS, {"claim": claim.pk}).json()["results"]
    ] == [claim.pk]
    assert client.get(PAYMENTS, {"rollup": paid.rollup.pk}).json()["count"] == 2
    assert client.get(PAYMENTS, {"status": "failed"}).json()["count"] == 0
    assert client.get(PAYMENTS, {"kind": "advance"}).json()["count"] == 0
    assert client.get(PAYMENTS, {"status": "lost"}).status_code == 400
    assert client.get(PAYMENTS, {"claim": "x"}).status_code == 400


def test_the_rollup_shows_what_has_been_paid(paid, finance):
    data = client_for(finance).get(rollup_url(paid.rollup.pk)).json()

    paid_total = sum(c.approved_amount for c in paid.approved[:2])
    assert data["payments"]["paid"] == str(paid_total)
    assert data["payments"]["outstanding"] == str(approved_total() - paid_total)


def test_the_payments_list_does_not_query_per_payment(
    paid, finance, django_assert_max_num_queries
):
    client = client_for(finance)

    with django_assert_max_num_queries(4):
        response = client.get(PAYMENTS)

    assert response.json()["count"] == 2


@pytest.mark.parametrize(
    ("role", "code"),
    [
        ("q_clerk_a", 200),
        ("q_clerk_b", 404),
        ("reviewer", 200),
        ("finance", 200),
        ("auditor", 200),
        ("administrator", 404),
    ],
)
def test_a_claims_payments_follow_the_claims_scope(request, role, code, paid):
    if role.startswith("q_"):
        user = User.objects.get(username=role)
    else:
        user = request.getfixturevalue(role)
    claim = paid.approved[0]  # of 654301

    response = client_for(user).get(f"/api/claims/{claim.pk}/payments/")

    assert response.status_code == code
    if code == 200:
        data = response.json()
        assert (data["claim"], data["payment_state"]) == (claim.pk, "paid")
        assert len(data["payments"]) == 1


def test_an_unpaid_claim_shows_unpaid(ready, finance):
    claim = ready.approved[1]

    data = client_for(finance).get(f"/api/claims/{claim.pk}/payments/").json()

    assert (data["payment_state"], data["payments"]) == ("unpaid", [])


# --- Advances and recoveries ---------------------------------------------------------------
@pytest.fixture
def in_report(clerk, claim_input, institution):
    """A provider's project-based claim in a submitted report: its advance may be
    paid (五(二))."""
    draft = claim_through_class(claim_input(project_based=True), clerk=clerk)
    claim = claim_services.claim_submit(claim_id=draft.pk, actor=clerk)
    report = quarter_services.report_build(
        unit_id="654301", quarter="2020Q1", actor=clerk
    )
    quarter_services.report_submit(report_id=report.pk, actor=clerk)
    claim.refresh_from_db()
    return claim


def test_finance_lists_the_advances_payable_with_masked_ids(in_report, finance):
    response = client_for(finance).get("/api/advances/")

    assert response.status_code == 200
    [row] = response.json()["results"]
    assert (row["claim"], row["advance"], row["quarter"], row["payee"]) == (
        in_report.pk,
        "720.00",
        "2020Q1",
        "institution",
    )
    assert row["trainee_id_number_masked"] == in_report.trainee.id_number_masked
    assert in_report.trainee.id_number not in response.content.decode()


def test_a_paid_advance_leaves_the_list(in_report, finance):
    client = client_for(finance)

    paid = client.post(PAYMENTS, payment_body(in_report, "advance"), format="json")

    assert paid.status_code == 201
    assert client.get("/api/advances/").json()["results"] == []


@pytest.mark.parametrize(
    ("role", "code"),
    [
        ("clerk", 403),
        ("reviewer", 403),
        ("finance", 200),
        ("auditor", 200),
        ("administrator", 403),
    ],
)
def test_advances_and_recoveries_are_read_by_finance_and_auditor(
    request, role, code, in_report
):
    client = client_for(request.getfixturevalue(role))

    assert client.get("/api/advances/").status_code == code
    assert client.get("/api/recoveries/").status_code == code


@pytest.fixture
def recovery(in_report, finance, reviewer):
    """The advance was paid, then the claim was rejected: it is to be recovered."""
    services.payment_record(
        claim_id=in_report.pk,
        kind="advance",
        amount=in_report.advance,
        paid_on=date(2020, 4, 10),
        status="paid",
        actor=finance,
    )
    quarter_services.claim_reject(
        claim_id=in_report.pk, actor=reviewer, reason="未完成"
    )
    return Recovery.objects.get()


def test_recoveries_are_listed_until_settled(recovery, finance):
    client = client_for(finance)

    listed = client.get("/api/recoveries/").json()["results"]
    settled = client.post(
        f"/api/recoveries/{recovery.pk}/settle/", {"reference": "退款001"}
    )
    open_after = client.get("/api/recoveries/").json()["results"]
    everything = client.get("/api/recoveries/", {"settled": "true"}).json()["results"]

    assert [(r["id"], r["amount"], r["settled"]) for r in listed] == [
        (recovery.pk, "720.00", False)
    ]
    assert listed[0]["reason"] == "申报被驳回：未完成"
    assert settled.status_code == 200
    assert (settled.json()["settled"], settled.json()["settled_by"]) == (
        True,
        "finance",
    )
    assert settled.json()["settlement_reference"] == "退款001"
    assert open_after == []
    assert [r["id"] for r in everything] == [recovery.pk]


def test_a_recovery_is_settled_once(recovery, finance):
    client = client_for(finance)
    url = f"/api/recoveries/{recovery.pk}/settle/"
    without = client.post(url)
    first = client.post(url, {"reference": "退款001"})

    response = client.post(url, {"reference": "退款002"})

    assert without.status_code == 400
    assert without.json()["code"] == "reference_required"
    assert first.status_code == 200
    assert response.status_code == 409
    assert response.json()["code"] == "already_settled"
    recovery.refresh_from_db()
    assert recovery.settlement_reference == "退款001"


@pytest.mark.parametrize("role", ["clerk", "reviewer", "auditor", "administrator"])
def test_only_finance_settles(request, role, recovery):
    response = client_for(request.getfixturevalue(role)).post(
        f"/api/recoveries/{recovery.pk}/settle/"
    )

    assert response.status_code == 403
    recovery.refresh_from_db()
    assert recovery.settled_at is None


def test_settling_an_unknown_recovery_is_a_404(finance):
    response = client_for(finance).post("/api/recoveries/999999/settle/")

    assert response.status_code == 404


def test_a_bad_settlement_is_a_400(recovery, finance):
    response = client_for(finance).post(
        f"/api/recoveries/{recovery.pk}/settle/", {"reference": "X" * 61}
    )

    assert response.status_code == 400
    recovery.refresh_from_db()
    assert recovery.settled_at is None


# --- Notifications --------------------------------------------------------------------------
def test_each_role_gets_its_notifications(
    ready, reviewer, finance, auditor, administrator
):
    clerk = User.objects.get(username="q_clerk_a")

    as_clerk = client_for(clerk).get("/api/notifications/").json()
    as_finance = client_for(finance).get("/api/notifications/").json()
    as_admin = client_for(administrator).get("/api/notifications/").json()
    as_auditor = client_for(auditor).get("/api/notifications/").json()

    assert all(set(n) == {"text", "link", "level"} for n in as_clerk + as_finance)
    assert any("驳回" in n["text"] and n["level"] == "danger" for n in as_clerk)
    assert any("2020Q1季度报表已审结" in n["text"] for n in as_clerk)
    assert [n["text"] for n in as_finance] == [
        "2020Q1季度汇总已生成，可下载拨付表并登记拨付"
    ]
    assert as_admin == [] and as_auditor == []


def test_a_reviewer_is_told_of_reports_waiting(clerk, reviewer, in_report):
    data = client_for(reviewer).get("/api/notifications/").json()

    assert [n["level"] for n in data] == ["warning"]
    assert "待审核" in data[0]["text"]


# --- The public side ------------------------------------------------------------------------
PUBLIC = [
    "/api/public/disclosure/",
    "/api/public/programs/",
    "/api/public/institutions/",
]


def assert_no_personal_data(text: str) -> None:
    assert not ID_NUMBER.search(text)
    for name, number in Trainee.objects.values_list("name", "id_number"):
        assert name not in text
        assert number not in text
        assert number[-4:] + '"' not in text


@pytest.mark.parametrize("path", PUBLIC)
def test_the_public_side_needs_no_login_and_shows_no_person(ready, path):
    response = APIClient().get(path)

    assert response.status_code == 200
    assert_no_personal_data(response.content.decode())


@pytest.mark.parametrize("path", PUBLIC)
def test_a_bad_token_does_not_shut_the_public_out(ready, path):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")

    assert client.get(path).status_code == 200


def test_the_disclosure_matches_the_database(ready):
    data = APIClient().get("/api/public/disclosure/").json()

    assert data["quarters"] == ["2020Q1"] and data["quarter"] is None
    assert data["person_times"] == 6
    assert data["amount"] == str(approved_total())
    assert {u["unit"] for u in data["by_unit"]} == {"阿勒泰市", "富蕴县"}
    assert sum(Decimal(u["amount"]) for u in data["by_unit"]) == approved_total()
    assert set(data["rows"][0]) == {
        "unit",
        "quarter",
        "program",
        "fund",
        "person_times",
        "amount",
    }
    assert data["rows"][0]["fund"] == "职业技能提升行动专项资金"


def test_the_disclosure_filters_by_quarter(ready):
    client = APIClient()

    q1 = client.get("/api/public/disclosure/", {"quarter": "2020q1"}).json()
    q2 = client.get("/api/public/disclosure/", {"quarter": "2020Q2"}).json()
    bad = client.get("/api/public/disclosure/", {"quarter": "2020Q5"})

    assert (q1["quarter"], q1["person_times"]) == ("2020Q1", 6)
    assert (q2["rows"], q2["person_times"], q2["amount"]) == ([], 0, "0.00")
    assert bad.status_code == 400 and "quarter" in bad.json()["fields"]


def test_nothing_is_disclosed_before_a_rollup_is_ready(closed_quarter):
    data = APIClient().get("/api/public/disclosure/").json()

    assert (data["rows"], data["by_unit"], data["quarters"]) == ([], [], [])


def test_the_program_catalogue_is_public(db):
    # the notice's caps ended with 2021 (issue 13, 1): today's are successor terms
    enter_illustrative_terms()
    data = APIClient().get("/api/public/programs/").json()

    by_number = {p["number"]: p for p in data}
    assert set(by_number) == {1, 2, 3, 5, 6, 7, 9, 10, 11}
    assert set(data[0]) == {"number", "name", "section", "fund", "caps", "basis"}
    assert "不超过4,000.00元/人" in " ".join(by_number[3]["caps"])


def test_the_institution_catalogue_is_public_registration_data(db):
    admitted = InstitutionFactory(unit_id="654322", kind="enterprise", name="富蕴矿业")
    InstitutionFactory(admitted=False, name="未列入目录的机构")

    data = APIClient().get("/api/public/institutions/").json()

    assert data == [
        {
            "name": "富蕴矿业",
            "kind": "enterprise",
            "kind_label": "企业",
            "unit": "654322",
            "unit_name": "富蕴县",
            "credit_code": admitted.credit_code,
        }
    ]


def test_the_public_side_is_read_only(db):
    for path in PUBLIC:
        assert APIClient().post(path, {}).status_code == 405
