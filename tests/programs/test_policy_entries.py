from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError

import pytest

from programs.models import PolicyEntry

pytestmark = pytest.mark.django_db


def test_an_overlapping_entry_is_refused_until_the_old_one_is_closed():
    # given the notice's 1800 cap for program 9, open-ended from 2019
    new = PolicyEntry(
        program_id=9,
        kind="cap",
        amount=Decimal("2000.00"),
        effective_from=date(2020, 7, 1),
        clause="三(二)9",
        source_document="test",
    )
    # when an administrator adds a new cap from mid-2020
    with pytest.raises(ValidationError, match="重叠"):
        new.full_clean()
    # then closing the old entry first lets it in
    old = PolicyEntry.objects.get(program_id=9, kind="cap")
    old.effective_to = date(2020, 6, 30)
    old.full_clean()
    old.save()
    new.full_clean()
    new.save()
    assert old.in_force_on(date(2020, 6, 30)) and new.in_force_on(date(2020, 7, 1))


def test_a_cap_entry_needs_an_amount_and_no_ratio():
    entry = PolicyEntry(
        program_id=1,
        kind="cap",
        ratio=Decimal("0.5"),
        effective_from=date(2019, 1, 1),
        clause="三(一)1",
        source_document="test",
    )
    with pytest.raises(ValidationError):
        entry.full_clean()


def test_the_database_refuses_a_value_of_the_wrong_kind():
    with pytest.raises(IntegrityError):
        PolicyEntry.objects.create(
            program_id=1,
            kind="cap",
            ratio=Decimal("0.5"),
            effective_from=date(2019, 1, 1),
            clause="x",
            source_document="x",
        )


def test_the_database_refuses_a_negative_cap():
    with pytest.raises(IntegrityError):
        PolicyEntry.objects.create(
            program_id=1,
            kind="cap",
            amount=Decimal("-1"),
            effective_from=date(2019, 1, 1),
            clause="x",
            source_document="x",
        )


# --- Illustrative successor terms (demo and benchmark; issue 13, 1 and 4) ---------------
def test_illustrative_terms_continue_the_notices_figures_marked_as_demo():
    from programs.services import enter_illustrative_terms

    ended = PolicyEntry.objects.filter(
        effective_to=date(2021, 12, 31), unit__isnull=True
    ).exclude(kind="project_uplift")

    entered = enter_illustrative_terms(uplift_units=["654301"])

    after = PolicyEntry.objects.filter(effective_from=date(2022, 1, 1))
    assert entered == ended.count() + 1
    assert sorted(after.values_list("kind", "program_id", "level_id")) == sorted(
        ended.values_list("kind", "program_id", "level_id")
    )
    assert all(e.is_demo and e.effective_to is None for e in after)
    assert all("演示" in e.source_document and "不是真实政策" in e.note for e in after)
    uplift = PolicyEntry.objects.get(kind="project_uplift", unit_id="654301")
    assert uplift.is_demo and uplift.ratio == Decimal("0.5")
    # again: nothing new (an entry for the period is already there)
    assert enter_illustrative_terms(uplift_units=["654301"]) == 0


def test_illustrative_terms_never_replace_an_administrators_successor_terms():
    from programs.services import enter_illustrative_terms

    PolicyEntry.objects.create(
        kind="plan_period",
        effective_from=date(2022, 1, 1),
        clause="标题、二",
        source_document="阿行办发〔2022〕9号",
    )

    enter_illustrative_terms()

    period = PolicyEntry.objects.get(kind="plan_period", effective_from__year=2022)
    assert period.source_document == "阿行办发〔2022〕9号" and not period.is_demo
