"""What the money stage does when an earlier stage changes a claim (``claims.signals``).

Connected in ``FinanceConfig.ready()``; runs inside the transaction of the change, so the
claim and what it owes commit together or not at all.
"""

from __future__ import annotations

from typing import Any

from accounts.models import User
from altay_skills.permissions import require
from claims.models import Claim
from classes.models import TrainingClass
from finance.ledger import ledger_follow, money_of
from finance.permissions import can_change_payee
from finance.services import class_advance_allocate


def on_claim_moved(
    sender: type[Claim],
    *,
    claim: Claim,
    action: str,
    actor: User,
    reason: str,
    **kwargs: Any,
) -> None:
    """Whatever the change — an approval, a rejection, a withdrawal, a lower amount —
    the claim's ledger follows it, and what was paid beyond what it is now owed is
    opened as a recovery at once (五(二)). A correction that would change who is paid
    after an advance went out is refused (``can_change_payee``), the whole edit with it."""
    if action == "edit":
        changes = kwargs.get("changes") or {}
        require(can_change_payee(changes, money_of(claim.pk).advance_paid))
    ledger_follow(claim, action=action, actor=actor, reason=reason)


def on_class_completed(
    sender: type[TrainingClass],
    *,
    training_class: TrainingClass,
    claims: list[Claim],
    actor: User,
    **kwargs: Any,
) -> None:
    """A project-based class completed: its advance, paid when it started, is split
    over the claims it created, and what they are not owed of it is to be recovered
    (五(二), issue 16), in the completion's transaction."""
    class_advance_allocate(training_class=training_class, claims=claims, actor=actor)
