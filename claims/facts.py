"""The catalogue (programs, institutions, dated policy entries) and the registry's
people as the rules engine's plain facts: the claim stage reads them, they know nothing
of claims."""

from __future__ import annotations

from collections.abc import Callable, Collection
from decimal import Decimal

from claims.rules import (
    AttendanceFacts,
    ClassSeat,
    InstitutionFacts,
    PolicyTerm,
    ProgramFacts,
    TraineeFacts,
)
from programs.models import Institution, PolicyEntry, Program, fund_label
from trainees.models import Trainee


def policy_terms() -> list[PolicyTerm]:
    """Every policy entry, past and future: the rules pick what is in force on a date.

    The table holds dozens of rows, so one query serves every decision.
    """
    terms = []
    for e in PolicyEntry.objects.all():
        value = e.value
        terms.append(
            PolicyTerm(
                entry_id=e.pk,
                kind=e.kind,
                value=Decimal(value) if value is not None else Decimal(0),
                effective_from=e.effective_from,
                effective_to=e.effective_to,
                clause=e.clause,
                source_document=e.source_document,
                program=e.program_id,
                level=e.level_id,
                unit=e.unit_id,
            )
        )
    return terms


def program_facts(program: Program) -> ProgramFacts:
    return ProgramFacts(
        number=program.number,
        name=program.name,
        section=program.section,
        claimable=program.claimable,
        fund=program.fund,
        fund_label=fund_label(program.fund, blank=""),
    )


def institution_facts(institution: Institution | None) -> InstitutionFacts | None:
    if institution is None:
        return None
    return InstitutionFacts(
        kind=institution.kind,
        unit=institution.unit_id,
        certified_difficult=institution.certified_difficult,
        name=institution.name,
        admitted=institution.admitted,
        insured=institution.insured,
    )


def trainee_facts(trainee: Trainee) -> TraineeFacts:
    """A registered person as the rules see them: groups, and the units of the three
    places of 五(二) (household registration, residence, job seeking)."""
    return TraineeFacts(
        birth_date=trainee.birth_date,
        household=trainee.household,
        groups=frozenset(trainee.groups),
        units=frozenset(
            u
            for u in (
                trainee.registered_by_unit_id,
                trainee.residence_unit_id,
                trainee.job_seeking_unit_id,
            )
            if u
        ),
        residence=trainee.residence,
        months_in_town=trainee.months_in_town,
    )


#: A later stage that knows a claim's attendance (``classes``, issue 16): claim id →
#: the attendance of the class the claim came from, or None. This stage may not import
#: that one, so it registers from its ``AppConfig.ready()`` (as ``offer_decisions``).
AttendanceSource = Callable[[int], AttendanceFacts | None]
_attendance_sources: list[AttendanceSource] = []


def offer_attendance(source: AttendanceSource) -> None:
    if source not in _attendance_sources:
        _attendance_sources.append(source)


def attendance_of(claim_id: int) -> AttendanceFacts | None:
    """The attendance a stored claim is judged with again (on submit, on a re-judging):
    that of its class, when it came from one."""
    for source in _attendance_sources:
        found = source(claim_id)
        if found is not None:
            return found
    return None


#: The same stage's seats (issue 16): trainee ids → the classes on whose live rosters
#: each person is (``claims.rules.ClassSeat``), for a claim entered by hand.
ClassSeatSource = Callable[[Collection[int]], dict[int, list[ClassSeat]]]
_seat_sources: list[ClassSeatSource] = []


def offer_class_seats(source: ClassSeatSource) -> None:
    if source not in _seat_sources:
        _seat_sources.append(source)


def class_seats_of(trainee_ids: Collection[int]) -> dict[int, tuple[ClassSeat, ...]]:
    """trainee id → their places on classes' rosters (one query a source)."""
    found: dict[int, list[ClassSeat]] = {}
    if trainee_ids:
        for source in _seat_sources:
            for trainee_id, seats in source(trainee_ids).items():
                found.setdefault(trainee_id, []).extend(seats)
    return {pk: tuple(seats) for pk, seats in found.items()}
