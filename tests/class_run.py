"""A project-based claim of program 9 the way issue 16 makes one: through a training
class. Since ``class_required`` (三(二)9) such a claim is never typed in by hand; tests
that need one (an advance of 40% paid per claim, a provider as payee) run a class.

``claim_through_class(data, clerk=…)``: the institution's staff drafts a class with
``data``'s program, trade, level, institution, unit and dates, puts ``data``'s person
on its roster and files it eight days before the start; the unit's ``clerk`` accepts
it; the staff start it and record one session at 90% of the planned hours (above the
80% of the class terms, below the 100% the anomalies look at); the clerk completes it
with ``data``'s result, which creates the draft claim. Its amount is the cap the rules
give; when ``data`` asks less, the clerk lowers it as any draft may be edited. The
clock is set for each step and put back after.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from unittest import mock

from accounts.models import Role, User
from claims import services as claim_services
from claims.models import Claim
from claims.services import ClaimInput
from classes import services
from tests.factories import UserFactory
from trainees.services import trainee_found

HOURS = Decimal("10")
ATTENDED = Decimal("9")


@contextmanager
def on_day(day: date) -> Iterator[None]:
    """ "Today" is ``day`` for the services and the rules."""
    with mock.patch("django.utils.timezone.localdate", return_value=day):
        yield


def institution_staff(institution_id: int) -> User:
    return UserFactory(
        username=f"class_staff_{institution_id}",
        role=Role.INSTITUTION_STAFF,
        unit_id=None,
        institution_id=institution_id,
    )


def claim_through_class(data: ClaimInput, *, clerk: User) -> Claim:
    """The draft claim a project-based class of ``data`` creates for its person."""
    staff = institution_staff(data.institution_id)
    start, end = data.training_start, data.training_end
    with on_day(start - timedelta(days=8)):
        from trainees.models import Trainee

        trainee_found(actor=staff, trainee=Trainee.objects.get(pk=data.trainee_id))
        cls = services.class_create(
            data=services.ClassInput(
                institution_id=data.institution_id,
                program_id=data.program_id,
                unit_id=data.unit_id,
                planned_start=start,
                planned_end=end,
                hours=HOURS,
                location="阿勒泰市职业技能培训中心",
                trade_id=data.trade_id,
                level_id=data.level_id,
                project_based=True,
                teachers=["王老师"],
            ),
            actor=staff,
        )
        services.class_roster_set(
            class_id=cls.pk, trainee_ids=[data.trainee_id], actor=staff
        )
        services.class_file(class_id=cls.pk, actor=staff)
        services.class_accept(class_id=cls.pk, actor=clerk)
    with on_day(start):
        services.class_start(class_id=cls.pk, actor=staff)
    with on_day(end):
        services.class_session_record(
            class_id=cls.pk,
            on=start,
            hours=ATTENDED,
            present=[data.trainee_id],
            actor=staff,
        )
    with on_day(end + timedelta(days=1)):
        (claim,) = services.class_complete(
            class_id=cls.pk,
            results=[
                services.ClassResult(
                    trainee_id=data.trainee_id,
                    passed=data.passed,
                    certificate_number=data.certificate_number,
                    level_id=data.level_id,
                    employment=data.employment,
                )
            ],
            actor=clerk,
        )
    if claim.amount_requested != data.amount_requested:
        claim = claim_services.claim_update(
            claim_id=claim.pk,
            data=replace(
                claim_services.input_of(claim),
                amount_requested=data.amount_requested,
            ),
            actor=clerk,
        )
    return claim
