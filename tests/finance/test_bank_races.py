"""Issue 18's races, on real PostgreSQL connections released together: officers
building batches from one rollup at once never put a line in two open batches; one
result file uploaded twice at once records once."""

from __future__ import annotations

import functools
from typing import Any

from django.db.models import Count

import pytest

from finance import payouts, services
from finance.models import BankTemplate, Payment, PaymentBatchLine, PaymentResult
from tests.bank_run import CSV_TEMPLATE, FIXED_TEMPLATE, give_account, result_file
from tests.conftest import requires_postgres
from tests.factories import UserFactory
from tests.quarter_run import run_quarter
from tests.racing import race

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
