from collections import Counter

from django.core.management import call_command
from django.db.models import F

import pytest

from accounts.models import User
from claims.models import Claim, ClaimEvent
from programs.models import PolicyEntry
from trainees.models import Trainee

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path


def snapshot():
    return (
        User.objects.count(),
        Trainee.objects.count(),
        Claim.objects.count(),
        ClaimEvent.objects.count(),
        PolicyEntry.objects.count(),
    )


def test_seed_demo_gives_every_role_and_every_status_and_is_idempotent():
    call_command("seed_demo", verbosity=0)
    first = snapshot()
    call_command("seed_demo", verbosity=0)
    assert snapshot() == first
    roles = set(User.objects.values_list("role", flat=True))
    assert roles == {
        "county_clerk",
        "prefecture_reviewer",
        "finance_officer",
        "auditor",
        "administrator",
    }
    statuses = Counter(Claim.objects.values_list("status", flat=True))
    assert set(statuses) == {
        "draft",
        "submitted",
        "approved",
        "rejected",
        "returned",
        "withdrawn",
    }
    assert len(set(Claim.objects.values_list("unit_id", flat=True))) >= 4


def test_demo_caps_are_marked_as_demo():
    call_command("seed_demo", verbosity=0)
    demo = PolicyEntry.objects.filter(program__in=[1, 2, 6, 7, 10])
    assert demo.exists()
    assert all(e.is_demo and "演示" in e.source_document for e in demo)
    assert not PolicyEntry.objects.filter(
        program__in=[3, 5, 9, 11], is_demo=True
    ).exists()


def test_no_demo_claim_was_reviewed_by_its_maker():
    call_command("seed_demo", verbosity=0)
    assert (
        not Claim.objects.filter(reviewed_by_id__isnull=False)
        .filter(reviewed_by_id=F("created_by_id"))
        .exists()
    )


def test_the_demo_runs_quarters_through_review_to_finance():
    from finance.models import Payment, Rollup
    from quarters.models import QuarterlyReport

    call_command("seed_demo", verbosity=0)
    assert QuarterlyReport.objects.filter(status="closed").exists()
    assert QuarterlyReport.objects.filter(status="submitted").exists()  # work waiting
    assert Rollup.objects.filter(status="ready").exists()
    assert Payment.objects.filter(status="failed").exists()
    assert not Claim.objects.filter(
        status__in=["approved", "rejected"], report=None, report_items=None
    ).exists()
