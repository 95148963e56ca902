"""What must never happen is refused by the database itself, whatever code writes."""

from datetime import date
from decimal import Decimal

from django.db import IntegrityError, transaction

import pytest

from claims.models import Claim
from tests.factories import TraineeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def row(trainee, institution, clerk):
    """Insert a claim row directly, as a buggy script or raw SQL would."""

    def insert(**overrides):
        values = dict(
            trainee=trainee,
            program_id=9,
            institution=institution,
            unit_id="654301",
            training_start=date(2020, 3, 1),
            training_end=date(2020, 3, 31),
            amount_requested=Decimal("1800.00"),
            amount=Decimal("1800.00"),
            cap=Decimal("1800.00"),
            trade_id="4-03-02-01",
            level_id="intermediate",
            status="submitted",
            limit_year=2020,
            limit_slot=1,
            created_by=clerk,
        )
        values.update(overrides)
        with transaction.atomic():
            return Claim.objects.create(**values)

    return insert


def test_a_negative_amount_is_refused(row):
    with pytest.raises(IntegrityError):
        row(
            status="draft",
            limit_slot=None,
            limit_year=None,
            amount_requested=Decimal("-1.00"),
            amount=Decimal("0"),
        )


def test_an_amount_above_its_cap_is_refused(row):
    with pytest.raises(IntegrityError):
        row(amount=Decimal("1800.01"))


def test_a_submitted_request_above_its_cap_is_refused(row):
    with pytest.raises(IntegrityError):
        row(amount_requested=Decimal("2000.00"))


def test_a_submitted_claim_without_a_cap_is_refused(row):
    with pytest.raises(IntegrityError):
        row(cap=None)


def test_two_live_claims_for_one_trade_and_level_are_refused(row):
    row()
    with pytest.raises(IntegrityError):
        row(limit_slot=2, training_end=date(2020, 4, 30))


def test_a_rejected_claim_does_not_block_the_same_trade_and_level(row):
    row(status="rejected", limit_slot=None, limit_year=None)
    assert row().pk


def test_a_fourth_live_claim_in_a_year_has_no_slot(row):
    for slot, trade in zip(
        (1, 2, 3), ("6-31-01-03", "4-07-05-01", "4-10-01-05"), strict=True
    ):
        row(limit_slot=slot, trade_id=trade)
    with pytest.raises(IntegrityError):
        row(limit_slot=3, trade_id="4-01-06-01")
    with pytest.raises(IntegrityError):
        row(limit_slot=4, trade_id="4-01-06-01")


def test_a_live_counted_claim_must_hold_a_slot(row):
    with pytest.raises(IntegrityError):
        row(limit_slot=None, limit_year=None)


def test_the_slot_year_is_the_year_training_ended(row):
    with pytest.raises(IntegrityError):
        row(limit_year=2019)


def test_program_11_holds_no_slot(row):
    assert row(
        program_id=11,
        trade_id=None,
        level_id=None,
        limit_slot=None,
        limit_year=None,
        cap=Decimal("3000.00"),
        amount=Decimal("3000.00"),
        amount_requested=Decimal("3000.00"),
    ).pk


def test_the_maker_is_never_the_checker(row, clerk):
    with pytest.raises(IntegrityError):
        row(status="approved", reviewed_by=clerk)


def test_the_slot_is_per_person(row, institution, clerk):
    row()
    other = TraineeFactory()
    assert row(trainee=other).pk
