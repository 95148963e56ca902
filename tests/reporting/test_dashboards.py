"""The dashboards' figures against hand-computed ones, on a small year made with services.

The year 2020 (``build_year``):

- 2020Q1 by ``run_quarter``: units A (654301, an enterprise: 40% advance) and B (654322)
  each file 1800, 1799, 1798, 1797 yuan (program 9, special fund, March); the first
  three approved, the 1797 one (not passed) rejected; the 1798 one is flexible work.
- 2020Q2, unit A, in a submitted report awaiting review: E1 1500 (May, not passed,
  submitted 40 days ago), E2 1600 (May, self-employed, 10 days ago), E3 1700 (June,
  today); R1 1400 (May) returned to the clerk; D1 a draft.
- Unit B: a program 11 grant of 3000 (poverty fund, ended July 2020, submitted), and
  one 1800 claim ended April 2021 (submitted).
- Finance: A0's advance 720.00 paid, A1's advance 719.60 failed (its report then
  decided: the balance pays what it left, so it is no failure to re-issue), E1's
  advance 600.00 paid, E2's advance 640.00 failed (its report still with the
  prefecture: a failure to re-issue).

Hand-computed for 2020 (person-times = the claims that count toward the yearly limit —
submitted, approved or returned — training ended in 2020, program 11 left out; R1,
returned, counts like E1–E3):

=========  ============  ======  ========  ===========  ==========  =========  =======
unit       person-times  passed  employed  requested    approved    pending    paid
=========  ============  ======  ========  ===========  ==========  =========  =======
A 654301   7             6       7         11,597.00    5,397.00    4,800.00   1,320.00
B 654322   3             3       3          8,397.00    5,397.00    3,000.00       0.00
total      10            9       10        19,994.00   10,794.00    7,800.00   1,320.00
=========  ============  ======  ========  ===========  ==========  =========  =======
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

import pytest

from accounts.models import User
from claims import services
from claims.models import Claim, ClaimSummary
from finance import services as reporting_services
from quarters import services as quarter_services
from quarters.budgets import budget_set
from reporting import anomaly_snapshots, dashboards
from tests.class_run import claim_through_class
from tests.factories import (
    InstitutionFactory,
    TraineeFactory,
    UserFactory,
    send_to_prefecture,
)
from tests.quarter_run import run_quarter

pytestmark = pytest.mark.django_db
A, B = "654301", "654322"
Y = 2020


@dataclass
class Year:
    clerk_a: User
    clerk_b: User
    reviewer: User
    finance: User
    approved: list[Claim]
    rejected: list[Claim]
    e1: Claim
    e2: Claim
    e3: Claim
    returned: Claim
    draft: Claim
    grant: Claim
    next_year: Claim
    extra: dict[str, Claim] = field(default_factory=dict)


def file_claim(
    claim_input: Any, clerk: User, *, submit: bool = True, **overrides: Any
) -> Claim:
    person = overrides.pop("trainee", None) or TraineeFactory(
        groups=["poor_labour", "poor_family_child"],
        registered_by_unit_id=clerk.unit_id,
    )
    data = claim_input(trainee_id=person.pk, unit_id=clerk.unit_id, **overrides)
    # a provider's project-based claim comes from its class (issue 16)
    if data.project_based:
        claim = claim_through_class(data, clerk=clerk)
    else:
        claim = services.claim_create(data=data, actor=clerk)
    if submit:
        claim = services.claim_submit(claim_id=claim.pk, actor=clerk)
    return claim


def build_year(claim_input: Any, reviewer: User, finance: User) -> Year:
    def advances(report: Any) -> None:
        """While the report is with the prefecture (五(二)): the first advance paid,
        the second failed."""
        claims = list(report.claims.filter(advance__gt=0).order_by("pk"))[:2]
        for claim, status in zip(claims, ("paid", "failed"), strict=False):
            reporting_services.payment_record(
                claim_id=claim.pk,
                kind="advance",
                amount=claim.advance,
                paid_on=date(2020, 5, 10),
                status=status,
                failure_reason="收款账户信息有误" if status == "failed" else "",
                actor=finance,
            )

    quarter = run_quarter(claim_input, reviewer, on_submitted=advances)
    clerk_a = User.objects.get(username="q_clerk_a")
    clerk_b = User.objects.get(username="q_clerk_b")
    provider = quarter.approved[0].institution_id  # a provider's projects: advanced
    may = {"training_start": date(2020, 5, 1), "training_end": date(2020, 5, 31)}
    june = {"training_start": date(2020, 6, 1), "training_end": date(2020, 6, 30)}

    def a(amount: str, **kw: Any) -> Claim:
        return file_claim(
            claim_input,
            clerk_a,
            institution_id=provider,
            amount_requested=Decimal(amount),
            project_based=True,
            **kw,
        )

    e1 = a("1500.00", passed=False, **may)
    e2 = a("1600.00", employment="self_employed", **may)
    e3 = a("1700.00", **june)
    returned = a("1400.00", **may)
    send_to_prefecture(e1, e2, e3, returned, sampled_by=reviewer)
    quarter_services.claim_return(
        claim_id=returned.pk, actor=reviewer, reason="请补充培训签到表"
    )
    draft = a("1300.00", submit=False, **june)
    now = timezone.now()
    for claim, days in ((e1, 40), (e2, 10)):  # submitted that long ago
        backdated = Claim.objects.get(pk=claim.pk)
        backdated.submitted_at = now - timedelta(days=days)
        backdated.save(update_fields=["submitted_at"])  # the backlog follows

    school = InstitutionFactory(unit_id=B, kind="technical_school")
    grant = file_claim(
        claim_input,
        clerk_b,
        # 三(三)11: a poor family's 两后生 at a technical school
        trainee=TraineeFactory(
            groups=["poor_family_child", "two_after"], registered_by_unit_id=B
        ),
        program_id=11,
        institution_id=school.pk,
        training_start=date(2019, 9, 1),
        training_end=date(2020, 7, 10),
        amount_requested=Decimal("3000.00"),
        trade_id=None,
        level_id=None,
        passed=False,
        certificate_number="",
        employment="none",
    )
    next_year = file_claim(
        claim_input,
        clerk_b,
        institution_id=quarter.approved[3].institution_id,
        training_start=date(2021, 4, 1),
        training_end=date(2021, 4, 30),
    )

    for claim, status in ((e1, "paid"), (e2, "failed")):
        reporting_services.payment_record(
            claim_id=claim.pk,
            kind="advance",
            amount=Claim.objects.get(pk=claim.pk).advance,
            paid_on=date(2020, 6, 10),
            status=status,
            failure_reason="收款账户信息有误" if status == "failed" else "",
            actor=finance,
        )
    return Year(
        clerk_a=clerk_a,
        clerk_b=clerk_b,
        reviewer=reviewer,
        finance=finance,
        approved=quarter.approved,
        rejected=quarter.rejected,
        e1=e1,
        e2=e2,
        e3=e3,
        returned=returned,
        draft=draft,
        grant=grant,
        next_year=next_year,
    )


@pytest.fixture
def year(claim_input: Any, reviewer: User, finance: User) -> Year:
    return build_year(claim_input, reviewer, finance)


def many_claims(
    claim_input: Any, reviewer: User, finance: User, n: int, *, first_month: int = 1
) -> None:
    """n claims over three units, six months from ``first_month`` and two programs; the
    first quarter's claims sent to the prefecture, half of them approved with their
    advance paid. Call again with ``first_month=7`` for more in another quarter."""
    clerks = [
        UserFactory(username=f"m_clerk_{code}", role="county_clerk", unit_id=code)
        for code in (A, B, "654321")
    ]
    places = {
        c.unit_id: InstitutionFactory(unit_id=c.unit_id)  # project-based: 40% advanced
        for c in clerks
    }
    sent: dict[str, list[Claim]] = {c.unit_id: [] for c in clerks}
    for i in range(n):
        clerk = clerks[i % 3]
        month = first_month + i % 6
        claim = file_claim(
            claim_input,
            clerk,
            institution_id=places[clerk.unit_id].pk,
            training_start=date(2020, month, 1),
            training_end=date(2020, month, 28),
            amount_requested=Decimal("1000.00") + i,
            passed=i % 4 != 0,
            employment="employed" if i % 5 else "flexible",
            certificate_number=f"M-{first_month}-{i}",
            project_based=True,
        )
        if month < first_month + 3:
            sent[clerk.unit_id].append(claim)
    for claims in sent.values():
        if not claims:
            continue
        send_to_prefecture(*claims, sampled_by=reviewer)
        for claim in claims[: max(1, len(claims) // 2)]:
            approved = quarter_services.claim_approve(claim_id=claim.pk, actor=reviewer)
            reporting_services.payment_record(
                claim_id=approved.pk,
                kind="advance",
                amount=approved.advance,
                # paid once the training ended (never before: issue 14, 6)
                paid_on=max(date(2020, 6, 1), approved.training_end),
                status="paid",
                actor=finance,
            )


# --- Figures --------------------------------------------------------------------------------
def test_totals_of_the_year_match_the_hand_computed_ones(year):
    total = dashboards.totals(Y)
    assert total == dashboards.Figures(
        person_times=10,
        passed=9,
        employed=10,
        requested=Decimal("19994.00"),
        approved=Decimal("10794.00"),
        pending=Decimal("7800.00"),
        paid=Decimal("1320.00"),
        paid_on_approved=Decimal("720.00"),
    )
    assert total.pass_rate == Decimal("90.0")
    assert total.employment_rate == Decimal("100.0")
    assert total.outstanding == Decimal("10074.00")


def test_figures_by_unit(year):
    rows = {r.key: r.figures for r in dashboards.by_unit(Y, dashboards.units())}
    assert len(rows) == 9  # every unit is listed, with or without claims
    assert rows[A] == dashboards.Figures(
        person_times=7,
        passed=6,
        employed=7,
        requested=Decimal("11597.00"),
        approved=Decimal("5397.00"),
        pending=Decimal("4800.00"),
        paid=Decimal("1320.00"),
        paid_on_approved=Decimal("720.00"),
    )
    assert rows[A].pass_rate == Decimal("85.7")
    assert rows[B].person_times == 3
    assert rows[B].requested == Decimal("8397.00")
    assert rows[B].pending == Decimal("3000.00")
    assert rows["654321"] == dashboards.EMPTY


def test_person_times_by_month_follow_the_training_end(year):
    months = {r.key: r.figures.person_times for r in dashboards.by_month(Y)}
    assert months == {
        1: 0,
        2: 0,
        3: 6,
        4: 0,
        5: 3,
        6: 1,
        7: 0,
        8: 0,
        9: 0,
        10: 0,
        11: 0,
        12: 0,
    }
    july = dashboards.by_month(Y)[6].figures
    assert july.requested == Decimal("3000.00")  # the program 11 grant: money only


def test_program_11_counts_money_but_no_person_times(year):
    programs = {r.key: r.figures for r in dashboards.by_program(Y)}
    assert programs[9].person_times == 10
    assert programs[11].person_times == 0
    assert programs[11].requested == Decimal("3000.00")
    funds = {r.key: r.figures for r in dashboards.by_fund(Y)}
    assert funds["special"].approved == Decimal("10794.00")
    assert funds["special"].pending == Decimal("4800.00")
    assert funds["poverty"].pending == Decimal("3000.00")


def test_the_next_year_is_its_own(year):
    assert dashboards.totals(2021).person_times == 1
    assert dashboards.totals(2021).requested == Decimal("1800.00")
    assert dashboards.years_with_data() == [2020, 2021]


def test_backlog_by_unit_and_age(year):
    rows = {r.unit: r for r in dashboards.backlog(dashboards.units())}
    assert (rows[A].fresh, rows[A].middle, rows[A].old) == (1, 1, 1)
    assert rows[A].amount == Decimal("4800.00")
    # B's grant and its 2021 claim are submitted but in no report: not the backlog.
    assert rows[B].total == 0


def test_finance_by_quarter_and_fund(year):
    rows = {
        (qf.quarter, qf.fund): qf.figures for qf in dashboards.by_quarter_and_fund(Y)
    }
    assert rows[(1, "special")].approved == Decimal("10794.00")
    assert rows[(1, "special")].paid_on_approved == Decimal("720.00")
    assert rows[(1, "special")].outstanding == Decimal("10074.00")
    assert rows[(2, "special")].pending == Decimal("4800.00")
    assert rows[(3, "poverty")].pending == Decimal("3000.00")
    failed = dashboards.failed_payments_summary()
    assert (failed.count, failed.amount) == (1, Decimal("640.00"))
    assert [p.claim_id for p in failed.payments] == [year.e2.pk]


def test_unit_dashboard_awaiting_and_reports(year):
    unit = dashboards.units()[1]
    assert unit.code == A
    d = dashboards.unit_dashboard(Y, unit)
    assert (d.awaiting.drafts_eligible, d.awaiting.returned) == (1, 1)
    assert [c.pk for c in d.awaiting.returned_claims] == [year.returned.pk]
    statuses = {r.quarter: r.status for r in d.reports}
    assert statuses == {
        "2020Q1": "closed",
        "2020Q2": "submitted",
        "2020Q3": "none",
        "2020Q4": "none",
    }
    assert d.total.person_times == 7


def test_budget_execution_against_the_entered_budget(year, finance):
    budget_set(unit_id=A, year=Y, fund="special", amount="10000", actor=finance)
    lines = {
        (x.unit, x.fund): x for x in dashboards.budget_execution(Y, dashboards.units())
    }
    line = lines[(A, "special")]
    assert (line.budget, line.approved, line.pending, line.paid) == (
        Decimal("10000.00"),
        Decimal("5397.00"),
        Decimal("4800.00"),
        Decimal("1320.00"),
    )
    # approving the pending would pass the budget (a warning); nothing approved is past it
    assert line.remaining == Decimal("-197.00") and not line.over
    assert line.pending_excess is not None
    assert line.pending_excess.over_by == Decimal("197.00")
    assert lines[(B, "special")].budget is None  # no budget: no limit
    assert lines[(B, "special")].remaining is None
    funds = {f.fund: f for f in dashboards.execution_by_fund(lines.values())}
    assert funds["special"].budget == Decimal("10000.00")
    assert funds["special"].approved == Decimal("10794.00")
    assert funds["special"].units_without_budget == 1
    # the remaining counts only the units with a budget: B has no limit
    assert funds["special"].remaining == Decimal("-197.00")
    assert funds["special"].used_percent == Decimal("102.0")
    assert not funds["special"].over and funds["special"].pending_excess is not None


# --- A constant number of queries ------------------------------------------------------------
DASHBOARDS = [
    ("reviewer", "dashboards:prefecture", ""),
    ("reviewer", "dashboards:unit", f"&unit={A}"),
    ("finance", "dashboards:finance", ""),
    ("reviewer", "dashboards:anomalies", ""),
    ("finance", "dashboards:budgets", ""),
    ("reviewer", "dashboards:review", None),
    ("reviewer", "dashboards:review_xlsx", None),
]
MAX_QUERIES = 30


def _url(name: str, extra: str | None) -> str:
    if extra is None:
        return reverse(name, args=[Y])
    return f"{reverse(name)}?year={Y}{extra}"


def _get(client: Any, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 200, url


@pytest.mark.parametrize(("role", "name", "extra"), DASHBOARDS)
def test_each_dashboard_costs_the_same_queries_for_5_or_60_claims(
    role,
    name,
    extra,
    claim_input,
    reviewer,
    finance,
    client,
    django_assert_max_num_queries,
):
    # given 5 claims, and a signed-in user
    client.force_login(reviewer if role == "reviewer" else finance)
    url = _url(name, extra)
    many_claims(claim_input, reviewer, finance, 5)
    # the anomaly page reads the lists' snapshot (computed in the background; its
    # computation is counted by the next test)
    anomaly_snapshots.anomalies_refresh()
    with CaptureQueriesContext(connection) as few:
        _get(client, url)
    # when there are 60
    many_claims(claim_input, reviewer, finance, 55, first_month=7)
    assert Claim.objects.count() == 60
    anomaly_snapshots.anomalies_refresh()
    with django_assert_max_num_queries(MAX_QUERIES) as many:
        _get(client, url)
    # then the page costs exactly as many queries
    assert len(many) == len(few)


def test_computing_the_anomaly_lists_costs_the_same_queries_for_5_or_60_claims(
    claim_input, reviewer, finance
):
    many_claims(claim_input, reviewer, finance, 5)
    anomaly_snapshots.anomalies_refresh()  # the row exists: each refresh rewrites it
    with CaptureQueriesContext(connection) as few:
        anomaly_snapshots.anomalies_refresh()
    many_claims(claim_input, reviewer, finance, 55, first_month=7)
    with CaptureQueriesContext(connection) as many:
        anomaly_snapshots.anomalies_refresh()
    assert len(many) == len(few) <= MAX_QUERIES


@pytest.mark.parametrize("seed", [1, 2])
def test_the_months_stepped_through_the_index_are_the_distinct_months(db, seed):
    """``months_with_claims`` probes the summaries' index month by month (issue 20);
    it finds what a DISTINCT over every kept row finds, over random summary rows of
    every status, some holding no claims."""
    rng = random.Random(seed)
    statuses = ["draft", "submitted", "approved", "rejected", "returned", "withdrawn"]
    for n in range(60):
        ClaimSummary.objects.create(
            month=date(rng.randint(2018, 2024), rng.randint(1, 12), 1),
            unit_id="654301",
            program_id=9,
            fund=str(n),  # every row its own key
            status=rng.choice(statuses),
            claims=rng.choice([0, 0, 1, 3]),
        )
    distinct = sorted(
        set(
            ClaimSummary.objects.exclude(status="draft")
            .filter(claims__gt=0)
            .values_list("month", flat=True)
        )
    )
    assert len(distinct) > 5
    assert dashboards.months_with_claims() == distinct
    assert dashboards.years_with_data() == sorted({m.year for m in distinct})
