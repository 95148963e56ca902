"""Issue 13, the work year: 六(二) sets the work from mid-November to the end of October
and 六(三) reviews it each November, so the 10,000 person-times target and the November
review of year Y count the training ended from 1 November Y−1 to 31 October Y (its first
month is the policy entry ``work_year_start_month``), and the pages say so. The yearly
limit per person stays the calendar year of training end.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from typing import Any

from django.urls import reverse

import pytest
from openpyxl import load_workbook

from accounts.models import User
from claims import services
from claims.models import Claim
from claims.services import ClaimInput
from programs.models import PolicyEntry
from reporting import dashboards, review
from tests.factories import TraineeFactory

pytestmark = pytest.mark.django_db

A = "654301"
#: Training ended (and submitted): work year 2020 is 2019-11-01 … 2020-10-31.
ENDS = {
    date(2019, 10, 31): 2019,
    date(2019, 11, 1): 2020,
    date(2019, 12, 20): 2020,
    date(2020, 6, 15): 2020,
    date(2020, 10, 31): 2020,
    date(2020, 11, 15): 2021,
}


@pytest.fixture
def claims(clerk: User, claim_input: Callable[..., ClaimInput]) -> list[Claim]:
    filed = []
    for end in ENDS:
        person = TraineeFactory(groups=["poor_labour"])
        data = claim_input(
            trainee_id=person.pk, training_start=end.replace(day=1), training_end=end
        )
        draft = services.claim_create(data=data, actor=clerk)
        filed.append(services.claim_submit(claim_id=draft.pk, actor=clerk))
    return filed


def test_the_november_review_counts_the_work_year(claims: list[Claim]) -> None:
    r = review.review_figures(2020)

    assert r.work_year is not None
    assert r.work_year.span == (date(2019, 11, 1), date(2020, 10, 31))
    assert r.unit(A).figures.person_times == 4  # not the calendar year's 3
    assert r.total.figures.person_times == 4
    assert review.review_figures(2021).total.figures.person_times == 1
    assert review.review_figures(2019).total.figures.person_times == 1


def test_the_targets_progress_on_the_dashboard_counts_the_work_year(
    claims: list[Claim],
) -> None:
    d = dashboards.prefecture_dashboard(2020)

    assert d.work_year_total.person_times == 4
    assert d.total.person_times == 3  # the calendar year's figures stay as they are
    assert d.progress == dashboards.percent(4, d.target)


def test_the_pages_say_which_period_they_count(
    claims: list[Claim], reviewer: User, client: Any
) -> None:
    client.force_login(reviewer)

    page = client.get(reverse("dashboards:review", args=[2020])).content.decode()
    board = client.get(reverse("dashboards:prefecture") + "?year=2020").content.decode()
    unit_page = client.get(
        reverse("dashboards:review_unit", args=[2020, A])
    ).content.decode()

    assert "2019-11-01至2020-10-31" in page
    assert "工作年度" in page and "六(三)" in page
    assert "每人每年补贴次数仍按培训结束日期所在自然年计" in page
    assert "工作年度 2019-11-01至2020-10-31" in board
    assert "2019-11-01至2020-10-31" in unit_page


def test_the_review_workbook_counts_and_names_the_work_year(
    claims: list[Claim], reviewer: User, client: Any
) -> None:
    client.force_login(reviewer)

    response = client.get(reverse("dashboards:review_xlsx", args=[2020]))

    book = load_workbook(io.BytesIO(response.content), read_only=True)
    cells = [
        str(c) for row in book["汇总"].iter_rows(values_only=True) for c in row if c
    ]
    assert any("2019-11-01至2020-10-31（工作年度）" in c for c in cells)
    assert "4/10,000人次，未完成" in cells


def test_the_work_years_first_month_is_policy_data(claims: list[Claim]) -> None:
    entry = PolicyEntry.objects.get(kind="work_year_start_month")
    assert (entry.quantity, entry.clause) == (11, "六(二)")

    PolicyEntry.objects.filter(pk=entry.pk).update(quantity=10)
    assert review.review_figures(2020).work_year.span == (  # type: ignore[union-attr]
        date(2019, 10, 1),
        date(2020, 9, 30),
    )
    assert review.review_figures(2020).total.figures.person_times == 4

    PolicyEntry.objects.filter(pk=entry.pk).delete()
    fallback = review.review_figures(2020)
    assert fallback.work_year.span == (date(2020, 1, 1), date(2020, 12, 31))  # type: ignore[union-attr]
    assert "未录入工作年度起始月" in fallback.work_year.note  # type: ignore[union-attr]
    assert fallback.total.figures.person_times == 3
