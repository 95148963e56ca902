"""Who may do what with the quarter's money — ``can_<verb>(user, obj=None) -> Permission``.

``finance.services`` raises with these answers; the finance page, the rollup page, the
quarter overview and the finance API ask the same functions what to show and offer.
Who may *see* a rollup at all is a read scope (``finance.selectors.rollups_visible_to``:
anyone else gets a 404, as for a missing one), not a refusal.
"""

from __future__ import annotations

from collections.abc import Collection
from decimal import Decimal

from accounts.models import User
from altay_skills.permissions import ALLOWED, Permission, conflict, deny
from claims.models import Claim
from classes.models import TrainingClass
from finance.models import (
    Payment,
    PaymentBatchLine,
    PaymentKind,
    PaymentStatus,
    Recovery,
)
from quarters.models import QuarterlyReport, ReportStatus
from quarters.selectors import claim_makers_and_checkers


def can_request_rollup(user: User, quarter: str | None = None) -> Permission:
    """Send a reviewed quarter to finance: the reviewer, once every report of the
    quarter is closed (and at least one is). ``quarter`` is normalised (``2020Q1``)."""
    if not user.is_authenticated or not user.is_reviewer:
        return deny("只有地区审核人可以将季度汇总报送财政")
    if quarter is None:
        return ALLOWED
    reports = QuarterlyReport.objects.filter(quarter=quarter)
    if reports.filter(status=ReportStatus.SUBMITTED).exists():
        return conflict("reports_under_review", f"{quarter}还有报表未审结，请先审结")
    if not reports.filter(status=ReportStatus.CLOSED).exists():
        return conflict("no_closed_reports", f"{quarter}没有已审结的报表")
    return ALLOWED


def can_read_rollup_error(user: User) -> Permission:
    """Why a rollup failed is shown to the reviewer (who requests it again) and the
    auditor; finance is told to ask the reviewer."""
    if user.is_authenticated and (user.is_reviewer or user.is_auditor):
        return ALLOWED
    return deny("汇总失败的原因只向地区审核人和督查显示")


def can_read_finance(user: User) -> Permission:
    """The finance lists — advances payable, recoveries, the finance page."""
    if user.is_authenticated and (user.is_finance or user.is_auditor):
        return ALLOWED
    return deny("只有财政和督查可以查看拨付管理")


def can_read_payments(user: User) -> Permission:
    """The payments recorded (finance, the auditor, and the reviewer who sent them)."""
    if user.is_authenticated and (
        user.is_finance or user.is_auditor or user.is_reviewer
    ):
        return ALLOWED
    return deny("您的角色不能查看拨付记录")


PAYER_MADE_IT = (
    "不能登记本人录入、提交、报送、审核或抽查的申报的拨付（经办、审核与拨付须分离），"
    "请由其他财政人员登记"
)


def can_record_payment(
    user: User, claim: Claim | None = None, *, makers: Collection[int] | None = None
) -> Permission:
    """Record a payment or a failed attempt: finance — but not on a claim they made
    or decided when they held another role (``quarters.selectors.claim_makers`` and
    its reviewer: maker, checker and payer are three people, whatever their role is
    now). What may be paid on a claim, and how much, is the ledger's answer
    (``payment_record``: ``not_payable``…). ``makers`` are the claim's when the
    caller already read them."""
    if not user.is_authenticated or not user.is_finance:
        return deny("只有财政人员可以登记拨付")
    if claim is None:
        return ALLOWED
    if makers is None:
        makers = claim_makers_and_checkers([claim])[claim.pk]
    if user.pk in makers or user.pk == claim.reviewed_by_id:
        return deny(PAYER_MADE_IT)
    return ALLOWED


#: What decides who a claim pays: the person, and the institution when it is
#: project-based (the payee follows ``project_based``).
PAYEE_FIELDS = ("trainee_id", "institution_id", "project_based")


def can_change_payee(changes: Collection[str], advance_paid: Decimal) -> Permission:
    """A correction of a returned claim may not change who is paid once an advance went
    out (五(二)): the advance stays with the first payee, and the balance would go to the
    new one less money it never got. Withdrawing the claim opens the advance as a
    recovery; the corrected claim is entered afresh."""
    moved = [name for name in PAYEE_FIELDS if name in changes]
    if moved and advance_paid > 0:
        return conflict(
            "advance_paid",
            f"该申报已先行拨付{advance_paid:.2f}元，不能更改培训人员、培训机构或是否"
            "项目制（收款方由此而定）；确需更改的，请撤回该申报（已拨付款项转为应追回）"
            "后重新录入",
        )
    return ALLOWED


def can_pay_class_advance(
    user: User, cls: TrainingClass | None = None, *, makers: Collection[int] = ()
) -> Permission:
    """Pay a class's advance: finance — but not someone who drafted, filed, accepted,
    started or ran the class (``classes.selectors.class_makers``) in another role."""
    if not (allowed := can_record_payment(user)):
        return allowed
    if cls is not None and user.pk in makers:
        return deny(
            "不能为本人起草、报备、备案或开班的培训班拨付（经办、审核与拨付须分离），"
            "请由其他财政人员拨付"
        )
    return ALLOWED


def can_settle_recovery(user: User, recovery: Recovery | None = None) -> Permission:
    """Record an amount to recover as recovered: finance — not someone who made or
    decided its claim in another role — once. A netted one too, once:
    the payee may send the money back before learning it was netted
    (``recovery_settle`` then opens and settles a fresh recovery of it, paid out again
    with the balance) — but not once the balance is paid."""
    if not user.is_authenticated or not user.is_finance:
        return deny("只有财政人员可以登记追回")
    if recovery is not None and (
        user.pk in claim_makers_and_checkers([recovery.claim])[recovery.claim_id]
        or user.pk == recovery.claim.reviewed_by_id
    ):
        # recorded as come back, what the claim owes is closed: never by someone who
        # made or decided it (as ``can_record_payment`` for the money going out)
        return deny(
            "不能登记本人录入、提交、报送或审核的申报的追回款（经办、审核与拨付须分离），"
            "请由其他财政人员登记"
        )
    if recovery is not None and recovery.settled_at is not None:
        return conflict("already_settled", "该笔款项已登记追回")
    if (
        recovery is not None
        and recovery.netted_at is not None
        and Recovery.objects.filter(reopens=recovery).exists()
    ):
        return conflict("already_settled", "该笔已冲抵的款项已登记收到退款")
    if (
        recovery is not None
        and recovery.netted_at is not None
        and Payment.objects.filter(
            claim_id=recovery.claim_id,
            kind=PaymentKind.BALANCE,
            status=PaymentStatus.PAID,
        ).exists()
    ):
        # the claim is paid its approved amount in full: money sent back now is not
        # the subsidy's to keep, and nothing could pay it out again (one balance a
        # claim) — recorded, it was due for ever and a bank batch paid it unrecorded
        return conflict("balance_already_paid", BALANCE_ALREADY_PAID)
    if recovery is not None and recovery.netted_at is not None:
        in_batch = (
            PaymentBatchLine.objects.filter(
                claim_id=recovery.claim_id, kind=PaymentKind.BALANCE, open=True
            )
            .values_list("batch_id", flat=True)
            .first()
        )
        if in_batch is not None:
            # the batch pays the balance as it stood when it was built: owed more
            # now, the bank's result would not match and could not be recorded
            return conflict(
                "in_open_batch",
                f"该申报的余额已列入代发批次#{in_batch}：请先登记该批次的银行回盘"
                "（或作废尚未报送银行的批次），再登记收款人退回的款项",
            )
    return ALLOWED


#: Why money sent back for a netted recovery is not recorded once the balance is paid.
BALANCE_ALREADY_PAID = (
    "该笔应追回款已在申报核准时冲抵，且余额已拨付，核准金额已足额拨付："
    "收款人仍退回的款项不属应追回款，请原路退还收款人，本系统不登记"
)


# --- The bank loop (issue 18) -----------------------------------------------------------------
def can_read_full_account(user: User) -> Permission:
    """A payee's whole bank account number: finance only; everyone else sees the last
    four digits."""
    if user.is_authenticated and user.is_finance:
        return ALLOWED
    return deny("只有财政人员可以查看完整银行账号")


def can_propose_account_change(user: User) -> Permission:
    """Enter a payee's new bank account: the unit's clerk (a trainee of their unit, an
    institution of their unit) or finance; it is in force once a second person of
    finance confirms it."""
    if user.is_authenticated and (user.is_clerk or user.is_finance):
        return ALLOWED
    return deny("只有县(市)经办人或财政人员可以录入收款账户")


def can_propose_trainee_account(
    user: User, trainee: object, *, claimed_by_unit: bool
) -> Permission:
    """A trainee's account pays every claim of theirs, in every county: finance, or
    the clerk of the unit that registered the person or claims for them
    (``claimed_by_unit``: a claim of the unit not withdrawn, rejected or deleted) —
    not any clerk who looked the person up by their ID number."""
    if user.is_authenticated and user.is_finance:
        return ALLOWED
    if (
        user.is_authenticated
        and user.is_clerk
        and (
            claimed_by_unit
            or getattr(trainee, "registered_by_unit_id", None) == user.unit_id
        )
    ):
        return ALLOWED
    return deny(
        "只有登记该培训人员的单位或为其申报补贴的单位的经办人可以录入其收款账户"
    )


def can_read_account_changes(user: User) -> Permission:
    """The account changes with their trail (numbers masked): who may enter one, and the
    auditor, who sees everything and changes nothing."""
    if user.is_authenticated and (user.is_clerk or user.is_finance or user.is_auditor):
        return ALLOWED
    return deny("只有县(市)经办人、财政人员和督查可以查看收款账户变更")


def can_confirm_account_change(user: User, change: object | None = None) -> Permission:
    """Confirm a proposed account: finance, and never the person who entered it."""
    if not user.is_authenticated or not user.is_finance:
        return deny("只有财政人员可以确认收款账户变更")
    if change is None:
        return ALLOWED
    if getattr(change, "proposed_by_id", None) == user.pk:
        return conflict(
            "same_person", "录入人不能确认自己录入的账户变更，须由另一人确认"
        )
    if getattr(change, "status", "") != "proposed":
        return conflict("already_decided", "该账户变更已处理")
    return ALLOWED


def can_list_bank_templates(user: User) -> Permission:
    """The bank templates: finance (who builds batches) and the administrator (who
    defines them)."""
    if user.is_authenticated and (user.is_finance or user.is_administrator):
        return ALLOWED
    return deny("只有财政人员和管理员可以查看银行模板")


def can_manage_batches(user: User) -> Permission:
    """Build a payment batch, mark it sent, cancel it, record the bank's answer:
    finance."""
    if user.is_authenticated and user.is_finance:
        return ALLOWED
    return deny("只有财政人员可以办理代发批次")


#: How many claims a refusal to send or answer a batch names.
NAMED_CLAIMS = 10


def can_release_batch(user: User, act: str, made: Collection[int] = ()) -> Permission:
    """Hand a batch to the bank (``act`` 报送银行) or record the bank's answer to it
    (登记回盘): finance — but not someone who made or decided one of its claims in
    another role (``made``: those claims, ``finance.selectors.batch_claims_made_by``).
    Its builder is checked line by line (``payouts.batch_plan``); whoever sends the
    file decides that it is paid, and whoever records the answer decides what was paid
    and what is paid again: maker, checker and payer are three people."""
    if not (allowed := can_manage_batches(user)):
        return allowed
    if made:
        ids = sorted(made)
        named = "、".join(f"#{pk}" for pk in ids[:NAMED_CLAIMS])
        more = "等" if len(ids) > NAMED_CLAIMS else ""
        return deny(
            f"批次中有本人录入、提交、报送或审核的申报（申报{named}{more}），不能由本人"
            f"{act}（经办、审核与拨付须分离），请由其他财政人员办理"
        )
    return ALLOWED


def can_read_batches(user: User) -> Permission:
    """The batches and the reconciliation: finance and the auditor."""
    if user.is_authenticated and (user.is_finance or user.is_auditor):
        return ALLOWED
    return deny("只有财政和督查可以查看代发批次与对账")
