"""The quarter's money in the browser: the rollup page and its progress, what finance
pays, the notices on the home page, and the public side with no personal data."""

import re
from datetime import date
from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

import pytest

from claims import services as claim_services
from finance import services
from finance.models import Payment, Recovery, Rollup
from programs.services import enter_illustrative_terms
from quarters import services as quarter_services
from tests.class_run import claim_through_class
from tests.factories import (
    InstitutionFactory,
    TraineeFactory,
    UserFactory,
    opened_evidence,
)
from tests.quarter_run import run_quarter
from trainees.models import Trainee

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
PAID_ON = date(2020, 5, 10)
#: An ID number anywhere in a page: 17 digits and a digit or X, not inside a longer run.
ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")


@pytest.fixture(autouse=True)
def media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def send(django_capture_on_commit_callbacks, reviewer):
    """Send the quarter to finance and run the queued task (eager Celery) on commit."""

    def request(quarter="2020Q1"):
        with django_capture_on_commit_callbacks(execute=True):
            return services.rollup_request(quarter=quarter, actor=reviewer)

    return request


@pytest.fixture
def ready(closed_quarter, send):
    rollup = send()
    rollup.refresh_from_db()
    closed_quarter.rollup = rollup
    return closed_quarter


def html_of(response):
    return response.content.decode()


def close_quarter(claim_input, reviewer, *, quarter="2020Q1", per_unit=2):
    """Two units' reports of ``per_unit`` enterprise-run claims each, all approved and
    closed (the enterprise-run claims carry a 40% advance)."""
    approved = []
    for unit in ("654301", "654322"):
        clerk = UserFactory(username=f"clerk_{unit}", role="county_clerk", unit_id=unit)
        school = InstitutionFactory(unit_id=unit)
        for _ in range(per_unit):
            person = TraineeFactory(groups=["poor_labour"], registered_by_unit_id=unit)
            draft = claim_through_class(
                claim_input(
                    trainee_id=person.pk,
                    unit_id=unit,
                    institution_id=school.pk,
                    project_based=True,
                ),
                clerk=clerk,
            )
            claim_services.claim_submit(claim_id=draft.pk, actor=clerk)
        report = quarter_services.report_build(
            unit_id=unit, quarter=quarter, actor=clerk
        )
        report = quarter_services.report_submit(report_id=report.pk, actor=clerk)
        quarter_services.report_draw_spot_checks(report_id=report.pk, actor=reviewer)
        for check in report.spot_checks.all():
            quarter_services.spot_check_record(
                spot_check_id=check.pk,
                actor=reviewer,
                result="consistent",
                documents=opened_evidence(check.pk, reviewer),
            )
        ids = list(report.claims.values_list("pk", flat=True))
        approved += quarter_services.claims_approve_bulk(claim_ids=ids, actor=reviewer)
        quarter_services.report_close(report_id=report.pk, actor=reviewer)
    return approved


# --- Sending the quarter to finance --------------------------------------------------------
def test_the_quarter_cannot_go_to_finance_while_a_report_is_under_review(
    client, clerk, reviewer, claim_input
):
    claim = claim_services.claim_create(data=claim_input(), actor=clerk)
    claim_services.claim_submit(claim_id=claim.pk, actor=clerk)
    report = quarter_services.report_build(
        unit_id="654301", quarter="2020Q1", actor=clerk
    )
    quarter_services.report_submit(report_id=report.pk, actor=clerk)
    client.force_login(reviewer)
    response = client.post(reverse("rollup_request"), {"quarter": "2020Q1"})
    assert response.status_code == 409
    html = html_of(response)
    assert "2020Q1还有报表未审结，请先审结" in html
    assert "2020Q1 季度审核" in html  # back on the quarter overview
    assert not Rollup.objects.exists()


def test_the_reviewer_sends_the_quarter_and_the_rollup_is_built(
    client, closed_quarter, reviewer, django_capture_on_commit_callbacks
):
    client.force_login(reviewer)
    overview = html_of(client.get(reverse("report_list"), {"quarter": "2020Q1"}))
    # two units of nine reported: never "all closed" (the review of session 25)
    assert "本季度报表已全部审结" not in overview
    assert 'data-testid="rollup-partial"' in overview
    assert "可以报送财政" in overview and "尚未报送本季度报表" in overview
    assert "哈巴河县" in overview.split('data-testid="rollup-partial"')[1]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("rollup_request"), {"quarter": "2020Q1"})
    rollup = Rollup.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("rollup_detail", args=[rollup.pk])
    assert rollup.status == "ready"
    html = html_of(client.get(response.url))
    total = sum(c.approved_amount for c in closed_quarter.approved)
    assert f'data-testid="total-approved">{total:.2f}<' in html
    assert rollup.checksum[:16] in html
    assert reverse("api-rollup-xlsx", args=[rollup.pk]) in html
    assert "阿勒泰市" in html and "富蕴县" in html
    assert 'hx-trigger="every 1s"' not in html


def test_a_rollup_request_needs_a_reviewer(client, closed_quarter, finance):
    client.force_login(finance)
    response = client.post(reverse("rollup_request"), {"quarter": "2020Q1"})
    assert response.status_code == 403
    assert not Rollup.objects.exists()


def test_a_queued_rollup_polls_its_progress(client, reviewer):
    rollup = Rollup.objects.create(quarter="2020Q1", requested_by=reviewer)
    client.force_login(reviewer)
    page = html_of(client.get(reverse("rollup_detail", args=[rollup.pk])))
    progress_url = reverse("rollup_progress", args=[rollup.pk])
    assert f'hx-get="{progress_url}"' in page
    assert 'hx-trigger="every 1s"' in page
    Rollup.objects.filter(pk=rollup.pk).update(status="running", progress=30)
    partial = client.get(progress_url, **HTMX)
    html = html_of(partial)
    assert "<html" not in html
    assert 'hx-trigger="every 1s"' in html
    assert "30%" in html
    assert "HX-Refresh" not in partial.headers


def test_the_progress_stops_polling_when_the_rollup_is_ready(
    client, closed_quarter, reviewer
):
    rollup = Rollup.objects.create(quarter="2020Q1", requested_by=reviewer)
    services.rollup_build(rollup_id=rollup.pk)
    client.force_login(reviewer)
    partial = client.get(reverse("rollup_progress", args=[rollup.pk]), **HTMX)
    assert "hx-trigger" not in html_of(partial)
    assert partial.headers["HX-Refresh"] == "true"  # the page reloads with the result


def test_a_failed_rollup_shows_its_error_to_the_reviewer_and_can_be_rerun(
    client, closed_quarter, reviewer, finance, django_capture_on_commit_callbacks
):
    rollup = Rollup.objects.create(
        quarter="2020Q1",
        requested_by=reviewer,
        status="failed",
        attempts=1,
        error="OSError: disk full",
    )
    client.force_login(finance)
    html = html_of(client.get(reverse("rollup_detail", args=[rollup.pk])))
    assert "汇总生成失败" in html
    assert "disk full" not in html
    assert 'data-testid="retry-rollup"' not in html
    client.force_login(reviewer)
    html = html_of(client.get(reverse("rollup_detail", args=[rollup.pk])))
    assert "OSError: disk full" in html
    assert "重新生成" in html
    partial = client.get(reverse("rollup_progress", args=[rollup.pk]), **HTMX)
    assert "hx-trigger" not in html_of(partial)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("rollup_request"), {"quarter": "2020Q1"})
    assert response.status_code == 302
    rollup.refresh_from_db()
    assert rollup.status == "ready"


@pytest.mark.parametrize(("role", "code"), [("clerk", 404), ("administrator", 404)])
def test_the_rollup_is_not_for_clerks_or_administrators(
    request, client, ready, role, code
):
    client.force_login(request.getfixturevalue(role))
    pk = ready.rollup.pk
    assert client.get(reverse("rollup_detail", args=[pk])).status_code == code
    assert client.get(reverse("rollup_progress", args=[pk])).status_code == code


@pytest.mark.parametrize("role", ["reviewer", "finance", "auditor"])
def test_the_rollup_page_is_read_by_reviewer_finance_and_auditor(
    request, client, ready, role
):
    client.force_login(request.getfixturevalue(role))
    response = client.get(reverse("rollup_detail", args=[ready.rollup.pk]))
    assert response.status_code == 200
    forms = 'data-testid="pay-form-' in html_of(response)
    assert forms is (role == "finance")


def test_the_workbook_link_downloads_the_workbook(client, ready, finance):
    from io import BytesIO

    from openpyxl import load_workbook

    client.force_login(finance)
    response = client.get(reverse("api-rollup-xlsx", args=[ready.rollup.pk]))
    assert response.status_code == 200
    book = load_workbook(BytesIO(b"".join(response.streaming_content)))
    total = next(r for r in book["汇总"].iter_rows(values_only=True) if r[1] == "合计")
    assert Decimal(str(total[6])) == sum(c.approved_amount for c in ready.approved)


# --- Payments ----------------------------------------------------------------------------
def test_finance_records_a_payment_in_its_row(client, ready, finance):
    claim = ready.approved[0]
    client.force_login(finance)
    response = client.post(
        reverse("payment_record"),
        {
            "claim": claim.pk,
            "rollup": ready.rollup.pk,
            "kind": "balance",
            "amount": f"{claim.approved_amount:.2f}",
            "paid_on": PAID_ON.isoformat(),
            "status": "paid",
            "reference": "FIN-2020-001",
        },
        **HTMX,
    )
    html = html_of(response)
    assert response.status_code == 200
    assert html.lstrip().startswith("<tr")
    assert "已拨付" in html and "FIN-2020-001" in html
    assert (
        'id="payment-summary" data-testid="payment-summary" hx-swap-oob="true"' in html
    )
    assert Payment.objects.get().status == "paid"


def test_the_row_follows_the_kind_chosen(client, claim_input, reviewer, finance, send):
    """The advance (五(二)) is offered on the finance page while the report is with the
    prefecture; once the quarter is closed and rolled up, a claim's row offers only the
    balance, whatever kind is asked for."""
    client.force_login(finance)
    offered = {}

    def while_open(report):
        html = html_of(client.get(reverse("finance_home")))
        for c in report.claims.filter(advance__gt=0):
            offered[c.pk] = (
                f'data-testid="advance-{c.pk}"' in html
                and f'name="amount" value="{c.advance:.2f}"' in html
            )

    quarter = run_quarter(claim_input, reviewer, on_submitted=while_open)
    rollup = send()
    claim = quarter.approved[0]  # enterprise-run: an advance of 40%
    assert claim.advance > 0 and offered[claim.pk] is True
    assert f'data-testid="advance-{claim.pk}"' not in html_of(
        client.get(reverse("finance_home"))
    )
    url = reverse("rollup_claim_row", args=[rollup.pk, claim.pk])
    for kind in ("advance", "balance"):
        html = html_of(client.get(url, {"kind": kind}, **HTMX))
        assert f'name="amount" value="{claim.approved_amount:.2f}"' in html
        assert 'value="advance"' not in html
        assert 'value="balance" selected' in html


def test_a_wrong_amount_is_refused_in_the_row(client, ready, finance):
    claim = ready.approved[0]
    client.force_login(finance)
    response = client.post(
        reverse("payment_record"),
        {
            "claim": claim.pk,
            "rollup": ready.rollup.pk,
            "kind": "balance",
            "amount": "1.00",
            "paid_on": PAID_ON.isoformat(),
            "status": "paid",
        },
        **HTMX,
    )
    assert response.status_code == 200  # shown in the row (issue 15, item 1)
    assert "登记金额不一致" in html_of(response)
    assert not Payment.objects.exists()


def test_a_failed_payment_needs_a_reason_and_is_reissued(client, ready, finance):
    claim = ready.approved[1]
    client.force_login(finance)
    body = {
        "claim": claim.pk,
        "kind": "balance",
        "amount": f"{claim.approved_amount:.2f}",
        "paid_on": PAID_ON.isoformat(),
        "status": "failed",
        "next": reverse("finance_home"),
    }
    # a failure without a reason is refused with the service's message
    refused = client.post(reverse("payment_record"), body)
    assert refused.status_code == 400
    assert "拨付失败须填写原因" in html_of(refused)
    # with a reason it is recorded and listed for a re-issue
    response = client.post(
        reverse("payment_record"), body | {"failure_reason": "账户已销户"}, follow=True
    )
    failed = Payment.objects.get()
    html = html_of(response)
    assert failed.status == "failed"
    assert "账户已销户" in html
    assert f'data-testid="failed-{claim.pk}"' in html
    assert services.payment_state(claim) == "failed"
    rollup_page = html_of(client.get(reverse("rollup_detail", args=[ready.rollup.pk])))
    assert "拨付失败" in rollup_page
    assert f'name="reissue_of" value="{failed.pk}"' in rollup_page
    # when it is re-issued
    response = client.post(
        reverse("payment_record"),
        body | {"status": "paid", "reissue_of": failed.pk, "reference": "FIN-2"},
        follow=True,
    )
    assert "（重新拨付）" in html_of(response)
    assert services.payment_state(claim) == "paid"
    assert f'data-testid="failed-{claim.pk}"' not in html_of(response)


def test_finance_pays_an_advance_and_then_the_balance(
    client, claim_input, reviewer, finance, send
):
    client.force_login(finance)
    advanced = []

    def pay_the_advance(report):  # while the report is with the prefecture
        claim = report.claims.filter(advance__gt=0).order_by("pk").first()
        if claim is None:
            return
        html = html_of(client.get(reverse("finance_home")))
        assert f'data-testid="advance-{claim.pk}"' in html
        response = client.post(
            reverse("payment_record"),
            {
                "claim": claim.pk,
                "kind": "advance",
                "amount": f"{claim.advance:.2f}",
                "paid_on": PAID_ON.isoformat(),
                "status": "paid",
                "next": reverse("finance_home"),
            },
            follow=True,
        )
        html = html_of(response)
        assert f"申报#{claim.pk}先行拨付" in html
        assert f'data-testid="advance-{claim.pk}"' not in html
        advanced.append(claim.pk)

    quarter = run_quarter(claim_input, reviewer, on_submitted=pay_the_advance)
    rollup = send()
    claim = quarter.approved[0]
    assert advanced == [claim.pk]
    assert services.payment_state(claim) == "partly_paid"
    row = html_of(
        client.get(reverse("rollup_claim_row", args=[rollup.pk, claim.pk]), **HTMX)
    )
    assert "部分拨付" in row
    balance = claim.approved_amount - claim.advance
    assert f'name="amount" value="{balance:.2f}"' in row


def test_a_paid_balance_leaves_nothing_to_advance(client, ready, finance):
    claim = ready.approved[0]
    services.payment_record(
        claim_id=claim.pk,
        kind="balance",
        amount=claim.approved_amount,
        paid_on=PAID_ON,
        status="paid",
        actor=finance,
    )
    client.force_login(finance)
    html = html_of(client.get(reverse("finance_home")))
    assert f'data-testid="advance-{claim.pk}"' not in html
    row = html_of(
        client.get(
            reverse("rollup_claim_row", args=[ready.rollup.pk, claim.pk]), **HTMX
        )
    )
    assert "已拨付完毕" in row


def test_finance_settles_a_recovery(client, clerk, reviewer, finance, claim_input):
    # given a project-based claim whose advance was paid, then rejected
    school = InstitutionFactory(unit_id="654301")
    claim = claim_through_class(
        claim_input(institution_id=school.pk, project_based=True), clerk=clerk
    )
    claim_services.claim_submit(claim_id=claim.pk, actor=clerk)
    report = quarter_services.report_build(
        unit_id="654301", quarter="2020Q1", actor=clerk
    )
    quarter_services.report_submit(report_id=report.pk, actor=clerk)
    claim.refresh_from_db()
    services.payment_record(
        claim_id=claim.pk,
        kind="advance",
        amount=claim.advance,
        paid_on=PAID_ON,
        status="paid",
        actor=finance,
    )
    quarter_services.claim_reject(claim_id=claim.pk, actor=reviewer, reason="虚假培训")
    recovery = Recovery.objects.get()
    client.force_login(finance)
    html = html_of(client.get(reverse("finance_home")))
    assert f'data-testid="recovery-{claim.pk}"' in html
    assert "申报被驳回：虚假培训" in html
    # when it is settled
    response = client.post(
        reverse("recovery_settle", args=[recovery.pk]),
        {"reference": "ZH-2020-9"},
        follow=True,
    )
    recovery.refresh_from_db()
    assert recovery.settled_at is not None
    assert recovery.settlement_reference == "ZH-2020-9"
    assert "已登记追回" in html_of(response)
    assert f'data-testid="recovery-{claim.pk}"' not in html_of(response)
    again = client.post(
        reverse("recovery_settle", args=[recovery.pk]), {"reference": "ZH-2020-9"}
    )
    assert again.status_code == 409
    assert "该笔款项已登记追回" in html_of(again)


@pytest.mark.parametrize("role", ["reviewer", "auditor", "clerk"])
def test_only_finance_records_payments(request, client, ready, role):
    claim = ready.approved[0]
    client.force_login(request.getfixturevalue(role))
    response = client.post(
        reverse("payment_record"),
        {
            "claim": claim.pk,
            "kind": "balance",
            "amount": f"{claim.approved_amount:.2f}",
            "paid_on": PAID_ON.isoformat(),
            "status": "paid",
        },
    )
    assert response.status_code == 403
    assert client.post(reverse("recovery_settle", args=[1])).status_code == 403
    assert not Payment.objects.exists()


@pytest.fixture
def advance_payable(clerk, claim_input):
    """A project-based claim in a 2020Q2 report with the prefecture: its advance may
    be paid (五(二))."""
    school = InstitutionFactory(unit_id="654301")
    draft = claim_through_class(
        claim_input(
            institution_id=school.pk,
            project_based=True,
            training_start=date(2020, 4, 1),
            training_end=date(2020, 4, 30),
        ),
        clerk=clerk,
    )
    claim_services.claim_submit(claim_id=draft.pk, actor=clerk)
    report = quarter_services.report_build(
        unit_id="654301", quarter="2020Q2", actor=clerk
    )
    quarter_services.report_submit(report_id=report.pk, actor=clerk)
    draft.refresh_from_db()
    return draft


@pytest.mark.parametrize(("role", "code"), [("finance", 200), ("auditor", 200)])
def test_the_finance_page_is_for_finance_and_the_auditor(
    request, client, ready, advance_payable, role, code
):
    client.force_login(request.getfixturevalue(role))
    response = client.get(reverse("finance_home"))
    assert response.status_code == code
    html = html_of(response)
    assert 'data-testid="open-rollup-2020Q1"' in html  # the ready rollup
    assert f'data-testid="advance-{advance_payable.pk}"' in html  # the open report
    assert ('data-testid="pay-form-' in html) is (role == "finance")


@pytest.mark.parametrize("role", ["reviewer", "clerk", "administrator"])
def test_the_finance_page_is_forbidden_to_other_roles(request, client, role):
    client.force_login(request.getfixturevalue(role))
    assert client.get(reverse("finance_home")).status_code == 403


# --- Notices on the home page ---------------------------------------------------------------
def test_the_clerk_is_told_of_rejections_and_closed_reports(client, ready):
    clerk = UserFactory(username="q_clerk_a")
    client.force_login(clerk)
    html = html_of(client.get(reverse("home")))
    assert 'data-testid="notifications"' in html
    assert "被驳回：材料不全" in html
    assert "2020Q1季度报表已审结" in html


def test_the_reviewer_is_told_of_reports_waiting(client, clerk, reviewer, claim_input):
    claim = claim_services.claim_create(data=claim_input(), actor=clerk)
    claim_services.claim_submit(claim_id=claim.pk, actor=clerk)
    report = quarter_services.report_build(
        unit_id="654301", quarter="2020Q1", actor=clerk
    )
    quarter_services.report_submit(report_id=report.pk, actor=clerk)
    client.force_login(reviewer)
    html = html_of(client.get(reverse("home")))
    assert "阿勒泰市报送的2020Q1季度报表待审核（1笔）" in html
    assert reverse("report_detail", args=[report.pk]) in html


def test_finance_is_told_of_rollups_ready_to_pay(client, ready, finance):
    client.force_login(finance)
    html = html_of(client.get(reverse("home")))
    assert "2020Q1季度汇总已生成，可下载拨付表并登记拨付" in html
    assert reverse("rollup_detail", args=[ready.rollup.pk]) in html


# --- The public side ----------------------------------------------------------------------------
def _no_personal_data(html):
    assert not ID_NUMBER.search(html)
    for name, number in Trainee.objects.values_list("name", "id_number"):
        assert name not in html
        assert number not in html


def test_the_disclosure_needs_no_login_and_shows_the_quarters_totals(client, ready):
    response = client.get("/public/disclosure/")
    assert response.status_code == 200
    html = html_of(response)
    total = sum(c.approved_amount for c in ready.approved)
    assert f'data-testid="total-amount">{total:.2f}<' in html
    assert f'data-testid="total-person-times">{len(ready.approved)}<' in html
    assert "阿勒泰市" in html and "富蕴县" in html
    assert "职业技能提升行动专项资金" in html
    assert "退出" not in html  # no staff navigation
    _no_personal_data(html)


def test_the_disclosure_filters_by_quarter(client, ready):
    html = html_of(client.get("/public/disclosure/", {"quarter": "all"}))
    assert "全部季度" in html
    html = html_of(client.get("/public/disclosure/", {"quarter": "2019Q4"}))
    assert "2019Q4</bdi> 的数据尚未公开" in html
    response = client.get("/public/disclosure/", {"quarter": "2020Q9"})
    assert response.status_code == 400


def test_the_disclosure_is_empty_before_a_rollup_is_ready(client, closed_quarter):
    html = html_of(client.get("/public/disclosure/"))
    assert "暂无已公开的季度数据" in html


def test_the_program_catalogue_lists_the_caps_in_force(client, ready):
    # the notice's caps ended with 2021 (issue 13, 1): today's are successor terms
    enter_illustrative_terms()
    response = client.get(reverse("public_programs"))
    assert response.status_code == 200
    html = html_of(response)
    assert "企业职工高技能人才培训" in html
    assert "三级/高级工 不超过4,000.00元/人" in html
    _no_personal_data(html)


def test_the_institution_catalogue_lists_admitted_institutions(client, ready):
    hidden = InstitutionFactory(name="未列入目录的学校", admitted=False)
    response = client.get(reverse("public_institutions"))
    assert response.status_code == 200
    html = html_of(response)
    school = ready.approved[0].institution
    assert school.name in html and school.credit_code in html
    assert hidden.name not in html
    _no_personal_data(html)


def test_the_login_page_links_to_the_public_side(client):
    html = html_of(client.get(reverse("login")))
    assert 'href="/public/disclosure/"' in html
    assert "信息公开" in html


# --- Queries ------------------------------------------------------------------------------------
def _queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_rollup_page_takes_a_constant_number_of_queries(
    client, claim_input, reviewer, finance, send, django_assert_max_num_queries
):
    close_quarter(claim_input, reviewer, quarter="2020Q1", per_unit=1)
    small = send("2020Q1")
    approved = close_quarter(claim_input, reviewer, quarter="2020Q2", per_unit=6)
    large = send("2020Q2")
    services.payment_record(  # a row with a payment costs no more than one without
        claim_id=approved[0].pk,
        kind="balance",
        amount=approved[0].approved_amount,
        paid_on=PAID_ON,
        status="paid",
        actor=finance,
    )
    client.force_login(finance)
    few = _queries(client, reverse("rollup_detail", args=[small.pk]))
    many = _queries(client, reverse("rollup_detail", args=[large.pk]))
    assert few == many
    # 15: the reports closed after the rollup was built (``closed_after``) are one;
    # 20: what holds the page's balances (``balance_holds``: five, for all its rows)
    with django_assert_max_num_queries(20):
        client.get(reverse("rollup_detail", args=[large.pk]))


def test_the_finance_page_takes_a_constant_number_of_queries(
    client, claim_input, reviewer, finance, send
):
    close_quarter(claim_input, reviewer, quarter="2020Q1", per_unit=1)
    send("2020Q1")
    client.force_login(finance)
    few = _queries(client, reverse("finance_home"))
    close_quarter(claim_input, reviewer, quarter="2020Q2", per_unit=5)
    many = _queries(client, reverse("finance_home"))
    # one more ready rollup costs its payment summary; the lines cost nothing more
    assert many == few


def test_a_claim_outside_the_rollup_has_no_row(
    client, ready, finance, clerk, claim_input
):
    stray = claim_services.claim_create(data=claim_input(), actor=clerk)
    client.force_login(finance)
    url = reverse("rollup_claim_row", args=[ready.rollup.pk, stray.pk])
    assert client.get(url, **HTMX).status_code == 404
    rejected = ready.rejected[0]
    url = reverse("rollup_claim_row", args=[ready.rollup.pk, rejected.pk])
    assert client.get(url, **HTMX).status_code == 404


def test_the_administrator_s_home_shows_their_work_not_claim_figures_of_zero(
    client, administrator, clerk
):
    """A newcomer's review: the administrator, who sees no claim, was shown every
    status at 0, "已核准申报 0 件" and a claim list "共 0 件" beside 65 claims. Their
    home shows the providers waiting for admission and the role changes waiting;
    the claim list says why it is empty, and the menu offers none."""
    from programs.services import institution_create
    from tests.factories import make_credit_code

    institution_create(
        name="待认定的学校",
        kind="training_institution",
        credit_code=make_credit_code(),
        unit_id="654301",
        actor=clerk,
    )
    client.force_login(administrator)

    home = client.get(reverse("home")).content.decode()
    listing = client.get(reverse("claim_list")).content.decode()

    assert 'data-testid="administrator-home"' in home
    waiting = re.search(r'data-testid="institutions-waiting">(\d+)<', home)
    assert waiting and int(waiting[1]) >= 1
    assert "已核准申报" not in home and 'data-testid="status-counts"' not in home
    assert 'href="/claims/">申报列表' not in home
    assert 'data-testid="no-claims-for-role"' in listing and "共 0 件" not in listing
    # their own proposal is another administrator's to admit, not counted for them
    institution_create(
        name="管理员登记的学校",
        kind="training_institution",
        credit_code=make_credit_code(),
        unit_id="654301",
        actor=administrator,
    )
    again = client.get(reverse("home")).content.decode()
    assert f'data-testid="institutions-waiting">{waiting[1]}<' in again


def test_the_reviewer_home_counts_apart_what_no_report_holds_yet(
    client, clerk, reviewer, claim_input
):
    """The review of session 25: 待审核 2 on the home page, and neither claim in a
    report — opened, neither could be decided and nothing said why."""
    claim = claim_services.claim_create(data=claim_input(), actor=clerk)
    claim_services.claim_submit(claim_id=claim.pk, actor=clerk)
    client.force_login(reviewer)
    home = html_of(client.get(reverse("home")))
    table = home.split('data-testid="waiting-by-unit"')[1]
    assert "各单位待审核申报（共 0 件" in home
    assert re.search(r'data-testid="unreported-654301">1<', table)
    quarter_services.report_submit(
        report_id=quarter_services.report_build(
            unit_id="654301", quarter="2020Q1", actor=clerk
        ).pk,
        actor=clerk,
    )
    home = html_of(client.get(reverse("home")))
    assert "各单位待审核申报（共 1 件" in home
    assert re.search(r'data-testid="unreported-654301">—<', home)
