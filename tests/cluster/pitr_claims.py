"""What the point-in-time restore test does inside the application (``manage.py shell``
against the throwaway cluster): the people and the school, then one claim at a time
through the claims' own services, then what the recovered database holds."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

from accounts.models import Role, User
from claims.models import Claim
from claims.services import ClaimInput, claim_create, claim_submit
from tests.factories import (
    InstitutionFactory,
    TraineeFactory,
    UserFactory,
    make_id_number,
)

CLERK = "pitr_clerk"
#: one person per claim, so the second is no repeat of the first's trade and level
PEOPLE = {"A": 701, "B": 702}


def setup() -> None:
    """A county clerk, a school and the two people, before the base backup."""
    UserFactory(username=CLERK, role=Role.COUNTY_CLERK, unit_id="654301")
    InstitutionFactory(unit_id="654301", name="时间点恢复培训学校")
    for label, serial in PEOPLE.items():
        TraineeFactory(
            id_number=make_id_number(date(1990, 5, 17), serial=serial),
            name=f"恢复测试学员{label}",
            phone=f"1390000{serial:04d}",
        )


def file_claim(label: str) -> None:
    """The clerk creates and submits claim ``label``; prints its id as JSON."""
    from programs.models import Institution
    from trainees.models import Trainee

    clerk = User.objects.get(username=CLERK)
    trainee = Trainee.objects.get(name=f"恢复测试学员{label}")
    institution = Institution.objects.get(name="时间点恢复培训学校")
    claim = claim_create(
        data=ClaimInput(
            trainee_id=trainee.pk,
            program_id=9,
            institution_id=institution.pk,
            unit_id="654301",
            training_start=date(2020, 3, 1),
            training_end=date(2020, 3, 31),
            amount_requested=Decimal("1800.00"),
            trade_id="4-03-02-01",
            level_id="intermediate",
            passed=True,
            certificate_number=f"PITR-{label}",
            employment="employed",
        ),
        actor=clerk,
    )
    claim = claim_submit(claim_id=claim.pk, actor=clerk)
    print(json.dumps({"id": claim.pk, "status": claim.status}))


def claims() -> None:
    """Every claim's certificate number and status, as JSON."""
    print(
        json.dumps(
            dict(Claim.objects.values_list("certificate_number", "status")),
            sort_keys=True,
        )
    )
