"""A whole quarter on PostgreSQL with a real Redis broker and a real Celery worker.

Clerks of two units submit, reports are built and submitted, the reviewer decides with a
spot check and closes, the rollup task is queued on Redis and built by the worker, the
workbook is read back and every total checked against the database, and payments are
recorded.
"""

from datetime import date
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db.models import Sum

import pytest
from celery.contrib.testing.worker import start_worker
from openpyxl import load_workbook

from altay_skills.celery import app
from claims.models import Claim
from finance import services
from finance.models import Rollup, RollupLine
from tests.conftest import requires_postgres, requires_redis
from tests.quarter_run import run_quarter

pytestmark = [
    requires_postgres,
    requires_redis,
    pytest.mark.real_celery,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def worker(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    assert app.conf.broker_url.startswith("redis://")
    app.conf.task_always_eager = False
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20):
        yield


def wait_ready(rollup_id: int, seconds: float = 60) -> Rollup:
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        rollup = Rollup.objects.get(pk=rollup_id)
        if rollup.status in ("ready", "failed"):
            return rollup
        time.sleep(0.2)
    raise AssertionError(f"rollup still {rollup.status} after {seconds}s")


def test_a_whole_quarter_end_to_end(claim_input, reviewer, finance, worker):
    # given a quarter run through two units' reports and the prefecture's review
    quarter = run_quarter(claim_input, reviewer)
    # when the reviewer sends it to finance, the worker builds the rollup from Redis
    rollup = wait_ready(services.rollup_request(quarter="2020Q1", actor=reviewer).pk)
    assert rollup.status == "ready", rollup.error
    assert rollup.attempts == 1
    # then every total of the workbook equals the database to the fen
    approved = Claim.objects.filter(status="approved")
    db_total = approved.aggregate(t=Sum("approved_amount"))["t"]
    assert (
        RollupLine.objects.filter(rollup=rollup).aggregate(t=Sum("approved"))["t"]
        == db_total
    )
    wb = load_workbook(Path(settings.MEDIA_ROOT) / rollup.workbook)
    summary = list(wb["汇总"].iter_rows(values_only=True))
    total_row = next(r for r in summary if r[1] == "合计")
    assert Decimal(str(total_row[6])) == db_total
    assert total_row[3] == approved.count() == len(quarter.approved)
    fund_rows = list(
        wb["职业技能提升行动专项资金"].iter_rows(min_row=3, values_only=True)
    )
    assert sorted(r[0] for r in fund_rows[:-1]) == sorted(c.pk for c in approved)
    # and finance records the payments
    for claim in approved:
        services.payment_record(
            claim_id=claim.pk,
            kind="balance",
            amount=claim.approved_amount,
            paid_on=date(2020, 5, 10),
            status="paid",
            actor=finance,
            reference=f"P{claim.pk}",
        )
    assert {services.payment_state(c) for c in approved} == {"paid"}
