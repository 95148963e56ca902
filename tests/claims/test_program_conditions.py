"""The programs' own conditions, read once more against the notice (session 24's policy
review). Each test is one finding: a claim the notice does not allow that was paid, or
one it allows that was refused. The rules are pure, so each is judged by
``claims.rules.decide`` as ``test_rules.py`` judges them.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from claims import rules
from tests.claims.test_rules import claim, enterprise, institution, judge, person
from tests.claims.test_rules import work_in_lieu as in_lieu

COLLEGE = institution(kind="vocational_college", name="阿勒泰职业技术学院")


# --- 三(三)10 针对建档立卡贫困劳动力 ------------------------------------------------------
def test_program_10_is_for_registered_poor_labour_only() -> None:
    """三(二)9 names 贫困家庭子女 and 贫困劳动力 as two groups; 三(三)10 only the second."""
    child = judge(claim(10), trainee=person(groups=frozenset({"poor_family_child"})))
    assert "target_group_required" in child.codes
    assert "建档立卡贫困劳动力" in " ".join(v.message for v in child.violations)

    assert judge(claim(10), trainee=person(groups=frozenset({"poor_labour"}))).eligible


# --- 三(二)9 以工代训 最长不超过6个月，每人每月不超过300元 --------------------------------------
@pytest.mark.parametrize(
    ("start", "end", "months_worked"),
    [
        (date(2020, 1, 31), date(2020, 2, 1), 1),  # two days over a month's end
        (date(2019, 11, 25), date(2020, 4, 1), 5),  # four months and a week
        (date(2020, 3, 1), date(2020, 3, 31), 1),
        (date(2020, 3, 1), date(2020, 4, 1), 2),  # a second month begun
        (date(2019, 11, 1), date(2020, 4, 30), 6),
    ],
)
def test_work_in_lieu_pays_the_months_worked_not_the_calendar_months_touched(
    start: date, end: date, months_worked: int
) -> None:
    """A month of work begins on the day the work began: two days across the end of
    January are one month begun, not two (they were paid 600 yuan)."""
    span = {"training_start": start, "training_end": end}
    paid = judge(
        in_lieu(
            **span,
            work_in_lieu_months=months_worked,
            amount_requested=Decimal(300 * months_worked),
        )
    )
    assert paid.eligible, paid.codes
    assert paid.amount == Decimal(300 * months_worked)

    more = judge(
        in_lieu(
            **span,
            work_in_lieu_months=months_worked + 1,
            amount_requested=Decimal(300 * (months_worked + 1)),
        )
    )
    assert "work_in_lieu_months_exceeded" in more.codes


# --- 三(一)1、3、5、6: the employer is an enterprise ---------------------------------------
@pytest.mark.parametrize("program", [1, 3, 5, 6])
def test_an_enterprise_staff_program_needs_an_enterprise_as_employer(
    program: int,
) -> None:
    """企业新招用员工 (1), 各类企业…职工 (3), 困难企业 (5), 组织有培训需求的企业 (6): a
    college named as the employer is no enterprise."""
    facts = claim(program, institution=institution(), employer=COLLEGE)

    decision = judge(facts)

    assert "enterprise_not_certified" in decision.codes
    assert "须为" in " ".join(v.message for v in decision.violations)


def test_program_5_may_be_given_by_a_provider_the_difficult_enterprise_engages() -> (
    None
):
    """由企业组织人员开展…培训: the certified enterprise organises the training; a
    training institution may give it (it was refused: the provider was asked to be the
    certified enterprise)."""
    engaged = claim(
        5, institution=institution(), employer=enterprise(certified_difficult=True)
    )
    assert judge(engaged).eligible, judge(engaged).codes

    uncertified = replace(engaged, employer=enterprise(certified_difficult=False))
    assert "enterprise_not_certified" in judge(uncertified).codes


# --- 三(一)6 参加1—2年的企业新型学徒制培训 -------------------------------------------------
def test_an_apprenticeship_of_more_than_two_years_is_refused() -> None:
    start = date(2019, 3, 1)
    two_years = judge(claim(6, training_start=start, training_end=date(2021, 2, 28)))
    assert two_years.eligible, two_years.codes

    for end in (date(2021, 3, 1), date(2021, 3, 30)):
        longer = judge(claim(6, training_start=start, training_end=end))
        assert "invalid_dates" in longer.codes, end
    # two years from a leap day end on 28 February (the second review: it was refused
    # as more than 24 months; past the plan's years, so the bound is asked directly)
    assert rules.months_end(date(2020, 2, 29), 24) == date(2022, 2, 28)
    assert rules.months_end(start, 24) == date(2021, 2, 28)


# --- 三(二)7 委托职业培训机构开展职业技能提升培训 --------------------------------------------
def test_program_7_is_given_by_a_training_provider() -> None:
    by_an_enterprise = judge(claim(7, institution=enterprise()))
    assert "institution_not_admitted" in by_an_enterprise.codes
    assert "职业培训机构" in " ".join(v.message for v in by_an_enterprise.violations)

    for provider in (institution(), COLLEGE):
        assert judge(claim(7, institution=provider)).eligible
