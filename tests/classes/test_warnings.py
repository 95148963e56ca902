"""What a class makes visible (issue 16, ``classes.warnings``): a person on two classes
at once, a roster's age outside 16–65, a class where everyone attended everything and
passed — on the roster's pre-check, as the class's claims' warnings and on the
anomaly page, each defined once."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.test import Client

import pytest

from accounts.models import User
from claims.warnings import warnings_for_claims
from classes import services
from classes.models import RosterLine, TrainingClass
from classes.warnings import (
    class_overlaps,
    perfect_class_list,
    perfect_classes,
    roster_age_outliers,
)
from programs.models import Institution
from reporting.anomalies import anomalies
from tests.classes.conftest import END, START, class_input, found_by
from tests.classes.test_services import attend, passed_all
from tests.factories import TraineeFactory, make_id_number
from trainees.models import Trainee

pytestmark = pytest.mark.django_db


def filed(
    staff: User, school: Institution, people: list[Trainee], **overrides: Any
) -> TrainingClass:
    cls = services.class_create(data=class_input(school, **overrides), actor=staff)
    services.class_roster_set(
        class_id=cls.pk, trainee_ids=[p.pk for p in people], actor=staff
    )
    return services.class_file(class_id=cls.pk, actor=staff)


def codes(claim_id: int) -> list[str]:
    return [w.code for w in warnings_for_claims([claim_id])[claim_id]]


def run_to_completion(
    cls: TrainingClass,
    staff: User,
    clerk: User,
    people: list[Trainee],
    clock: Any,
    *,
    full: bool = True,
) -> list[Any]:
    services.class_accept(class_id=cls.pk, actor=clerk)
    clock(cls.planned_start)
    services.class_start(class_id=cls.pk, actor=staff)
    clock(END)
    attend(cls, staff, people, days=10 if full else 9)
    clock(END + timedelta(days=1))
    return services.class_complete(
        class_id=cls.pk, results=passed_all(people), actor=clerk
    )


# --- A person on two classes at once -------------------------------------------------------
def test_a_person_on_two_classes_at_once_is_listed_and_warned_on_the_claims(
    clock: Any,
    staff: User,
    school: Institution,
    people: list[Trainee],
    clerk: User,
) -> None:
    # given: the first person also on a second class in the same weeks
    first = filed(staff, school, people)
    second = filed(
        staff,
        school,
        people[:1],
        planned_start=START + timedelta(days=20),
        planned_end=END + timedelta(days=20),
    )
    third = filed(  # a cancelled class counts for nothing
        staff, school, people[1:2], planned_start=START, planned_end=END
    )
    services.class_cancel(class_id=third.pk, actor=staff, reason="报名人数不足")

    # then: one pair, the person's, and the days the classes share
    (pair,) = class_overlaps(limit=200)
    assert pair.trainee_id == people[0].pk
    assert {pair.first.class_id, pair.second.class_id} == {first.pk, second.pk}
    assert pair.days == (END - (START + timedelta(days=20))).days + 1
    # the second class's pre-check names the first
    line = RosterLine.objects.get(training_class=second, trainee=people[0])
    assert [w["code"] for w in line.precheck["warnings"]] == ["class_overlap"]
    assert f"培训班#{first.pk}" in line.precheck["warnings"][0]["message"]

    # when: the first class completes, its claims carry the warning — the person's only
    claims = run_to_completion(first, staff, clerk, people, clock)
    assert "class_overlap" in codes(claims[0].pk)
    assert "class_overlap" not in codes(claims[1].pk)
    found = warnings_for_claims([claims[0].pk])[claims[0].pk]
    overlap = next(w for w in found if w.code == "class_overlap")
    assert overlap.label == "培训班时间重叠"
    assert f"培训班#{second.pk}" in overlap.message


def test_classes_apart_are_not_an_overlap(
    clock: Any, staff: User, school: Institution, people: list[Trainee]
) -> None:
    filed(staff, school, people[:1])
    filed(
        staff,
        school,
        people[:1],
        planned_start=END + timedelta(days=1),
        planned_end=END + timedelta(days=30),
    )
    assert class_overlaps(limit=200) == []


# --- A roster's age outside 16–65 ----------------------------------------------------------
def test_a_person_outside_16_to_65_on_the_planned_start_is_listed_and_pre_checked(
    clock: Any, staff: User, school: Institution, people: list[Trainee]
) -> None:
    # 65 on the day before the start (66 on it), and one who turns 66 the day after
    old = TraineeFactory(id_number=make_id_number(date(1954, 4, 1), serial=901))
    almost = TraineeFactory(id_number=make_id_number(date(1954, 4, 2), serial=902))
    found_by(staff, old, almost)

    cls = filed(staff, school, [*people[:1], old, almost])

    (outlier,) = roster_age_outliers(limit=200)
    assert outlier.trainee_id == old.pk and outlier.age == 66
    assert outlier.place.class_id == cls.pk
    warned = {
        line.trainee_id: [w["code"] for w in line.precheck["warnings"]]
        for line in RosterLine.objects.filter(training_class=cls)
    }
    assert warned == {people[0].pk: [], old.pk: ["age_unusual"], almost.pk: []}


# --- Everyone at 100% and passed -----------------------------------------------------------
def test_a_class_where_everyone_attended_everything_and_passed_is_worth_a_look(
    clock: Any,
    staff: User,
    school: Institution,
    people: list[Trainee],
    clerk: User,
) -> None:
    cls = filed(staff, school, people)

    claims = run_to_completion(cls, staff, clerk, people, clock)

    assert perfect_classes() == {cls.pk}
    (listed,) = perfect_class_list(limit=200)
    assert listed.class_id == cls.pk and listed.people == 3
    assert listed.claim_ids == [c.pk for c in claims]
    assert all("class_perfect" in codes(c.pk) for c in claims)
    # a warning, not a refusal
    assert all(c.eligible for c in claims)


def test_a_class_with_one_session_missed_is_not_perfect(
    clock: Any,
    staff: User,
    school: Institution,
    people: list[Trainee],
    clerk: User,
) -> None:
    cls = filed(staff, school, people)

    claims = run_to_completion(cls, staff, clerk, people, clock, full=False)

    assert perfect_classes() == set()
    assert all("class_perfect" not in codes(c.pk) for c in claims)


def test_a_claim_entered_by_hand_carries_no_class_warning(
    claim_input: Any, clerk: User
) -> None:
    from claims import services as claim_services

    claim = claim_services.claim_create(data=claim_input(), actor=clerk)
    assert codes(claim.pk) == []


# --- The anomaly page -----------------------------------------------------------------------
def test_the_anomaly_page_lists_the_classes_findings(
    clock: Any,
    staff: User,
    school: Institution,
    people: list[Trainee],
    clerk: User,
    reviewer: User,
) -> None:
    old = TraineeFactory(id_number=make_id_number(date(1940, 1, 1), serial=903))
    found_by(staff, old)
    cls = filed(staff, school, people)
    filed(staff, school, [people[0], old], planned_start=END, planned_end=END)
    run_to_completion(cls, staff, clerk, people, clock)

    found = anomalies()
    assert len(found.class_overlaps) == 1
    assert [a.trainee_id for a in found.roster_ages] == [old.pk]
    assert [p.class_id for p in found.perfect_classes] == [cls.pk]

    browser = Client()
    browser.force_login(reviewer)
    page = browser.get("/dashboards/anomalies/")
    assert page.status_code == 200
    html = page.content.decode()
    for section in ("class-overlaps", "roster-ages", "perfect-classes"):
        assert f'data-testid="anomaly-{section}"' in html
    assert "同一人在两个培训班的名单上，培训时间重叠（1）" in html
    assert "培训班全员出勤100%且全部合格（1）" in html
    assert old.name in html
