"""A trainee's "not me" and who may judge it (issue 17): the trainee's answer, and the
helper of the tests that show a maker of the claim refused."""

from __future__ import annotations

from typing import Any

import pytest

from altay_skills.errors import PermissionDenied
from claims.confirmations import code_for, confirmation_answer, grievance_find
from claims.models import Claim, TraineeConfirmation, TraineeGrievance


def code_of(claim: Claim) -> str:
    """The code the trainee got by SMS for ``claim``."""
    return code_for(TraineeConfirmation.objects.get(claim_id=claim.pk))


def last4(claim: Claim) -> str:
    return claim.trainee.id_number[-4:]


def dispute(claim: Claim) -> TraineeGrievance:
    """The trainee answers "not me" on ``claim``: its grievance."""
    confirmation_answer(code=code_of(claim), answer="disputed", id_last4=last4(claim))
    return TraineeGrievance.objects.get(claim_id=claim.pk)


def refuse_maker_finding(grievance: Any, maker: Any) -> None:
    """``maker`` made the grievance's claim: their dismissal is refused (maker ≠
    checker, ``claims.permissions.can_find_grievance``) and records nothing."""
    with pytest.raises(PermissionDenied) as refused:
        grievance_find(
            grievance_id=grievance.pk,
            outcome="dismissed",
            reason="已核实本人参加",
            actor=maker,
        )
    assert "经办与审核须分离" in refused.value.message
    grievance.refresh_from_db()
    assert grievance.outcome == ""
