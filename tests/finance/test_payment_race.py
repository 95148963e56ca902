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
from finance.models import Payment, Rollup
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
    advanced = claim.payments.filter(kind="advance", status="paid").aggregate(
        total=Sum("amount")
    )["total"] or Decimal("0")
    return claim.approved_amount - advanced


def test_racing_officers_pay_each_amount_exactly_once(ready_quarter: Any) -> None:
    assert connection.vendor == "postgresql"
    quarter, rollup = ready_quarter
    officers = [
        UserFactory(username=f"pay_race_{i}", role="finance_officer")
        for i in range(WRITERS)
    ]
    # every advance first (enterprise-run claims), then every balance: 9 rounds
    targets = [(c, "advance") for c in quarter.approved if c.advance > 0]
    targets += [(c, "balance") for c in quarter.approved]
    assert len(targets) >= 8

    for claim, kind in targets:
        amount = due(claim, kind)

        calls = [
            functools.partial(
                services.payment_record,
                claim_id=claim.pk,
                kind=kind,
                amount=amount,
                paid_on=PAID_ON,
                status="paid",
                actor=officer,
            )
            for officer in officers
        ]
        outcome = race(calls)
        assert outcome == Counter({"ok": 1, "already_paid": WRITERS - 1}), (
            claim.pk,
            kind,
            outcome,
        )
        paid = Payment.objects.filter(claim=claim, kind=kind, status="paid")
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
        assert total == claim.approved_amount


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
