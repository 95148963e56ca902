"""The dashboard pages: who may open which, what they show, the budget form."""

from __future__ import annotations

import io
import json
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

import pytest
from openpyxl import load_workbook

from quarters.models import FundBudget
from tests.factories import UserFactory
from tests.reporting.test_dashboards import A, B, Y, build_year

pytestmark = pytest.mark.django_db


@pytest.fixture
def year(claim_input, reviewer, finance):
    return build_year(claim_input, reviewer, finance)


def get(client, user, url):
    if user is not None:
        client.force_login(user)
    return client.get(url)


def url(name, *args, query=""):
    return reverse(f"dashboards:{name}", args=args) + query


# --- Who may open what --------------------------------------------------------------------------
PAGES = {
    "prefecture": ("prefecture",),
    "unit": ("unit",),
    "finance": ("finance",),
    "anomalies": ("anomalies",),
    "budgets": ("budgets",),
    "review": ("review", Y),
    "review_unit": ("review_unit", Y, A),
    "review_xlsx": ("review_xlsx", Y),
}
ALLOWED = {
    "reviewer": {
        "prefecture",
        "unit",
        "finance",
        "anomalies",
        "review",
        "review_unit",
        "review_xlsx",
    },
    "auditor": {
        "prefecture",
        "unit",
        "finance",
        "anomalies",
        "review",
        "review_unit",
        "review_xlsx",
    },
    "finance": {"unit", "finance", "budgets", "review", "review_unit", "review_xlsx"},
    "clerk": {"unit", "review_unit"},
    "administrator": set(),
}


# (not named "page": that is Playwright's fixture)
@pytest.mark.parametrize("role", sorted(ALLOWED))
@pytest.mark.parametrize("dashboard", sorted(PAGES))
def test_each_role_opens_only_its_dashboards(client, request, role, dashboard):
    user = request.getfixturevalue(role)
    response = get(client, user, url(*PAGES[dashboard]))
    assert response.status_code == (200 if dashboard in ALLOWED[role] else 403)


@pytest.mark.parametrize("dashboard", sorted(PAGES))
def test_anonymous_is_sent_to_login(client, dashboard):
    response = client.get(url(*PAGES[dashboard]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_clerk_asking_for_another_unit_gets_404(client, clerk):
    assert get(client, clerk, url("unit", query=f"?unit={B}")).status_code == 404
    assert get(client, clerk, url("review_unit", Y, B)).status_code == 404


def test_the_entry_sends_each_role_to_its_dashboard(client, clerk, reviewer, finance):
    assert get(client, clerk, url("index"))["Location"] == url("unit")
    assert get(client, finance, url("index"))["Location"] == url("finance")
    assert get(client, reviewer, url("index", query="?year=2020"))["Location"] == (
        url("prefecture", query="?year=2020")
    )


# --- What they show ------------------------------------------------------------------------------
def chart(response, key):
    """The JSON a panel's chart is drawn from."""
    marker = f'id="chart-{key}-data" type="application/json">'
    html = response.content.decode()
    start = html.index(marker) + len(marker)
    return json.loads(html[start : html.index("</script>", start)])


def test_the_prefecture_dashboard_shows_the_years_figures(client, year, reviewer):
    response = get(client, reviewer, url("prefecture", query=f"?year={Y}"))
    html = response.content.decode()
    assert "10 / 10,000" in html
    for figure in ("19,994.00", "10,794.00", "1,320.00", "7,800.00"):
        assert figure in html
    assert chart(response, "months")["datasets"][0]["data"] == [
        0,
        0,
        6,
        0,
        3,
        1,
        0,
        0,
        0,
        0,
        0,
        0,
    ]
    units = chart(response, "units")
    assert (
        dict(zip(units["labels"], units["datasets"][0]["data"], strict=True))[
            "阿勒泰市"
        ]
        == 7
    )
    backlog = chart(response, "backlog")
    assert [d["data"][1] for d in backlog["datasets"]] == [1, 1, 1]  # 阿勒泰市
    assert "培训结束日期在所选年度" in html  # the definition, in the footnote
    # every panel's chart has its table beside it
    assert html.count('data-chart="chart-') == html.count('data-testid="table-')
    # the year selector offers the years with data
    assert 'href="?year=2021"' in html and 'href="?year=2020"' in html


def test_the_year_defaults_to_the_latest_year_with_data(client, year, reviewer):
    """This year's page was empty when the data is older (issue 15, item 9)."""
    from claims.models import Claim

    latest = max(
        c.training_end.year for c in Claim.objects.exclude(status="draft")
    )  # the data runs 2020–2021
    response = get(client, reviewer, url("prefecture"))
    assert Y <= latest < timezone.localdate().year
    assert response.context["year"] == latest
    assert response.context["dashboard"].total.person_times > 0


def test_a_clerks_dashboard_is_their_units(client, year):
    response = get(client, year.clerk_a, url("unit", query=f"?year={Y}"))
    html = response.content.decode()
    assert response.context["dashboard"].unit.code == A
    assert "阿勒泰市 · 2020年统计" in html
    assert 'data-testid="returned">1<' in html
    assert 'data-testid="drafts-eligible">1<' in html
    assert "2020Q2" in html and "已报送" in html
    assert "11,597.00" in html  # A's requested


def test_the_finance_dashboard(client, year, finance):
    response = get(client, finance, url("finance", query=f"?year={Y}"))
    html = response.content.decode()
    assert "1 笔 · 640.00 元" in html
    assert "10,074.00" in html  # approved less paid on the approved
    assert "收款账户信息有误" in html


def test_the_review_page_and_workbook(client, year, auditor):
    html = get(client, auditor, url("review", Y)).content.decode()
    assert "10 / 10,000" in html and "未完成年度目标" in html
    response = get(client, auditor, url("review_xlsx", Y))
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml"
    )
    wb = load_workbook(io.BytesIO(response.content))
    assert wb.sheetnames[0] == "汇总"


def test_a_clerk_sees_their_units_review(client, year):
    html = get(client, year.clerk_a, url("review_unit", Y, A)).content.decode()
    assert 'data-testid="unit-person-times">7<' in html


# --- The budget form -----------------------------------------------------------------------------
def test_finance_saves_budgets_from_the_grid(client, finance):
    client.force_login(finance)
    response = client.post(
        url("budgets"),
        {
            "year": str(Y),
            f"b-{A}-special": "12,000",
            f"b-{B}-employment": "3000.5",
            f"b-{B}-special": "",
            "note": "依据年度预算批复",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == url("budgets", query=f"?year={Y}")
    saved = {
        (b.unit_id, b.fund): (b.amount, b.entered_by, b.note)
        for b in FundBudget.objects.all()
    }
    assert saved == {
        (A, "special"): (Decimal("12000.00"), finance, "依据年度预算批复"),
        (B, "employment"): (Decimal("3000.50"), finance, "依据年度预算批复"),
    }
    page = client.get(url("budgets", query=f"?year={Y}")).content.decode()
    assert "12,000.00" in page and "依据年度预算批复" in page


def test_one_wrong_cell_saves_nothing(client, finance):
    client.force_login(finance)
    response = client.post(
        url("budgets"),
        {"year": str(Y), f"b-{A}-special": "12000", f"b-{B}-special": "-5"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "均未保存" in html
    assert "预算金额应为不小于0、最多两位小数的数" in html  # beside the refused cell
    assert not FundBudget.objects.exists()


def test_a_blank_cell_removes_a_budget(client, finance):
    client.force_login(finance)
    client.post(url("budgets"), {"year": str(Y), f"b-{A}-special": "100"})
    client.post(url("budgets"), {"year": str(Y), f"b-{A}-special": ""})
    assert not FundBudget.objects.exists()
    assert FundBudget.history.count() == 2


def test_only_finance_posts_budgets(client, reviewer):
    client.force_login(reviewer)
    response = client.post(url("budgets"), {"year": str(Y), f"b-{A}-special": "1"})
    assert response.status_code == 403
    assert not FundBudget.objects.exists()


def test_every_dashboard_shows_budget_execution(client, year, finance, reviewer):
    client.force_login(finance)
    client.post(url("budgets"), {"year": str(Y), f"b-{A}-special": "10000"})
    for user, name, query in (
        (reviewer, "prefecture", f"?year={Y}"),
        (finance, "finance", f"?year={Y}"),
        (year.clerk_a, "unit", f"?year={Y}"),
    ):
        html = get(client, user, url(name, query=query)).content.decode()
        assert "10,000.00" in html, name
        assert "-197.00" in html, name  # 10000 − 5397 approved − 4800 pending


def test_a_line_past_its_budget_once_the_pending_are_approved_is_a_warning(
    client, year, finance, reviewer
):
    # given 10,000 for A's special fund: 5,397 approved, 4,800 pending
    client.force_login(finance)
    client.post(url("budgets"), {"year": str(Y), f"b-{A}-special": "10000"})
    html = get(client, reviewer, url("prefecture", query=f"?year={Y}")).content.decode()
    # then the line warns (approving the pending would need a reason) — not "over":
    # approving any one of E1–E3 alone passes
    assert 'class="table-warning"' in html
    assert 'class="table-danger"' not in html


def test_another_clerk_in_the_unit_sees_the_same_dashboard(client, year):
    colleague = UserFactory(username="colleague", role="county_clerk", unit_id=A)
    response = get(client, colleague, url("unit", query=f"?year={Y}"))
    assert response.context["dashboard"].total.person_times == 7
