"""What a claim's ledger says it is owed, was paid and is to recover (五(二)): plain
Python over the sums of its lines (``finance.models.LedgerEntry``), so that the pages,
the API, the rollup and its workbook read one set of figures, computed one way.

The notice, 五(二): 对企业开展培训或者培训机构开展项目制培训的，可先行拨付40%比例的培训
补贴资金; 五(一): the claims are reviewed (审核符合补贴条件培训人员资料) and rolled up by
quarter (按季汇总审核 … 培训合格人数、实现就业人数) before the prefecture's finance bureau
pays (按规定审核拨付). (Earlier text here quoted “先培训后补贴 … 可按不超过补贴资金总额的40%
… 培训结束经审核合格后拨付剩余资金” as the notice's: those words are not in 50号 — a session
24 review; they are the usual wording of other subsidy rules.) An advance is therefore
provisional: what a claim is finally owed is what the prefecture approved, and
whatever was paid beyond it — the whole advance of a claim withdrawn or rejected, the part
of it above a lower amount or a lower approval — is to be recovered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import TypeVar

from claims import workflow

ZERO = Decimal("0.00")


def payment_date_refusal(
    paid_on: date, *, training_end: date, today: date
) -> str | None:
    """Why a payment cannot bear this date, or None. Nothing is paid on a claim before
    its training ended (an advance included): a claim is made only once the training
    is over — 五(一) reviews the trained, their passes and their jobs, which exist only
    then; a class's advance at its start is ``ClassAdvance``, not a claim's — and
    nothing is recorded as paid in the future."""
    if paid_on > today:
        return "拨付日期不能晚于今天"
    if paid_on < training_end:
        return (
            f"拨付日期不能早于培训结束日期（{training_end:%Y-%m-%d}），请核对拨付日期"
        )
    return None


#: Statuses whose claim is owed nothing, whatever was paid on it.
OWED_NOTHING = frozenset({workflow.REJECTED, workflow.WITHDRAWN, workflow.DELETED})
#: Not yet decided: an advance paid on such a claim is owed until the decision (五(二)).
UNDECIDED = frozenset({workflow.DRAFT, workflow.SUBMITTED, workflow.RETURNED})


@dataclass(frozen=True)
class ClaimMoney:
    """The sums of one claim's ledger lines (or of a group of claims: every figure is
    a sum, so a group's figures are the sums of its claims')."""

    owed: Decimal = ZERO
    advance_paid: Decimal = ZERO
    balance_paid: Decimal = ZERO
    failed: Decimal = ZERO  # failed payments not re-issued
    recovery: Decimal = ZERO  # opened, settled or not, less what was netted
    recovered: Decimal = ZERO  # settled

    @property
    def paid(self) -> Decimal:
        return self.advance_paid + self.balance_paid

    @property
    def advance(self) -> Decimal:
        """The advance that stands: what was advanced less what is to come back. A
        recovery only ever arises while the claim is undecided, before any balance
        (an approved claim owes what it owes for good), so it comes out of the advance."""
        return self.advance_paid - self.recovery

    @property
    def balance(self) -> Decimal:
        """What the rollup pays on top of the advance: owed less the advance that
        stands. Never negative: an advance above what is owed opens a recovery."""
        return self.owed - self.advance

    @property
    def due(self) -> Decimal:
        """What finance still has to pay: owed less paid, the recoveries counted as
        coming back."""
        return self.owed - self.paid + self.recovery

    @property
    def to_recover(self) -> Decimal:
        """Recoveries opened and not yet settled."""
        return self.recovery - self.recovered

    def as_dict(self) -> dict[str, str]:
        return {
            name: f"{getattr(self, name):.2f}"
            for name in (
                "owed",
                "paid",
                "advance",
                "balance",
                "due",
                "failed",
                "recovery",
                "recovered",
                "to_recover",
            )
        }


def owed_now(
    *,
    status: str,
    amount: Decimal,
    approved_amount: Decimal | None,
    owed: Decimal,
) -> Decimal:
    """What a claim is owed after a change to it.

    Approved: the approved amount. Withdrawn or rejected: nothing. Undecided (a draft,
    submitted, returned): what its ledger already holds — the advance paid on it, which
    is provisional — but never more than the claim now asks (a returned claim lowered to
    500 yuan can no longer be owed the 720 advanced on it).
    """
    if status == workflow.APPROVED and approved_amount is not None:
        return approved_amount
    if status in OWED_NOTHING:
        return ZERO
    return min(owed, amount)


def owed_with_advance(money: ClaimMoney, advance: Decimal) -> Decimal:
    """The entitlement an advance being paid adds: the advance paid is owed at least
    until the claim is decided (an approved claim is owed more already)."""
    return max(advance - money.owed, ZERO)


def recovery_needed(money: ClaimMoney) -> Decimal:
    """Paid beyond what is owed and not yet opened as a recovery."""
    return max(money.paid - money.recovery - money.owed, ZERO)


def recovery_excess(money: ClaimMoney) -> Decimal:
    """Open recovery the claim is owed again: what its recoveries ask back beyond what
    was paid over what it is now owed, at most what is still open (a settled recovery
    came back; the balance pays it out again). A returned claim lowered below its
    advance opens a recovery; raised back and approved, it is owed that money after
    all, so the recovery is netted rather than chased and paid out once more."""
    beyond = money.recovery - max(money.paid - money.owed, ZERO)
    return max(min(beyond, money.to_recover), ZERO)


#: A claim's payment state, for the pages and the API (``payment_state_of``).
PAYMENT_STATES = {
    "paid": "已拨付",
    "partly_paid": "部分拨付",
    "failed": "拨付失败",
    "unpaid": "未拨付",
    "recovering": "待追回",
    "recovered": "已追回",
}


def payment_state_of(money: ClaimMoney, *, approved: bool = True) -> str:
    """Money to come back first, then a failure to re-issue; then how far paid. A
    claim not yet approved is at most partly paid: only its advance can have been."""
    if money.to_recover > 0:
        return "recovering"
    if money.failed > 0:
        return "failed"
    if money.paid <= 0:
        return "unpaid"
    if money.owed <= 0:
        return "recovered"  # everything paid on it came back
    if money.due <= 0 and approved:
        return "paid"
    return "partly_paid"


# --- A training class's advance (issue 16) ----------------------------------------------
FEN = Decimal("0.01")
K = TypeVar("K")


def class_advance_amount(expected: list[Decimal], ratio: Decimal) -> Decimal:
    """五(二) 培训机构开展项目制培训的，可先行拨付40%比例的培训补贴资金: the ratio of
    the roster's expected total (each line's pre-check amount), half-up to the fen
    once, on the total — not the sum of 40% of each line."""
    total = sum(expected, ZERO)
    return (total * ratio).quantize(FEN, rounding=ROUND_HALF_UP)


def advance_shares(
    amount: Decimal, weights: list[tuple[K, Decimal]]
) -> dict[K, Decimal]:
    """Split ``amount`` over the keys in proportion to their weights (each person's
    expected amount when the advance was paid), each share rounded **down** to the fen
    and the fen left over put on one line — the one of the largest weight, the first
    of them in the given order — so that the shares add up to ``amount`` exactly and
    the same input always gives the same split. With no weight at all, evenly (the
    same remainder rule)."""
    if not weights:
        return {}
    total = sum((w for _, w in weights), ZERO)
    if total <= 0:
        weights = [(key, Decimal(1)) for key, _ in weights]
        total = Decimal(len(weights))
    shares = {
        key: (amount * w / total).quantize(FEN, rounding=ROUND_DOWN)
        for key, w in weights
    }
    heaviest = max(range(len(weights)), key=lambda i: (weights[i][1], -i))
    key = weights[heaviest][0]
    shares[key] += amount - sum(shares.values(), ZERO)
    return shares


def share_owed(share: Decimal, *, eligible: bool, amount: Decimal) -> Decimal:
    """What a claim created at a class's completion is owed of its share of the class's
    advance while it is undecided: its share, never more than the claim's amount, and
    nothing when the rules refuse it (an unfinished, failed or refused trainee). The
    rest is recovered at once (``finance.ledger.recovery_open``)."""
    if not eligible:
        return ZERO
    return min(share, max(amount, ZERO))
