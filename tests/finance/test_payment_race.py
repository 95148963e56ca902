"""Finance officers recording the same payment at the same moment (issue 6, item 2).

Real threads, each with its own PostgreSQL connection, released together by a barrier,
all recording one claim's advance or balance of one rollup: every round exactly one is
recorded, the others get a clean 409 ``already_paid``, and no (claim, kind) is ever
paid twice. The database itself refuses a second paid row, even by raw SQL.
"""

from __future__ import annotations

import functools
from collections import Counter
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Sum

import pytest

from finance import services
from finance.ledger import money_of
from finance.models import Payment, Recovery, Rollup
from tests.conftest import requires_postgres
from tests.factories import UserFactory
from tests.quarter_run import run_quarter
from tests.racing import race

pytestmark = [
    requires_postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

WRITERS = 12
PAID_ON = date(2020, 5, 10)


@pytest.fixture
def ready_quarter(claim_input: Any, reviewer: Any, settings: Any, tmp_path: Any):
    settings.MEDIA_ROOT = tmp_path
    quarter = run_quarter(claim_input, reviewer)
    rollup = services.rollup_request(quarter="2020Q1", actor=reviewer)
    rollup.refresh_from_db()
    assert rollup.status == "ready"
    return quarter, rollup


def due(claim: Any, kind: str) -> Decimal:
    if kind == "advance":
        return claim.advance
    return money_of(claim.pk).due


def officers() -> list[Any]:
    return [
        UserFactory(username=f"pay_race_{i}", role="finance_officer")
        for i in range(WRITERS)
    ]


def race_payment(claim: Any, kind: str, payers: list[Any]) -> Counter[str]:
    amount = due(claim, kind)
    return race(
        [
            functools.partial(
                services.payment_record,
                claim_id=claim.pk,
                kind=kind,
                amount=amount,
                paid_on=PAID_ON,
                status="paid",
                actor=officer,
            )
            for officer in payers
        ]
    )


def test_racing_officers_pay_each_advance_exactly_once(
    claim_input: Any, reviewer: Any
) -> None:
    """The advances race while the reports are with the prefecture (五(二))."""
    assert connection.vendor == "postgresql"
    payers = officers()
    advanced: list[Any] = []

    def pay_advances(report: Any) -> None:
        for claim in report.claims.filter(advance__gt=0).order_by("pk"):
            outcome = race_payment(claim, "advance", payers)
            assert outcome == Counter({"ok": 1, "already_paid": WRITERS - 1}), (
                claim.pk,
                outcome,
            )
            advanced.append(claim)

    run_quarter(claim_input, reviewer, on_submitted=pay_advances)
    assert len(advanced) >= 4
    for claim in advanced:
        paid = Payment.objects.filter(claim=claim, kind="advance", status="paid")
        assert paid.count() == 1 and paid.get().amount == claim.advance
        assert money_of(claim.pk).advance_paid == claim.advance  # one ledger line


def test_racing_officers_pay_each_balance_exactly_once(ready_quarter: Any) -> None:
    assert connection.vendor == "postgresql"
    quarter, rollup = ready_quarter
    payers = officers()
    for claim in quarter.approved:
        amount = due(claim, "balance")
        outcome = race_payment(claim, "balance", payers)
        assert outcome == Counter({"ok": 1, "already_paid": WRITERS - 1}), (
            claim.pk,
            outcome,
        )
        paid = Payment.objects.filter(claim=claim, kind="balance", status="paid")
        assert paid.count() == 1
        assert paid.get().rollup_id == rollup.pk
        assert paid.get().amount == amount

    twice = (
        Payment.objects.filter(status="paid")
        .values("claim", "kind")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    assert list(twice) == []
    # what was paid per claim is exactly what was approved, to the fen
    for claim in quarter.approved:
        total = Payment.objects.filter(claim=claim, status="paid").aggregate(
            total=Sum("amount")
        )["total"]
        assert total == claim.approved_amount == money_of(claim.pk).paid


def test_a_return_racing_the_advance_never_loses_the_recovery(
    claim_input: Any, reviewer: Any, clerk: Any
) -> None:
    """Officers pay a claim's advance while the reviewer returns it; then the clerk
    withdraws it. Whichever came first, the advance is paid at most once, and whatever
    was paid is to be recovered — never paid and simply gone."""
    assert connection.vendor == "postgresql"
    from claims import services as claim_services
    from quarters import services as quarter_services

    payers = officers()[:6]
    rounds: list[Any] = []

    def race_the_return(report: Any) -> None:
        for claim in report.claims.filter(advance__gt=0).order_by("pk")[:3]:
            calls = [
                functools.partial(
                    services.payment_record,
                    claim_id=claim.pk,
                    kind="advance",
                    amount=claim.advance,
                    paid_on=PAID_ON,
                    status="paid",
                    actor=officer,
                )
                for officer in payers
            ]
            calls.append(
                functools.partial(
                    quarter_services.claim_return,
                    claim_id=claim.pk,
                    actor=reviewer,
                    reason="材料不全",
                )
            )
            outcome = race(calls)
            assert outcome["ok"] in (1, 2) and not any(
                k.startswith("error") for k in outcome
            ), outcome
            rounds.append(claim)

    run_quarter(claim_input, reviewer, on_submitted=race_the_return, decide=False)
    assert rounds
    for claim in rounds:
        claim.refresh_from_db()
        assert claim.status == "returned"
        clerk_of_unit = claim.created_by
        claim_services.claim_withdraw(claim_id=claim.pk, actor=clerk_of_unit)
        paid = Payment.objects.filter(claim=claim, kind="advance", status="paid")
        assert paid.count() <= 1
        money = money_of(claim.pk)
        assert money.owed == 0
        assert money.recovery == money.paid == sum(p.amount for p in paid)
        assert Recovery.objects.filter(claim=claim).count() == (1 if paid else 0)


def test_the_database_refuses_a_second_payment_by_raw_sql(
    ready_quarter: Any, finance: Any
) -> None:
    quarter, rollup = ready_quarter
    claim = quarter.approved[0]
    first = services.payment_record(
        claim_id=claim.pk,
        kind="balance",
        amount=due(claim, "balance"),
        paid_on=PAID_ON,
        status="paid",
        actor=finance,
    )
    insert = (
        f"INSERT INTO {Payment._meta.db_table} "
        "(claim_id, rollup_id, kind, amount, status, paid_on, reference,"
        " failure_reason, recorded_by_id, recorded_at) "
        "VALUES (%s, %s, 'balance', %s, 'paid', %s, 'raw', '', %s, now())"
    )
    refused = pytest.raises(IntegrityError, match="payment_never_twice")
    with refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(insert, [claim.pk, rollup.pk, first.amount, PAID_ON, finance.pk])
    assert Payment.objects.filter(claim=claim, kind="balance").count() == 1
    assert Rollup.objects.get().pk == rollup.pk
