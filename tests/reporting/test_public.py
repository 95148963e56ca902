"""The public side: fund use and catalogues, with no personal data anywhere."""

from datetime import date
from decimal import Decimal

import pytest

from finance import services
from reporting import selectors
from tests.factories import county_uplift

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def published(closed_quarter, reviewer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.rollup_request(quarter="2020Q1", actor=reviewer)
    return closed_quarter


def test_disclosure_counts_person_times_and_amounts_per_unit(published):
    disclosure = selectors.public_disclosure()
    assert disclosure.person_times == len(published.approved) == 6
    assert disclosure.amount == sum(c.approved_amount for c in published.approved)
    assert {name for name, _, _ in disclosure.by_unit} == {"阿勒泰市", "富蕴县"}
    assert selectors.published_quarters() == ["2020Q1"]


def test_disclosure_shows_nothing_before_a_rollup_is_ready(closed_quarter):
    assert selectors.public_disclosure().rows == []


def test_catalogue_lists_claimable_programs_with_caps_in_force():
    # within the notice's plan (2019—2021; issue 13, 1), with one county's uplift
    county_uplift("654301")
    catalogue = {e.number: e for e in selectors.program_catalogue(on=date(2021, 6, 30))}
    assert set(catalogue) == {1, 2, 3, 5, 6, 7, 9, 10, 11}
    assert catalogue[3].caps == [
        "三级/高级工 不超过4,000.00元/人",
        "二级/技师 不超过5,000.00元/人",
        "一级/高级技师 不超过6,000.00元/人",
    ]
    # the uplift is the county's decision (issue 13, 4), named with its county
    assert "阿勒泰市决定：项目制且培训2个月以上的上浮50%" in catalogue[9].caps
    assert sum("上浮" in c for c in catalogue[9].caps) == 1
    assert catalogue[1].caps == ["标准由相关文件规定，尚未录入"]


def test_after_the_plan_the_catalogue_lists_no_cap_until_successor_terms(db):
    catalogue = {e.number: e for e in selectors.program_catalogue(on=date(2022, 1, 1))}
    assert catalogue[3].caps == ["标准由相关文件规定，尚未录入"]


def test_a_closed_cap_leaves_the_catalogue(db):
    from datetime import date

    from programs.models import PolicyEntry

    entry = PolicyEntry.objects.get(program_id=11, kind="cap")
    entry.effective_to = date(2021, 12, 31)
    entry.save()
    catalogue = {e.number: e for e in selectors.program_catalogue(on=date(2022, 1, 1))}
    assert catalogue[11].caps == ["标准由相关文件规定，尚未录入"]
    assert Decimal("3000") == entry.amount
