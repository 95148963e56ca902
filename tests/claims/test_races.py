"""Clerks of two units submitting for one person at the same moment (五(二)).

Real threads, each with its own PostgreSQL connection, released together by a barrier.
Exactly the allowed number succeed, every round.
"""

import threading
from collections import Counter
from datetime import date

from django.db import connection, connections

import pytest

from altay_skills.errors import Conflict
from claims import services
from claims.models import Claim
from tests.conftest import requires_postgres
from tests.factories import InstitutionFactory, TraineeFactory, UserFactory

pytestmark = [
    requires_postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

WRITERS = 12
ROUNDS = 8
#: The second racing unit: the people live there (五(二)), so both units may file.
B_UNIT = "654322"
TRADES = [
    "6-31-01-03",
    "4-07-05-01",
    "4-10-01-05",
    "4-01-06-01",
    "4-03-02-02",
    "4-12-01-01",
    "6-18-02-04",
    "4-10-01-06",
    "4-14-06-02",
    "4-07-04-01",
    "4-13-01-03",
    "6-09-03-17",
]


def race(claim_ids_and_actors):
    barrier = threading.Barrier(len(claim_ids_and_actors))
    outcomes: list[str] = []
    lock = threading.Lock()

    def submit(claim_id, actor):
        try:
            barrier.wait(timeout=10)
            services.claim_submit(claim_id=claim_id, actor=actor)
            result = "ok"
        except Conflict as exc:
            result = exc.code
        finally:
            connections.close_all()
        with lock:
            outcomes.append(result)

    threads = [
        threading.Thread(target=submit, args=pair) for pair in claim_ids_and_actors
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return Counter(outcomes)


@pytest.fixture
def two_units():
    clerk_a = UserFactory(username="race_a", role="county_clerk", unit_id="654301")
    clerk_b = UserFactory(username="race_b", role="county_clerk", unit_id="654322")
    inst_a = InstitutionFactory(unit_id="654301")
    inst_b = InstitutionFactory(unit_id="654322")
    return [(clerk_a, inst_a), (clerk_b, inst_b)]


def drafts(two_units, claim_input, trainee, trades):
    pairs = []
    for i, trade in enumerate(trades):
        clerk, inst = two_units[i % 2]
        claim = services.claim_create(
            data=claim_input(
                trainee_id=trainee.pk,
                trade_id=trade,
                unit_id=clerk.unit_id,
                institution_id=inst.pk,
            ),
            actor=clerk,
        )
        pairs.append((claim.pk, clerk))
    return pairs


def test_racing_writers_never_pass_three_claims_a_year(two_units, claim_input):
    assert connection.vendor == "postgresql"
    for _ in range(ROUNDS):
        person = TraineeFactory(groups=["poor_labour"], residence_unit_id=B_UNIT)
        outcome = race(drafts(two_units, claim_input, person, TRADES[:WRITERS]))
        assert outcome == Counter({"ok": 3, "not_eligible": WRITERS - 3}), outcome
        live = Claim.objects.filter(trainee=person, status="submitted")
        assert live.count() == 3
        assert sorted(live.values_list("limit_slot", flat=True)) == [1, 2, 3]


def test_racing_writers_never_pass_one_trade_and_level(two_units, claim_input):
    for _ in range(ROUNDS):
        person = TraineeFactory(groups=["poor_labour"], residence_unit_id=B_UNIT)
        outcome = race(drafts(two_units, claim_input, person, ["6-31-01-03"] * WRITERS))
        assert outcome == Counter({"ok": 1, "not_eligible": WRITERS - 1}), outcome
        assert Claim.objects.filter(trainee=person, status="submitted").count() == 1


def test_claims_of_different_people_do_not_block_each_other(two_units, claim_input):
    pairs = []
    for _ in range(WRITERS):
        person = TraineeFactory(groups=["poor_labour"], residence_unit_id=B_UNIT)
        pairs += drafts(two_units, claim_input, person, ["6-31-01-03"])
    assert race(pairs) == Counter({"ok": WRITERS})


def test_rules_hold_at_every_round_on_a_fresh_slot_year(two_units, claim_input):
    # A person with 3 live claims in 2020 can still be filed for in 2021, once per slot.
    person = TraineeFactory(groups=["poor_labour"], residence_unit_id=B_UNIT)
    race(drafts(two_units, claim_input, person, TRADES[:3]))
    next_year = []
    for i, trade in enumerate(TRADES[3 : 3 + WRITERS - 3]):
        clerk, inst = two_units[i % 2]
        claim = services.claim_create(
            data=claim_input(
                trainee_id=person.pk,
                trade_id=trade,
                unit_id=clerk.unit_id,
                institution_id=inst.pk,
                training_start=date(2021, 3, 1),
                training_end=date(2021, 3, 31),
            ),
            actor=clerk,
        )
        next_year.append((claim.pk, clerk))
    assert race(next_year)["ok"] == 3
    assert Claim.objects.filter(trainee=person, status="submitted").count() == 6
