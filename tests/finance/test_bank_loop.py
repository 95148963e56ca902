"""Issue 18: a quarter paid through the bank's own files, and the bank's answer closes
the books — accounts entered by one person and confirmed by another, a batch in a bank
template, a result file with a failure, the account corrected, the line re-issued, and
the reconciliation equal to its workbook to the fen."""

from __future__ import annotations

import hashlib
import io
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import pytest
from openpyxl import load_workbook

from altay_skills.errors import Conflict, DomainError, PermissionDenied
from claims.models import claim_summary_place
from finance import payouts, selectors
from finance import services as finance_services
from finance.ledger import money_of
from finance.models import (
    BankTemplate,
    PayeeAccount,
    PayeeAccountChange,
    Payment,
    PaymentBatch,
    PaymentBatchLine,
    PaymentResult,
)
from tests.bank_run import (
    CSV_TEMPLATE,
    FIXED_TEMPLATE,
    card,
    clerk_of,
    give_account,
    proposed_for,
    result_file,
)
from tests.factories import UserFactory
from tests.grievance_run import dispute

pytestmark = pytest.mark.django_db


def template(name: str) -> BankTemplate:
    return BankTemplate.objects.get(name=name)


def built_batch(rollup: Any, finance: Any) -> Any:
    """The rollup's balances in a CSV batch, built by ``finance``."""
    return payouts.batch_build(
        rollup_id=rollup.pk,
        kind="balance",
        template_id=template(CSV_TEMPLATE).pk,
        actor=finance,
    )


def sent_batch(rollup: Any, finance: Any) -> Any:
    """The rollup's balances in a CSV batch, marked sent to the bank."""
    batch = built_batch(rollup, finance)
    payouts.batch_mark_sent(batch_id=batch.pk, actor=finance)
    return batch


def test_a_quarter_paid_through_batches_with_a_failure_corrected_and_reissued(
    ready: Any, finance: Any
) -> None:
    quarter, rollup = ready
    due = {c.pk: money_of(c.pk).due for c in quarter.approved}
    payable = {pk: amount for pk, amount in due.items() if amount > 0}
    batch = built_batch(rollup, finance)
    assert batch.count == len(payable)
    assert batch.total == sum(payable.values())
    assert batch.sha256 == hashlib.sha256(bytes(batch.content)).hexdigest()
    # its file's name is Chinese, as all a person reads ("balance" was in it)
    assert batch.filename == f"代发{rollup.quarter}-余额-{batch.pk}.csv"
    payouts.batch_mark_sent(batch_id=batch.pk, actor=finance)

    failing = batch.lines.order_by("seq").first()
    content = result_file(batch, failures={failing.reference: "户名与账号不符"})
    outcome = payouts.batch_result_record(
        batch_id=batch.pk, content=content, actor=finance
    )
    assert (outcome.paid, outcome.failed) == (batch.count - 1, 1)
    assert outcome.total_paid == batch.total - failing.amount
    failed_payment = Payment.objects.get(claim_id=failing.claim_id, status="failed")
    assert failed_payment.failure_reason == "户名与账号不符"

    # the failed line waits for its account to be corrected
    with pytest.raises(Conflict) as refused:
        payouts.batch_build(
            rollup_id=rollup.pk,
            kind="balance",
            template_id=template(FIXED_TEMPLATE).pk,
            actor=finance,
        )
    assert refused.value.code == "nothing_payable"
    # which claim waits, named, so that finance can have it put right
    assert f"1笔上次拨付失败，待更正收款账户（申报#{failing.claim_id}）" in (
        refused.value.message
    )
    second_finance = UserFactory(username="finance_b", role="finance_officer")
    claim = failed_payment.claim
    give_account(claim, second_finance, n=900, holder="更正后户名")

    reissue = payouts.batch_build(
        rollup_id=rollup.pk,
        kind="balance",
        template_id=template(FIXED_TEMPLATE).pk,
        actor=finance,
    )
    line = reissue.lines.get()
    assert line.claim_id == claim.pk
    assert line.reissue_of_id == failed_payment.pk
    assert line.account_recent
    payouts.batch_mark_sent(batch_id=reissue.pk, actor=finance)
    payouts.batch_result_record(
        batch_id=reissue.pk, content=result_file(reissue), actor=finance
    )
    paid = Payment.objects.get(claim_id=claim.pk, status="paid", kind="balance")
    assert paid.reissue_of_id == failed_payment.pk

    rows = selectors.reconciliation(rollup)
    total = rows[-1]
    assert total.paid == sum(m.paid for m in map(money_of, due))
    assert total.due == Decimal("0.00")
    assert total.failed == Decimal("0.00")
    assert total.in_open_batches == Decimal("0.00")
    book = load_workbook(io.BytesIO(payouts.reconciliation_workbook(rollup, rows)))
    sheet = book.active
    # it prints: one landscape page wide, the headings repeated, the fund's name whole
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.print_title_rows == "$2:$2"
    assert sheet.column_dimensions["A"].width >= 2 * len("职业技能提升行动专项资金")
    for excel_row, row in zip(
        sheet.iter_rows(min_row=3, values_only=True), rows, strict=True
    ):
        figures = [Decimal(str(v)).quantize(Decimal("0.01")) for v in excel_row[2:]]
        assert figures == [
            row.owed,
            row.in_open_batches,
            row.paid,
            row.failed,
            row.due,
            row.to_recover,
        ]


def test_the_same_result_file_twice_records_once(ready: Any, finance: Any) -> None:
    _, rollup = ready
    batch = sent_batch(rollup, finance)
    content = result_file(batch)
    first = payouts.batch_result_record(
        batch_id=batch.pk, content=content, actor=finance
    )
    again = payouts.batch_result_record(
        batch_id=batch.pk, content=content, actor=finance
    )
    assert again.repeated and (again.paid, again.total_paid) == (
        first.paid,
        first.total_paid,
    )
    assert Payment.objects.filter(status="paid", kind="balance").count() == first.paid
    assert PaymentResult.objects.count() == 1


def test_a_bank_s_failure_code_is_its_reason(ready: Any, finance: Any) -> None:
    """A person's reason says something in words ("0" is refused when typed); a bank's
    result file may give only its code for why it did not pay, kept as it came."""
    _, rollup = ready
    batch = sent_batch(rollup, finance)
    failing = batch.lines.order_by("seq").first()

    payouts.batch_result_record(
        batch_id=batch.pk,
        content=result_file(batch, failures={failing.reference: "3001"}),
        actor=finance,
    )

    failed = Payment.objects.get(claim_id=failing.claim_id, status="failed")
    assert failed.failure_reason == "3001"


def test_finance_does_not_batch_what_it_decided_in_another_role(
    ready: Any, reviewer: Any, finance: Any
) -> None:
    """Maker, checker and payer are three people, whatever their role is now: the
    reviewer who approved the quarter, moved to finance, could not record its payments
    by hand but built the bank's file of them, and the bank paid it. Now those claims
    are left out of their batch, each with why; another officer batches them."""
    _, rollup = ready
    reviewer.role = "finance_officer"
    reviewer.save()

    with pytest.raises(Conflict) as refused:
        payouts.batch_build(
            rollup_id=rollup.pk,
            kind="balance",
            template_id=template(CSV_TEMPLATE).pk,
            actor=reviewer,
        )

    assert refused.value.code == "nothing_payable"
    assert payouts.BATCHED_BY_ANOTHER in refused.value.message
    assert not PaymentBatch.objects.exists()
    plan = payouts.batch_plan("2020Q1", "balance", actor=reviewer)
    assert plan.skipped and not plan.lines
    assert all("其他财政人员" in why for why in plan.skipped.values())
    batch = built_batch(rollup, finance)
    assert batch.count == len(plan.skipped)


def test_who_decided_a_claim_neither_sends_its_batch_nor_records_the_bank_s_answer(
    ready: Any, reviewer: Any, finance: Any
) -> None:
    """The builder of a batch is never a maker of its claims (above); whoever hands it
    to the bank and records what the bank answers must not be one either. A reviewer
    moved to finance could otherwise send the file of the claims they approved, and
    record a forged answer failing their own claim's line, which the next batch then
    pays again."""
    _, rollup = ready
    batch = built_batch(rollup, finance)
    reviewer.role = "finance_officer"
    reviewer.save()

    with pytest.raises(PermissionDenied, match="其他财政人员") as refused:
        payouts.batch_mark_sent(batch_id=batch.pk, actor=reviewer)
    first = batch.lines.order_by("seq").first()
    assert f"#{first.claim_id}" in refused.value.message
    assert PaymentBatch.objects.get(pk=batch.pk).status == "built"

    payouts.batch_mark_sent(batch_id=batch.pk, actor=finance)
    forged = result_file(batch, failures={first.reference: "账号已销户"})
    with pytest.raises(PermissionDenied, match="其他财政人员"):
        payouts.batch_result_record(batch_id=batch.pk, content=forged, actor=reviewer)
    assert not Payment.objects.filter(kind="balance").exists()
    assert not PaymentResult.objects.exists()

    recorded = payouts.batch_result_record(
        batch_id=batch.pk, content=result_file(batch), actor=finance
    )
    assert recorded.paid == batch.count


def test_a_result_file_is_recorded_in_the_summaries_lock_order(
    ready: Any, finance: Any
) -> None:
    """Issue 20: each paid line moves its claim's summary row (``Claim.paid``), so the
    lines are recorded in the one order of those rows (lock_objects 6a), as a bulk
    approval decides, whatever the bank's order: the two never wait for each other in
    a circle (a deadlock, a 500 and nothing recorded)."""
    _, rollup = ready
    batch = sent_batch(rollup, finance)

    payouts.batch_result_record(
        batch_id=batch.pk, content=result_file(batch, reverse=True), actor=finance
    )

    recorded = [
        (*claim_summary_place(p.claim), p.claim_id)
        for p in Payment.objects.filter(status="paid", kind="balance")
        .select_related("claim")
        .order_by("id")
    ]
    assert len({r[:-1] for r in recorded}) > 1  # several summary rows: order matters
    assert recorded == sorted(recorded)


def test_an_unmatched_line_records_nothing(ready: Any, finance: Any) -> None:
    _, rollup = ready
    batch = sent_batch(rollup, finance)
    content = result_file(batch).replace(b"P0000", b"X0000", 1)
    with pytest.raises(Conflict) as refused:
        payouts.batch_result_record(batch_id=batch.pk, content=content, actor=finance)
    assert refused.value.code == "result_unmatched"
    assert refused.value.detail["unmatched"]
    assert not Payment.objects.filter(kind="balance").exists()


def test_a_line_in_an_open_batch_is_not_batched_again(ready: Any, finance: Any) -> None:
    _, rollup = ready
    payouts.batch_build(
        rollup_id=rollup.pk,
        kind="balance",
        template_id=template(CSV_TEMPLATE).pk,
        actor=finance,
    )
    with pytest.raises(Conflict) as refused:
        payouts.batch_build(
            rollup_id=rollup.pk,
            kind="balance",
            template_id=template(FIXED_TEMPLATE).pk,
            actor=finance,
        )
    assert refused.value.code == "nothing_payable"


@pytest.mark.parametrize("sent", [False, True], ids=["built", "sent"])
def test_a_line_in_an_open_batch_is_not_paid_by_hand(
    ready: Any, finance: Any, sent: bool
) -> None:
    # the bank pays the batch's line: recorded by hand as well, the claim was paid
    # twice, and the bank's result file was then refused whole (already_paid)
    _, rollup = ready
    batch = built_batch(rollup, finance)
    if sent:
        payouts.batch_mark_sent(batch_id=batch.pk, actor=finance)
    line = batch.lines.order_by("seq").first()
    with pytest.raises(Conflict) as refused:
        finance_services.payment_record(
            claim_id=line.claim_id,
            kind="balance",
            amount=line.amount,
            paid_on=date.today(),
            status="paid",
            actor=finance,
            reference="CZ-HAND-1",
        )
    assert refused.value.code == "in_open_batch"
    assert f"#{batch.pk}" in refused.value.message
    assert not Payment.objects.filter(claim_id=line.claim_id, kind="balance").exists()
    if sent:  # and the bank's answer is recorded in full
        outcome = payouts.batch_result_record(
            batch_id=batch.pk, content=result_file(batch), actor=finance
        )
        assert outcome.paid == batch.count
    else:  # a batch never sent, cancelled, frees the line for a payment by hand
        payouts.batch_cancel(batch_id=batch.pk, actor=finance)
        payment = finance_services.payment_record(
            claim_id=line.claim_id,
            kind="balance",
            amount=line.amount,
            paid_on=date.today(),
            status="paid",
            actor=finance,
            reference="CZ-HAND-1",
        )
        assert payment.status == "paid"


def test_a_cancelled_batch_frees_its_lines_and_a_sent_one_cannot_be_cancelled(
    ready: Any, finance: Any
) -> None:
    _, rollup = ready
    kwargs = {
        "rollup_id": rollup.pk,
        "kind": "balance",
        "template_id": template(CSV_TEMPLATE).pk,
        "actor": finance,
    }
    first = payouts.batch_build(**kwargs)
    payouts.batch_cancel(batch_id=first.pk, actor=finance)
    first.refresh_from_db()
    # who cancelled it is kept, as who sent one is
    assert (first.status, first.cancelled_by) == ("cancelled", finance)
    second = payouts.batch_build(**kwargs)
    assert second.count == first.count
    payouts.batch_mark_sent(batch_id=second.pk, actor=finance)
    with pytest.raises(Conflict) as refused:
        payouts.batch_cancel(batch_id=second.pk, actor=finance)
    assert refused.value.code == "batch_sent"
    assert PaymentBatchLine.objects.filter(open=True).count() == second.count


def test_a_batch_changed_since_it_was_built_is_not_sent(
    ready: Any, finance: Any
) -> None:
    """Marking a batch sent releases its money: every line is checked again under the
    claims' locks. A trainee's "not me" since (the balance is held, 五(二) read with
    issue 17) and a payee's account corrected since (the file would pay the old one)
    refuse it, naming the claims; the batch is cancelled and built again."""
    _, rollup = ready
    batch = built_batch(rollup, finance)
    lines = list(batch.lines.select_related("claim").order_by("seq"))
    disputed = lines[0].claim
    moved = next(line.claim for line in lines if line.claim.unit_id == "654322")
    dispute(disputed)
    give_account(moved, finance, n=77)

    with pytest.raises(Conflict) as refused:
        payouts.batch_mark_sent(batch_id=batch.pk, actor=finance)

    assert refused.value.code == "batch_stale"
    message = refused.value.message
    assert f"申报#{disputed.pk}" in message and f"申报#{moved.pk}" in message
    assert "收款账户已变更" in message and "作废" in message
    assert PaymentBatch.objects.get(pk=batch.pk).status == "built"
    payouts.batch_cancel(batch_id=batch.pk, actor=finance)
    again = built_batch(rollup, finance)
    assert not again.lines.filter(claim_id=disputed.pk).exists()
    assert again.lines.get(claim_id=moved.pk).account == card(77)
    payouts.batch_mark_sent(batch_id=again.pk, actor=finance)


def test_a_batch_with_nothing_payable_says_which_claims_are_held_and_why(
    ready: Any, finance: Any
) -> None:
    """A newcomer's review: the batch was refused "均已拨付、已在未结批次中或缺少收款
    账户" when none of that was true — the claims were held (the public notice, a
    trainee's "not me"). A held claim is named with its hold."""
    quarter, rollup = ready
    held = [c for c in quarter.approved]
    for claim in held:
        dispute(claim)

    with pytest.raises(Conflict) as refused:
        built_batch(rollup, finance)

    assert refused.value.code == "nothing_payable"
    message = refused.value.message
    assert f"{len(held)}笔培训人员本人表示未参加" in message
    assert f"#{held[0].pk}" in message
    assert "缺少收款账户" not in message and "均已拨付" not in message


def test_a_file_already_at_the_bank_is_marked_sent_all_the_same_and_answered(
    ready: Any, finance: Any
) -> None:
    """The review of the check above: the page offers the file before it is marked
    sent, and its button asks to confirm the file is at the bank. A "not me" between
    the two left only 作废 — after which the bank's answer could not be recorded
    and the next batch paid the same claims again. The officer says the file is at
    the bank: it is marked sent, and the bank's answer is recorded as the fact it
    is."""
    _, rollup = ready
    batch = built_batch(rollup, finance)
    disputed = batch.lines.select_related("claim").order_by("seq").first().claim
    dispute(disputed)
    with pytest.raises(Conflict) as refused:
        payouts.batch_mark_sent(batch_id=batch.pk, actor=finance)
    assert "文件已交银行" in refused.value.message

    payouts.batch_mark_sent(batch_id=batch.pk, actor=finance, already_at_bank=True)
    # the officer's word is kept with what it overrode
    sent = PaymentBatch.objects.get(pk=batch.pk)
    assert len(sent.sent_changed) == 1 and f"申报#{disputed.pk}" in sent.sent_changed[0]

    recorded = payouts.batch_result_record(
        batch_id=batch.pk, content=result_file(batch), actor=finance
    )
    assert recorded.paid == batch.count
    assert Payment.objects.filter(claim_id=disputed.pk, status="paid").exists()
    with pytest.raises(Conflict) as nothing:
        built_batch(rollup, finance)
    assert nothing.value.code == "nothing_payable"


def test_building_and_rechecking_a_batch_cost_the_same_queries_for_any_size(
    ready: Any, finance: Any
) -> None:
    """The review: the recheck ran about six queries a line (the "not me", the notice,
    its objections, the account, each per claim) under the claims' locks — 18,000
    for a batch of 3,000. Now a fixed number, as the plan's."""
    quarter, rollup = ready

    def costs() -> tuple[int, int, int]:
        with CaptureQueriesContext(connection) as planning:
            batch = built_batch(rollup, finance)
        with CaptureQueriesContext(connection) as rechecking:
            assert payouts.changed_since_built(batch) == []
        payouts.batch_cancel(batch_id=batch.pk, actor=finance)
        return batch.count, len(planning), len(rechecking)

    many = costs()
    paid_to_people = [c for c in quarter.approved if c.payee == "trainee"]
    for claim in paid_to_people[:-1]:  # a class's claims and one person's are left
        PayeeAccount.objects.filter(trainee_id=claim.trainee_id).delete()
    few = costs()
    assert few[0] < many[0]
    assert few[1:] == many[1:]


def test_a_result_dated_before_its_batch_was_built_records_nothing(
    ready: Any, finance: Any
) -> None:
    """The bank cannot have paid a file before it existed: a result whose lines say
    so is another batch's, or garbled."""
    _, rollup = ready
    batch = sent_batch(rollup, finance)
    built_on = timezone.localdate(batch.created_at)
    early = result_file(batch, day=built_on - timedelta(days=400))

    with pytest.raises(Conflict) as refused:
        payouts.batch_result_record(batch_id=batch.pk, content=early, actor=finance)

    assert refused.value.code == "result_unmatched"
    assert any("早于本批次生成" in p for p in refused.value.detail["unmatched"])
    assert not Payment.objects.filter(kind="balance").exists()
    recorded = payouts.batch_result_record(
        batch_id=batch.pk, content=result_file(batch, day=built_on), actor=finance
    )
    assert recorded.paid == batch.count


def test_a_result_dated_after_today_records_nothing(ready: Any, finance: Any) -> None:
    """A payment recorded by hand may not be dated after today (invalid_dates); a
    bank's line saying it paid tomorrow is garbled the same way."""
    _, rollup = ready
    batch = sent_batch(rollup, finance)
    tomorrow = timezone.localdate() + timedelta(days=1)

    with pytest.raises(Conflict) as refused:
        payouts.batch_result_record(
            batch_id=batch.pk, content=result_file(batch, day=tomorrow), actor=finance
        )

    assert refused.value.code == "result_unmatched"
    assert any("晚于今天" in p for p in refused.value.detail["unmatched"])
    assert not Payment.objects.filter(kind="balance").exists()


def test_an_account_change_needs_a_second_person(
    ready: Any, finance: Any, trainee: Any
) -> None:
    change = payouts.account_change_propose(
        actor=finance,
        trainee_id=trainee.pk,
        bank="xjnx",
        number=card(77),
        holder=trainee.name,
    )
    with pytest.raises(Conflict) as refused:
        payouts.account_change_confirm(change_id=change.pk, actor=finance)
    assert refused.value.code == "same_person"


def test_an_older_account_change_confirmed_after_a_newer_one_is_refused(
    ready: Any, finance: Any, trainee: Any
) -> None:
    """Two changes entered for one person, the newer confirmed first: confirming the
    older one then put the account the person had left back in force (its "old
    number" was not the one it replaced)."""
    second = UserFactory(username="fin_second", role="finance_officer")

    def propose(n: int) -> Any:
        return proposed_for(trainee, finance, n)

    older, newer = propose(71), propose(72)
    payouts.account_change_confirm(change_id=newer.pk, actor=second)
    with pytest.raises(Conflict) as refused:
        payouts.account_change_confirm(change_id=older.pk, actor=second)
    assert refused.value.code == "superseded"
    assert f"#{newer.pk}" in refused.value.message and "退回" in refused.value.message
    assert PayeeAccount.objects.get(trainee=trainee).number == card(72)
    payouts.account_change_refuse(change_id=older.pk, actor=second)


def test_the_same_account_entered_twice_waits_once(
    ready: Any, finance: Any, trainee: Any
) -> None:
    """A newcomer's review: two identical pending changes of one person were taken."""
    first = proposed_for(trainee, finance, 91)
    with pytest.raises(Conflict) as again:
        proposed_for(trainee, finance, 91)
    assert (
        again.value.code == "already_proposed" and f"#{first.pk}" in again.value.message
    )
    assert proposed_for(trainee, finance, 92).pk != first.pk  # another number is news


def test_an_account_change_is_audited_masked(ready: Any, finance: Any) -> None:
    quarter, _ = ready
    claim = quarter.approved[0]
    before = payouts.payee_account_of(claim).number
    give_account(claim, UserFactory(role="finance_officer"), n=555)
    change = PayeeAccountChange.objects.order_by("-pk").first()
    assert change.old_masked == "****" + before[-4:]
    assert change.new_masked == "****" + card(555)[-4:]
    assert change.proposed_by == clerk_of(claim.unit_id)


@pytest.mark.parametrize(
    ("bank", "number", "code"),
    [
        ("xjnx", "62284800000000001X", "invalid_account"),
        ("xjnx", "6228480000000001", "invalid_account"),  # Luhn digit wrong
        ("icbc", "12345", "invalid_account"),
        ("nosuchbank", "6228480000000000017", "invalid_account"),
    ],
)
def test_a_bad_account_number_is_refused_in_chinese(
    finance: Any, trainee: Any, bank: str, number: str, code: str
) -> None:
    with pytest.raises(DomainError) as refused:
        payouts.account_change_propose(
            actor=finance,
            trainee_id=trainee.pk,
            bank=bank,
            number=number,
            holder="张三",
        )
    assert refused.value.code == code
    assert any("\u4e00" <= ch <= "\u9fff" for ch in refused.value.message)


def test_the_database_refuses_a_line_in_two_open_batches(
    ready: Any, finance: Any
) -> None:
    from django.db import IntegrityError, transaction

    _, rollup = ready
    batch = built_batch(rollup, finance)
    line = batch.lines.order_by("seq").first()
    line.pk = None
    line.seq, line.reference = 999, "DUPLICATE-LINE"
    with pytest.raises(IntegrityError), transaction.atomic():
        line.save()


def test_a_clerk_who_only_looked_a_person_up_does_not_enter_their_account(
    ready: Any, finance: Any, claim_input: Any, other_clerk: Any
) -> None:
    """The attacker review: a clerk of another county found a person by their ID
    number (anyone may) and entered a new account for them, which — confirmed by
    one finance officer — paid every claim of that person elsewhere. A clerk enters a
    trainee's account when their unit registered the person or claims for them."""
    from claims import services as claim_services
    from tests.factories import InstitutionFactory, TraineeFactory
    from trainees.selectors import trainee_by_id_number
    from trainees.services import trainee_found

    # registered in 654301, seeking a job in 654322 (a claim there is eligible)
    person = TraineeFactory(
        groups=["poor_labour"],
        registered_by_unit_id="654301",
        job_seeking_unit_id="654322",
    )
    trainee_found(
        actor=other_clerk, trainee=trainee_by_id_number(other_clerk, person.id_number)
    )

    def propose() -> Any:
        return payouts.account_change_propose(
            actor=other_clerk,
            trainee_id=person.pk,
            bank="xjnx",
            number=card(4242),
            holder=person.name,
        )

    with pytest.raises(PermissionDenied) as refused:
        propose()
    assert "为其申报" in refused.value.message
    assert not PayeeAccountChange.objects.filter(trainee=person).exists()
    # training in the other county, with a claim submitted there: that clerk enters it
    claim = claim_services.claim_create(
        data=claim_input(
            trainee_id=person.pk,
            unit_id="654322",
            institution_id=InstitutionFactory(unit_id="654322").pk,
        ),
        actor=other_clerk,
    )
    claim_services.claim_submit(claim_id=claim.pk, actor=other_clerk)
    assert propose().trainee_id == person.pk


def test_a_draft_does_not_give_a_clerk_a_persons_account(
    finance: Any, claim_input: Any, other_clerk: Any
) -> None:
    """The second review: a draft for the person opened the way, deleted once the
    change was entered, and the confirmation put the account in force. A claim
    submitted (or decided) counts, and the right is checked again at confirmation."""
    from claims import services as claim_services
    from tests.factories import InstitutionFactory, TraineeFactory
    from trainees.services import trainee_found

    # registered in 654301, seeking a job in 654322 (a claim there is eligible)
    person = TraineeFactory(
        groups=["poor_labour"],
        registered_by_unit_id="654301",
        job_seeking_unit_id="654322",
    )
    trainee_found(actor=other_clerk, trainee=person)
    draft = claim_services.claim_create(
        data=claim_input(
            trainee_id=person.pk,
            unit_id="654322",
            institution_id=InstitutionFactory(unit_id="654322").pk,
        ),
        actor=other_clerk,
    )

    def propose() -> Any:
        return payouts.account_change_propose(
            actor=other_clerk,
            trainee_id=person.pk,
            bank="xjnx",
            number=card(4343),
            holder=person.name,
        )

    with pytest.raises(PermissionDenied):
        propose()
    claim_services.claim_submit(claim_id=draft.pk, actor=other_clerk)
    change = propose()
    claim_services.claim_withdraw(
        claim_id=draft.pk, actor=other_clerk, reason="重复录入"
    )
    with pytest.raises(PermissionDenied):
        payouts.account_change_confirm(change_id=change.pk, actor=finance)
    assert not PayeeAccount.objects.filter(trainee=person).exists()


def test_a_result_file_that_names_another_batch_records_nothing(
    ready: Any, finance: Any
) -> None:
    """A bank whose result file names the batch it answers (``{batch}`` in its header):
    the answer to batch 7 uploaded on batch 8 is refused even where its lines carry no
    reference and would fit by account and amount — recorded, batch 8's payees would be
    marked paid on the strength of another file."""
    _, rollup = ready
    result = template(CSV_TEMPLATE).result_template
    result.header = "回盘批次{batch}"
    result.save(update_fields=["header"])
    batch = sent_batch(rollup, finance)
    other = str(batch.pk + 1)
    content = result_file(batch, drop_reference=True, batch_number=other)
    with pytest.raises(Conflict) as refused:
        payouts.batch_result_record(batch_id=batch.pk, content=content, actor=finance)
    assert refused.value.code == "result_unmatched"
    assert any(
        f"批次号 {other}" in problem and f"#{batch.pk}" in problem
        for problem in refused.value.detail["unmatched"]
    ), refused.value.detail
    assert not Payment.objects.filter(kind="balance").exists()
    # its own answer, the number zero-padded as banks write it, is recorded
    content = result_file(batch, drop_reference=True, batch_number=f"{batch.pk:08d}")
    outcome = payouts.batch_result_record(
        batch_id=batch.pk, content=content, actor=finance
    )
    assert outcome.paid == batch.count


def test_a_refusal_names_the_claims_left_out_for_each_reason() -> None:
    text = payouts.left_out_text(
        {pk: "无收款账户" for pk in range(1, 13)} | {40: "上次拨付失败，待更正收款账户"}
    )
    assert "；12笔无收款账户（申报#1、#2、" in text
    assert "#10等：由申报单位经办人在“收款账户变更”中" in text
    assert "#11" not in text
    assert "；1笔上次拨付失败，待更正收款账户（申报#40）" in text


def test_a_result_file_naming_two_batches_records_nothing(
    ready: Any, finance: Any
) -> None:
    """The second review: with ``{batch}`` in the header and the trailer, the trailer's
    number was the one checked — a header naming another batch passed."""
    from finance import bank_files

    _, rollup = ready
    result = template(CSV_TEMPLATE).result_template
    result.header = "回盘批次{batch}"
    result.trailer = "合计,{count},{total},{batch}"
    result.save(update_fields=["header", "trailer"])
    batch = sent_batch(rollup, finance)
    content = result_file(batch, drop_reference=True)
    lines = content.decode("gbk").split("\r\n")
    lines[0] = f"回盘批次{batch.pk + 1}"
    with pytest.raises(Conflict) as refused:
        payouts.batch_result_record(
            batch_id=batch.pk,
            content="\r\n".join(lines).encode("gbk"),
            actor=finance,
        )
    assert any(f"批次号 {batch.pk + 1}" in p for p in refused.value.detail["unmatched"])
    assert bank_files.parse(result, content).batches == [str(batch.pk)] * 2


# --- The attacker review of session 25 --------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "status"),
    [
        (CSV_TEMPLATE, "处理中"),  # the bank has not finished the transfer
        (CSV_TEMPLATE, "成攻"),  # a typo of 成功
        (CSV_TEMPLATE, "交易成功"),
        (FIXED_TEMPLATE, "s"),  # lowercase: neither S nor F
        (FIXED_TEMPLATE, "P"),
    ],
)
def test_a_result_line_neither_paid_nor_failed_records_nothing(
    ready: Any, finance: Any, name: str, status: str
) -> None:
    """Observed: every status other than the paid value was recorded as a failure, so
    the claim was batched again once its account was corrected — and paid twice when
    the bank completed the first transfer. Only the template's failure values fail."""
    _, rollup = ready
    batch = payouts.batch_build(
        rollup_id=rollup.pk,
        kind="balance",
        template_id=template(name).pk,
        actor=finance,
    )
    payouts.batch_mark_sent(batch_id=batch.pk, actor=finance)
    first = batch.lines.order_by("seq").first()
    content = result_file(
        batch,
        failures={first.reference: "交易处理中"},
        statuses={first.reference: status},
    )
    with pytest.raises(Conflict) as refused:
        payouts.batch_result_record(batch_id=batch.pk, content=content, actor=finance)
    assert refused.value.code == "result_unmatched"
    named = [p for p in refused.value.detail["unmatched"] if status in p]
    assert named and "既不是成功也不是失败" in named[0]
    assert not Payment.objects.filter(kind="balance").exists()
    assert not PaymentResult.objects.exists()
    first.refresh_from_db()
    assert first.status == "pending" and first.open


def test_the_templates_say_which_statuses_fail() -> None:
    from finance.admin import BankTemplateForm

    assert template(CSV_TEMPLATE).result_template.failed_values == ["失败"]
    assert template(FIXED_TEMPLATE).result_template.failed_values == ["F"]
    result = template(CSV_TEMPLATE).result_template
    form = BankTemplateForm(instance=result)
    data = {**form.initial, "failed_values": "[]"}
    data["fields"] = form["fields"].value()
    data["paid_values"] = form["paid_values"].value()
    data["failed_values"] = "[]"
    bound = BankTemplateForm(data=data, instance=result)
    assert not bound.is_valid()
    assert "表示失败的状态值" in str(bound.errors["failed_values"])
    data["failed_values"] = '["成功"]'
    bound = BankTemplateForm(data=data, instance=result)
    assert not bound.is_valid()
    assert "不能同时" in str(bound.errors["failed_values"])


def test_a_holder_name_corrected_alone_is_an_account_change(
    ready: Any, finance: Any, trainee: Any
) -> None:
    """Observed: the bank refused a line 户名与账号不符; a change of the holder alone
    was refused as unchanged, and the claim waited for ever."""
    second = UserFactory(username="finance_b", role="finance_officer")
    first = payouts.account_change_propose(
        actor=finance,
        trainee_id=trainee.pk,
        bank="xjnx",
        number=card(81),
        holder=trainee.name + "某",
    )
    payouts.account_change_confirm(change_id=first.pk, actor=second)
    corrected = payouts.account_change_propose(
        actor=finance,
        trainee_id=trainee.pk,
        bank="xjnx",
        number=card(81),
        holder=trainee.name,
        reason="户名更正",
    )
    payouts.account_change_confirm(change_id=corrected.pk, actor=second)
    account = PayeeAccount.objects.get(trainee=trainee)
    assert (account.number, account.holder) == (card(81), trainee.name)
    with pytest.raises(Conflict) as refused:  # the very same three: nothing to change
        payouts.account_change_propose(
            actor=finance,
            trainee_id=trainee.pk,
            bank="xjnx",
            number=card(81),
            holder=trainee.name,
        )
    assert refused.value.code == "unchanged"


@pytest.mark.parametrize("amount", ["9" * 30 + ".00", "1e999", "-1e999", "1E+30"])
def test_an_amount_too_large_for_any_account_is_not_an_amount(amount: str) -> None:
    """Observed: a 30-digit amount or 1e999 in a result file was a 500 (the decimal
    context overflowed in ``quantize``)."""
    from finance.bank_rules import parse_amount

    assert parse_amount(amount, "yuan") is None
    assert parse_amount("9" * 40, "fen") is None


def test_a_result_file_with_an_absurd_total_is_refused_in_chinese(
    ready: Any, finance: Any
) -> None:
    _, rollup = ready
    batch = sent_batch(rollup, finance)
    content = result_file(batch)
    lines = content.decode("gbk").splitlines()
    lines[-1] = f"合计,{batch.count},1e999"
    with pytest.raises(DomainError) as refused:
        payouts.batch_result_record(
            batch_id=batch.pk,
            content="\r\n".join(lines).encode("gbk") + b"\r\n",
            actor=finance,
        )
    assert refused.value.status_code in (400, 409)
    assert not Payment.objects.filter(kind="balance").exists()


def test_whoever_built_or_sent_a_batch_that_paid_a_claim_never_approves_it(
    ready: Any, claim_input: Any, finance: Any, reviewer: Any
) -> None:
    """Observed: the officer who marked an advance batch sent (another recorded the
    bank's answer), made a reviewer, approved the claim (200)."""
    from claims import services as claim_services
    from claims.models import Claim
    from quarters import services as quarter_services
    from tests.class_run import claim_through_class
    from tests.factories import InstitutionFactory, TraineeFactory, clear_spot_checks
    from tests.quarters.test_segregation import make_reviewer

    admins = (
        UserFactory(username="admin_1", role="administrator", is_staff=True),
        UserFactory(username="admin_2", role="administrator", is_staff=True),
    )
    clerk = UserFactory(username="late_clerk", role="county_clerk", unit_id="654321")
    school = InstitutionFactory(unit_id="654321")
    person = TraineeFactory(groups=["poor_labour"], registered_by_unit_id="654321")
    data = claim_input(
        trainee_id=person.pk,
        unit_id="654321",
        institution_id=school.pk,
        project_based=True,
    )
    draft = claim_through_class(data, clerk=clerk)
    claim_services.claim_submit(claim_id=draft.pk, actor=clerk)
    report = quarter_services.report_build(
        unit_id="654321", quarter="2020Q1", actor=clerk
    )
    report = quarter_services.report_submit(report_id=report.pk, actor=clerk)
    claim = Claim.objects.get(pk=draft.pk)
    assert claim.advance > 0
    give_account(claim, finance, n=777)
    builder = UserFactory(username="fin_builder", role="finance_officer")
    sender = UserFactory(username="fin_sender", role="finance_officer")
    _, rollup = ready
    batch = payouts.batch_build(
        rollup_id=rollup.pk,
        kind="advance",
        template_id=template(CSV_TEMPLATE).pk,
        actor=builder,
    )
    assert batch.lines.filter(claim_id=claim.pk).exists()
    payouts.batch_mark_sent(batch_id=batch.pk, actor=sender)
    recorder = UserFactory(username="fin_recorder", role="finance_officer")
    payouts.batch_result_record(
        batch_id=batch.pk, content=result_file(batch), actor=recorder
    )
    assert claim.payments.filter(status="paid").exists()
    clear_spot_checks(report, reviewer)
    for officer in (builder, sender):
        now_reviewer = make_reviewer(officer, admins)
        with pytest.raises(PermissionDenied) as refused:
            quarter_services.claim_approve(claim_id=claim.pk, actor=now_reviewer)
        assert "拨付与审核亦须分离" in refused.value.message
    assert Claim.objects.get(pk=claim.pk).status == "submitted"


def test_whoever_dismissed_a_trainees_not_me_never_pays_the_claim(
    ready: Any, finance: Any
) -> None:
    """The review of session 25's fixes: a reviewer dismissed a trainee's "not me"
    (releasing the balance's hold), was made finance, and batched the claim — as one
    who ruled on an objection may not."""
    from claims.confirmations import grievance_find
    from finance.permissions import can_record_payment
    from tests.quarters.test_segregation import to_finance

    quarter, rollup = ready
    claim = quarter.approved[0]
    grievance = dispute(claim)
    finder = UserFactory(username="rev_finder", role="prefecture_reviewer")
    grievance_find(
        grievance_id=grievance.pk,
        outcome="dismissed",
        reason="已电话核实本人参加",
        actor=finder,
    )
    admins = (
        UserFactory(username="admin_1", role="administrator", is_staff=True),
        UserFactory(username="admin_2", role="administrator", is_staff=True),
    )
    officer = to_finance(finder, admins)
    assert not can_record_payment(officer, claim)
    batch = payouts.batch_build(
        rollup_id=rollup.pk,
        kind="balance",
        template_id=template(CSV_TEMPLATE).pk,
        actor=officer,
    )
    assert not batch.lines.filter(claim_id=claim.pk).exists()


def test_a_trailer_count_of_thousands_of_digits_is_refused_in_chinese(
    ready: Any, finance: Any
) -> None:
    """The review of session 25's fixes: a 5,000-digit trailer count was a 500
    (Python refuses int() of more than 4,300 digits)."""
    _, rollup = ready
    batch = sent_batch(rollup, finance)
    lines = result_file(batch).decode("gbk").splitlines()
    head, _, total = lines[-1].split(",")
    lines[-1] = ",".join([head, "9" * 5000, total])
    with pytest.raises(Conflict) as refused:
        payouts.batch_result_record(
            batch_id=batch.pk,
            content=("\r\n".join(lines) + "\r\n").encode("gbk"),
            actor=finance,
        )
    assert any("笔数无法识别" in p for p in refused.value.detail["unmatched"])
    assert not Payment.objects.filter(kind="balance").exists()
