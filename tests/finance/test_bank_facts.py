"""What the bank did is a fact (the attacker review of session 21): a line of a batch
sent to the bank is recorded as the bank answered it, whatever happened to its claim
since — a "not me", a rejection — and money paid beyond what the claim is now owed is
opened as a recovery. While a line of a claim is at the bank, nothing else is paid on
that claim, of either kind."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest

from altay_skills.errors import Conflict
from claims import services as claim_services
from claims.confirmations import code_for, confirmation_answer
from claims.models import TraineeConfirmation
from finance import payouts
from finance import services as finance_services
from finance.ledger import money_of
from finance.models import BankTemplate, Payment, Recovery
from quarters import services as quarter_services
from tests.bank_run import CSV_TEMPLATE, clerk_of, give_account, result_file
from tests.class_run import claim_through_class
from tests.factories import (
    InstitutionFactory,
    TraineeFactory,
    UserFactory,
    opened_evidence,
)

pytestmark = pytest.mark.django_db


def template_id() -> int:
    return BankTemplate.objects.get(name=CSV_TEMPLATE).pk


def test_a_not_me_after_the_batch_was_sent_does_not_block_the_banks_answer(
    ready: Any, finance: Any
) -> None:
    """The bank paid; the trainee said "not me" while the file was at the bank. The
    payment is recorded (the grievance's finding decides what follows), and the
    other lines with it: the file was refused as a whole before, and the batch,
    sent and not cancellable, stayed open for good."""
    _, rollup = ready
    batch = payouts.batch_build(
        rollup_id=rollup.pk, kind="balance", template_id=template_id(), actor=finance
    )
    payouts.batch_mark_sent(batch_id=batch.pk, actor=finance)
    line = batch.lines.order_by("seq").first()
    confirmation = TraineeConfirmation.objects.get(claim_id=line.claim_id)
    confirmation_answer(
        code=code_for(confirmation),
        answer="disputed",
        id_last4=confirmation.claim.trainee.id_number[-4:],
    )
    outcome = payouts.batch_result_record(
        batch_id=batch.pk, content=result_file(batch), actor=finance
    )
    assert outcome.paid == batch.lines.count()
    assert money_of(line.claim_id).due == 0
    batch.refresh_from_db()
    assert batch.status == "settled"


def late_advance_batch(ready: Any, claim_input: Any, finance: Any) -> tuple[Any, ...]:
    """A unit reports late, into a quarter whose rollup is ready: its claim's 40%
    advance goes to the bank in a batch of that rollup."""
    _, rollup = ready
    clerk = UserFactory(username="late_clerk", role="county_clerk", unit_id="654323")
    institution = InstitutionFactory(unit_id="654323")
    person = TraineeFactory(groups=["poor_labour"], registered_by_unit_id="654323")
    data = claim_input(
        trainee_id=person.pk,
        unit_id="654323",
        institution_id=institution.pk,
        project_based=True,
        trade_id="4-03-02-01",
    )
    draft = claim_through_class(data, clerk=clerk)
    claim_services.claim_submit(claim_id=draft.pk, actor=clerk)
    report = quarter_services.report_build(
        unit_id="654323", quarter="2020Q1", actor=clerk
    )
    report = quarter_services.report_submit(report_id=report.pk, actor=clerk)
    draft.refresh_from_db()
    assert draft.advance == Decimal("720.00")
    give_account(draft, finance, n=777)
    batch = payouts.batch_build(
        rollup_id=rollup.pk, kind="advance", template_id=template_id(), actor=finance
    )
    assert [line.claim_id for line in batch.lines.all()] == [draft.pk]
    payouts.batch_mark_sent(batch_id=batch.pk, actor=finance)
    return draft, report, batch


def spot_checks_cleared(report: Any, reviewer: Any) -> None:
    quarter_services.report_draw_spot_checks(report_id=report.pk, actor=reviewer)
    for check in report.spot_checks.all():
        quarter_services.spot_check_record(
            spot_check_id=check.pk,
            actor=reviewer,
            result="consistent",
            documents=opened_evidence(check.pk, reviewer),
        )


def test_an_advance_the_bank_paid_after_a_rejection_is_recovered(
    ready: Any, claim_input: Any, finance: Any, reviewer: Any
) -> None:
    """Rejected while its advance was at the bank: the bank's payment is recorded and
    the 720 yuan opened as a recovery — not refused, leaving money out and nothing
    to recover."""
    claim, report, batch = late_advance_batch(ready, claim_input, finance)
    spot_checks_cleared(report, reviewer)
    quarter_services.claim_reject(claim_id=claim.pk, actor=reviewer, reason="材料不全")
    outcome = payouts.batch_result_record(
        batch_id=batch.pk, content=result_file(batch), actor=finance
    )
    assert outcome.paid == 1
    money = money_of(claim.pk)
    assert (money.paid, money.owed, money.to_recover) == (
        Decimal("720.00"),
        Decimal("0.00"),
        Decimal("720.00"),
    )
    recovery = Recovery.objects.get(claim_id=claim.pk)
    assert recovery.amount == Decimal("720.00")
    assert "银行" in recovery.reason


def test_nothing_is_paid_by_hand_while_the_other_part_is_at_the_bank(
    ready: Any, claim_input: Any, finance: Any, reviewer: Any
) -> None:
    """The advance at the bank, the claim approved at 1800: the balance recorded by
    hand was 1800 (the advance in flight not counted), then the bank paid the 720 as
    well. Now the hand payment waits for the batch, and no balance batch takes it."""
    claim, report, batch = late_advance_batch(ready, claim_input, finance)
    spot_checks_cleared(report, reviewer)
    quarter_services.claim_approve(claim_id=claim.pk, actor=reviewer)
    quarter_services.report_close(report_id=report.pk, actor=reviewer)
    rollup = finance_services.rollup_request(quarter="2020Q1", actor=reviewer)
    finance_services.rollup_build(rollup_id=rollup.pk)
    other = UserFactory(username="finance_2", role="finance_officer")
    with pytest.raises(Conflict) as refused:
        finance_services.payment_record(
            claim_id=claim.pk,
            kind="balance",
            amount=Decimal("1800.00"),
            paid_on=datetime.date.today(),
            status="paid",
            actor=other,
            reference="HAND-1",
        )
    assert refused.value.code == "in_open_batch"
    plan = payouts.batch_plan("2020Q1", "balance", actor=other)
    assert claim.pk not in [line["claim_id"] for line in plan.lines]
    # the bank's answer comes; then the balance is what the approval leaves
    payouts.batch_result_record(
        batch_id=batch.pk, content=result_file(batch), actor=finance
    )
    assert money_of(claim.pk).due == Decimal("1080.00")
    assert not Payment.objects.filter(claim_id=claim.pk, kind="balance").exists()


def test_the_reconciliation_counts_money_on_claims_outside_the_rollup(
    claim_input: Any, reviewer: Any, settings: Any, tmp_path: Any
) -> None:
    """The attacker review: the reconciliation summed the rollup's claims only, so an
    advance paid on a claim later rejected — and the recovery it opened — was in
    no row: 2877.60 went out, the workbook said 2158.80. A row of the quarter's
    claims outside the rollup carries them, and the total is all the money."""
    settings.MEDIA_ROOT = tmp_path
    rows = reconciled_with_advances(claim_input, reviewer)
    paid = Payment.objects.filter(status="paid", claim__report__quarter="2020Q1")
    recoveries = Recovery.objects.filter(
        settled_at__isnull=True, netted_at__isnull=True, claim__report__quarter="2020Q1"
    )
    assert recoveries.exists()
    outside = [r for r in rows if r.outside]
    assert len(outside) == 1
    assert outside[0].to_recover == sum(r.amount for r in recoveries)
    assert "未纳入汇总" in outside[0].label
    total = rows[-1]
    assert (total.label, total.paid) == ("合计", sum(p.amount for p in paid))
    assert total.to_recover == outside[0].to_recover + sum(
        r.to_recover for r in rows[:-1] if not r.outside
    )


def reconciled_with_advances(
    claim_input: Any, reviewer: Any, on_submitted: Any = None
) -> list[Any]:
    """The quarter run with its advances paid (``run_quarter``'s ``on_submitted``
    called with each report then), its rollup built: the reconciliation's rows."""
    from finance import selectors
    from tests.quarter_run import run_quarter

    payer = UserFactory(username="fin_adv", role="finance_officer")
    run_quarter(claim_input, reviewer, finance=payer, on_submitted=on_submitted)
    rollup = finance_services.rollup_request(quarter="2020Q1", actor=reviewer)
    rollup = finance_services.rollup_build(rollup_id=rollup.pk)
    return selectors.reconciliation(rollup)


def test_the_reconciliation_counts_an_advance_on_a_claim_returned_then_withdrawn(
    claim_input: Any, reviewer: Any, settings: Any, tmp_path: Any
) -> None:
    """The second attacker review: a claim returned leaves its report, so a claim
    whose advance was paid, then returned and withdrawn, was in no quarter's
    reconciliation — its 720 yuan paid and the 720 to recover in no row. It is in the
    quarter of the last report that held it."""
    settings.MEDIA_ROOT = tmp_path
    gone: list[int] = []

    def return_and_withdraw_one(report: Any) -> None:
        claim = report.claims.filter(advance__gt=0).order_by("pk").first()
        if claim is None:
            return
        gone.append(claim.pk)
        quarter_services.claim_return(
            claim_id=claim.pk, actor=reviewer, reason="材料不全，请补充签到表"
        )
        claim_services.claim_withdraw(
            claim_id=claim.pk, actor=clerk_of(claim.unit_id), reason="不再申报"
        )

    rows = reconciled_with_advances(claim_input, reviewer, return_and_withdraw_one)

    assert gone and Payment.objects.filter(claim_id=gone[0], status="paid").exists()
    total = rows[-1]
    assert total.paid == sum(p.amount for p in Payment.objects.filter(status="paid"))
    open_recoveries = Recovery.objects.filter(
        settled_at__isnull=True, netted_at__isnull=True
    )
    assert total.to_recover == sum(r.amount for r in open_recoveries)
    [outside] = [r for r in rows if r.outside]
    assert outside.claims == 2  # the rejected one and the withdrawn one


def test_the_reconciliation_counts_money_at_the_bank_outside_the_rollup(
    ready: Any, claim_input: Any, finance: Any
) -> None:
    """The second review: an advance at the bank for a claim outside the rollup (no
    ledger line yet) was in no row of 在途批次."""
    from finance import selectors

    _, rollup = ready
    _claim, _, batch = late_advance_batch(ready, claim_input, finance)
    rows = selectors.reconciliation(rollup)
    [outside] = [r for r in rows if r.outside]
    assert (outside.claims, outside.in_open_batches) == (1, Decimal("720.00"))
    assert rows[-1].in_open_batches == batch.total


def test_a_bank_line_is_recorded_beside_an_open_line_of_the_other_kind(
    ready: Any, claim_input: Any, finance: Any, reviewer: Any
) -> None:
    """Lines of both kinds open on one claim (built before either kind kept the other
    out): each bank answer is still recorded — it is a fact — rather than both
    files refused for ever because of the other."""
    from finance.models import PaymentBatch, PaymentBatchLine

    claim, _report, batch = late_advance_batch(ready, claim_input, finance)
    line = batch.lines.get()
    other = PaymentBatch.objects.create(
        rollup=batch.rollup,
        kind="balance",
        template=batch.template,
        status="sent",
        created_by=batch.created_by,
        content=b"",
        filename="legacy.csv",
        sha256="0" * 64,
        count=1,
        total=Decimal("1080.00"),
    )
    PaymentBatchLine.objects.create(
        batch=other,
        claim=claim,
        kind="balance",
        seq=1,
        amount=Decimal("1080.00"),
        reference="LEGACY-1",
        bank=line.bank,
        account=line.account,
        holder=line.holder,
    )
    outcome = payouts.batch_result_record(
        batch_id=batch.pk, content=result_file(batch), actor=finance
    )
    assert outcome.paid == 1
    assert money_of(claim.pk).advance_paid == Decimal("720.00")


def test_a_failed_advance_that_the_balance_paid_is_not_failed_for_ever(
    claim_input: Any, reviewer: Any, finance: Any, settings: Any, tmp_path: Any
) -> None:
    """The second attacker review: advances failed while the reports were with the
    prefecture; once decided, an advance is no longer paid as itself
    (``selectors.reissuable``) — the balance pays what it left. The balance paid
    every claim in full, yet each still read 拨付失败, the reconciliation showed
    2,877.60 failed and not re-issued, and the finance page listed them to re-issue
    for ever (the rejected claim's too, owed nothing). A failed advance is failed
    while it may be paid again."""
    from finance import selectors
    from tests.quarter_run import run_quarter

    settings.MEDIA_ROOT = tmp_path

    def advances_fail(report: Any) -> None:
        for claim in report.claims.filter(advance__gt=0).order_by("pk"):
            finance_services.payment_record(
                claim_id=claim.pk,
                kind="advance",
                amount=claim.advance,
                paid_on=datetime.date(2020, 4, 10),
                status="failed",
                failure_reason="户名与账号不符",
                actor=finance,
            )
            assert money_of(claim.pk).failed == claim.advance  # to re-issue now

    quarter = run_quarter(claim_input, reviewer, on_submitted=advances_fail)
    rollup = finance_services.rollup_request(quarter="2020Q1", actor=reviewer)
    rollup = finance_services.rollup_build(rollup_id=rollup.pk)
    for i, claim in enumerate(quarter.approved, start=1):
        give_account(claim, finance, n=i)
    batch = payouts.batch_build(
        rollup_id=rollup.pk, kind="balance", template_id=template_id(), actor=finance
    )
    payouts.batch_mark_sent(batch_id=batch.pk, actor=finance)
    payouts.batch_result_record(
        batch_id=batch.pk, content=result_file(batch), actor=finance
    )

    advanced = [c for c in quarter.approved if c.advance > 0]
    assert advanced
    for claim in advanced:
        money = money_of(claim.pk)
        assert (money.due, money.paid, money.failed) == (0, claim.approved_amount, 0)
        claim.refresh_from_db()
        assert finance_services.payment_state(claim) == "paid"
    assert not selectors.failed_payments().exists()
    total = selectors.reconciliation(rollup)[-1]
    assert (total.failed, total.due) == (0, 0)


def test_a_rejected_claim_s_failed_advance_is_no_failure_to_re_issue(
    claim_input: Any, reviewer: Any, finance: Any, settings: Any, tmp_path: Any
) -> None:
    """The review of the rule above: a claim rejected while its report is still with
    the prefecture owes nothing, yet its failed advance read 拨付失败, was listed to
    re-issue, offered the 重新拨付 form, and the form answered not_payable."""
    from finance import selectors
    from tests.quarter_run import run_quarter

    settings.MEDIA_ROOT = tmp_path
    seen: dict[str, Any] = {}

    def fail_and_reject(report: Any) -> None:
        claim = report.claims.filter(advance__gt=0).order_by("pk").first()
        if claim is None or seen:
            return
        seen["payment"] = finance_services.payment_record(
            claim_id=claim.pk,
            kind="advance",
            amount=claim.advance,
            paid_on=datetime.date(2020, 4, 10),
            status="failed",
            failure_reason="户名与账号不符",
            actor=finance,
        )
        quarter_services.claim_reject(
            claim_id=claim.pk, actor=reviewer, reason="材料不符，不予补贴"
        )

    run_quarter(claim_input, reviewer, on_submitted=fail_and_reject, decide=False)
    payment = Payment.objects.select_related("claim__report").get(pk=seen["payment"].pk)
    money = money_of(payment.claim_id)
    assert (money.owed, money.failed) == (0, 0)
    assert not selectors.failed_payments().filter(pk=payment.pk).exists()
    assert not selectors.reissuable(payment)
