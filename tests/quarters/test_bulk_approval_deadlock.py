"""Two bulk approvals at once over the same summary rows never deadlock (issue 20,
docs/scaling.md 4a).

Each approval moves its claim between two ``ClaimSummary`` rows (out of the month's
"submitted" row, into its "approved" one), locking them until commit. A bulk approval
used to decide its claims in id order: reviewer A's selection (a March claim, then a
February one) and reviewer B's (a February claim, then a March one) locked the two
months' rows in opposite orders, and where no budget row serialised them (no budget
set for the fund) PostgreSQL broke the deadlock by failing one of them — a 500 for
that reviewer. Now every transaction takes summary rows in one order (the claims of a
selection are decided in the order of their summary rows).
"""

from __future__ import annotations

import contextlib
import threading
from datetime import date
from typing import Any

from django.db import connections

import pytest

from claims import services
from quarters import services as quarter_services
from tests.conftest import requires_postgres
from tests.factories import TraineeFactory, UserFactory, clear_spot_checks

pytestmark = [
    requires_postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

FEBRUARY = (date(2020, 2, 1), date(2020, 2, 28))
MARCH = (date(2020, 3, 1), date(2020, 3, 31))


def test_two_bulk_approvals_crossing_months_both_succeed(
    clerk: Any, reviewer: Any, claim_input: Any, monkeypatch: Any
) -> None:
    # given four claims of one unit, in id order: March, February, February, March
    ids = []
    for start, end in (MARCH, FEBRUARY, FEBRUARY, MARCH):
        person = TraineeFactory(groups=["poor_labour"])
        draft = services.claim_create(
            data=claim_input(
                trainee_id=person.pk, training_start=start, training_end=end
            ),
            actor=clerk,
        )
        ids.append(services.claim_submit(claim_id=draft.pk, actor=clerk).pk)
    report = quarter_services.report_build(
        unit_id="654301", quarter="2020Q1", actor=clerk
    )
    report = quarter_services.report_submit(report_id=report.pk, actor=clerk)
    clear_spot_checks(report, reviewer)  # drawn before any approval
    other = UserFactory(username="reviewer2", role="prefecture_reviewer")

    # each approval waits (a little) for the other's first decision before its second,
    # so that both hold one month's rows when they reach for the other's
    barrier = threading.Barrier(2)
    decided: dict[int, int] = {}
    real_decide = quarter_services._decide

    def decide(claim_id: int, *args: Any, **kwargs: Any) -> Any:
        result = real_decide(claim_id, *args, **kwargs)
        me = threading.get_ident()
        decided[me] = decided.get(me, 0) + 1
        if decided[me] == 1:
            # broken: the other waits on our rows (no deadlock), go on
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=3)
        return result

    monkeypatch.setattr(quarter_services, "_decide", decide)
    outcomes: dict[str, str] = {}

    def approve(name: str, selection: list[int], actor: Any) -> None:
        try:
            quarter_services.claims_approve_bulk(claim_ids=selection, actor=actor)
            outcomes[name] = "ok"
        except Exception as error:
            outcomes[name] = f"{type(error).__name__}: {error}"
        finally:
            connections.close_all()

    # when A approves (March, February) and B (February, March) at the same moment
    threads = [
        threading.Thread(target=approve, args=("A", ids[:2], reviewer)),
        threading.Thread(target=approve, args=("B", ids[2:], other)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # then both selections are approved
    assert outcomes == {"A": "ok", "B": "ok"}
    from claims.models import Claim

    assert set(Claim.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        "approved"
    }
