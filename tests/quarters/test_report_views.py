"""The quarterly report pages: the clerk builds, submits and discards; the reviewer
draws spot checks, records them, approves in bulk and closes. Thin views over the same
services as the API, so the refusals are the services' own messages."""

from datetime import date
from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

import pytest

from claims import services
from claims.models import Claim
from quarters import services as quarter_services
from quarters.models import QuarterlyReport, SpotCheck
from tests.factories import TraineeFactory, UserFactory, opened_evidence

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
QUARTER = "2020Q1"
TRADES = ["4-03-02-01", "4-07-05-01", "6-31-01-03", "4-10-01-05"]


def html_of(response):
    return response.content.decode()


def submit_claims(clerk, claim_input, count, **overrides):
    """``count`` submitted claims of the clerk's unit, each for a new person."""
    claims = []
    for n in range(count):
        person = TraineeFactory(
            groups=["poor_labour"], registered_by_unit_id=clerk.unit_id
        )
        data = claim_input(
            trainee_id=person.pk,
            trade_id=TRADES[n % len(TRADES)],
            unit_id=clerk.unit_id,
            passed=n % 3 != 2,
            employment="flexible" if n % 4 == 1 else "employed",
            **overrides,
        )
        draft = services.claim_create(data=data, actor=clerk)
        claims.append(services.claim_submit(claim_id=draft.pk, actor=clerk))
    return claims


def submitted_report(clerk, claim_input, count=4, **overrides):
    submit_claims(clerk, claim_input, count, **overrides)
    report = quarter_services.report_build(
        unit_id=clerk.unit_id, quarter=QUARTER, actor=clerk
    )
    return quarter_services.report_submit(report_id=report.pk, actor=clerk)


def draw(report, reviewer, share="0.5"):
    return quarter_services.report_draw_spot_checks(
        report_id=report.pk, actor=reviewer, share=Decimal(share)
    )


def record_all(report, reviewer):
    for check in report.spot_checks.all():
        quarter_services.spot_check_record(
            spot_check_id=check.pk,
            actor=reviewer,
            result="consistent",
            documents=opened_evidence(check.pk, reviewer),
        )


# --- The clerk ------------------------------------------------------------------------------
def test_the_clerks_list_offers_the_last_ended_quarter(client, clerk):
    client.force_login(clerk)
    html = html_of(client.get(reverse("report_list")))
    today = date.today()
    year, q = today.year, (today.month - 1) // 3 + 1
    last = f"{year}Q{q - 1}" if q > 1 else f"{year - 1}Q4"
    assert f'value="{last}"' in html
    assert "编制报表" in html
    assert "本单位还没有季度报表" in html


def test_the_quarter_offered_is_one_the_unit_can_still_build(
    client, clerk, reviewer, claim_input
):
    """A newcomer's review: a claim of 2020Q1 returned from the submitted 2020Q1
    report and resubmitted — the builder offered 2020Q1, and building it was refused
    (该季度报表已报送). It goes into the next quarter whose report is not yet sent,
    and the quarters the box suggests are those."""
    report = submitted_report(clerk, claim_input, count=2)
    returned = report.claims.order_by("pk").first()
    quarter_services.report_draw_spot_checks(
        report_id=report.pk, actor=reviewer, share=Decimal("0.01")
    )
    record_all(report, reviewer)
    quarter_services.claim_return(
        claim_id=returned.pk, actor=reviewer, reason="材料不全"
    )
    services.claim_submit(claim_id=returned.pk, actor=clerk)
    client.force_login(clerk)

    html = html_of(client.get(reverse("report_list")))

    assert 'id="build-quarter" value="2020Q2"' in html
    assert '<option value="2020Q1">' not in html
    built = client.post(reverse("report_build"), {"quarter": "2020Q2"})
    assert built.status_code == 302
    assert QuarterlyReport.objects.get(quarter="2020Q2").claims.get() == returned


def test_a_current_quarter_sent_mid_quarter_is_not_offered(clerk):
    """The second review: a report may be sent before its quarter ends; the builder
    still offered that quarter (refused as sent). It offers the next."""
    from django.utils import timezone

    from altay_skills.periods import next_quarter, quarter_of
    from quarters.views import quarter_to_build

    now = quarter_of(timezone.localdate())

    assert quarter_to_build(clerk, to_report=[now], sent={now}) == next_quarter(now)


def test_a_clerk_builds_a_report_from_the_page(client, clerk, claim_input):
    claims = submit_claims(clerk, claim_input, 3)
    client.force_login(clerk)
    response = client.post(reverse("report_build"), {"quarter": "2020q1"})
    report = QuarterlyReport.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("report_detail", args=[report.pk])
    assert report.quarter == QUARTER and report.status == "draft"
    html = html_of(client.get(response.url))
    assert "已编制2020Q1季度报表草稿，列入3笔申报" in html
    for claim in claims:
        assert claim.trainee.id_number_masked in html
        assert claim.trainee.id_number not in html
    # the figures: trained 3, passed 2, employed 3 (flexible counts), totals
    assert 'data-testid="figures-total"' in html
    assert "5400.00" in html
    for label in (
        "培训人数",
        "合格人数",
        "就业人数",
        "申请金额",
        "核定金额",
        "先行拨付",
    ):
        assert label in html
    assert 'data-testid="submit-report"' in html
    assert 'data-testid="refresh-report"' in html


def test_refresh_adds_claims_submitted_since(client, clerk, claim_input):
    submit_claims(clerk, claim_input, 1)
    report = quarter_services.report_build(
        unit_id="654301", quarter=QUARTER, actor=clerk
    )
    submit_claims(clerk, claim_input, 2)
    client.force_login(clerk)
    response = client.post(reverse("report_build"), {"quarter": QUARTER}, follow=True)
    assert "报表草稿已刷新，现有3笔申报" in html_of(response)
    assert report.claims.count() == 3


def test_a_future_quarter_is_refused_with_the_services_message(client, clerk):
    client.force_login(clerk)
    future = f"{date.today().year + 1}Q1"
    response = client.post(reverse("report_build"), {"quarter": future})
    assert response.status_code == 400
    assert "该季度尚未开始，不能编制报表" in html_of(response)
    assert QuarterlyReport.objects.count() == 0


def test_a_malformed_quarter_is_refused(client, clerk):
    client.force_login(clerk)
    response = client.post(reverse("report_build"), {"quarter": "2020Q5"})
    assert response.status_code == 400
    assert "季度格式应为" in html_of(response)


def test_a_clerk_submits_the_report_and_sees_it_frozen(client, clerk, claim_input):
    submit_claims(clerk, claim_input, 2)
    report = quarter_services.report_build(
        unit_id="654301", quarter=QUARTER, actor=clerk
    )
    client.force_login(clerk)
    response = client.post(reverse("report_submit", args=[report.pk]), follow=True)
    html = html_of(response)
    report.refresh_from_db()
    assert report.status == "submitted"
    assert "已报送地区审核：2笔，控制总额3,600.00元" in html
    assert 'data-testid="frozen-count">2<' in html
    assert 'data-testid="control-total">3600.00<' in html
    assert 'data-testid="submit-report"' not in html


def test_an_empty_report_cannot_be_submitted(client, clerk):
    report = quarter_services.report_build(
        unit_id="654301", quarter=QUARTER, actor=clerk
    )
    client.force_login(clerk)
    response = client.post(reverse("report_submit", args=[report.pk]))
    assert response.status_code == 400
    assert "报表中没有待报送的申报" in html_of(response)


def test_a_clerk_discards_a_draft(client, clerk, claim_input):
    submit_claims(clerk, claim_input, 2)
    report = quarter_services.report_build(
        unit_id="654301", quarter=QUARTER, actor=clerk
    )
    client.force_login(clerk)
    response = client.post(reverse("report_discard", args=[report.pk]), follow=True)
    report.refresh_from_db()
    assert report.status == "discarded"
    assert not Claim.objects.filter(report=report).exists()
    assert "季度报表草稿已作废" in html_of(response)


def test_a_submitted_report_cannot_be_discarded(client, clerk, claim_input):
    report = submitted_report(clerk, claim_input, 1)
    client.force_login(clerk)
    response = client.post(reverse("report_discard", args=[report.pk]))
    assert response.status_code == 409
    assert "已报送的报表不能作废" in html_of(response)


# --- Who may see and do what ------------------------------------------------------------------
def test_another_units_report_is_a_404(client, clerk, other_clerk, claim_input):
    report = submitted_report(clerk, claim_input, 1)
    client.force_login(other_clerk)
    assert client.get(reverse("report_detail", args=[report.pk])).status_code == 404
    for name in ("report_submit", "report_discard", "report_close"):
        assert client.post(reverse(name, args=[report.pk])).status_code == 404


def test_a_clerks_list_shows_only_the_units_reports(
    client, clerk, other_clerk, claim_input
):
    mine = submitted_report(clerk, claim_input, 1)
    client.force_login(other_clerk)
    html = html_of(client.get(reverse("report_list")))
    assert reverse("report_detail", args=[mine.pk]) not in html


@pytest.mark.parametrize("role", ["reviewer", "finance", "auditor"])
def test_staff_outside_the_unit_may_only_read_a_report(
    request, client, clerk, claim_input, role
):
    report = submitted_report(clerk, claim_input, 1)
    client.force_login(request.getfixturevalue(role))
    assert client.get(reverse("report_detail", args=[report.pk])).status_code == 200
    assert client.post(reverse("report_submit", args=[report.pk])).status_code in (
        403,
        409,
    )
    assert client.post(reverse("report_build"), {"quarter": QUARTER}).status_code == 403


@pytest.mark.parametrize("role", ["finance", "auditor", "clerk"])
def test_only_a_reviewer_draws_records_approves_and_closes(
    request, client, clerk, reviewer, claim_input, role
):
    report = submitted_report(clerk, claim_input, 2)
    draw(report, reviewer)
    check = SpotCheck.objects.get(report=report)
    client.force_login(request.getfixturevalue(role))
    claim = report.claims.first()
    assert (
        client.post(reverse("report_spot_checks", args=[report.pk])).status_code == 403
    )
    assert (
        client.post(
            reverse("spot_check_record", args=[check.pk]), {"result": "consistent"}
        ).status_code
        == 403
    )
    assert (
        client.post(
            reverse("report_approve_bulk", args=[report.pk]), {"claims": [claim.pk]}
        ).status_code
        == 403
    )
    assert client.post(reverse("report_close", args=[report.pk])).status_code == 403
    assert Claim.objects.filter(status="approved").count() == 0


def test_an_administrator_has_no_report_pages(client, administrator):
    client.force_login(administrator)
    assert client.get(reverse("report_list")).status_code == 403


def test_the_report_pages_need_a_login(client):
    response = client.get(reverse("report_list"))
    assert response.status_code == 302
    assert reverse("login") in response.url


# --- The reviewer -------------------------------------------------------------------------------
def test_the_reviewer_sees_every_units_report_of_the_quarter(
    client, clerk, other_clerk, reviewer, claim_input
):
    mine = submitted_report(clerk, claim_input, 2)
    submit_claims(other_clerk, claim_input, 1)
    quarter_services.report_build(unit_id="654322", quarter=QUARTER, actor=other_clerk)
    client.force_login(reviewer)
    response = client.get(reverse("report_list"), {"quarter": "2020q1"})
    html = html_of(response)
    assert response.status_code == 200
    assert "2020Q1 季度审核" in html
    assert "阿勒泰市" in html and "富蕴县" in html and "喀纳斯景区管理委员会" in html
    assert "草稿（未报送）" in html
    assert "未报送" in html
    assert reverse("report_detail", args=[mine.pk]) in html
    assert 'data-testid="request-rollup"' in html
    assert "还有报表在审核中" in html


def test_the_quarter_defaults_to_the_latest_on_file(
    client, clerk, reviewer, claim_input
):
    submitted_report(clerk, claim_input, 1)
    client.force_login(reviewer)
    html = html_of(client.get(reverse("report_list")))
    assert "2020Q1 季度审核" in html


def test_the_reviewer_draws_spot_checks_and_sees_the_seed(
    client, clerk, reviewer, claim_input
):
    report = submitted_report(clerk, claim_input, 4)
    client.force_login(reviewer)
    html = html_of(client.get(reverse("report_detail", args=[report.pk])))
    assert 'name="share" id="share" value="10"' in html
    response = client.post(
        reverse("report_spot_checks", args=[report.pk]), {"share": "50"}, follow=True
    )
    report.refresh_from_db()
    html = html_of(response)
    assert report.spot_check_share == Decimal("0.5")
    assert SpotCheck.objects.filter(report=report).count() == 2
    assert f"抽样种子 {report.spot_check_seed}" in html
    assert html.count("抽查 · 待核对") == 2
    assert 'data-testid="draw-spot-checks"' not in html


def test_spot_checks_are_drawn_once(client, clerk, reviewer, claim_input):
    report = submitted_report(clerk, claim_input, 2)
    draw(report, reviewer)
    client.force_login(reviewer)
    response = client.post(
        reverse("report_spot_checks", args=[report.pk]), {"share": "10"}
    )
    assert response.status_code == 409
    assert "该报表已抽样，种子已记录，不能重抽" in html_of(response)


@pytest.mark.parametrize("share", ["0", "101", "abc"])
def test_a_share_out_of_range_is_refused(client, clerk, reviewer, claim_input, share):
    report = submitted_report(clerk, claim_input, 2)
    client.force_login(reviewer)
    response = client.post(
        reverse("report_spot_checks", args=[report.pk]), {"share": share}
    )
    assert response.status_code == 400
    assert "抽查比例" in html_of(response)
    assert not SpotCheck.objects.exists()


def test_a_spot_check_is_recorded_in_place_with_htmx(
    client, clerk, reviewer, claim_input
):
    report = submitted_report(clerk, claim_input, 2)
    draw(report, reviewer, "0.1")
    check = SpotCheck.objects.get(report=report)
    client.force_login(reviewer)
    url = reverse("spot_check_record", args=[check.pk])
    # given an inconsistent result without a note: refused, the form stays
    refused = client.post(url, {"result": "inconsistent", "note": ""}, **HTMX)
    assert refused.status_code == 200  # shown in place (issue 15, item 1)
    assert "材料不符须说明情况" in html_of(refused)
    assert "<html" not in html_of(refused)
    # when recorded with a note
    response = client.post(
        url, {"result": "inconsistent", "note": "签到表缺2天"}, **HTMX
    )
    # then the cell shows the result, and the form is gone
    html = html_of(response)
    assert response.status_code == 200
    assert "抽查 · 材料不符" in html
    assert "签到表缺2天" in html
    assert "<form" not in html
    check.refresh_from_db()
    assert check.result == "inconsistent" and check.checked_by == reviewer


def test_a_spot_check_is_recorded_without_htmx_too(
    client, clerk, reviewer, claim_input
):
    report = submitted_report(clerk, claim_input, 2)
    draw(report, reviewer, "0.1")
    check = SpotCheck.objects.get(report=report)
    client.force_login(reviewer)
    response = client.post(
        reverse("spot_check_record", args=[check.pk]),
        {"result": "consistent", "documents": opened_evidence(check.pk, reviewer)},
    )
    assert response.status_code == 302
    assert response.url.startswith(reverse("report_detail", args=[report.pk]))
    check.refresh_from_db()
    assert check.result == "consistent"


def test_bulk_approval_is_all_or_nothing(client, clerk, reviewer, claim_input):
    report = submitted_report(clerk, claim_input, 4)
    draw(report, reviewer, "0.1")
    sampled = SpotCheck.objects.get(report=report).claim_id
    ids = list(report.claims.values_list("pk", flat=True))
    client.force_login(reviewer)
    # given a selection with a sampled claim not yet checked: nothing is approved
    response = client.post(
        reverse("report_approve_bulk", args=[report.pk]), {"claims": ids}
    )
    assert response.status_code == 409
    html = html_of(response)
    assert "批量核准未执行（全部或全不）" in html
    assert f"申报#{sampled}：该申报被抽查，请先登记材料核对结果" in html
    assert Claim.objects.filter(status="approved").count() == 0
    # when the check is recorded, the same selection goes through
    record_all(report, reviewer)
    response = client.post(
        reverse("report_approve_bulk", args=[report.pk]), {"claims": ids}, follow=True
    )
    assert "已核准4笔申报，核准金额7,200.00元" in html_of(response)
    assert Claim.objects.filter(status="approved").count() == 4


def test_approve_all_takes_every_pending_claim(client, clerk, reviewer, claim_input):
    report = submitted_report(clerk, claim_input, 3)
    draw(report, reviewer, "0.1")
    record_all(report, reviewer)
    client.force_login(reviewer)
    response = client.post(
        reverse("report_approve_bulk", args=[report.pk]), {"select": "all"}
    )
    assert response.status_code == 302
    assert Claim.objects.filter(status="approved").count() == 3


def test_bulk_approval_needs_a_selection_from_this_report(
    client, clerk, other_clerk, reviewer, claim_input
):
    report = submitted_report(clerk, claim_input, 1)
    other = submitted_report(other_clerk, claim_input, 1)
    client.force_login(reviewer)
    url = reverse("report_approve_bulk", args=[report.pk])
    empty = client.post(url, {})
    assert empty.status_code == 400
    assert "请先勾选要核准的申报" in html_of(empty)
    stray = client.post(url, {"claims": [other.claims.get().pk]})
    assert stray.status_code == 400
    assert "不在本报表的待审申报中" in html_of(stray)
    assert Claim.objects.filter(status="approved").count() == 0


def test_closing_is_refused_until_every_claim_is_decided(
    client, clerk, reviewer, claim_input
):
    report = submitted_report(clerk, claim_input, 3)
    client.force_login(reviewer)
    url = reverse("report_close", args=[report.pk])
    # no spot checks yet
    response = client.post(url)
    assert response.status_code == 409
    assert "请先随机抽查，再审结报表" in html_of(response)
    draw(report, reviewer, "0.1")
    record_all(report, reviewer)
    response = client.post(url)
    assert response.status_code == 409
    assert "报表中还有3笔申报未审核" in html_of(response)
    claims = list(report.claims.order_by("pk"))
    quarter_services.claims_approve_bulk(
        claim_ids=[c.pk for c in claims[:2]], actor=reviewer
    )
    quarter_services.claim_reject(
        claim_id=claims[2].pk, actor=reviewer, reason="材料不全"
    )
    # then it closes, and the quarter overview shows it closed
    response = client.post(url, follow=True)
    report.refresh_from_db()
    assert report.status == "closed"
    html = html_of(response)
    assert "阿勒泰市2020Q1季度报表已审结" in html
    assert "2020Q1 季度审核" in html


def test_a_returned_claim_shows_as_moved_out(client, clerk, reviewer, claim_input):
    report = submitted_report(clerk, claim_input, 2)
    claim = report.claims.first()
    quarter_services.claim_return(
        claim_id=claim.pk, actor=reviewer, reason="请补充材料"
    )
    client.force_login(reviewer)
    html = html_of(client.get(reverse("report_detail", args=[report.pk])))
    assert "已移出报表" in html
    assert f'data-testid="select-{claim.pk}"' not in html
    assert 'data-testid="frozen-count">2<' in html


def test_the_claim_links_to_its_claim_page(client, clerk, reviewer, claim_input):
    report = submitted_report(clerk, claim_input, 1)
    claim = report.claims.get()
    client.force_login(reviewer)
    html = html_of(client.get(reverse("report_detail", args=[report.pk])))
    assert reverse("claim_detail", args=[claim.pk]) in html
    assert f'data-testid="select-{claim.pk}"' in html


# --- Queries ------------------------------------------------------------------------------------
def _queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_report_page_takes_a_constant_number_of_queries(
    client, clerk, other_clerk, reviewer, claim_input, django_assert_max_num_queries
):
    small = submitted_report(clerk, claim_input, 2)
    large = submitted_report(other_clerk, claim_input, 12)
    for report in (small, large):
        draw(report, reviewer, "0.5")
    client.force_login(reviewer)
    few = _queries(client, reverse("report_detail", args=[small.pk]))
    many = _queries(client, reverse("report_detail", args=[large.pk]))
    assert few == many
    # 9 + the budget impact (3, constant) + the report's trail (1) and the roles its
    # actors held then (1) + who made the report and who made its claims (2:
    # 经办与审核分离, issue 12) + the claims' spot checks (1: what may be approved)
    # + the claims' warnings (2) and which of the claims they name the user may open
    # (1, when any is named)
    # + the sampled claims' evidence documents and those examined (2: issue 16)
    # + the documents of the classes those claims came from (1: issue 16)
    # + whether any of the claims came from a class (1: classes.warnings, issue 16)
    # + which of the claims have an open objection to the public notice (1: issue 17)
    with django_assert_max_num_queries(25):
        client.get(reverse("report_detail", args=[large.pk]))


def test_the_quarter_overview_takes_a_constant_number_of_queries(
    client, clerk, other_clerk, reviewer, claim_input
):
    submitted_report(clerk, claim_input, 1)
    client.force_login(reviewer)
    few = _queries(client, reverse("report_list") + "?quarter=2020Q1")
    submitted_report(other_clerk, claim_input, 6)
    UserFactory(username="third", role="county_clerk", unit_id="654324")
    many = _queries(client, reverse("report_list") + "?quarter=2020Q1")
    assert few == many


def test_approving_past_a_budget_needs_a_reason_that_is_kept(
    client, clerk, reviewer, finance, claim_input
):
    from django.utils import timezone

    from quarters.models import BudgetOverride, FundBudget

    # given a report of 4 × ~1800 and a 2020 special-fund budget of 3000 for the unit
    report = submitted_report(clerk, claim_input)
    draw(report, reviewer)
    record_all(report, reviewer)
    FundBudget.objects.create(
        unit_id="654301",
        year=2020,
        fund="special",
        amount=Decimal("3000.00"),
        entered_by=finance,
        entered_at=timezone.now(),
    )
    client.force_login(reviewer)
    url = reverse("report_approve_bulk", args=[report.pk])
    # then the page shows the budget impact before approving
    page = html_of(client.get(reverse("report_detail", args=[report.pk])))
    assert 'data-testid="budget-impact"' in page
    # when approving all without a reason it is refused
    refused = client.post(url, {"select": "all"})
    assert refused.status_code == 409
    assert not report.claims.filter(status="approved").exists()
    # and with a reason it is approved and the reason kept
    client.post(url, {"select": "all", "budget_reason": "经地区财政局同意追加预算"})
    assert report.claims.filter(status="approved").count() == 4
    assert BudgetOverride.objects.filter(reason="经地区财政局同意追加预算").exists()
