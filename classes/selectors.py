"""Every read of training classes, with the user's scope applied.

A clerk sees their unit's classes; institution staff their institution's; the
reviewer, finance and the auditor every class (as they read every claim); anyone else
none. A class the user may not see is answered exactly like a missing one (404).
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db.models import QuerySet

from accounts.models import User
from altay_skills.errors import NotFound
from claims.rules import AttendanceFacts
from classes import rules
from classes.models import ClassEvent, ClassSession, RosterLine, TrainingClass


def classes_visible_to(user: User) -> QuerySet[TrainingClass]:
    qs = TrainingClass.objects.select_related(
        "institution", "program", "trade", "level", "unit"
    )
    if not user.is_authenticated or not user.is_active:
        return qs.none()
    if user.is_clerk:
        return qs.filter(unit_id=user.unit_id)
    if user.is_institution_staff:
        return qs.filter(institution_id=user.institution_id)
    if user.is_reviewer or user.is_finance or user.is_auditor:
        return qs
    return qs.none()


def class_for(user: User, class_id: int) -> TrainingClass:
    try:
        return classes_visible_to(user).get(pk=class_id)
    except (TrainingClass.DoesNotExist, ValueError, TypeError):
        raise NotFound("未找到该培训班") from None


def live_roster(class_id: int) -> QuerySet[RosterLine]:
    return (
        RosterLine.objects.filter(training_class_id=class_id, removed_at__isnull=True)
        .select_related("trainee", "level_achieved")
        .order_by("id")
    )


def class_sessions(class_id: int) -> QuerySet[ClassSession]:
    return (
        ClassSession.objects.filter(training_class_id=class_id)
        .prefetch_related("present")
        .order_by("date", "id")
    )


def class_events(class_id: int) -> QuerySet[ClassEvent]:
    return ClassEvent.objects.filter(training_class_id=class_id).order_by("id")


def attended_hours_of(class_id: int) -> dict[int, Decimal]:
    """trainee id → the hours of the class's sessions they were present at."""
    attended: dict[int, Decimal] = defaultdict(Decimal)
    for session in class_sessions(class_id):
        for person in session.present.all():
            attended[person.pk] += session.hours
    return attended


def attendance_facts(
    cls: TrainingClass, trainee_id: int, attended: dict[int, Decimal]
) -> AttendanceFacts:
    term = rules.ATTENDANCE_THRESHOLD
    return AttendanceFacts(
        planned_hours=cls.hours,
        attended_hours=attended.get(trainee_id, Decimal(0)),
        threshold=term.value,
        source=term.source,
    )


def attendance_of_claim(claim_id: int) -> AttendanceFacts | None:
    """The attendance a claim created by a class's completion is judged with (registered
    with ``claims.facts.offer_attendance``)."""
    line = (
        RosterLine.objects.filter(claim_id=claim_id)
        .select_related("training_class")
        .first()
    )
    if line is None:
        return None
    cls = line.training_class
    return attendance_facts(cls, line.trainee_id, attended_hours_of(cls.pk))
