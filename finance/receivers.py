"""What the money stage does when an earlier stage changes a claim (``claims.signals``).

Connected in ``FinanceConfig.ready()``; runs inside the transaction of the change, so the
claim and what it owes commit together or not at all.
"""

from __future__ import annotations

from typing import Any

from accounts.models import User
from claims.models import Claim
from finance.services import recovery_for_rejection


def on_claim_moved(
    sender: type[Claim],
    *,
    claim: Claim,
    action: str,
    actor: User,
    reason: str,
    **kwargs: Any,
) -> None:
    """A rejected claim whose advance was paid owes it back (五(二))."""
    if action == "reject":
        recovery_for_rejection(claim=claim, reason=reason)
