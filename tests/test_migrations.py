from django.core.management import call_command

import pytest


@pytest.mark.django_db
def test_models_and_migrations_agree():
    # Fails when a model changed without a migration, or a migration is unstable.
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


# --- Issue 11: the models moved between apps with their tables kept ---------------------
OLD_LAYOUT = [
    ("claims", "0009_claim_certificate_key"),
    ("reporting", "0003_outbox"),
    ("quarters", None),
    ("finance", None),
    ("altay_skills", None),
]


def _migrate(targets):
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    nodes = [(app, name) for app, name in targets if name is not None]
    return MigrationExecutor(connection).loader.project_state(nodes).apps


def _latest():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def _everything():
    """Every row of the moved models (and the claims), as the current code sees them."""
    from altay_skills.models import OutboxMessage
    from claims.models import Claim, ClaimEvent
    from finance.models import Payment, Recovery, Rollup, RollupLine
    from quarters.models import (
        BudgetOverride,
        FundBudget,
        QuarterlyReport,
        ReportItem,
        SpotCheck,
    )

    models = [
        Claim,
        ClaimEvent,
        QuarterlyReport,
        ReportItem,
        SpotCheck,
        FundBudget,
        FundBudget.history.model,
        BudgetOverride,
        Rollup,
        RollupLine,
        Payment,
        Recovery,
        OutboxMessage,
    ]
    return {
        m._meta.label: sorted(m.objects.values_list("pk", flat=True)) for m in models
    }


# serialized_rollback: a transactional test run before this one may have flushed the
# reference data (units, programs) that the data migrations loaded.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_database_of_the_old_layout_migrates_in_place_and_keeps_every_row(
    claim_input,
    reviewer,
    finance,
    django_capture_on_commit_callbacks,
    tmp_path,
    settings,
):
    from datetime import date
    from decimal import Decimal

    from django.contrib.contenttypes.models import ContentType

    from finance import services as finance_services
    from quarters.budgets import budget_set
    from tests.quarter_run import run_quarter

    settings.MEDIA_ROOT = tmp_path
    # given a quarter decided, a budget, a rollup built and an advance paid
    budget_set(
        unit_id="654301",
        year=2020,
        fund="special",
        amount=Decimal("100000"),
        actor=finance,
    )
    # no documents: going back to the old layout drops their table (issue 16's)
    quarter = run_quarter(claim_input, reviewer, evidence=False)
    with django_capture_on_commit_callbacks(execute=True):
        rollup = finance_services.rollup_request(quarter="2020Q1", actor=reviewer)
    paid = quarter.approved[0]
    finance_services.payment_record(
        claim_id=paid.pk,
        kind="balance",
        amount=paid.approved_amount,  # no advance was paid: the whole is due
        paid_on=date(2020, 6, 1),
        status="paid",
        actor=finance,
        reference="B-1",
    )
    before = _everything()
    empty = {
        "quarters.BudgetOverride",
        "finance.Recovery",
        "altay_skills.OutboxMessage",
    }
    assert all(before[label] for label in before if label not in empty), before

    # when the database goes back to the layout before issue 11 (the tables untouched)
    old = _migrate(OLD_LAYOUT)
    # then the old layout's models read the very same rows
    assert (
        sorted(
            old.get_model("claims", "QuarterlyReport").objects.values_list(
                "pk", flat=True
            )
        )
        == before["quarters.QuarterlyReport"]
    )
    assert (
        sorted(
            old.get_model("reporting", "Payment").objects.values_list("pk", flat=True)
        )
        == before["finance.Payment"]
    )
    # and a row written under the old layout ...
    old_report = old.get_model("claims", "QuarterlyReport").objects.create(
        unit_id="654322",
        quarter="2020Q2",
        built_by_id=reviewer.pk,
    )
    old_rollup = old.get_model("reporting", "Rollup").objects.create(
        quarter="2020Q3", requested_by_id=reviewer.pk
    )

    # when it migrates forward again
    _migrate(_latest())

    # then every row is found through the new apps, the old layout's rows too
    after = _everything()
    assert after["quarters.QuarterlyReport"] == sorted(
        before["quarters.QuarterlyReport"] + [old_report.pk]
    )
    assert after["finance.Rollup"] == sorted(before["finance.Rollup"] + [old_rollup.pk])
    for label, pks in before.items():
        assert set(pks) <= set(after[label]), label
    from claims.models import Claim

    claim = Claim.objects.select_related("report").get(pk=paid.pk)
    assert claim.report.quarter == "2020Q1"
    assert claim.payments.get().reference == "B-1"
    assert rollup.pk in after["finance.Rollup"]
    # the content types followed the models
    assert not ContentType.objects.filter(
        app_label__in=["claims", "reporting"],
        model__in=[
            "quarterlyreport",
            "spotcheck",
            "rollup",
            "payment",
            "outboxmessage",
        ],
    ).exists()
    # and the audit trail still verifies
    call_command("verify_audit", verbosity=0)


# --- Issue 12, 7: providers registered before proposals existed stay in the catalogue --------
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_providers_registered_before_proposals_stay_admitted():
    from programs.models import Institution
    from tests.factories import make_credit_code

    # given providers written before proposals existed (admitted by default then)
    old = _migrate([("programs", "0003_chinese_constraint_messages")])
    old_model = old.get_model("programs", "Institution")
    before = old_model.objects.create(
        name="旧目录内的学校",
        kind="training_institution",
        credit_code=make_credit_code(),
        unit_id="654301",
    )
    left_out = old_model.objects.create(
        name="旧目录外的学校",
        kind="training_institution",
        credit_code=make_credit_code(),
        unit_id="654301",
        admitted=False,
    )

    # when the database migrates forward
    _migrate(_latest())

    # then the first is still in the catalogue and the second still out; no one is
    # named as having proposed or admitted either
    rows = {
        i.pk: (i.admitted, i.proposed_by_id, i.admitted_by_id)
        for i in Institution.objects.filter(pk__in=[before.pk, left_out.pk])
    }
    assert rows == {before.pk: (True, None, None), left_out.pk: (False, None, None)}
