"""The bank loop's test helpers (issue 18): valid card numbers, accounts entered by a
clerk and confirmed by finance, and the bank's result file for a batch."""

from __future__ import annotations

from datetime import date
from typing import Any

from accounts.models import User
from claims.models import Claim
from finance import bank_files, payouts
from finance.bank_rules import luhn_ok
from finance.models import BankTemplate, PaymentBatch
from tests.factories import UserFactory

CSV_TEMPLATE = "农信一卡通代发（CSV·GBK）"
FIXED_TEMPLATE = "定长文本代发（GBK）"


def card(n: int, prefix: str = "622848") -> str:
    """A 19-digit card number with a valid Luhn digit."""
    body = f"{prefix}{n:012d}"
    return next(body + str(d) for d in range(10) if luhn_ok(body + str(d)))


def clerk_of(unit_id: str) -> User:
    found = User.objects.filter(role="county_clerk", unit_id=unit_id).first()
    return found or UserFactory(role="county_clerk", unit_id=unit_id)


def give_account(
    claim: Claim, confirmer: User, *, n: int, holder: str | None = None
) -> Any:
    """The claim's payee gets an account: entered by its unit's clerk, confirmed by
    ``confirmer`` (finance)."""
    if claim.payee == "institution":
        owner: dict[str, Any] = {"institution_id": claim.institution_id}
        name = holder or claim.institution.name
    else:
        owner = {"trainee_id": claim.trainee_id}
        name = holder or claim.trainee.name
    change = payouts.account_change_propose(
        actor=clerk_of(claim.unit_id), bank="xjnx", number=card(n), holder=name, **owner
    )
    return payouts.account_change_confirm(change_id=change.pk, actor=confirmer)


def proposed_for(trainee: Any, by: User, n: int) -> Any:
    """An account change for ``trainee`` entered by ``by`` (finance), not confirmed."""
    return payouts.account_change_propose(
        actor=by,
        trainee_id=trainee.pk,
        bank="xjnx",
        number=card(n),
        holder=trainee.name,
    )


def result_file(
    batch: PaymentBatch,
    *,
    failures: dict[str, str] | None = None,
    day: date | None = None,
    drop_reference: bool = False,
    reverse: bool = False,
    batch_number: str | None = None,
    statuses: dict[str, str] | None = None,
) -> bytes:
    """The bank's answer to ``batch`` in its result template: every line paid, but
        the references in ``failures`` (reference -> reason); ``reverse``: the lines in
        the opposite order of the batch's (banks answer in their own order); ``batch_number``:
    the batch the file says it answers, where its template has a ``{batch}`` (``batch``'s
    own by default); ``statuses``: reference -> the status text the bank wrote on that
    line instead (one neither paid nor failed, say)."""
    failures = failures or {}
    statuses = statuses or {}
    template = BankTemplate.objects.get(pk=batch.template.result_template_id)
    paid_value = template.paid_values[0]
    failed_value = "失败" if template.format == "csv" else "F"
    day = day or date.today()
    lines = []
    order = "-seq" if reverse else "seq"
    for i, line in enumerate(batch.lines.order_by(order), start=1):
        failed = line.reference in failures
        lines.append(
            {
                "reference": "" if drop_reference else line.reference,
                "account": line.account,
                "holder": line.holder,
                "amount": line.amount,
                "status": statuses.get(
                    line.reference, failed_value if failed else paid_value
                ),
                "bank_date": day,
                "bank_reference": "" if failed else f"BK{batch.pk:04d}{i:06d}",
                "reason": failures.get(line.reference, ""),
            }
        )
    return bank_files.render(
        template,
        lines,
        day=day,
        batch=str(batch.pk) if batch_number is None else batch_number,
    )
