"""The bank loop (issue 18): payee accounts, payment batches in a bank's own file, and
the bank's answer recorded through ``finance.services.payment_record`` — the ledger
stays the one record of what was paid.

Lock order (``altay_skills.lock_objects``): building a batch locks its rollup (5b),
so two officers building from one rollup at once are served one after the other and
the second finds the lines already in an open batch (and the partial unique index
``batch_line_once_open`` would refuse them anyway), then the claims it will pay (6),
planned again under their locks (a payment recorded by hand meanwhile). Marking it
sent and recording a result lock the batch (5a), then every claim it pays in id order
(6) — checked again before the file is released (``changed_since_built``) — then
``payment_record`` takes each claim again (already held) and its payments (7).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from altay_skills import lock_objects
from altay_skills.errors import Conflict, DomainError, NotFound, PermissionDenied
from altay_skills.permissions import Permission, require
from altay_skills.plain_text import checked_text
from claims import evidence
from claims import rules as claim_rules
from claims.models import Claim, Document, DocumentKind, claim_summary_place
from claims.selectors import document_for
from finance import bank_files
from finance.bank_rules import BANKS, account_refusal, mask_account, normalise_account
from finance.ledger import money_from, with_money
from finance.models import (
    AccountChangeStatus,
    BankTemplate,
    BatchLineStatus,
    BatchStatus,
    PayeeAccount,
    PayeeAccountChange,
    Payment,
    PaymentBatch,
    PaymentBatchLine,
    PaymentKind,
    PaymentResult,
    PaymentStatus,
    Rollup,
    RollupStatus,
    TemplatePurpose,
)
from finance.permissions import (
    can_confirm_account_change,
    can_manage_batches,
    can_propose_account_change,
    can_propose_trainee_account,
    can_record_payment,
    can_release_batch,
)
from finance.selectors import batch_claims_made_by, claims_of_rollup
from finance.services import _amount_due, balance_holds, payment_record
from programs.models import Institution
from quarters.selectors import claim_makers_and_checkers
from trainees.selectors import trainee_in_scope

ZERO = Decimal("0.00")
OPEN_STATUSES = (BatchStatus.BUILT, BatchStatus.SENT)


# --- Accounts ------------------------------------------------------------------------------------
def account_change_propose(
    *,
    actor: User,
    bank: str,
    number: str,
    holder: str,
    trainee_id: int | None = None,
    institution_id: int | None = None,
    reason: str = "",
    document_id: int | None = None,
    request_file: Any = None,
) -> PayeeAccountChange:
    """One person enters a payee's new account (a trainee's: the unit's clerk, with the
    person's signed request as a document when there is one); it is not in force until
    a second person, of finance, confirms it (``account_change_confirm``).

    The signed request is either a document already stored (``document_id``, one the
    actor may open) or uploaded with the change (``request_file``): checked by content
    as every evidence file is (``claims.evidence``), stored, and its record written in
    the change's transaction — a file stored for a change that fails is removed."""
    require(can_propose_account_change(actor))
    if (trainee_id is None) == (institution_id is None):
        raise DomainError("invalid", "请指定培训人员或培训机构/企业之一")
    number = normalise_account(number)
    refusal = account_refusal(bank, number)
    if refusal:
        raise DomainError("invalid_account", refusal)
    holder = checked_text((holder or "").strip())
    if not holder or len(holder) > 100:
        raise DomainError("invalid_holder", "户名不能为空，最多100个字符")
    reason = checked_text((reason or "").strip()[:2000], multiline=True)
    if document_id is not None and request_file is not None:
        raise DomainError("invalid", "签字申请只能上传文件或选择已有材料之一")
    if document_id is not None:
        document_id = document_for(actor, document_id).pk  # 404 unless the actor's
    current: PayeeAccount | None
    if trainee_id is not None:
        trainee = trainee_in_scope(actor, trainee_id)
        require(_may_enter_account_of(actor, trainee))
        current = PayeeAccount.objects.filter(trainee=trainee).first()
        owner: dict[str, Any] = {"trainee": trainee}
    else:
        institution = (
            Institution.objects.filter(pk=institution_id).first()
            if institution_id is not None
            else None
        )
        if institution is None or (
            actor.is_clerk and institution.unit_id != actor.unit_id
        ):
            raise NotFound("未找到该培训机构/企业")
        current = PayeeAccount.objects.filter(institution=institution).first()
        owner = {"institution": institution}
    if (current is not None) and (current.bank, current.number, current.holder) == (
        bank,
        number,
        holder,
    ):
        # a holder corrected alone is a change (the bank refused 户名与账号不符)
        raise Conflict("unchanged", "新账户的开户行、账号和户名与现有账户完全相同")
    waiting = (
        PayeeAccountChange.objects.filter(
            **owner,
            bank=bank,
            number=number,
            holder=holder,
            status=AccountChangeStatus.PROPOSED,
        )
        .values_list("pk", flat=True)
        .first()
    )
    if waiting is not None:
        # the same account entered twice waits for one confirmation, not two
        raise Conflict(
            "already_proposed", f"该收款人已有相同账号的账户变更#{waiting}待财政确认"
        )
    checked = evidence.checked_upload(request_file) if request_file else None
    unit_id = actor.unit_id or (
        owner["trainee"].registered_by_unit_id
        if "trainee" in owner
        else owner["institution"].unit_id
    )
    stored = evidence.store(checked, folder=f"accounts/{unit_id}") if checked else None
    try:
        with transaction.atomic():
            if checked is not None and stored is not None:
                document = Document(
                    unit_id=unit_id,
                    kind=DocumentKind.OTHER,
                    content_type=checked.content_type,
                    sha256=checked.sha256,
                    size=checked.size,
                    stored_as=stored,
                    original_name=checked.original_name,
                    uploaded_by=actor,
                )
                document.save()
                document_id = document.pk
            return PayeeAccountChange.objects.create(
                **owner,
                bank=bank,
                number=number,
                holder=holder,
                old_masked=mask_account(current.number) if current else "",
                new_masked=mask_account(number),
                reason=reason,
                document_id=document_id,
                proposed_by=actor,
            )
    except BaseException:
        if stored is not None:
            evidence.discard(stored)
        raise


def _may_enter_account_of(user: User, trainee: Any) -> Permission:
    """Whether ``user`` may enter ``trainee``'s account: finance, or a clerk of the
    unit that registered the person or holds a claim of theirs submitted or decided
    (``claims.rules.COUNTING_STATUSES``) — a draft is typed in a minute and deleted
    the next."""
    return can_propose_trainee_account(
        user,
        trainee,
        claimed_by_unit=bool(user.unit_id)
        and Claim.objects.filter(
            trainee=trainee,
            unit_id=user.unit_id,
            status__in=claim_rules.COUNTING_STATUSES,
        ).exists(),
    )


def account_change_confirm(*, change_id: int, actor: User) -> PayeeAccount:
    """A second person (finance, not the one who entered it) puts the account in
    force; the change row keeps who and when, the old and new numbers masked."""
    require(can_confirm_account_change(actor))
    with transaction.atomic():
        change = lock_objects.lock_payee_account_change(change_id)
        if change is None:
            raise NotFound("未找到该账户变更")
        require(can_confirm_account_change(actor, change))
        if change.trainee_id and not _may_enter_account_of(
            change.proposed_by, change.trainee
        ):
            # the claim that gave the right was withdrawn (or a role changed) since
            raise PermissionDenied(
                "录入人所在单位已无该培训人员已提交的申报，无权录入其收款账户："
                "该变更不能确认，请退回"
            )
        now = timezone.now()
        owner = (
            {"trainee_id": change.trainee_id}
            if change.trainee_id
            else {"institution_id": change.institution_id}
        )
        newer = (
            PayeeAccountChange.objects.filter(
                **owner, status=AccountChangeStatus.CONFIRMED, pk__gt=change.pk
            )
            .values_list("pk", flat=True)
            .first()
        )
        if newer is not None:
            # in force, it would put back the account the payee has since left
            raise Conflict(
                "superseded",
                f"该收款人在本变更之后录入的账户变更#{newer}已确认生效，本变更已过时，"
                "不能确认，请退回",
            )
        account, _ = PayeeAccount.objects.update_or_create(
            **owner,
            defaults={
                "bank": change.bank,
                "number": change.number,
                "holder": change.holder,
                "changed_at": now,
            },
        )
        change.status = AccountChangeStatus.CONFIRMED
        change.decided_by = actor
        change.decided_at = now
        change.save(update_fields=["status", "decided_by", "decided_at"])
        return account


def account_change_refuse(*, change_id: int, actor: User) -> PayeeAccountChange:
    """Finance sends a proposed account back; nothing changes."""
    require(can_confirm_account_change(actor))
    with transaction.atomic():
        change = lock_objects.lock_payee_account_change(change_id)
        if change is None:
            raise NotFound("未找到该账户变更")
        require(can_confirm_account_change(actor, change))
        change.status = AccountChangeStatus.REFUSED
        change.decided_by = actor
        change.decided_at = timezone.now()
        change.save(update_fields=["status", "decided_by", "decided_at"])
        return change


def payee_account_of(claim: Claim) -> PayeeAccount | None:
    """Where a claim is paid: its institution's account when the institution is the
    payee, the person's otherwise (a trainee or a student's family)."""
    if claim.payee == "institution":
        return PayeeAccount.objects.filter(institution_id=claim.institution_id).first()
    return PayeeAccount.objects.filter(trainee_id=claim.trainee_id).first()


# --- Batches -------------------------------------------------------------------------------------
def _candidates(quarter: str, kind: str, among: Collection[int] | None = None) -> Any:
    """The claims a ready rollup may pay of ``kind``: a balance, the approved claims of
    its closed reports (the rollup's own claims); an advance, the quarter's claims
    given one (the service's ``_amount_due`` decides, claim by claim, what is due).
    ``among``: only these claims."""
    claims = Claim.objects.filter(report__quarter=quarter)
    if kind == PaymentKind.BALANCE:
        rollup = Rollup.objects.get(quarter=quarter)
        claims = claims_of_rollup(rollup)  # not a report closed after it
    else:
        claims = claims.filter(advance__gt=0)
    if among is not None:
        claims = claims.filter(pk__in=among)
    return with_money(
        claims.select_related("report", "trainee", "institution")
    ).order_by("unit_id", "pk")


@dataclass
class BatchPlan:
    lines: list[dict[str, Any]] = field(default_factory=list)
    #: claim id -> why it is not in the batch (no account, awaiting a correction)
    skipped: dict[int, str] = field(default_factory=dict)


#: Why a claim is not in the batch ``actor`` builds: they made or decided it
#: (``can_record_payment``).
BATCHED_BY_ANOTHER = "本人录入、提交、报送或审核的申报，须由其他财政人员列入批次"


#: Why a claim otherwise due is not paid now (``_amount_due``'s refusals by code),
#: said where a batch leaves it out; a claim paid already or owed nothing is no news.
HELD = {
    "notice_open": "公示期未满（公示期满后方可拨付余额）",
    "objection_open": "有尚未核查的公示异议",
    "objection_upheld": "公示异议经核查成立",
    "trainee_disputed": "培训人员本人表示未参加，待核查",
}


def batch_plan(
    rollup_quarter: str,
    kind: str,
    *,
    actor: User,
    among: Collection[int] | None = None,
) -> BatchPlan:
    """What a batch of ``kind`` built by ``actor`` would pay now: every line due, not
    paid, no line of its claim in an open batch, with an account — and, after a
    failure, only once the account was changed since (a failed line is payable
    again after its correction); never a claim ``actor`` made or decided in
    another role (maker, checker and payer are three people: the bank pays the file
    as it is). ``among``: only these claims (the build's second look, under their
    locks)."""
    plan = BatchPlan()
    # a claim with a line of either kind at the bank waits for its answer: an advance
    # in flight is not in the ledger yet, so the balance would be the whole amount
    in_open = set(
        PaymentBatchLine.objects.filter(open=True).values_list("claim_id", flat=True)
    )
    claims = [
        c for c in _candidates(rollup_quarter, kind, among) if c.pk not in in_open
    ]
    failures: dict[int, Payment] = {}
    for p in Payment.objects.filter(
        claim_id__in=[c.pk for c in claims],
        kind=kind,
        status=PaymentStatus.FAILED,
        reissued_by__isnull=True,
    ).order_by("recorded_at", "pk"):
        failures[p.claim_id] = p
    recent = timezone.now() - timedelta(days=settings.PAYEE_ACCOUNT_RECENT_DAYS)
    accounts: dict[tuple[str, int | None], PayeeAccount] = {}
    for a in PayeeAccount.objects.filter(trainee_id__in={c.trainee_id for c in claims}):
        accounts[("trainee", a.trainee_id)] = a
    for a in PayeeAccount.objects.filter(
        institution_id__in={c.institution_id for c in claims}
    ):
        accounts[("institution", a.institution_id)] = a
    makers = claim_makers_and_checkers(claims)
    holds = balance_holds(claims)
    for claim in claims:
        try:
            due = _amount_due(claim, kind, money_from(claim), holds)
        except DomainError as exc:
            held = HELD.get(exc.code)
            if held is not None:  # due once the hold ends: finance is told why not now
                plan.skipped[claim.pk] = held
            continue
        if not can_record_payment(actor, claim, makers=makers[claim.pk]):
            plan.skipped[claim.pk] = BATCHED_BY_ANOTHER
            continue
        key = (
            ("institution", claim.institution_id)
            if claim.payee == "institution"
            else ("trainee", claim.trainee_id)
        )
        account = accounts.get(key)
        if account is None:
            plan.skipped[claim.pk] = "无收款账户"
            continue
        failed = failures.get(claim.pk)
        if failed is not None and account.changed_at <= failed.recorded_at:
            plan.skipped[claim.pk] = "上次拨付失败，待更正收款账户"
            continue
        payee_name = (
            claim.institution.name
            if claim.payee == "institution"
            else claim.trainee.name
        )
        plan.lines.append(
            {
                "claim_id": claim.pk,
                "amount": due,
                "bank": account.bank,
                "account": account.number,
                "holder": account.holder,
                "payee_name": payee_name,
                "account_recent": account.changed_at >= recent,
                "reissue_of": failed,
            }
        )
    return plan


KIND_WORDS: dict[str, str] = {PaymentKind.ADVANCE: "预拨", PaymentKind.BALANCE: "余额"}

PURPOSES: dict[str, str] = {
    PaymentKind.ADVANCE: "职业技能培训补贴先行拨付",
    PaymentKind.BALANCE: "职业技能培训补贴",
}


def batch_build(
    *, rollup_id: int, kind: str, template_id: int, actor: User
) -> PaymentBatch:
    """Finance builds a batch from a ready rollup: every payable line of ``kind`` not
    paid and not in another open batch, written in the bank's template; the file's
    bytes, SHA-256, count and total are kept."""
    require(can_manage_batches(actor))
    if kind not in PaymentKind.values:
        raise DomainError("invalid", "拨付类别无效（advance 或 balance）")
    template = BankTemplate.objects.filter(
        pk=template_id, purpose=TemplatePurpose.BATCH
    ).first()
    if template is None:
        raise DomainError("invalid_template", "银行模板无效")
    try:
        with transaction.atomic():
            try:
                rollup = lock_objects.lock_rollup(rollup_id)
            except (Rollup.DoesNotExist, ValueError, TypeError):
                raise NotFound("未找到该汇总") from None
            if rollup.status != RollupStatus.READY:
                raise Conflict("rollup_not_ready", "汇总尚未生成，不能生成代发批次")
            plan = batch_plan(rollup.quarter, kind, actor=actor)
            if plan.lines:
                # the claims it would pay, locked (after the rollup: lock order 5b)
                # and planned again: a payment recorded by hand since the first
                # look is seen now, and one recorded later waits for these locks and
                # then finds the claim's line in this open batch (``in_open_batch``)
                locked = lock_objects.lock_claim_ids(
                    [line["claim_id"] for line in plan.lines]
                )
                again = batch_plan(rollup.quarter, kind, actor=actor, among=locked)
                plan = BatchPlan(again.lines, plan.skipped | again.skipped)
            if not plan.lines:
                raise Conflict(
                    "nothing_payable",
                    "没有可列入批次的款项"
                    + (
                        left_out_text(plan.skipped)
                        if plan.skipped
                        else "（均已拨付或已在未结批次中）"
                    ),
                )
            total = sum((line["amount"] for line in plan.lines), ZERO)
            batch = PaymentBatch.objects.create(
                rollup=rollup,
                kind=kind,
                template=template,
                count=len(plan.lines),
                total=total,
                sha256="",
                content=b"",
                filename="",
                created_by=actor,
            )
            rows = []
            for seq, line in enumerate(plan.lines, start=1):
                reference = f"P{batch.pk:07d}{seq:06d}"
                rows.append(
                    PaymentBatchLine(
                        batch=batch,
                        seq=seq,
                        claim_id=line["claim_id"],
                        kind=kind,
                        amount=line["amount"],
                        reference=reference,
                        bank=line["bank"],
                        account=line["account"],
                        holder=line["holder"],
                        account_recent=line["account_recent"],
                        reissue_of=line["reissue_of"],
                    )
                )
            PaymentBatchLine.objects.bulk_create(rows)
            day = timezone.localdate()
            try:
                content = bank_files.render(
                    template,
                    [
                        {
                            "seq": r.seq,
                            "reference": r.reference,
                            "account": r.account,
                            "holder": r.holder,
                            "amount": r.amount,
                            "bank": BANKS.get(r.bank, BANKS["other"]).name,
                            "purpose": PURPOSES[kind],
                        }
                        for r in rows
                    ],
                    day=day,
                    batch=str(batch.pk),
                )
            except bank_files.FileError as exc:
                raise DomainError("invalid_template", str(exc)) from None
            batch.content = content
            batch.sha256 = hashlib.sha256(content).hexdigest()
            ext = (
                "xlsx"
                if template.format == "xlsx"
                else ("csv" if template.format == "csv" else "txt")
            )
            # in Chinese, as everything a person reads ("balance" was in the name)
            batch.filename = f"代发{rollup.quarter}-{KIND_WORDS[kind]}-{batch.pk}.{ext}"
            batch.save(update_fields=["content", "sha256", "filename"])
            # what the batch leaves out, and why, for the one who built it to act on
            batch.left_out = dict(plan.skipped)  # type: ignore[attr-defined]
            return batch
    except IntegrityError as exc:
        if "batch_line_once_open" in str(exc) or "claim_id" in str(exc):
            raise Conflict(
                "already_in_batch", "有款项已在另一个未结批次中，请刷新后重试"
            ) from None
        raise


#: What to do about a claim left out for want of an account.
NO_ACCOUNT_HINT = (
    "由申报单位经办人在“收款账户变更”中凭本人签字的申请录入，财政另一人确认"
)
#: How many claims a refusal names for each reason.
NAMED = 10


def left_out_text(skipped: Mapping[int, str]) -> str:
    """ "；3笔无收款账户（申报#12、#15、#40：由…录入）": how many for each reason, and
    which claims, so that finance can have them put right."""
    by_why: dict[str, list[int]] = {}
    for claim_id, why in sorted(skipped.items()):
        by_why.setdefault(why, []).append(claim_id)
    parts = []
    for why, ids in sorted(by_why.items()):
        named = "、".join(f"#{pk}" for pk in ids[:NAMED])
        more = "等" if len(ids) > NAMED else ""
        hint = f"：{NO_ACCOUNT_HINT}" if why == "无收款账户" else ""
        parts.append(f"；{len(ids)}笔{why}（申报{named}{more}{hint}）")
    return "".join(parts)


def _batch(batch_id: int) -> PaymentBatch:
    batch = lock_objects.lock_payment_batch(batch_id)
    if batch is None:
        raise NotFound("未找到该代发批次")
    return batch


#: What a maker of a batch's claims may not do with it (``can_release_batch``).
SEND_ACT = "报送银行"
ANSWER_ACT = "登记银行回盘"


def stale_text(batch: PaymentBatch, changed: list[str]) -> str:
    """What changed since ``batch`` was built, and the officer's two ways on."""
    shown = "；".join(changed[:NAMED]) + (
        f"；等{len(changed)}笔" if len(changed) > NAMED else ""
    )
    return (
        f"批次#{batch.pk}生成后以下款项已有变化，文件已不能照付（{shown}）。"
        "文件尚未交给银行的，请作废本批次后重新生成；文件已交给银行的，银行将照文件"
        "付款：请勾选“文件已交银行”后标记已报送，再按银行回盘登记"
    )


def changed_since_built(batch: PaymentBatch) -> list[str]:
    """What changed since ``batch`` was built that its file does not know, line by
    line: its claim (locked by the caller) no longer due the line's amount — paid,
    held by a trainee's "not me" or an objection, no longer approved — or its payee's
    account corrected since (the file would pay the old one)."""
    lines = list(batch.lines.filter(open=True).order_by("claim_id", "kind"))
    claims = {
        claim.pk: claim
        for claim in with_money(
            Claim.objects.filter(
                pk__in=[line.claim_id for line in lines]
            ).select_related("report", "trainee", "institution")
        )
    }
    holds = balance_holds(list(claims.values()))
    accounts = {
        (a.trainee_id, a.institution_id): a
        for a in PayeeAccount.objects.filter(
            Q(trainee_id__in={c.trainee_id for c in claims.values()})
            | Q(institution_id__in={c.institution_id for c in claims.values()})
        )
    }
    changed = []
    for line in lines:
        claim = claims[line.claim_id]
        try:
            due = _amount_due(claim, line.kind, money_from(claim), holds)
        except DomainError as exc:
            changed.append(f"申报#{claim.pk}：{exc.message}")
            continue
        if due != line.amount:
            changed.append(
                f"申报#{claim.pk}：应拨金额已变为{claim_rules.yuan(due)}元"
                f"（批次中为{claim_rules.yuan(line.amount)}元）"
            )
            continue
        account = accounts.get(
            (None, claim.institution_id)
            if claim.payee == "institution"
            else (claim.trainee_id, None)
        )
        if account is None or (account.bank, account.number, account.holder) != (
            line.bank,
            line.account,
            line.holder,
        ):
            changed.append(f"申报#{claim.pk}：收款账户已变更")
    return changed


def batch_mark_sent(
    *, batch_id: int, actor: User, already_at_bank: bool = False
) -> PaymentBatch:
    """Finance marks the file handed to the bank; from then on it cannot be cancelled.

    Every line is checked again first (``changed_since_built``). Changed since it was
    built, the file is refused (409 ``batch_stale``) unless the officer says it is
    already at the bank (``already_at_bank``): the bank pays what it holds, and its
    answer is recorded as the fact it is — cancelled instead, the answer could not be
    recorded and the next batch paid the same claims again."""
    require(can_manage_batches(actor))
    with transaction.atomic():
        batch = _batch(batch_id)
        if batch.status != BatchStatus.BUILT:
            raise Conflict(
                "batch_not_built", "只有已生成、尚未报送的批次可以标记为已报送"
            )
        made = batch_claims_made_by(batch, actor)
        require(can_release_batch(actor, SEND_ACT, made))
        lock_objects.lock_claim_ids(
            list(batch.lines.values_list("claim_id", flat=True))
        )
        changed = changed_since_built(batch)
        if changed and not already_at_bank:
            raise Conflict(
                "batch_stale", stale_text(batch, changed), detail={"changed": changed}
            )
        batch.status = BatchStatus.SENT
        batch.sent_by = actor
        batch.sent_at = timezone.now()
        batch.sent_changed = changed  # the officer's word, with what it overrode
        batch.save(update_fields=["status", "sent_by", "sent_at", "sent_changed"])
        return batch


def batch_cancel(*, batch_id: int, actor: User) -> PaymentBatch:
    """A batch not yet sent is cancelled: its lines leave it and are payable again."""
    require(can_manage_batches(actor))
    with transaction.atomic():
        batch = _batch(batch_id)
        if batch.status != BatchStatus.BUILT:
            raise Conflict("batch_sent", "批次已报送银行，不能作废")
        batch.lines.update(open=False, status=BatchLineStatus.CANCELLED)
        batch.status = BatchStatus.CANCELLED
        batch.cancelled_at = timezone.now()
        batch.cancelled_by = actor
        batch.save(update_fields=["status", "cancelled_at", "cancelled_by"])
        return batch


# --- The bank's answer ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ResultOutcome:
    paid: int
    failed: int
    total_paid: Decimal
    unmatched: list[str]
    repeated: bool = False


def _bank_date(text: str, pattern: str) -> date | None:
    for fmt in (pattern, "%Y%m%d", "%Y-%m-%d"):
        try:
            return datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    return None


def _match(
    batch: PaymentBatch, template: BankTemplate, read: bank_files.ReadFile
) -> tuple[list[tuple[PaymentBatchLine, dict[str, Any]]], list[str]]:
    """Each result line to the batch line it answers (by reference, else by account
    and amount), and what does not fit."""
    lines = list(batch.lines.order_by("seq"))
    by_ref = {line.reference: line for line in lines}
    problems = list(read.problems)
    built_on = timezone.localdate(batch.created_at)
    today = timezone.localdate()
    for named in read.batches:
        if named != str(batch.pk):
            # the bank's answer to another batch: its lines without a reference
            # would fit this one's by account and amount
            problems.append(f"回盘文件的批次号 {named} 不是本批次#{batch.pk}的回盘")
    matched: list[tuple[PaymentBatchLine, dict[str, Any]]] = []
    seen: set[int] = set()
    for row in read.lines:
        where = f"第{row['line']}行"
        line = by_ref.get(row.get("reference") or "")
        if line is None and not row.get("reference"):
            same = [
                x
                for x in lines
                if x.account == row.get("account") and x.amount == row.get("amount")
            ]
            line = same[0] if len(same) == 1 else None
        if line is None:
            problems.append(
                f"{where}与批次中的任何一笔都不对应（业务编号 {row.get('reference') or '无'}）"
            )
            continue
        if line.pk in seen or line.status != BatchLineStatus.PENDING:
            problems.append(f"{where}重复回复了业务编号 {line.reference}")
            continue
        seen.add(line.pk)
        if row.get("amount") is not None and row["amount"] != line.amount:
            problems.append(
                f"{where}金额 {row['amount']:.2f} 与批次金额 {line.amount:.2f} 不符"
            )
            continue
        status = row.get("status") or ""
        paid = status in (template.paid_values or [])
        if not paid and status not in (template.failed_values or []):
            # 处理中, a typo: counted failed, the claim would be batched again while
            # the bank may still pay this line — paid twice
            problems.append(
                f"{where}处理结果“{status}”既不是成功也不是失败的状态值"
                f"（成功：{'、'.join(template.paid_values or [])}；"
                f"失败：{'、'.join(template.failed_values or []) or '模板未填写'}）："
                "银行尚未办结的行不能登记，请待银行最终回盘后再上传"
            )
            continue
        if (
            paid
            and _bank_date(row.get("bank_date") or "", template.date_format) is None
        ):
            problems.append(f"{where}入账日期无法识别")
            continue
        if not paid and not row.get("reason"):
            problems.append(f"{where}失败但没有失败原因")
            continue
        day = _bank_date(row.get("bank_date") or "", template.date_format)
        if paid and day is not None and day < built_on:
            # the bank cannot have paid a file before it existed
            problems.append(
                f"{where}入账日期 {day:%Y-%m-%d} 早于本批次生成日期 {built_on:%Y-%m-%d}"
            )
            continue
        if paid and day is not None and day > today:
            problems.append(f"{where}入账日期 {day:%Y-%m-%d} 晚于今天 {today:%Y-%m-%d}")
            continue
        matched.append((line, row | {"paid": paid}))
    if read.count is not None and read.count != len(read.lines):
        problems.append(f"尾行笔数 {read.count} 与明细行数 {len(read.lines)} 不符")
    if read.total is not None:
        listed = sum((r["amount"] or ZERO for r in read.lines), ZERO)
        if read.total != listed:
            problems.append(f"尾行总金额 {read.total:.2f} 与明细合计 {listed:.2f} 不符")
    return matched, problems


def batch_result_record(*, batch_id: int, content: bytes, actor: User) -> ResultOutcome:
    """Finance uploads the bank's result file: every line matched to the batch and
    recorded — paid with the bank's date and reference, failed with its reason — in
    one transaction through ``payment_record``. A line matching nothing, answered
    twice, or totals that disagree: all listed, nothing recorded. The same file again
    changes nothing (its SHA-256 is recorded once)."""
    require(can_manage_batches(actor))
    if not content:
        raise DomainError("invalid_file", "请上传银行回盘文件")
    digest = hashlib.sha256(content).hexdigest()
    try:
        return _result_record(batch_id, content, digest, actor)
    except IntegrityError as exc:
        if "sha256" not in str(exc):
            raise
        # the same file recorded at this moment against another batch
        raise Conflict(
            "result_of_other_batch", "该回盘文件已登记到另一个批次"
        ) from None


def _result_record(
    batch_id: int, content: bytes, digest: str, actor: User
) -> ResultOutcome:
    with transaction.atomic():
        batch = _batch(batch_id)
        made = batch_claims_made_by(batch, actor)
        require(can_release_batch(actor, ANSWER_ACT, made))
        earlier = PaymentResult.objects.filter(sha256=digest).first()
        if earlier is not None:
            if earlier.batch_id != batch.pk:
                raise Conflict("result_of_other_batch", "该回盘文件已登记到另一个批次")
            return ResultOutcome(
                earlier.paid, earlier.failed, earlier.total_paid, [], repeated=True
            )
        if batch.status == BatchStatus.CANCELLED:
            raise Conflict("batch_cancelled", "批次已作废")
        if batch.status == BatchStatus.BUILT:
            raise Conflict("batch_not_sent", "批次尚未标记为已报送银行，不能登记回盘")
        template = batch.template.result_template
        if template is None:
            raise Conflict("no_result_template", "该银行模板没有配置回盘模板")
        try:
            read = bank_files.parse(template, content)
        except bank_files.FileError as exc:
            raise DomainError("invalid_file", str(exc)) from None
        matched, problems = _match(batch, template, read)
        if problems:
            raise Conflict(
                "result_unmatched",
                "回盘文件与批次不符，未登记任何拨付，请核对后重新上传",
                detail={"unmatched": problems},
            )
        if not matched:
            raise DomainError("invalid_file", "回盘文件没有明细行")
        claim_ids = lock_objects.lock_claim_ids([line.claim_id for line, _ in matched])
        # Each paid line moves its claim's summary row (Claim.paid): recorded in the
        # summaries' one order (lock_objects 6a), as a bulk approval decides, not in
        # the bank's file order — else the two can deadlock on those rows (issue 20).
        places = {
            c.pk: claim_summary_place(c)
            for c in Claim.all_rows.filter(pk__in=claim_ids).only(
                "training_end", "unit", "program", "fund", "level"
            )
        }
        matched = sorted(
            matched, key=lambda m: (places[m[0].claim_id], m[0].claim_id, m[0].kind)
        )
        today = timezone.localdate()
        paid = failed = 0
        total_paid = ZERO
        for line, row in matched:
            if row["paid"]:
                day = _bank_date(row["bank_date"], template.date_format) or today
            else:
                given = _bank_date(row.get("bank_date") or "", template.date_format)
                day = min(given or today, today)
            try:
                payment = payment_record(
                    claim_id=line.claim_id,
                    kind=line.kind,
                    amount=line.amount,
                    paid_on=day,
                    status=PaymentStatus.PAID if row["paid"] else PaymentStatus.FAILED,
                    actor=actor,
                    reference=(row.get("bank_reference") or line.reference)[:60],
                    failure_reason="" if row["paid"] else row["reason"],
                    reissue_of_id=line.reissue_of_id,
                    batch_line_id=line.pk,
                )
            except DomainError as exc:
                raise Conflict(
                    exc.code,
                    f"业务编号 {line.reference}：{exc.message}；未登记任何拨付",
                ) from None
            line.payment = payment
            line.open = False
            line.status = (
                BatchLineStatus.PAID if row["paid"] else BatchLineStatus.FAILED
            )
            line.save(update_fields=["payment", "open", "status"])
            if row["paid"]:
                paid += 1
                total_paid += line.amount
            else:
                failed += 1
        if not batch.lines.filter(status=BatchLineStatus.PENDING).exists():
            batch.status = BatchStatus.SETTLED
            batch.save(update_fields=["status"])
        PaymentResult.objects.create(
            batch=batch,
            sha256=digest,
            content=content,
            paid=paid,
            failed=failed,
            total_paid=total_paid,
            uploaded_by=actor,
        )
        return ResultOutcome(paid, failed, total_paid, [])


# --- The reconciliation workbook ------------------------------------------------------------------
#: Column widths (characters) of the reconciliation workbook: the fund's longest name
#: (职业技能提升行动专项资金, 12 CJK = 24) and each heading whole.
RECONCILIATION_WIDTHS = (28, 10, 14, 14, 14, 16, 14, 16)


def reconciliation_workbook(rollup: Any, rows: list[Any]) -> bytes:
    """The reconciliation of a rollup as a workbook for the bureau's accounts: the
    page's figures, cell for cell (amounts as numbers with two decimals)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    from finance.selectors import RECONCILIATION_COLUMNS

    book = Workbook()
    sheet = book.active
    sheet.title = "对账"
    sheet.append([f"{rollup.quarter} 补贴资金拨付对账表"])
    sheet.append([title for _, title in RECONCILIATION_COLUMNS])
    for row in rows:
        cells: list[Any] = [row.label]
        cells.append(row.claims)
        for name, _ in RECONCILIATION_COLUMNS[2:]:
            cells.append(getattr(row, name))
        sheet.append(cells)
    for line in sheet.iter_rows(min_row=3, min_col=3):
        for cell in line:
            cell.number_format = "#,##0.00"
    # printed for the bureau's accounts: every heading whole, one landscape page wide,
    # the headings on each page (the review of session 25 printed "职业技能提" and a
    # second page holding one character)
    for letter, width in zip("ABCDEFGH", RECONCILIATION_WIDTHS, strict=True):
        sheet.column_dimensions[letter].width = width
    sheet["A1"].font = Font(bold=True, size=14)
    for heading in sheet[2]:
        heading.font = Font(bold=True)
        if heading.column > 1:  # over figures, aligned as they are
            heading.alignment = Alignment(horizontal="right")
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = "2:2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
