"""A claim's money ledger (issue 12, item 1): what is owed, paid, failed and to recover
derived from one append-only ledger, a recovery opened at once whenever what is owed
falls below what was paid, and every view of the figures equal."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.utils import timezone

import pytest
from openpyxl import load_workbook
from rest_framework.test import APIClient

from altay_skills.errors import Conflict, DomainError, PermissionDenied
from claims import services as claim_services
from claims.models import ClaimEvent
from finance import selectors, services
from finance.ledger import entry_matches_event, ledger_verify, money_of
from finance.models import LedgerEntry, Recovery, RollupLine
from finance.selectors import advances_payable, rollup_claims_for_payment
from finance.views import payment_row
from quarters import services as quarter_services
from tests.class_run import claim_through_class
from tests.conftest import requires_postgres
from tests.factories import opened_evidence

pytestmark = pytest.mark.django_db
PAID_ON = date(2020, 5, 10)
D = Decimal


@pytest.fixture(autouse=True)
def media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def enterprise(institution):
    """The provider whose claims here are project-based: 40% may be advanced (五(二))."""
    return institution


@pytest.fixture
def claim_input(claim_input):
    """Project-based training by a training provider: advanced 40% (五(二))."""
    return lambda **overrides: claim_input(**{"project_based": True, **overrides})


def submitted_claim(claim_input, clerk, **overrides):
    """A project-based claim comes from its class (``class_required``, issue 16)."""
    data = claim_input(**overrides)
    if data.project_based:
        draft = claim_through_class(data, clerk=clerk)
    else:
        draft = claim_services.claim_create(data=data, actor=clerk)
    return claim_services.claim_submit(claim_id=draft.pk, actor=clerk)


def report_of(clerk, quarter="2020Q1", *, submit=True, reviewer=None):
    report = quarter_services.report_build(
        unit_id=clerk.unit_id, quarter=quarter, actor=clerk
    )
    if submit:
        report = quarter_services.report_submit(report_id=report.pk, actor=clerk)
    if reviewer is not None:  # the spot checks drawn and found consistent
        quarter_services.report_draw_spot_checks(report_id=report.pk, actor=reviewer)
        for check in report.spot_checks.all():
            quarter_services.spot_check_record(
                spot_check_id=check.pk,
                actor=reviewer,
                result="consistent",
                documents=opened_evidence(check.pk, reviewer),
            )
    return report


def pay(claim, finance, kind="advance", amount=None, **kw):
    claim.refresh_from_db()
    if amount is None:
        amount = claim.advance if kind == "advance" else money_of(claim.pk).due
    return services.payment_record(
        claim_id=claim.pk,
        kind=kind,
        amount=amount,
        paid_on=PAID_ON,
        status=kw.pop("status", "paid"),
        actor=finance,
        **kw,
    )


def lower(claim, clerk, amount):
    data = replace(claim_services.input_of(claim), amount_requested=D(amount))
    return claim_services.claim_update(claim_id=claim.pk, data=data, actor=clerk)


# --- (a) an advance only from a report the prefecture has ------------------------------
def test_no_advance_on_a_claim_in_a_draft_report(
    claim_input, clerk, finance, enterprise
):
    # given a claim in the unit's draft report (observed: its advance was paid → 201)
    claim = submitted_claim(claim_input, clerk)
    report_of(clerk, submit=False)
    claim.refresh_from_db()
    assert claim.report_id is not None and claim.advance == D("720.00")
    # then finance may not pay its advance, and it is not listed as payable
    with pytest.raises(Conflict) as refused:
        pay(claim, finance)
    assert refused.value.code == "not_payable"
    assert claim not in advances_payable()
    # and the clerk's withdrawal leaves nothing paid, nothing owed
    claim_services.claim_withdraw(claim_id=claim.pk, actor=clerk)
    assert money_of(claim.pk) == money_of(claim.pk).__class__()
    assert not Recovery.objects.filter(claim=claim).exists()


def test_no_advance_for_a_claim_the_rules_gave_none(claim_input, clerk, finance):
    # a training institution's course that is no project: no advance (五(二))
    claim = submitted_claim(claim_input, clerk, project_based=False)
    report_of(clerk)
    claim.refresh_from_db()
    assert claim.advance == 0
    with pytest.raises(DomainError) as refused:
        pay(claim, finance, amount=D("720.00"))
    assert refused.value.code == "no_advance"


# --- (b) returned, then withdrawn ------------------------------------------------------
def test_an_advance_on_a_claim_returned_then_withdrawn_is_recovered(
    claim_input, clerk, reviewer, finance, enterprise
):
    claim = submitted_claim(claim_input, clerk)
    report_of(clerk)
    pay(claim, finance)
    assert money_of(claim.pk).advance == D("720.00")
    quarter_services.claim_return(claim_id=claim.pk, actor=reviewer, reason="缺签到表")
    assert not Recovery.objects.filter(claim=claim).exists()  # it may come back
    # when the clerk withdraws it (observed: no recovery, the advance simply gone)
    claim_services.claim_withdraw(claim_id=claim.pk, actor=clerk, reason="学员放弃")
    # then the whole advance is to recover, opened in the withdrawal itself
    recovery = Recovery.objects.get(claim=claim)
    assert recovery.amount == D("720.00") and "撤回" in recovery.reason
    money = money_of(claim.pk)
    assert (money.owed, money.paid, money.to_recover, money.due) == (
        0,
        D("720.00"),
        D("720.00"),
        0,
    )
    assert services.payment_state(claim) == "recovering"
    # settling needs the bank's reference
    with pytest.raises(DomainError) as refused:
        services.recovery_settle(recovery_id=recovery.pk, actor=finance)
    assert refused.value.code == "reference_required"
    services.recovery_settle(recovery_id=recovery.pk, actor=finance, reference="TH-01")
    assert money_of(claim.pk).to_recover == 0
    assert services.payment_state(claim) == "recovered"


def test_a_rejection_after_an_advance_opens_its_recovery(
    claim_input, clerk, reviewer, finance, enterprise
):
    claim = submitted_claim(claim_input, clerk)
    report_of(clerk, reviewer=reviewer)
    pay(claim, finance)
    quarter_services.claim_reject(
        claim_id=claim.pk, actor=reviewer, reason="培训未完成"
    )
    assert Recovery.objects.get(claim=claim).amount == D("720.00")
    assert money_of(claim.pk).owed == 0


def test_who_decided_the_claim_does_not_record_its_money_as_recovered(
    claim_input, clerk, reviewer, finance, enterprise
):
    """Recording money as come back closes what the claim owes: the reviewer who
    rejected it, moved to finance, could close its recovery with any voucher number
    and the advance was never chased. Maker, checker and payer are three people for
    the money coming back as for the money going out."""
    claim = submitted_claim(claim_input, clerk)
    report_of(clerk, reviewer=reviewer)
    pay(claim, finance)
    quarter_services.claim_reject(
        claim_id=claim.pk, actor=reviewer, reason="培训未完成"
    )
    recovery = Recovery.objects.get(claim=claim)
    reviewer.role = "finance_officer"
    reviewer.save()

    with pytest.raises(PermissionDenied, match="其他财政人员"):
        services.recovery_settle(
            recovery_id=recovery.pk, actor=reviewer, reference="TH-77"
        )

    assert money_of(claim.pk).to_recover == D("720.00")
    services.recovery_settle(recovery_id=recovery.pk, actor=finance, reference="TH-78")
    assert money_of(claim.pk).to_recover == 0


# --- (c) returned, lowered, approved -------------------------------------------------
def test_a_lower_amount_after_an_advance_is_recovered_and_every_view_agrees(
    claim_input,
    clerk,
    reviewer,
    finance,
    enterprise,
    django_capture_on_commit_callbacks,
):
    claim = submitted_claim(claim_input, clerk)
    report_of(clerk)
    pay(claim, finance)  # 720 of 1800
    quarter_services.claim_return(claim_id=claim.pk, actor=reviewer, reason="金额有误")
    claim.refresh_from_db()
    # when the clerk lowers the amount to 500, below the 720 advanced
    lower(claim, clerk, "500.00")
    # then 220 is to recover at once: the claim can never again be owed more than 500
    assert [r.amount for r in Recovery.objects.filter(claim=claim)] == [D("220.00")]
    claim_services.claim_submit(claim_id=claim.pk, actor=clerk)
    report = report_of(clerk, "2020Q2", reviewer=reviewer)
    quarter_services.claim_approve(claim_id=claim.pk, actor=reviewer)
    quarter_services.report_close(report_id=report.pk, actor=reviewer)
    claim.refresh_from_db()
    assert claim.approved_amount == D("500.00")
    # no second recovery: 720 paid, 220 to come back, 500 owed
    money = money_of(claim.pk)
    assert (money.owed, money.advance, money.balance, money.recovery, money.due) == (
        D("500.00"),
        D("500.00"),
        0,
        D("220.00"),
        0,
    )
    # the balance API (observed: "应拨金额为-220.00元") has nothing to pay
    with pytest.raises(Conflict) as refused:
        pay(claim, finance, kind="balance", amount=D("280.00"))
    assert refused.value.code == "nothing_due"
    # the rollup, its workbook, the finance page and the API show the same figures
    with django_capture_on_commit_callbacks(execute=True):
        rollup = services.rollup_request(quarter="2020Q2", actor=reviewer)
    rollup.refresh_from_db()
    line = RollupLine.objects.get(rollup=rollup)
    assert (line.approved, line.advance, line.balance, line.recovery) == (
        D("500.00"),
        D("500.00"),
        0,
        D("220.00"),
    )
    wb = load_workbook(Path(settings.MEDIA_ROOT) / rollup.workbook)
    (row,) = list(
        wb["职业技能提升行动专项资金"].iter_rows(min_row=3, values_only=True)
    )[:-1]
    assert [D(str(v)) for v in row[11:15]] == [D("500"), D("500"), D("0"), D("220")]
    page = payment_row(rollup_claims_for_payment(rollup).get(pk=claim.pk))
    assert page.money == money and not page.options  # nothing to pay on the page
    client = APIClient()
    client.force_authenticate(finance)
    answer = client.get(f"/api/claims/{claim.pk}/payments/").json()
    assert answer["money"] == money.as_dict()
    assert answer["money"]["balance"] == "0.00"
    assert answer["payment_state"] == "recovering"
    kinds = [line["kind"] for line in answer["ledger"]]
    assert kinds == ["owed", "paid", "owed", "recovery"]  # the approval: 500 already


def returned_and_lowered(claim_input, clerk, reviewer, finance, amount):
    """720 advanced on 1800, returned, lowered to ``amount``."""
    claim = submitted_claim(claim_input, clerk)
    report_of(clerk)
    pay(claim, finance)
    quarter_services.claim_return(claim_id=claim.pk, actor=reviewer, reason="金额有误")
    claim.refresh_from_db()
    lower(claim, clerk, amount)
    return claim


def test_a_lower_amount_still_above_the_advance_recovers_nothing(
    claim_input, clerk, reviewer, finance, enterprise
):
    claim = returned_and_lowered(claim_input, clerk, reviewer, finance, "1000.00")
    assert not Recovery.objects.filter(claim=claim).exists()
    assert money_of(claim.pk).owed == D("720.00")


def returned_below_its_advance(claim_input, clerk, reviewer, finance):
    """Lowered to 500, below the 720 advanced: 220 opened to recover."""
    claim = returned_and_lowered(claim_input, clerk, reviewer, finance, "500.00")
    (recovery,) = Recovery.objects.filter(claim=claim)
    assert recovery.amount == D("220.00")
    return claim, recovery


def raise_and_approve(claim, clerk, reviewer, amount):
    claim.refresh_from_db()
    lower(claim, clerk, amount)
    claim_services.claim_submit(claim_id=claim.pk, actor=clerk)
    report = report_of(clerk, "2020Q2", reviewer=reviewer)
    quarter_services.claim_approve(claim_id=claim.pk, actor=reviewer)
    return report


def test_a_recovery_the_claim_is_owed_again_is_netted_not_chased(
    claim_input,
    clerk,
    reviewer,
    finance,
    enterprise,
    django_capture_on_commit_callbacks,
):
    # given 220 to recover on a returned claim lowered below its 720 advance
    claim, recovery = returned_below_its_advance(claim_input, clerk, reviewer, finance)
    # while the claim is undecided, the recovery stands: it may yet be rejected
    claim.refresh_from_db()
    lower(claim, clerk, "1800.00")
    assert recovery in selectors.open_recoveries()
    # when the clerk's 1800 is approved (observed: the 220 stayed open — finance chased
    # it from the institution and then paid it straight back with a 1300 balance)
    report = raise_and_approve(claim, clerk, reviewer, "1800.00")
    # then the recovery is netted: nothing to chase, the balance is 1800 less the 720
    recovery.refresh_from_db()
    assert recovery.netted_at is not None and recovery.settled_at is None
    assert recovery not in selectors.open_recoveries()
    money = money_of(claim.pk)
    assert (money.owed, money.advance, money.recovery, money.to_recover) == (
        D("1800.00"),
        D("720.00"),
        0,
        0,
    )
    assert money.balance == money.due == D("1080.00")
    assert services.payment_state(claim) == "partly_paid"
    # the netting is a line of the ledger and a link of the claim's chain
    kinds = list(LedgerEntry.objects.filter(claim=claim).values_list("kind", flat=True))
    assert kinds == ["owed", "paid", "owed", "recovery", "owed", "netted"]
    netted = LedgerEntry.objects.get(claim=claim, kind="netted")
    assert netted.amount == D("220.00") and netted.recovery_id == recovery.pk
    assert entry_matches_event(netted) and ledger_verify()[1] is None
    # the API lists it as netted, not as one to chase
    client = APIClient()
    client.force_authenticate(finance)
    listed = client.get("/api/recoveries/", {"settled": "true"}).json()["results"]
    assert [(r["id"], r["netted"], r["settled"]) for r in listed] == [
        (recovery.pk, True, False)
    ]
    assert client.get("/api/recoveries/").json()["results"] == []
    # and the quarter's balance pays the claim in full
    quarter_services.report_close(report_id=report.pk, actor=reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        rollup = services.rollup_request(quarter="2020Q2", actor=reviewer)
    line = RollupLine.objects.get(rollup=rollup)  # the one claim of the quarter
    assert (line.approved, line.advance, line.balance, line.recovery) == (
        D("1800.00"),
        D("720.00"),
        D("1080.00"),
        0,
    )
    pay(claim, finance, kind="balance")
    assert services.payment_state(claim) == "paid"
    assert money_of(claim.pk).paid == D("1800.00")


def test_money_sent_back_after_its_recovery_was_netted_is_recorded_and_paid_out_again(
    claim_input, clerk, reviewer, finance, enterprise
):
    # given a recovery netted by the approval of the raised claim
    claim, recovery = returned_below_its_advance(claim_input, clerk, reviewer, finance)
    raise_and_approve(claim, clerk, reviewer, "1800.00")
    assert money_of(claim.pk).due == D("1080.00")
    # when the institution's 220 arrives all the same and finance records it
    # (observed: 409 recovery_netted — the money came back and could not be entered)
    client = APIClient()
    client.force_authenticate(finance)
    answer = client.post(
        f"/api/recoveries/{recovery.pk}/settle/", {"reference": "TH-22"}
    )
    # then a fresh recovery of it is opened and settled at once: owed again, paid
    # out with the balance
    assert answer.status_code == 200, answer.json()
    fresh = Recovery.objects.get(reopens=recovery)
    assert answer.json()["id"] == fresh.pk and answer.json()["settled"] is True
    assert (fresh.amount, fresh.settlement_reference) == (D("220.00"), "TH-22")
    money = money_of(claim.pk)
    assert (money.recovered, money.to_recover, money.due) == (
        D("220.00"),
        0,
        D("1300.00"),
    )
    assert ledger_verify()[1] is None
    # and only once
    again = client.post(
        f"/api/recoveries/{recovery.pk}/settle/", {"reference": "TH-23"}
    )
    assert again.status_code == 409 and again.json()["code"] == "already_settled"
    assert money_of(claim.pk).due == D("1300.00")


def test_the_finance_page_lists_a_netted_recovery_to_record_money_sent_back(
    client, claim_input, clerk, reviewer, finance, enterprise
):
    claim, recovery = returned_below_its_advance(claim_input, clerk, reviewer, finance)
    raise_and_approve(claim, clerk, reviewer, "1800.00")
    client.force_login(finance)
    page = client.get("/finance/").content.decode()
    assert f'data-testid="recovery-{claim.pk}"' not in page  # nothing to chase
    assert f'data-testid="returned-anyway-{claim.pk}"' in page
    done = client.post(
        f"/finance/recoveries/{recovery.pk}/settle/", {"reference": "TH-7"}, follow=True
    ).content.decode()
    assert (
        "已登记为收款人退回，先冲抵该申报其余应追回款，余下的将随余额重新拨付" in done
    )
    assert f'data-testid="returned-anyway-{claim.pk}"' not in done
    assert money_of(claim.pk).due == D("1300.00")


def test_a_recovery_state_written_past_the_ledger_is_named(
    claim_input, clerk, reviewer, finance, enterprise
):
    # a recovery hidden from finance's list by setting netted_at in the database
    _claim, recovery = returned_below_its_advance(claim_input, clerk, reviewer, finance)
    assert ledger_verify()[1] is None
    Recovery.objects.filter(pk=recovery.pk).update(netted_at=timezone.now())
    assert recovery not in selectors.open_recoveries()
    problem = ledger_verify()[1]
    assert problem is not None and f"应追回款 #{recovery.pk}" in problem
    assert "追回冲抵" in problem


def test_raised_back_but_still_below_the_advance_only_the_rest_is_recovered(
    claim_input, clerk, reviewer, finance, enterprise
):
    claim, recovery = returned_below_its_advance(claim_input, clerk, reviewer, finance)
    # approved at 600: 120 of the 720 is still paid beyond what is owed
    raise_and_approve(claim, clerk, reviewer, "600.00")
    recovery.refresh_from_db()
    assert recovery.netted_at is not None
    (still,) = selectors.open_recoveries().filter(claim=claim)
    assert still.amount == D("120.00")
    money = money_of(claim.pk)
    assert (money.owed, money.advance, money.to_recover, money.due) == (
        D("600.00"),
        D("600.00"),
        D("120.00"),
        0,
    )


def test_a_settled_recovery_is_not_netted_the_balance_pays_it_out_again(
    claim_input, clerk, reviewer, finance, enterprise
):
    claim, recovery = returned_below_its_advance(claim_input, clerk, reviewer, finance)
    services.recovery_settle(recovery_id=recovery.pk, actor=finance, reference="TH-9")
    raise_and_approve(claim, clerk, reviewer, "1800.00")
    recovery.refresh_from_db()
    assert recovery.settled_at is not None and recovery.netted_at is None
    money = money_of(claim.pk)
    # 720 paid, 220 came back: 1300 is due for the 1800 approved
    assert (money.recovered, money.to_recover, money.due) == (
        D("220.00"),
        0,
        D("1300.00"),
    )


def test_the_advance_counts_toward_the_balance(advanced_quarter, finance, reviewer):
    services.rollup_request(quarter="2020Q1", actor=reviewer)
    claim = advanced_quarter.approved[0]
    money = money_of(claim.pk)
    assert money.due == claim.approved_amount - claim.advance == money.balance
    # the rejected claim of the same unit had its advance paid: it owes it back
    rejected = next(c for c in advanced_quarter.rejected if c.unit_id == "654301")
    assert Recovery.objects.get(claim=rejected).amount == rejected.advance


# --- the ledger itself -------------------------------------------------------------------
def test_every_line_is_a_link_of_the_claims_chain(
    claim_input, clerk, reviewer, finance, enterprise
):
    claim = submitted_claim(claim_input, clerk)
    report_of(clerk, reviewer=reviewer)
    payment = pay(claim, finance)
    entries = list(LedgerEntry.objects.filter(claim=claim))
    assert [(e.kind, e.amount) for e in entries] == [
        ("owed", D("720.00")),
        ("paid", D("720.00")),
    ]
    assert entries[1].payment == payment
    for entry in entries:
        event = ClaimEvent.objects.get(pk=entry.event_id)
        assert event.claim_id == claim.pk and event.action == entry.kind
        assert entry_matches_event(entry)
    assert ledger_verify() == (2, None)
    # a line rewritten in memory no longer matches its event
    entries[1].amount = D("72.00")
    assert not entry_matches_event(entries[1])


@requires_postgres
def test_the_database_refuses_to_rewrite_or_delete_a_ledger_line(
    claim_input, clerk, finance, enterprise
):
    claim = submitted_claim(claim_input, clerk)
    report_of(clerk)
    pay(claim, finance)
    table = LedgerEntry._meta.db_table
    for sql in (f"UPDATE {table} SET amount = 1", f"DELETE FROM {table}"):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql)
    assert LedgerEntry.objects.filter(claim=claim).count() == 2


def test_a_failed_advance_is_reissued_once(
    claim_input, clerk, finance, enterprise
) -> Any:
    claim = submitted_claim(claim_input, clerk)
    report_of(clerk)
    failed = pay(claim, finance, status="failed", failure_reason="账户冻结")
    money = money_of(claim.pk)
    assert (money.failed, money.paid, money.owed) == (D("720.00"), 0, 0)
    assert services.payment_state(claim) == "failed"
    pay(claim, finance, reissue_of_id=failed.pk)
    money = money_of(claim.pk)
    assert (money.failed, money.paid, money.owed) == (0, D("720.00"), D("720.00"))


def test_money_sent_back_after_the_balance_paid_a_netted_recovery_is_refused(
    client,
    claim_input,
    clerk,
    reviewer,
    finance,
    enterprise,
    django_capture_on_commit_callbacks,
):
    # given a recovery netted by the approval, and the balance paid: the claim is paid
    # its 1800 in full
    claim, recovery = returned_below_its_advance(claim_input, clerk, reviewer, finance)
    report = raise_and_approve(claim, clerk, reviewer, "1800.00")
    quarter_services.report_close(report_id=report.pk, actor=reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        services.rollup_request(quarter="2020Q2", actor=reviewer)
    pay(claim, finance, kind="balance")
    # when the institution's 220 arrives all the same (observed: recorded, then 220
    # due that nothing could pay — 409 already_paid by hand, and a bank batch paid it
    # with a result that could not be recorded)
    api = APIClient()
    api.force_authenticate(finance)
    answer = api.post(f"/api/recoveries/{recovery.pk}/settle/", {"reference": "TH-30"})
    # then it is refused, saying what to do with the money, and nothing is written
    assert answer.status_code == 409, answer.json()
    assert answer.json()["code"] == "balance_already_paid"
    assert "原路退还" in answer.json()["message"]
    assert not Recovery.objects.filter(reopens=recovery).exists()
    money = money_of(claim.pk)
    assert (money.paid, money.recovered, money.due) == (D("1800.00"), 0, 0)
    # and the finance page says so where it offered the form
    client.force_login(finance)
    page = client.get("/finance/").content.decode()
    assert f'data-testid="returned-anyway-{claim.pk}"' not in page
    assert f'data-testid="netted-balance-paid-{claim.pk}"' in page


def test_money_sent_back_for_a_netted_recovery_nets_what_is_still_open(
    claim_input, clerk, reviewer, finance, enterprise
):
    # given 220 netted and 120 still open: approved at 600 on a 720 advance
    claim, recovery = returned_below_its_advance(claim_input, clerk, reviewer, finance)
    raise_and_approve(claim, clerk, reviewer, "600.00")
    (still,) = selectors.open_recoveries().filter(claim=claim)
    assert still.amount == D("120.00")
    # when the institution sends the netted 220 back all the same (observed: the 120
    # stayed open to chase and 220 was due — the payee holds 500 of the 600 it is owed)
    services.recovery_settle(recovery_id=recovery.pk, actor=finance, reference="TH-31")
    # then the 120 is netted too: nothing to chase, 100 due with the balance
    still.refresh_from_db()
    assert still.netted_at is not None and still.settled_at is None
    assert not selectors.open_recoveries().filter(claim=claim).exists()
    money = money_of(claim.pk)
    assert (money.recovered, money.to_recover, money.due) == (
        D("220.00"),
        0,
        D("100.00"),
    )
    assert ledger_verify()[1] is None


def test_a_second_failure_or_payment_beside_an_unreissued_failure_is_refused(
    claim_input, clerk, finance, enterprise
):
    claim = submitted_claim(claim_input, clerk)
    report_of(clerk)
    failed = pay(claim, finance, status="failed", failure_reason="账户冻结")
    # (observed: the same failure recorded 23 times, 16,560 yuan "failed" on a 720
    # advance and 23 lines to re-issue on the finance page)
    for status in ("failed", "paid"):
        with pytest.raises(Conflict) as refused:
            pay(claim, finance, status=status, failure_reason="账户冻结")
        assert refused.value.code == "reissue_required"
        assert f"#{failed.pk}" in refused.value.message
    assert money_of(claim.pk).failed == D("720.00")
    # the way: re-issue the failed one
    pay(claim, finance, reissue_of_id=failed.pk)
    assert (money_of(claim.pk).failed, money_of(claim.pk).paid) == (0, D("720.00"))


def test_money_sent_back_for_a_netted_recovery_nets_no_more_than_it_covers(
    claim_input, clerk, reviewer, finance, enterprise
):
    # given 220 then 100 to recover on a 720 advance (lowered to 500, then 400), the
    # claim approved at 450: the 100 netted and 50 opened afresh
    claim = returned_and_lowered(claim_input, clerk, reviewer, finance, "500.00")
    claim.refresh_from_db()
    lower(claim, clerk, "400.00")
    first, second = Recovery.objects.filter(claim=claim).order_by("pk")
    assert (first.amount, second.amount) == (D("220.00"), D("100.00"))
    raise_and_approve(claim, clerk, reviewer, "450.00")
    assert money_of(claim.pk).to_recover == D("270.00")
    # when the payee sends the netted 100 back all the same (observed: the 50 and the
    # 220 were netted whole — 170 yuan the payee still holds was no longer chased)
    services.recovery_settle(recovery_id=second.pk, actor=finance, reference="TH-40")
    # then what is netted beyond the 100 is opened afresh: the payee holds 620 of the
    # 450 it is owed
    money = money_of(claim.pk)
    assert (money.to_recover, money.due) == (D("170.00"), 0)
    assert money.paid - money.recovered - money.to_recover == money.owed
    assert ledger_verify()[1] is None


def test_money_sent_back_for_a_netted_recovery_waits_for_the_open_balance_batch(
    claim_input,
    clerk,
    reviewer,
    finance,
    enterprise,
    django_capture_on_commit_callbacks,
):
    from finance import payouts
    from finance.models import BankTemplate
    from tests.bank_run import CSV_TEMPLATE, give_account

    claim, recovery = returned_below_its_advance(claim_input, clerk, reviewer, finance)
    report = raise_and_approve(claim, clerk, reviewer, "1800.00")
    quarter_services.report_close(report_id=report.pk, actor=reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        rollup = services.rollup_request(quarter="2020Q2", actor=reviewer)
    give_account(claim, finance, n=7)
    batch = payouts.batch_build(
        rollup_id=rollup.pk,
        kind="balance",
        template_id=BankTemplate.objects.get(name=CSV_TEMPLATE).pk,
        actor=finance,
    )
    assert batch.total == D("1080.00")
    # (observed: recorded, the claim was owed 1300 while the batch paid 1080, and the
    # bank's result could not be recorded — the whole file refused)
    with pytest.raises(Conflict) as refused:
        services.recovery_settle(
            recovery_id=recovery.pk, actor=finance, reference="TH-41"
        )
    assert refused.value.code == "in_open_batch"
    assert f"#{batch.pk}" in refused.value.message
    assert money_of(claim.pk).due == D("1080.00")
    # once the unsent batch is cancelled, it is recorded
    payouts.batch_cancel(batch_id=batch.pk, actor=finance)
    services.recovery_settle(recovery_id=recovery.pk, actor=finance, reference="TH-41")
    assert money_of(claim.pk).due == D("1300.00")


def test_an_advance_that_failed_is_offered_to_reissue_not_to_record_again(
    claim_input, clerk, finance, enterprise
):
    claim = submitted_claim(claim_input, clerk)
    report_of(clerk)
    assert claim in advances_payable()
    failed = pay(claim, finance, status="failed", failure_reason="账户冻结")
    # (observed: still listed to record, which now answers reissue_required)
    assert claim not in advances_payable()
    assert failed in selectors.failed_payments()
    pay(claim, finance, reissue_of_id=failed.pk)
    assert claim not in advances_payable()
