"""Training classes (issue 16): each state change through its service, each refusal."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import DatabaseError, transaction

import pytest

from accounts.models import User
from altay_skills.errors import Conflict, DomainError, NotFound, PermissionDenied
from claims import services as claim_services
from claims.models import Claim, ClaimEvent
from classes import events, rules, services
from classes.models import ClassEvent, RosterLine, TrainingClass
from classes.selectors import live_roster
from programs.models import Institution
from tests.classes.conftest import (
    END,
    START,
    class_input,
    found_by,
    started_class,
)
from tests.conftest import on_postgres
from tests.factories import InstitutionFactory, TraineeFactory, county_uplift
from tests.grievance_run import refuse_maker_finding
from trainees.models import Trainee

pytestmark = pytest.mark.django_db


def passed_all(people: list[Trainee]) -> list[services.ClassResult]:
    return [
        services.ClassResult(
            trainee_id=p.pk,
            passed=True,
            certificate_number=f"CERT-{p.pk}",
            employment="employed",
        )
        for p in people
    ]


def attend(
    cls: TrainingClass,
    actor: User,
    present: list[Trainee],
    *,
    days: int,
    skip: int = 0,
) -> None:
    """``days`` sessions of 10 hours from ``skip`` days after the start (recorded on
    or after the day), ``present`` at each."""
    for n in range(skip, skip + days):
        services.class_session_record(
            class_id=cls.pk,
            on=START + timedelta(days=n),
            hours=Decimal("10"),
            present=[p.pk for p in present],
            actor=actor,
        )


def complete_with_one_short(
    cls: TrainingClass, staff: User, clerk: User, people: list[Trainee], clock: Any
) -> list[Claim]:
    """Ten sessions of 10 hours, the third person at seven of them (70%, below the
    class terms' 80%); everyone passed and employed: the claims created."""
    clock(END)
    attend(cls, staff, people, days=7)
    attend(cls, staff, people[:2], days=3, skip=7)
    clock(END + timedelta(days=1))
    return services.class_complete(
        class_id=cls.pk, results=passed_all(people), actor=clerk
    )


# --- Drafting and the roster ---------------------------------------------------------------
def test_the_institutions_staff_drafts_a_class_of_their_own_institution_only(
    clock: Any, staff: User, school: Institution
) -> None:
    cls = services.class_create(data=class_input(school), actor=staff)
    assert cls.status == "draft"
    assert cls.events.get().action == "create"

    elsewhere = InstitutionFactory()
    with pytest.raises(PermissionDenied):
        services.class_create(data=class_input(elsewhere), actor=staff)


def test_a_clerk_drafts_for_their_own_unit_only(
    clock: Any, clerk: User, school: Institution
) -> None:
    with pytest.raises(PermissionDenied):
        services.class_create(data=class_input(school, unit_id="654322"), actor=clerk)


def test_a_roster_above_fifty_is_refused(
    clock: Any, staff: User, school: Institution
) -> None:
    cls = services.class_create(data=class_input(school), actor=staff)
    crowd = [TraineeFactory().pk for _ in range(rules.ROSTER_MAX.whole + 1)]

    with pytest.raises(DomainError) as refused:
        services.class_roster_set(class_id=cls.pk, trainee_ids=crowd, actor=staff)

    assert refused.value.code == "roster_too_large"
    assert "50" in refused.value.message
    assert not RosterLine.objects.exists()


def test_a_roster_of_fifty_is_accepted(
    clock: Any, staff: User, school: Institution
) -> None:
    cls = services.class_create(data=class_input(school), actor=staff)
    fifty = [
        p.pk
        for p in found_by(
            staff, *(TraineeFactory() for _ in range(rules.ROSTER_MAX.whole))
        )
    ]

    services.class_roster_set(class_id=cls.pk, trainee_ids=fifty, actor=staff)

    assert RosterLine.objects.filter(training_class=cls).count() == 50


def test_each_roster_line_is_prechecked_with_the_persons_live_history(
    clock: Any,
    staff: User,
    school: Institution,
    clerk: User,
    claim_input: Any,
    people: list[Trainee],
) -> None:
    # given: one person already holds three submitted claims of 2020 (五(二): 3 a year)
    busy = people[0]
    for n, (trade, level) in enumerate(
        [
            ("4-03-02-01", "primary"),
            ("4-10-01-01", "primary"),
            ("4-10-01-05", "primary"),
        ]
    ):
        made = claim_services.claim_create(
            data=claim_input(
                trainee_id=busy.pk,
                trade_id=trade,
                level_id=level,
                training_start=date(2020, 1, 1 + n),
                training_end=date(2020, 1, 20 + n),
                certificate_number=f"C-{n}",
            ),
            actor=clerk,
        )
        clock(date(2020, 2, 1))
        claim_services.claim_submit(claim_id=made.pk, actor=clerk)
    cls = services.class_create(data=class_input(school), actor=staff)

    # when
    services.class_roster_set(
        class_id=cls.pk, trainee_ids=[p.pk for p in people], actor=staff
    )

    # then: the fourth of the year shows before the training; the others pass
    lines = {line.trainee_id: line.precheck for line in RosterLine.objects.all()}
    assert [v["code"] for v in lines[busy.pk]["violations"]] == ["annual_limit"]
    assert all(lines[p.pk]["eligible"] for p in people[1:])
    assert lines[people[1].pk]["cap"] == "1800.00"


def test_nobody_is_put_on_a_roster_by_walking_ids(
    clock: Any, staff: User, school: Institution
) -> None:
    # given: a person the institution's staff never found by their ID number
    unknown = TraineeFactory()
    cls = services.class_create(data=class_input(school), actor=staff)

    with pytest.raises(DomainError) as refused:
        services.class_roster_set(
            class_id=cls.pk, trainee_ids=[unknown.pk], actor=staff
        )

    # then: answered like a missing person
    assert refused.value.code == "invalid_reference"
    assert not RosterLine.objects.exists()


def test_a_person_on_two_overlapping_classes_is_flagged(
    clock: Any, staff: User, school: Institution, people: list[Trainee]
) -> None:
    # given: a first class with the person on it, and a second one a month later
    first = services.class_create(data=class_input(school), actor=staff)
    services.class_roster_set(
        class_id=first.pk, trainee_ids=[people[0].pk], actor=staff
    )
    later = START + timedelta(days=61)
    apart = services.class_create(
        data=class_input(school, planned_start=later, planned_end=later), actor=staff
    )
    overlapping = services.class_create(
        data=class_input(school, planned_start=END, planned_end=END), actor=staff
    )

    # when
    for cls in (apart, overlapping):
        services.class_roster_set(
            class_id=cls.pk, trainee_ids=[people[0].pk, people[1].pk], actor=staff
        )

    # then: only the overlapping class warns, and only about the person on both
    def warnings(cls: TrainingClass, person: Trainee) -> list[str]:
        line = RosterLine.objects.get(training_class=cls, trainee=person)
        return [w["code"] for w in line.precheck["warnings"]]

    assert warnings(overlapping, people[0]) == ["class_overlap"]
    assert warnings(overlapping, people[1]) == []
    assert warnings(apart, people[0]) == []
    assert RosterLine.objects.get(
        training_class=overlapping, trainee=people[0]
    ).precheck["eligible"]


def test_a_draft_roster_change_is_recorded(
    clock: Any, staff: User, school: Institution, people: list[Trainee]
) -> None:
    cls = services.class_create(data=class_input(school), actor=staff)
    services.class_roster_set(
        class_id=cls.pk, trainee_ids=[p.pk for p in people], actor=staff
    )
    services.class_roster_set(class_id=cls.pk, trainee_ids=[people[0].pk], actor=staff)

    last = cls.events.order_by("id").last()
    assert last.action == "roster"
    assert last.changes["removed"] == [people[1].pk, people[2].pk]
    assert RosterLine.objects.filter(removed_at__isnull=True).count() == 1
    assert RosterLine.objects.count() == 3  # the removed lines stay


# --- Filing and acceptance ---------------------------------------------------------------
def test_filing_later_than_seven_days_before_the_start_is_refused(
    clock: Any, staff: User, school: Institution, people: list[Trainee]
) -> None:
    cls = services.class_create(data=class_input(school), actor=staff)
    services.class_roster_set(class_id=cls.pk, trainee_ids=[people[0].pk], actor=staff)
    clock(START - timedelta(days=6))

    with pytest.raises(Conflict) as refused:
        services.class_file(class_id=cls.pk, actor=staff)

    assert refused.value.code == "filing_too_late"
    assert "7日前" in refused.value.message
    cls.refresh_from_db()
    assert cls.status == "draft"


def test_filing_on_the_last_day_is_in_time(
    clock: Any, staff: User, school: Institution, people: list[Trainee]
) -> None:
    cls = services.class_create(data=class_input(school), actor=staff)
    services.class_roster_set(class_id=cls.pk, trainee_ids=[people[0].pk], actor=staff)
    clock(START - timedelta(days=7))

    assert services.class_file(class_id=cls.pk, actor=staff).status == "filed"


def test_an_acceptance_after_the_last_day_is_refused(
    clock: Any, filed_class: TrainingClass, clerk: User
) -> None:
    clock(START - timedelta(days=6))

    with pytest.raises(Conflict) as refused:
        services.class_accept(class_id=filed_class.pk, actor=clerk)

    assert refused.value.code == "filing_too_late"


def test_an_empty_roster_is_not_filed(
    clock: Any, staff: User, school: Institution
) -> None:
    cls = services.class_create(data=class_input(school), actor=staff)
    with pytest.raises(DomainError) as refused:
        services.class_file(class_id=cls.pk, actor=staff)
    assert refused.value.code == "roster_empty"


def test_whoever_drafted_a_class_does_not_accept_it(
    clock: Any,
    clerk: User,
    clerk_same_unit: User,
    school: Institution,
    people: list[Trainee],
) -> None:
    cls = services.class_create(data=class_input(school), actor=clerk)
    services.class_roster_set(class_id=cls.pk, trainee_ids=[people[0].pk], actor=clerk)
    services.class_file(class_id=cls.pk, actor=clerk)

    with pytest.raises(PermissionDenied):
        services.class_accept(class_id=cls.pk, actor=clerk)
    accepted = services.class_accept(class_id=cls.pk, actor=clerk_same_unit)

    assert accepted.status == "accepted"
    assert accepted.accepted_by == clerk_same_unit


def test_whoever_set_the_roster_or_filed_does_not_accept_either(
    clock: Any,
    clerk: User,
    clerk_same_unit: User,
    school: Institution,
    people: list[Trainee],
) -> None:
    # given a class drafted by one clerk, whose roster a second clerk set and filed
    cls = services.class_create(data=class_input(school), actor=clerk)
    found_by(clerk_same_unit, people[0])
    services.class_roster_set(
        class_id=cls.pk, trainee_ids=[people[0].pk], actor=clerk_same_unit
    )
    services.class_file(class_id=cls.pk, actor=clerk_same_unit)
    # then neither may accept what they wrote (经办与审核分离)
    for writer in (clerk, clerk_same_unit):
        with pytest.raises(PermissionDenied) as refused:
            services.class_accept(class_id=cls.pk, actor=writer)
        assert "编排名单或报送备案" in refused.value.message
    assert TrainingClass.objects.get(pk=cls.pk).status == "filed"


def test_institution_staff_do_not_accept_filings(
    filed_class: TrainingClass, staff: User
) -> None:
    with pytest.raises(PermissionDenied):
        services.class_accept(class_id=filed_class.pk, actor=staff)


def test_another_units_clerk_finds_no_class(
    filed_class: TrainingClass, other_clerk: User
) -> None:
    with pytest.raises(NotFound):
        services.class_accept(class_id=filed_class.pk, actor=other_clerk)


def test_a_returned_filing_carries_its_reason_and_may_be_filed_again(
    filed_class: TrainingClass, clerk: User, staff: User
) -> None:
    for nothing in ("  ", "0", "x", "。。"):
        with pytest.raises(DomainError) as refused:
            services.class_return(class_id=filed_class.pk, actor=clerk, reason=nothing)
        assert refused.value.code == "reason_required"

    returned = services.class_return(
        class_id=filed_class.pk, actor=clerk, reason="授课教师资质未附"
    )
    assert (returned.status, returned.return_reason) == ("returned", "授课教师资质未附")
    assert services.class_file(class_id=filed_class.pk, actor=staff).status == "filed"


def test_a_filed_roster_is_frozen(
    filed_class: TrainingClass, staff: User, people: list[Trainee]
) -> None:
    with pytest.raises(Conflict) as refused:
        services.class_roster_set(
            class_id=filed_class.pk, trainee_ids=[people[0].pk], actor=staff
        )
    assert refused.value.code == "roster_frozen"


def test_an_accepted_roster_is_amended_before_the_start_with_a_record(
    filed_class: TrainingClass,
    clerk: User,
    staff: User,
    people: list[Trainee],
    clock: Any,
) -> None:
    services.class_accept(class_id=filed_class.pk, actor=clerk)
    (newcomer,) = found_by(staff, TraineeFactory())
    keep = [people[0].pk, people[1].pk, newcomer.pk]

    services.class_roster_set(class_id=filed_class.pk, trainee_ids=keep, actor=staff)

    amend = filed_class.events.order_by("id").last()
    assert amend.action == "amend"
    assert amend.changes["added"] == [newcomer.pk]
    assert amend.changes["removed"] == [people[2].pk]
    # someone new whom no checker saw: filed again (the attacker review: the whole
    # accepted roster was swapped and the class started)
    assert (amend.from_status, amend.to_status) == ("accepted", "filed")
    clock(START - timedelta(days=2))
    with pytest.raises(Conflict) as not_accepted:
        services.class_start(class_id=filed_class.pk, actor=staff)
    assert not_accepted.value.code == "invalid_transition"
    # accepted again by a clerk who did not make the amendment — later than the
    # filing lead: the class itself was filed in time
    services.class_accept(class_id=filed_class.pk, actor=clerk)
    filed_class.refresh_from_db()
    assert filed_class.status == "accepted"
    # someone leaving only needs no second look
    services.class_roster_set(
        class_id=filed_class.pk, trainee_ids=keep[:2], actor=staff
    )
    filed_class.refresh_from_db()
    assert filed_class.status == "accepted"

    clock(START)
    with pytest.raises(Conflict) as refused:
        services.class_roster_set(
            class_id=filed_class.pk, trainee_ids=keep[:1], actor=staff
        )
    assert refused.value.code == "roster_frozen"


def test_who_amended_the_roster_does_not_accept_the_amendment(
    filed_class: TrainingClass,
    clerk: User,
    clerk_same_unit: User,
    staff: User,
    people: list[Trainee],
) -> None:
    """The attacker review: the clerk who accepted the class then swapped people on
    it, and nobody else looked. Whoever amends is a maker of the class."""
    services.class_accept(class_id=filed_class.pk, actor=clerk)
    (newcomer,) = found_by(clerk, TraineeFactory())
    services.class_roster_set(
        class_id=filed_class.pk,
        trainee_ids=[people[0].pk, people[1].pk, newcomer.pk],
        actor=clerk,
    )
    with pytest.raises(PermissionDenied):
        services.class_accept(class_id=filed_class.pk, actor=clerk)
    assert (
        services.class_accept(class_id=filed_class.pk, actor=clerk_same_unit).status
        == "accepted"
    )


def test_an_amendment_swaps_people_but_never_grows_the_accepted_roster(
    filed_class: TrainingClass, clerk: User, staff: User, people: list[Trainee]
) -> None:
    """The clerk accepted (备案) three people; the provider then added twenty before the
    start, no clerk saw them, and the class's advance was reckoned on twenty-three. An
    amendment replaces people (one leaves, one joins); more than were accepted needs a
    filing the clerk accepts again."""
    services.class_accept(class_id=filed_class.pk, actor=clerk)
    newcomers = found_by(staff, TraineeFactory(), TraineeFactory())
    accepted = [p.pk for p in people]

    with pytest.raises(Conflict) as refused:
        services.class_roster_set(
            class_id=filed_class.pk,
            trainee_ids=[*accepted, newcomers[0].pk],
            actor=staff,
        )

    assert refused.value.code == "roster_frozen"
    assert "3人" in refused.value.message
    assert sorted(line.trainee_id for line in live_roster(filed_class.pk)) == sorted(
        accepted
    )

    def amend(trainee_ids: list[int]) -> None:
        """An amendment; one that adds someone is accepted again by the clerk."""
        cls = services.class_roster_set(
            class_id=filed_class.pk, trainee_ids=trainee_ids, actor=staff
        )
        if cls.status == "filed":
            services.class_accept(class_id=filed_class.pk, actor=clerk)

    # a swap, then a second swap back to three, and one leaving: all amendments
    amend([*accepted[:2], newcomers[0].pk])
    amend([accepted[0], newcomers[0].pk, newcomers[1].pk])
    amend([accepted[0]])
    # fewer now, the accepted size is still the bound
    amend([accepted[0], *(n.pk for n in newcomers)])
    assert len(live_roster(filed_class.pk)) == 3


def test_a_class_is_cancelled_before_it_runs_with_a_reason(
    filed_class: TrainingClass, staff: User, clerk: User, clock: Any
) -> None:
    for nothing in ("", "0"):
        with pytest.raises(DomainError) as refused:
            services.class_cancel(class_id=filed_class.pk, actor=staff, reason=nothing)
        assert refused.value.code == "reason_required"

    cancelled = services.class_cancel(
        class_id=filed_class.pk, actor=staff, reason="报名人数不足"
    )

    assert cancelled.status == "cancelled"
    last = cancelled.events.order_by("id").last()
    assert (last.action, last.reason) == ("cancel", "报名人数不足")
    with pytest.raises(Conflict) as again:
        services.class_accept(class_id=filed_class.pk, actor=clerk)
    assert again.value.code == "invalid_transition"


def test_a_running_class_is_not_cancelled(
    running_class: TrainingClass, staff: User
) -> None:
    with pytest.raises(Conflict) as refused:
        services.class_cancel(class_id=running_class.pk, actor=staff, reason="停办")
    assert refused.value.code == "invalid_transition"


# --- Running, sessions, completion --------------------------------------------------------
def test_a_class_does_not_start_before_its_planned_start(
    filed_class: TrainingClass, clerk: User, staff: User
) -> None:
    services.class_accept(class_id=filed_class.pk, actor=clerk)
    with pytest.raises(Conflict) as refused:
        services.class_start(class_id=filed_class.pk, actor=staff)
    assert refused.value.code == "class_not_started"


def test_only_people_on_the_roster_are_present(
    running_class: TrainingClass, staff: User
) -> None:
    stranger = TraineeFactory()
    with pytest.raises(DomainError) as refused:
        services.class_session_record(
            class_id=running_class.pk,
            on=START,
            hours=Decimal("4"),
            present=[stranger.pk],
            actor=staff,
        )
    assert refused.value.code == "not_on_roster"


def test_sessions_never_hold_more_than_a_day_or_the_plan(
    running_class: TrainingClass, staff: User, people: list[Trainee], clock: Any
) -> None:
    """The review's finding: five 24-hour sessions on one day made 120% attendance."""
    clock(END)
    record = services.class_session_record
    record(
        class_id=running_class.pk,
        on=START,
        hours=Decimal("20"),
        present=[people[0].pk],
        actor=staff,
    )
    # a day holds 24 hours
    with pytest.raises(DomainError) as refused:
        record(
            class_id=running_class.pk,
            on=START,
            hours=Decimal("5"),
            present=[people[0].pk],
            actor=staff,
        )
    assert refused.value.code == "session_hours_exceeded"
    assert "超过一天24小时" in refused.value.message
    # and the class holds its planned hours, however many days
    planned = Decimal(running_class.hours)
    day = 1
    recorded = Decimal("20")
    while recorded + 10 <= planned:
        record(
            class_id=running_class.pk,
            on=START + timedelta(days=day),
            hours=Decimal("10"),
            present=[people[0].pk],
            actor=staff,
        )
        recorded += 10
        day += 1
    with pytest.raises(DomainError) as refused:
        record(
            class_id=running_class.pk,
            on=START + timedelta(days=day),
            hours=planned - recorded + 1,
            present=[people[0].pk],
            actor=staff,
        )
    assert refused.value.code == "session_hours_exceeded"
    assert f"培训班计划的{planned}学时" in refused.value.message


def test_completion_creates_the_claims_judged_like_hand_entered_ones(
    running_class: TrainingClass,
    staff: User,
    clerk: User,
    people: list[Trainee],
    clock: Any,
) -> None:
    # given: ten sessions of 10 hours; the third person misses three of them (70%)
    # when
    claims = complete_with_one_short(running_class, staff, clerk, people, clock)

    # then: a draft claim each, judged with the person's attended hours
    running_class.refresh_from_db()
    assert running_class.status == "completed"
    assert [c.trainee_id for c in claims] == [p.pk for p in people]
    assert all(c.status == "draft" for c in claims)
    full, also_full, short = claims
    assert full.eligible and full.amount_requested == Decimal("1800.00")
    assert also_full.eligible
    assert [v["code"] for v in short.violations] == ["attendance_insufficient"]
    assert "80%" in short.violations[0]["message"]
    assert short.violations[0]["clause"] == "五(一)"
    assert ClaimEvent.objects.get(claim=full).reason == f"培训班#{running_class.pk}结业"
    # submitting judges again with the class's attendance: the short one is refused
    assert claim_services.claim_submit(claim_id=full.pk, actor=clerk).status == (
        "submitted"
    )
    with pytest.raises(Conflict) as refused:
        claim_services.claim_submit(claim_id=short.pk, actor=clerk)
    assert refused.value.code == "not_eligible"
    codes = [v["code"] for v in refused.value.detail["violations"]]
    assert codes == ["attendance_insufficient"]


def test_a_class_s_refused_claim_is_not_typed_in_again_by_hand(
    clock: Any,
    staff: User,
    clerk: User,
    school: Institution,
    people: list[Trainee],
) -> None:
    """A class (program 9, not project-based: such claims may also be typed in one by
    one) whose third person attended 70%: their claim is refused; the clerk deleted
    the draft and typed the same facts in by hand, and it passed. Now the hand claim
    is refused too — that training is the class's, paid on its attendance."""
    cls = started_class(clock, staff, clerk, school, people, project_based=False)
    short = complete_with_one_short(cls, staff, clerk, people, clock)[2]
    assert [v["code"] for v in short.violations] == ["attendance_insufficient"]
    claim_services.claim_delete(claim_id=short.pk, actor=clerk)

    by_hand = replace(
        services._claim_input(cls, people[2].pk, amount=Decimal("1000.00")),
        passed=True,
        certificate_number=short.certificate_number,
        employment="employed",
    )
    typed = claim_services.claim_create(data=by_hand, actor=clerk)

    assert [v["code"] for v in typed.violations] == ["class_required"]
    assert f"培训班#{cls.pk}" in typed.violations[0]["message"]
    with pytest.raises(Conflict):
        claim_services.claim_submit(claim_id=typed.pk, actor=clerk)
    # the same trade typed under another program is the same training
    judged = claim_services.judge(replace(by_hand, program_id=10))
    assert "class_required" in judged.codes
    # another institution's training at the time, or another trade, is another one
    for other in (
        replace(by_hand, institution_id=InstitutionFactory(unit_id="654301").pk),
        replace(by_hand, trade_id="4-03-02-02", level_id="primary"),
    ):
        assert "class_required" not in claim_services.judge(other).codes


#: Sessions of a class filed for April and May: ten days of April; or five days of
#: April and the last two of May.
TEN_DAYS = [(START + timedelta(days=n), Decimal("10")) for n in range(10)]
TO_THE_END = [*TEN_DAYS[:5], (END - timedelta(days=1), Decimal("20"))]
TO_THE_END.append((END, Decimal("20")))


@pytest.mark.parametrize(
    ("sessions", "cap"), [(TEN_DAYS, "1800.00"), (TO_THE_END, "2700.00")]
)
def test_a_class_gets_the_uplift_only_if_it_ran_two_months(
    running_class: TrainingClass,
    staff: User,
    clerk: User,
    people: list[Trainee],
    clock: Any,
    sessions: list[tuple[date, Decimal]],
    cap: str,
) -> None:
    """The county's uplift is for project-based training of two months or more
    (三(二)9): a class filed for two months whose sessions were all held in ten days
    was not that; one held to the end of May was."""
    county_uplift("654301")
    clock(END)
    for day, hours in sessions:
        services.class_session_record(
            class_id=running_class.pk,
            on=day,
            hours=hours,
            present=[p.pk for p in people],
            actor=staff,
        )
    clock(END + timedelta(days=1))

    claims = services.class_complete(
        class_id=running_class.pk, results=passed_all(people), actor=clerk
    )

    assert {c.amount_requested for c in claims} == {Decimal(cap)}
    ran = f"{START.isoformat()}至{sessions[-1][0].isoformat()}"
    assert any(ran in line and "不上浮" in line for line in claims[0].explanation) == (
        cap == "1800.00"
    ), claims[0].explanation


def test_completion_is_all_or_none(
    running_class: TrainingClass,
    staff: User,
    clerk: User,
    people: list[Trainee],
    clock: Any,
) -> None:
    clock(END)
    attend(running_class, staff, people, days=10)
    clock(END + timedelta(days=1))
    results = passed_all(people)
    bad = services.ClassResult(
        trainee_id=people[2].pk, passed=True, level_id="no-such-level"
    )

    with pytest.raises(DomainError) as refused:
        services.class_complete(
            class_id=running_class.pk, results=[*results[:2], bad], actor=clerk
        )
    assert refused.value.code == "invalid_reference"
    with pytest.raises(DomainError) as incomplete:
        services.class_complete(
            class_id=running_class.pk, results=results[:2], actor=clerk
        )
    assert incomplete.value.code == "results_incomplete"

    assert not Claim.objects.exists()
    running_class.refresh_from_db()
    assert running_class.status == "running"
    assert not RosterLine.objects.filter(claim__isnull=False).exists()


def test_completion_fails_whole_when_one_claim_cannot_be_created(
    running_class: TrainingClass,
    staff: User,
    clerk: User,
    people: list[Trainee],
    clock: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given: the second claim's creation fails half-way through the completion
    clock(END)
    attend(running_class, staff, people, days=10)
    clock(END + timedelta(days=1))
    real = services.claim_create
    made: list[int] = []

    def failing_second(**kwargs: Any) -> Claim:
        if made:
            raise DomainError("invalid_reference", "模拟失败")
        claim = real(**kwargs)
        made.append(claim.pk)
        return claim

    monkeypatch.setattr(services, "claim_create", failing_second)

    with pytest.raises(DomainError):
        services.class_complete(
            class_id=running_class.pk, results=passed_all(people), actor=clerk
        )

    # then: the first claim was rolled back with the rest
    assert made and not Claim.all_rows.filter(pk__in=made).exists()
    assert TrainingClass.objects.get(pk=running_class.pk).status == "running"


def test_completion_waits_for_the_planned_end(
    running_class: TrainingClass, clerk: User, people: list[Trainee]
) -> None:
    with pytest.raises(Conflict) as refused:
        services.class_complete(
            class_id=running_class.pk, results=passed_all(people), actor=clerk
        )
    assert refused.value.code == "class_not_ended"


# --- The trail -----------------------------------------------------------------------------
def test_every_change_is_chained_and_a_rewritten_event_is_named(
    running_class: TrainingClass, staff: User, people: list[Trainee]
) -> None:
    attend(running_class, staff, people, days=1)  # on the start day itself
    actions = list(running_class.events.order_by("id").values_list("action", flat=True))
    assert actions == ["create", "roster", "file", "accept", "start", "session"]
    assert events.verify().broken is None
    assert events.classes_out_of_step() == (1, None)

    first = ClassEvent.objects.order_by("id").first()
    assert first is not None
    rewrite = ClassEvent.objects.filter(pk=first.pk)
    if on_postgres():
        # the trigger of migration 0001 refuses the rewrite itself
        with pytest.raises(DatabaseError), transaction.atomic():
            rewrite.update(reason="改写")
        return
    rewrite.update(reason="改写")  # SQLite has no trigger: the chain names it
    broken = events.verify().broken
    assert broken is not None and broken.claim_id == running_class.pk


# --- The start and the sessions' dates ------------------------------------------------------
def test_a_class_past_its_planned_end_does_not_start(
    filed_class: TrainingClass, clerk: User, staff: User, clock: Any
) -> None:
    """Started after its end, a class could record its whole plan as sessions typed
    in afterwards: it never ran as filed. Cancel it and file it again."""
    services.class_accept(class_id=filed_class.pk, actor=clerk)
    clock(END + timedelta(days=1))
    with pytest.raises(Conflict) as refused:
        services.class_start(class_id=filed_class.pk, actor=staff)
    assert refused.value.code == "class_past_end"
    assert END.isoformat() in refused.value.message
    filed_class.refresh_from_db()
    assert (filed_class.status, filed_class.started_at) == ("accepted", None)
    clock(END)
    started = services.class_start(class_id=filed_class.pk, actor=staff)
    assert started.started_on == END


def test_a_session_before_the_day_the_class_started_is_refused(
    filed_class: TrainingClass, clerk: User, staff: User, clock: Any, people: Any
) -> None:
    services.class_accept(class_id=filed_class.pk, actor=clerk)
    clock(START + timedelta(days=2))
    services.class_start(class_id=filed_class.pk, actor=staff)
    with pytest.raises(DomainError) as refused:
        services.class_session_record(
            class_id=filed_class.pk,
            on=START + timedelta(days=1),
            hours=Decimal("8"),
            present=[people[0].pk],
            actor=staff,
        )
    assert refused.value.code == "session_before_start"
    assert (START + timedelta(days=2)).isoformat() in refused.value.message
    session = services.class_session_record(
        class_id=filed_class.pk,
        on=START + timedelta(days=2),
        hours=Decimal("8"),
        present=[people[0].pk],
        actor=staff,
    )
    assert session.date == START + timedelta(days=2)


def test_the_same_session_recorded_twice_is_refused(
    running_class: TrainingClass, staff: User, people: list[Trainee], clock: Any
) -> None:
    """A form sent twice, or a sheet typed in again, doubled the day's hours of
    everyone present. A second session of the same day with other hours or other
    people (a morning and an afternoon) is still recorded."""
    clock(START + timedelta(days=1))
    present = [p.pk for p in people]

    def record(hours: str, who: list[int]) -> Any:
        return services.class_session_record(
            class_id=running_class.pk,
            on=START,
            hours=Decimal(hours),
            present=who,
            actor=staff,
        )

    record("4", present)
    with pytest.raises(Conflict) as refused:
        record("4", list(reversed(present)))
    assert refused.value.code == "session_duplicate"
    assert "合并" in refused.value.message
    assert running_class.sessions.count() == 1
    record("3", present)
    record("4", present[:1])
    assert running_class.sessions.count() == 3


# --- A class's claim keeps the class's facts ------------------------------------------------
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("trainee_id", "stranger"),
        ("training_start", date(2020, 3, 1)),
        ("training_end", END + timedelta(days=20)),
        ("institution_id", "elsewhere"),
        ("project_based", False),
        ("level_id", "senior_technician"),
    ],
)
def test_a_claim_from_a_class_keeps_the_classs_facts(
    running_class: TrainingClass,
    staff: User,
    clerk: User,
    people: list[Trainee],
    clock: Any,
    field: str,
    value: Any,
) -> None:
    """The attacker review: a class's draft claim was edited to another person (never
    on a roster, judged with the rostered person's attendance), to dates stretched
    past two months (the project uplift) or to another payee — and submitted. The
    person, program, institution, unit, dates, trade, level and project flag are the
    class's; the result (certificate, employment) and a lower amount stay the
    clerk's to correct."""
    from dataclasses import replace

    clock(END)
    attend(running_class, staff, people, days=10)
    clock(END + timedelta(days=1))
    claims = services.class_complete(
        class_id=running_class.pk, results=passed_all(people), actor=clerk
    )
    claim = claims[0]
    if value == "stranger":
        value = TraineeFactory(groups=["poor_labour"]).pk
    elif value == "elsewhere":
        value = InstitutionFactory(unit_id="654301").pk
    data = claim_services.input_of(claim)
    with pytest.raises(Conflict) as refused:
        claim_services.claim_update(
            claim_id=claim.pk, data=replace(data, **{field: value}), actor=clerk
        )
    assert refused.value.code == "class_fact_fixed"
    assert f"培训班#{running_class.pk}" in refused.value.message
    claim.refresh_from_db()
    assert claim_services.input_of(claim) == data
    corrected = claim_services.claim_update(
        claim_id=claim.pk,
        data=replace(
            data, certificate_number="CERT-FIXED", amount_requested=Decimal("1000.00")
        ),
        actor=clerk,
    )
    assert (corrected.certificate_number, corrected.amount_requested) == (
        "CERT-FIXED",
        Decimal("1000.00"),
    )


def test_who_made_the_class_does_not_judge_its_trainees_not_me(
    clerk: User, clerk_same_unit: User, clock: Any, school: Institution, people: Any
) -> None:
    """The attacker review: clerk A drafted, rostered and filed the class and recorded
    its sessions; clerk B accepted and completed it. A trainee's "not me" disputes
    what A recorded, and A dismissed it. Nobody who made the class judges it."""
    from claims.confirmations import code_for, confirmation_answer
    from claims.models import TraineeConfirmation, TraineeGrievance

    found_by(clerk, *people)
    person = people[0]
    clock(START - timedelta(days=10))
    cls = services.class_create(data=class_input(school), actor=clerk)
    services.class_roster_set(class_id=cls.pk, trainee_ids=[person.pk], actor=clerk)
    services.class_file(class_id=cls.pk, actor=clerk)
    services.class_accept(class_id=cls.pk, actor=clerk_same_unit)
    clock(START)
    services.class_start(class_id=cls.pk, actor=clerk)
    clock(END)
    attend(cls, clerk, [person], days=10)
    clock(END + timedelta(days=1))
    (claim,) = services.class_complete(
        class_id=cls.pk, results=passed_all([person]), actor=clerk_same_unit
    )
    confirmation = TraineeConfirmation.objects.get(claim=claim)
    confirmation_answer(
        code=code_for(confirmation), answer="disputed", id_last4=person.id_number[-4:]
    )
    grievance = TraineeGrievance.objects.get(claim=claim)
    for maker in (clerk, clerk_same_unit):
        refuse_maker_finding(grievance, maker)


def made_class_claim(
    clock: Any,
    staff: User,
    clerk: User,
    clerk_same_unit: User,
    school: Institution,
    people: list[Trainee],
) -> tuple[Claim, TrainingClass]:
    """Staff draft, roster, file, start and run a class clerk B accepts; clerk A
    completes it and submits its first claim in a submitted report of 2020Q2."""
    from quarters import services as quarter_services

    clock(START - timedelta(days=10))
    cls = services.class_create(data=class_input(school), actor=staff)
    services.class_roster_set(
        class_id=cls.pk, trainee_ids=[p.pk for p in people], actor=staff
    )
    services.class_file(class_id=cls.pk, actor=staff)
    services.class_accept(class_id=cls.pk, actor=clerk_same_unit)
    clock(START)
    services.class_start(class_id=cls.pk, actor=staff)
    clock(END)
    attend(cls, staff, people, days=10)
    clock(END + timedelta(days=1))
    claim = services.class_complete(
        class_id=cls.pk, results=passed_all(people), actor=clerk
    )[0]
    claim_services.claim_submit(claim_id=claim.pk, actor=clerk)
    report = quarter_services.report_build(
        unit_id="654301", quarter="2020Q2", actor=clerk
    )
    quarter_services.report_submit(report_id=report.pk, actor=clerk)
    return Claim.objects.get(pk=claim.pk), cls


@pytest.mark.parametrize("who", ["staff", "accepting_clerk", "document_uploader"])
def test_who_made_the_class_never_decides_its_claims_as_a_reviewer(
    clerk: User,
    clerk_same_unit: User,
    staff: User,
    reviewer: User,
    clock: Any,
    school: Institution,
    people: list[Trainee],
    who: str,
    settings: Any,
    tmp_path: Any,
) -> None:
    """The attacker review: the staff member who ran the class (or the clerk who
    accepted its filing, or one who uploaded its sign-in sheet), later made a
    reviewer by two administrators, approved its claim — 200. The reviewer's
    decisions read the class's makers as the trainee's "not me" already did."""
    from quarters import services as quarter_services
    from tests.claims.test_documents import pdf_bytes, upload
    from tests.factories import UserFactory, clear_spot_checks
    from tests.quarters.test_segregation import make_reviewer

    admins = (
        UserFactory(username="admin_a", role="administrator", is_staff=True),
        UserFactory(username="admin_b", role="administrator", is_staff=True),
    )
    uploader = UserFactory(
        username="clerk_654301c", role="county_clerk", unit_id="654301"
    )
    claim, cls = made_class_claim(clock, staff, clerk, clerk_same_unit, school, people)
    settings.MEDIA_ROOT = tmp_path / "media"
    services.class_attach_document(
        class_id=cls.pk,
        kind="roster",
        upload=upload("花名册.pdf", pdf_bytes()),
        actor=uploader,
    )
    clear_spot_checks(claim.report, reviewer)
    maker = {"staff": staff, "accepting_clerk": clerk_same_unit}.get(who, uploader)
    made_reviewer = make_reviewer(maker, admins)

    with pytest.raises(PermissionDenied):
        quarter_services.claim_approve(claim_id=claim.pk, actor=made_reviewer)

    assert Claim.objects.get(pk=claim.pk).status == "submitted"
    quarter_services.claim_approve(claim_id=claim.pk, actor=reviewer)


@pytest.mark.public_notice
def test_the_clerk_who_accepted_the_class_does_not_rule_on_an_objection_to_its_claim(
    clerk: User,
    clerk_same_unit: User,
    staff: User,
    clock: Any,
    school: Institution,
    people: list[Trainee],
) -> None:
    """The attacker review: the clerk who accepted the class's filing, barred from the
    trainee's "not me", dismissed the public's objection to its claim (200)."""
    from quarters import services as quarter_services

    claim, _ = made_class_claim(clock, staff, clerk, clerk_same_unit, school, people)
    objection = quarter_services.objection_lodge(
        notice_id=claim.report.notice.pk,
        line_id=claim.report.items.get(claim=claim).pk,
        text="此人从未参加过该培训",
        actor=None,
    )

    with pytest.raises(PermissionDenied):
        quarter_services.objection_find(
            objection_id=objection.pk,
            outcome="dismissed",
            reason="经核实参加了培训",
            actor=clerk_same_unit,
        )


def second_running_class(
    clock: Any, staff: User, clerk: User, school: Institution, people: list[Trainee]
) -> TrainingClass:
    """Another class of the same people on the same dates (another trade), running."""
    clock(START - timedelta(days=10))
    return started_class(clock, staff, clerk, school, people, trade_id="4-03-02-02")


def test_a_persons_day_holds_24_hours_across_classes(
    running_class: TrainingClass,
    staff: User,
    clerk: User,
    school: Institution,
    people: list[Trainee],
    clock: Any,
) -> None:
    """The attacker review: one person present 24 hours in one class and 24 in
    another on the same date — both claims eligible. A person's sessions of a date,
    in every class, hold at most a day."""
    other = second_running_class(clock, staff, clerk, school, people)
    clock(START + timedelta(days=1))
    services.class_session_record(
        class_id=running_class.pk,
        on=START,
        hours=Decimal("20"),
        present=[people[0].pk],
        actor=staff,
    )
    with pytest.raises(DomainError) as refused:
        services.class_session_record(
            class_id=other.pk,
            on=START,
            hours=Decimal("8"),
            present=[people[1].pk, people[0].pk],
            actor=staff,
        )
    assert refused.value.code == "session_hours_exceeded"
    assert f"培训班#{running_class.pk}" in refused.value.message
    assert people[0].name in refused.value.message
    # someone else that day, or the same person within the day, is recorded
    services.class_session_record(
        class_id=other.pk,
        on=START,
        hours=Decimal("4"),
        present=[people[1].pk, people[0].pk],
        actor=staff,
    )


def test_verify_audit_finds_a_roster_or_its_claims_changed_behind_the_trail(
    running_class: TrainingClass,
    staff: User,
    clerk: User,
    people: list[Trainee],
    clock: Any,
) -> None:
    """A person put on an accepted roster straight in the database would be paid on
    the class's attendance, and ``verify_audit`` checked only sessions. The live
    roster is held to its roster and amendment events, each line's claim to the
    completion event."""
    from classes.models import RosterLine

    assert events.rosters_out_of_step() == (1, None)
    stranger = TraineeFactory()
    line = RosterLine.objects.create(training_class=running_class, trainee=stranger)
    _checked, problem = events.rosters_out_of_step()
    assert problem == f"培训班 #{running_class.pk} 的名单与审计记录不符"
    line.delete()
    claims = complete_with_one_short(running_class, staff, clerk, people, clock)
    assert events.rosters_out_of_step() == (1, None)
    RosterLine.objects.filter(claim=claims[0]).update(claim=None)
    assert "申报与结业审计记录不符" in (events.rosters_out_of_step()[1] or "")


def test_verify_audit_finds_attendance_changed_behind_the_trail(
    running_class: TrainingClass, staff: User, people: list[Trainee], clock: Any
) -> None:
    """The attacker review: a person added to every session's present list straight in
    the database turned a refused claim eligible, and ``verify_audit`` said nothing —
    each session's chained event still named them absent. Each session is now held to
    its event: date, hours and who was present."""
    from classes.models import ClassSession

    clock(END)
    attend(running_class, staff, people[:2], days=2)
    assert events.sessions_out_of_step() == (2, None)
    session = ClassSession.objects.filter(training_class=running_class).first()
    session.present.add(people[2])
    _checked, problem = events.sessions_out_of_step()
    assert problem is not None and f"课次 #{session.pk}" in problem
    assert "出勤人员" in problem
    session.present.remove(people[2])
    ClassSession.objects.filter(pk=session.pk).update(hours=Decimal("12"))
    assert "学时" in (events.sessions_out_of_step()[1] or "")


def test_a_result_above_the_level_the_class_was_accepted_for_is_refused(
    running_class: TrainingClass,
    staff: User,
    clerk: User,
    people: list[Trainee],
    clock: Any,
) -> None:
    """The attacker review: a class accepted for one level completed with its people at
    一级/高级技师 — a higher cap, and a trade and level the roster's pre-check never
    saw. A result is at most the level the class was accepted for."""
    from dataclasses import replace

    clock(END)
    attend(running_class, staff, people, days=10)
    clock(END + timedelta(days=1))
    results = passed_all(people)
    results[1] = replace(results[1], level_id="senior_technician")
    with pytest.raises(DomainError) as refused:
        services.class_complete(class_id=running_class.pk, results=results, actor=clerk)
    assert refused.value.code == "level_above_class"
    assert "一级" in refused.value.message and "备案" in refused.value.message
    assert not Claim.objects.exists()
    results[1] = replace(results[1], level_id="primary")
    claims = services.class_complete(
        class_id=running_class.pk, results=results, actor=clerk
    )
    assert claims[1].level_id == "primary"


def test_a_persons_day_counts_this_classs_sessions_too(
    running_class: TrainingClass,
    staff: User,
    clerk: User,
    school: Institution,
    people: list[Trainee],
    clock: Any,
) -> None:
    """The second review: 12 hours in class A, 10 in class B, then 11 more in A — the
    check left out A's own sessions, and the person held 33 hours on one date."""
    other = second_running_class(clock, staff, clerk, school, people)
    clock(START + timedelta(days=1))

    def record(cls: TrainingClass, hours: str) -> Any:
        return services.class_session_record(
            class_id=cls.pk,
            on=START,
            hours=Decimal(hours),
            present=[people[0].pk],
            actor=staff,
        )

    record(running_class, "12")
    record(other, "10")
    with pytest.raises(DomainError) as refused:
        record(running_class, "3")
    assert refused.value.code == "session_hours_exceeded"
    record(running_class, "2")


def test_a_program_11_classs_claim_is_still_corrected(
    staff: User,
    clerk: User,
    school: Institution,
    people: list[Trainee],
    clock: Any,
) -> None:
    """The second review: program 11 carries no trade and level (the claim drops
    them), so every edit of its class's claim looked like a change of them."""
    from dataclasses import replace

    clock(START - timedelta(days=10))
    cls = services.class_create(
        data=class_input(school, program_id=11, project_based=False), actor=staff
    )
    services.class_roster_set(class_id=cls.pk, trainee_ids=[people[0].pk], actor=staff)
    services.class_file(class_id=cls.pk, actor=staff)
    services.class_accept(class_id=cls.pk, actor=clerk)
    clock(START)
    services.class_start(class_id=cls.pk, actor=staff)
    clock(END)
    attend(cls, staff, people[:1], days=10)
    clock(END + timedelta(days=1))
    (claim,) = services.class_complete(
        class_id=cls.pk, results=passed_all(people[:1]), actor=clerk
    )
    assert (claim.trade_id, claim.level_id) == (None, None)
    corrected = claim_services.claim_update(
        claim_id=claim.pk,
        data=replace(claim_services.input_of(claim), certificate_number="CERT-11"),
        actor=clerk,
    )
    assert corrected.certificate_number == "CERT-11"
