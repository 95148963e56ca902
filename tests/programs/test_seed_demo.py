from collections import Counter
from datetime import date

from django.core.management import call_command
from django.db.models import F

import pytest

from accounts.models import User
from claims.models import Claim, ClaimEvent
from classes.models import ClassEvent, RosterLine, TrainingClass
from finance.models import ClassAdvance
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
        TrainingClass.objects.count(),
        ClassEvent.objects.count(),
        ClassAdvance.objects.count(),
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
        "institution_staff",
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
    demo = PolicyEntry.objects.filter(program__in=[1, 2, 6, 7, 10], kind="cap")
    assert demo.exists()
    assert all(e.is_demo and "演示" in e.source_document for e in demo)
    # the notice's own figures are never demo data within its plan (2019—2021)
    assert (
        not PolicyEntry.objects.filter(
            program__in=[3, 5, 9, 11], is_demo=True, effective_from__lt=date(2022, 1, 1)
        )
        .exclude(kind="project_uplift")
        .exists()
    )


def test_the_demo_enters_illustrative_successor_terms_and_county_decisions():
    call_command("seed_demo", verbosity=0)
    # 标题、二: the notice's terms end 2021-12-31; the demo's later years are judged by
    # illustrative successor terms, each marked as demo data in its document and note
    after = PolicyEntry.objects.filter(effective_from=date(2022, 1, 1))
    assert {"plan_period", "cap", "annual_limit", "advance_ratio"} <= set(
        after.values_list("kind", flat=True)
    )
    assert all(
        e.is_demo and "演示" in e.source_document and "不是真实政策" in e.note
        for e in after
    )
    assert not after.filter(kind="project_uplift").exists()
    # 三(二)9: the uplift is a county's decision, entered per unit (illustrative)
    uplifts = PolicyEntry.objects.filter(kind="project_uplift", unit__isnull=False)
    assert set(uplifts.values_list("unit_id", flat=True)) == {"654301", "654324"}
    assert all(e.is_demo and "演示" in e.source_document for e in uplifts)
    # a claim ended today can be judged in the demo
    assert PolicyEntry.objects.filter(
        kind="plan_period", effective_from__lte=date.today(), effective_to=None
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


def test_the_demo_fills_every_panel_a_newcomer_opens():
    """Issue 15: a budget, an anomaly of each kind and a warned claim waiting for the
    reviewer in a submitted report — every panel has something in it."""
    from quarters.models import FundBudget
    from reporting import anomalies

    call_command("seed_demo", verbosity=0)
    # a budget, which the reviewer's report shows the waiting claims against
    assert FundBudget.objects.exists()
    # every list of the anomaly page
    found = anomalies.anomalies()
    assert found.certificates, "one certificate on several claims"
    assert found.overlaps, "overlapping trainings"
    assert found.bursts, "a burst of claims"
    assert found.ages, "an age outside 16–65"
    assert found.phones, "one phone number on several people"
    assert found.spot_check_overrides, "an approval past an inconsistent spot check"
    # a warned claim of each code the decision carries, one of them to decide
    from claims.warnings import warnings_for_claims

    warned = {
        pk: {w.code for w in ws}
        for pk, ws in warnings_for_claims(
            list(Claim.objects.values_list("pk", flat=True))
        ).items()
        if ws
    }
    codes = set().union(*warned.values())
    assert codes >= {"training_overlap", "certificate_reused", "age_unusual"}
    waiting = Claim.objects.filter(
        pk__in=warned, status="submitted", report__status="submitted"
    )
    assert waiting.count() >= 2
    # beside a claim without warnings in the same report (bulk approval asks)
    report = waiting.first().report
    assert report.claims.filter(status="submitted").exclude(pk__in=warned).exists()


def test_the_demo_shows_a_class_at_each_status_and_the_running_ones_advance():
    """Issue 16: every status of a class, with rosters and sessions; the project-based
    claims of program 9 come from completed classes; the running project-based class
    has its advance paid; the classes' anomalies each have an example."""
    from io import StringIO

    from django.core.management import call_command as run

    from reporting.anomalies import anomalies

    call_command("seed_demo", verbosity=0)

    statuses = Counter(TrainingClass.objects.values_list("status", flat=True))
    assert set(statuses) == {
        "draft",
        "filed",
        "accepted",
        "returned",
        "running",
        "completed",
        "cancelled",
    }
    assert not TrainingClass.objects.filter(roster__isnull=True).exists()
    for cls in TrainingClass.objects.filter(status__in=["running", "completed"]):
        assert cls.sessions.exists(), cls
    # no project-based claim of program 9 that did not come from a class
    hand_made = Claim.objects.filter(
        program_id=9, project_based=True, roster_line__isnull=True
    )
    assert not hand_made.exists()
    completed = RosterLine.objects.filter(
        training_class__status="completed", claim__isnull=False
    )
    assert completed.count() == TrainingClass.objects.filter(status="completed").count()
    (advance,) = ClassAdvance.objects.all()
    assert advance.training_class.status == "running"
    assert advance.training_class.project_based
    assert advance.amount > 0
    found = anomalies()
    assert found.class_overlaps and found.roster_ages and found.perfect_classes
    out = StringIO()
    run("verify_audit", stdout=out, stderr=StringIO())
    assert "培训班先行拨付与审计链一致：1 笔" in out.getvalue()


def test_the_demo_has_codes_one_confirmed_and_one_disputed():
    """Issue 17: the submitted demo claims carry codes; one trainee confirmed, one
    said "not me" (an open grievance), and a second run changes nothing."""
    from claims.models import TraineeConfirmation, TraineeGrievance

    call_command("seed_demo")
    call_command("seed_demo")
    statuses = list(TraineeConfirmation.objects.values_list("status", flat=True))
    assert statuses.count("confirmed") == 1
    assert statuses.count("disputed") == 1
    assert statuses.count("pending") >= 1
    assert TraineeGrievance.objects.filter(outcome="").count() == 1


def test_a_newcomer_in_finance_can_build_a_bank_batch_from_the_demo():
    """A newcomer's review: no claim of the demo's rollups had a payee account, so
    finance could build no bank batch, and the README's walkthrough could not be
    followed. One more ready rollup's payees have accounts — entered by a clerk,
    confirmed by a second finance officer (finance2) — and its balances are payable."""
    from finance import payouts
    from finance.models import PayeeAccountChange, Rollup

    call_command("seed_demo", verbosity=0)
    finance = User.objects.get(username="finance")
    plans = {
        rollup.quarter: payouts.batch_plan(rollup.quarter, "balance", actor=finance)
        for rollup in Rollup.objects.filter(status="ready")
    }

    assert any(plan.lines for plan in plans.values()), {
        q: p.skipped for q, p in plans.items()
    }
    confirmed = PayeeAccountChange.objects.filter(status="confirmed")
    assert confirmed.exists()
    assert set(confirmed.values_list("decided_by__username", flat=True)) == {"finance2"}
