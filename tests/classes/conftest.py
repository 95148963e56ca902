"""Fixtures of the training classes' tests: the institution's staff, a settable clock
and a class of program 9 (中式烹调师 · 四级) at unit 654301, April–May 2020."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from django.utils import timezone

import pytest

from accounts.models import Role, User
from classes import services
from classes.models import TrainingClass
from programs.models import Institution
from tests.factories import InstitutionFactory, TraineeFactory, UserFactory
from trainees.models import Trainee
from trainees.services import trainee_found

START = date(2020, 4, 1)
END = date(2020, 5, 31)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[date], None]:
    """Set "today" for the services and the rules (the notice's plan runs 2019—2021)."""

    def set_today(day: date) -> None:
        monkeypatch.setattr(timezone, "localdate", lambda *a, **k: day)

    set_today(date(2020, 3, 1))
    return set_today


@pytest.fixture
def school(db: Any) -> Institution:
    return InstitutionFactory(unit_id="654301")


@pytest.fixture
def staff(school: Institution) -> User:
    return UserFactory(
        username="school_staff",
        role=Role.INSTITUTION_STAFF,
        unit_id=None,
        institution=school,
    )


def found_by(user: User, *people: Trainee) -> list[Trainee]:
    """``user`` found these people by their full ID numbers (what opens them by id)."""
    for person in people:
        trainee_found(actor=user, trainee=person)
    return list(people)


@pytest.fixture
def people(staff: User) -> list[Trainee]:
    """Three people of unit 654301 whom the institution's staff found by number."""
    return found_by(staff, *(TraineeFactory(groups=["poor_labour"]) for _ in range(3)))


def class_input(school: Institution, **overrides: Any) -> services.ClassInput:
    values: dict[str, Any] = {
        "institution_id": school.pk,
        "program_id": 9,
        "unit_id": "654301",
        "planned_start": START,
        "planned_end": END,
        "hours": Decimal("100"),
        "location": "阿勒泰市职业技能培训中心",
        "trade_id": "4-03-02-01",
        "level_id": "intermediate",
        "project_based": True,
        "teachers": ["王老师"],
    }
    values.update(overrides)
    return services.ClassInput(**values)


def started_class(
    clock: Callable[[date], None],
    staff: User,
    clerk: User,
    school: Institution,
    people: list[Trainee],
    **overrides: Any,
) -> TrainingClass:
    """A class of ``people`` (``class_input`` with ``overrides``) drafted, filed and
    accepted in time, and started on ``START``."""
    cls = services.class_create(data=class_input(school, **overrides), actor=staff)
    services.class_roster_set(
        class_id=cls.pk, trainee_ids=[p.pk for p in people], actor=staff
    )
    services.class_file(class_id=cls.pk, actor=staff)
    services.class_accept(class_id=cls.pk, actor=clerk)
    clock(START)
    return services.class_start(class_id=cls.pk, actor=staff)


@pytest.fixture
def filed_class(
    clock: Any, staff: User, school: Institution, people: list[Trainee]
) -> TrainingClass:
    """A class the institution's staff drafted, rostered and filed in time."""
    cls = services.class_create(data=class_input(school), actor=staff)
    services.class_roster_set(
        class_id=cls.pk, trainee_ids=[p.pk for p in people], actor=staff
    )
    return services.class_file(class_id=cls.pk, actor=staff)


@pytest.fixture
def running_class(
    filed_class: TrainingClass, clerk: User, staff: User, clock: Any
) -> TrainingClass:
    services.class_accept(class_id=filed_class.pk, actor=clerk)
    clock(START)
    return services.class_start(class_id=filed_class.pk, actor=staff)
