"""Issue 18's races, on real PostgreSQL connections released together: officers
building batches from one rollup at once never put a line in two open batches; one
result file uploaded twice at once records once."""

from __future__ import annotations

import functools
import time
from datetime import date
from typing import Any

from django.db.models import Count

import pytest

from altay_skills import lock_objects
from finance import payouts, services
from finance.models import (
    BankTemplate,
    PayeeAccount,
    Payment,
    PaymentBatchLine,
    PaymentResult,
)
from tests.bank_run import CSV_TEMPLATE, FIXED_TEMPLATE, card, give_account, result_file
from tests.conftest import requires_postgres
from tests.factories import TraineeFactory, UserFactory
from tests.quarter_run import run_quarter
from tests.racing import race, started

pytestmark = [
    requires_postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

OFFICERS = 6


@pytest.fixture
def ready_rollup(
    claim_input: Any, reviewer: Any, finance: Any, settings: Any, tmp_path: Any
) -> Any:
    settings.MEDIA_ROOT = tmp_path
    quarter = run_quarter(claim_input, reviewer)
    rollup = services.rollup_request(quarter="2020Q1", actor=reviewer)
    rollup.refresh_from_db()
    if rollup.status != "ready":
        rollup = services.rollup_build(rollup_id=rollup.pk)
    for i, claim in enumerate(quarter.approved, start=1):
        give_account(claim, finance, n=i)
    return rollup


def test_officers_building_at_once_never_put_a_line_in_two_open_batches(
    ready_rollup: Any,
) -> None:
    templates = [
        BankTemplate.objects.get(name=CSV_TEMPLATE).pk,
        BankTemplate.objects.get(name=FIXED_TEMPLATE).pk,
    ]
    officers = [
        UserFactory(username=f"bank_race_{i}", role="finance_officer")
        for i in range(OFFICERS)
    ]
    outcomes = race(
        [
            functools.partial(
                payouts.batch_build,
                rollup_id=ready_rollup.pk,
                kind="balance",
                template_id=templates[i % 2],
                actor=officer,
            )
            for i, officer in enumerate(officers)
        ]
    )
    assert outcomes["ok"] == 1, outcomes
    assert outcomes["nothing_payable"] + outcomes["already_in_batch"] == OFFICERS - 1
    twice = (
        PaymentBatchLine.objects.filter(open=True)
        .values("claim_id", "kind")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    assert not twice.exists()


def test_one_result_uploaded_twice_at_once_records_once(
    ready_rollup: Any, finance: Any
) -> None:
    batch = payouts.batch_build(
        rollup_id=ready_rollup.pk,
        kind="balance",
        template_id=BankTemplate.objects.get(name=CSV_TEMPLATE).pk,
        actor=finance,
    )
    payouts.batch_mark_sent(batch_id=batch.pk, actor=finance)
    content = result_file(batch)
    second = UserFactory(username="bank_race_b", role="finance_officer")
    outcomes = race(
        [
            functools.partial(
                payouts.batch_result_record,
                batch_id=batch.pk,
                content=content,
                actor=actor,
            )
            for actor in (finance, second, finance, second)
        ]
    )
    assert outcomes == {"ok": 4}, outcomes
    assert PaymentResult.objects.count() == 1
    assert Payment.objects.filter(kind="balance").count() == batch.count


def test_a_balance_paid_by_hand_while_a_batch_is_built_is_not_in_the_batch_too(
    ready_rollup: Any, finance: Any, monkeypatch: Any
) -> None:
    """Officer B records a claim's balance by hand, in its own connection, after
    officer A's batch planned the claim and before its lines were written. The batch
    then paid the balance a second time at the bank, and its result file was refused
    whole (``already_paid``), the batch's other lines with it. The build plans again
    under the locks of the claims it pays."""
    planned = payouts.batch_plan
    other = UserFactory(username="bank_race_hand", role="finance_officer")
    by_hand: list[int] = []

    def planned_then_paid_by_hand(quarter: str, kind: str, **kwargs: Any) -> Any:
        plan = planned(quarter, kind, **kwargs)
        if not by_hand:
            line = plan.lines[0]
            by_hand.append(line["claim_id"])
            paid = race([hand_payment(line, other)])
            assert paid == {"ok": 1}, paid
        return plan

    monkeypatch.setattr(payouts, "batch_plan", planned_then_paid_by_hand)
    batch = balances_batch(ready_rollup, finance)

    assert not batch.lines.filter(claim_id__in=by_hand).exists()
    assert batch.count == batch.lines.count() > 0
    monkeypatch.setattr(payouts, "batch_plan", planned)
    payouts.batch_mark_sent(batch_id=batch.pk, actor=finance)
    recorded = payouts.batch_result_record(
        batch_id=batch.pk, content=result_file(batch), actor=finance
    )
    assert recorded.paid == batch.count
    assert Payment.objects.filter(claim_id=by_hand[0], status="paid").count() == 1


def balances_batch(rollup: Any, finance: Any) -> Any:
    return payouts.batch_build(
        rollup_id=rollup.pk,
        kind="balance",
        template_id=BankTemplate.objects.get(name=CSV_TEMPLATE).pk,
        actor=finance,
    )


def hand_payment(line: dict[str, Any], other: Any) -> Any:
    """``other`` records ``line``'s balance by hand (a call for a thread)."""
    return functools.partial(
        services.payment_record,
        claim_id=line["claim_id"],
        kind="balance",
        amount=line["amount"],
        paid_on=date.today(),
        status="paid",
        actor=other,
        reference="HAND-1",
    )


def test_a_balance_paid_by_hand_once_the_build_holds_its_claims_waits_and_is_refused(
    ready_rollup: Any, finance: Any, monkeypatch: Any
) -> None:
    """Officer B starts a payment by hand once officer A's build holds the claims it
    pays: B waits for A, then finds the claim's line in A's open batch (the other
    order, B first, is the test above)."""
    holding = lock_objects.lock_claim_ids
    other = UserFactory(username="bank_race_hand", role="finance_officer")
    under_way: list[Any] = []

    def held_then_paid_by_hand(claims: Any) -> list[int]:
        ids = holding(claims)
        if not under_way:
            plan = payouts.batch_plan("2020Q1", "balance", actor=finance, among=ids)
            under_way.append(started([hand_payment(plan.lines[0], other)]))
            time.sleep(0.5)  # B reaches the claim's lock and waits there
        return ids

    monkeypatch.setattr(lock_objects, "lock_claim_ids", held_then_paid_by_hand)
    batch = balances_batch(ready_rollup, finance)

    assert under_way[0](30) == {"in_open_batch": 1}
    assert not Payment.objects.exists()
    assert batch.count == batch.lines.count() > 0


def test_two_account_changes_confirmed_at_once_leave_the_newer_in_force(
    ready_rollup: Any, finance: Any
) -> None:
    """The review of ``superseded``: each confirmation locked its own change only, so
    an older and a newer change confirmed at the same moment both passed the check
    and the older could be written last. Now a confirmation locks every change of
    its payee first."""
    second = UserFactory(username="bank_race_confirm", role="finance_officer")
    people = [TraineeFactory() for _ in range(4)]
    pairs = []
    for i, person in enumerate(people):
        older, newer = (
            payouts.account_change_propose(
                actor=finance,
                trainee_id=person.pk,
                bank="xjnx",
                number=card(500 + 2 * i + k),
                holder=person.name,
            )
            for k in (0, 1)
        )
        pairs.append((person, older, newer))
    outcomes = race(
        [
            functools.partial(
                payouts.account_change_confirm, change_id=change.pk, actor=second
            )
            for _, older, newer in pairs
            for change in (older, newer)
        ]
    )
    assert set(outcomes) <= {"ok", "superseded"}, outcomes
    for person, _, newer in pairs:
        assert PayeeAccount.objects.get(trainee=person).number == newer.number
