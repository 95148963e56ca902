"""The claim summaries (issue 20): counts and sums per month of training end × unit ×
program × fund × status × level, kept in the transaction of every change to a claim.

After a seeded random sequence of transitions through the services (create, edit,
submit, withdraw, delete, the spreadsheet import's bulk create, report, approve,
reject, return, correct and resubmit) every kept figure equals a fresh aggregate over
the claims; ``rebuild_summaries`` says when they differ; two transitions racing on one
summary row on PostgreSQL both count.
"""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal
from io import StringIO
from typing import Any

from django.core.management import call_command
from django.db.models import F
from django.utils import timezone

import pytest

from claims import rules, services, workflow
from claims.models import (
    BacklogEntry,
    Claim,
    ClaimSummary,
    backlog_fresh,
    backlog_stored,
    summaries_fresh,
    summaries_stored,
)
from quarters import services as quarter_services
from tests.conftest import requires_postgres
from tests.factories import (
    InstitutionFactory,
    TraineeFactory,
    UserFactory,
    opened_evidence,
    send_to_prefecture,
)
from tests.racing import race

pytestmark = pytest.mark.django_db

UNITS = ("654301", "654322")


def person() -> Any:
    # either unit may file for them (registered in one, living in the other)
    return TraineeFactory(groups=["poor_labour"], residence_unit_id="654322")


def random_input(
    rng: random.Random, claim_input: Any, trainee_id: int, unit: str, inst: Any
) -> Any:
    month = rng.randint(1, 3)
    end = date(2020, month, rng.randint(20, 28))
    return claim_input(
        trainee_id=trainee_id,
        unit_id=unit,
        institution_id=inst[unit].pk,
        training_start=date(2020, month, 1),
        training_end=end,
        amount_requested=Decimal(
            rng.choice(["1800.00", "1500.50", "999.99", "1200.00"])
        ),
        passed=rng.random() < 0.8,
        employment=rng.choice(["employed", "flexible", "none"]),
    )


def test_every_summary_equals_a_fresh_aggregate_after_random_transitions(
    claim_input, reviewer
):
    rng = random.Random(20)
    clerks = {
        u: UserFactory(username=f"s_clerk_{u}", role="county_clerk", unit_id=u)
        for u in UNITS
    }
    inst = {u: InstitutionFactory(unit_id=u) for u in UNITS}
    drafts: list[tuple[int, str, int]] = []  # (claim, unit, trainee)
    for _ in range(24):
        unit = rng.choice(UNITS)
        who = person()
        claim = services.claim_create(
            data=random_input(rng, claim_input, who.pk, unit, inst),
            actor=clerks[unit],
        )
        drafts.append((claim.pk, unit, who.pk))
    # the spreadsheet import's path: judged inputs written by bulk_create
    for unit in UNITS:
        items = []
        for _ in range(3):
            data = random_input(rng, claim_input, person().pk, unit, inst)
            items.append((data, services.judge(data)))
        services.claims_create_batch(items=items, actor=clerks[unit], submit=False)
    drafts += [
        (c.pk, c.unit_id, c.trainee_id)
        for c in Claim.objects.filter(created_by__in=clerks.values()).exclude(
            pk__in=[d[0] for d in drafts]
        )
    ]
    submitted = []
    for claim_id, unit, trainee_id in drafts:
        action = rng.choice(["edit", "submit", "submit", "submit", "delete", "keep"])
        if action == "edit":
            services.claim_update(
                claim_id=claim_id,
                data=random_input(rng, claim_input, trainee_id, unit, inst),
                actor=clerks[unit],
            )
        eligible = Claim.objects.get(pk=claim_id).eligible
        if action in ("edit", "submit") and eligible:
            services.claim_submit(claim_id=claim_id, actor=clerks[unit])
            submitted.append((claim_id, unit, trainee_id))
        elif action == "delete":
            services.claim_delete(claim_id=claim_id, actor=clerks[unit])
    # one submitted claim of each unit withdrawn before its report is built
    for unit in UNITS:
        mine = [s for s in submitted if s[1] == unit]
        services.claim_withdraw(claim_id=mine[0][0], actor=clerks[unit], reason="撤回")
        submitted.remove(mine[0])
    returned = []
    for unit in UNITS:
        report = quarter_services.report_build(
            unit_id=unit, quarter="2020Q1", actor=clerks[unit]
        )
        report = quarter_services.report_submit(report_id=report.pk, actor=clerks[unit])
        # waiting now: the backlog counts the report's claims, one row per day
        assert backlog_stored() == backlog_fresh() != {}
        assert BacklogEntry.objects.filter(report=report).count() == len(
            {k for k in backlog_fresh() if k[0] == report.pk}
        )
        quarter_services.report_draw_spot_checks(report_id=report.pk, actor=reviewer)
        for check in report.spot_checks.all():
            quarter_services.spot_check_record(
                spot_check_id=check.pk,
                actor=reviewer,
                result="consistent",
                documents=opened_evidence(check.pk, reviewer),
            )
        for claim in report.claims.filter(status=workflow.SUBMITTED).order_by("pk"):
            decision = rng.choice(["approve", "approve", "reject", "return"])
            if decision == "approve":
                quarter_services.claim_approve(claim_id=claim.pk, actor=reviewer)
            elif decision == "reject":
                quarter_services.claim_reject(
                    claim_id=claim.pk, actor=reviewer, reason="材料不全"
                )
            else:
                quarter_services.claim_return(
                    claim_id=claim.pk, actor=reviewer, reason="请更正金额"
                )
                returned.append((claim.pk, unit, claim.trainee_id))
    assert backlog_stored() == backlog_fresh()
    assert quarter_services.backlog_compact_waiting() > 0  # the decisions' rows folded
    assert backlog_stored() == backlog_fresh()
    for (
        claim_id,
        unit,
        trainee_id,
    ) in returned:  # corrected (another month) and sent again
        data = random_input(rng, claim_input, trainee_id, unit, inst)
        services.claim_update(claim_id=claim_id, data=data, actor=clerks[unit])
        if Claim.objects.get(pk=claim_id).eligible:
            services.claim_submit(claim_id=claim_id, actor=clerks[unit])
    statuses = set(Claim.all_rows.values_list("status", flat=True))

    assert statuses >= {
        workflow.DRAFT,
        workflow.SUBMITTED,
        workflow.APPROVED,
        workflow.DELETED,
        workflow.WITHDRAWN,
    }, statuses  # the sequence went through every kind of move it means to test
    assert summaries_stored() == summaries_fresh()
    assert backlog_stored() == backlog_fresh()


def test_rebuild_summaries_says_whether_they_differed(claim_input, clerk):
    services.claim_create(data=claim_input(), actor=clerk)
    quiet = StringIO()
    call_command("rebuild_summaries", stdout=quiet)
    assert "无差异" in quiet.getvalue()

    ClaimSummary.objects.update(claims=F("claims") + 1)  # a row gone wrong
    out = StringIO()
    call_command("rebuild_summaries", stdout=out)

    assert "1 组数字不同" in out.getvalue()
    assert summaries_stored() == summaries_fresh()


def test_rebuild_summaries_puts_the_backlog_right_and_says_so(
    claim_input, clerk, reviewer
):
    claim = services.claim_create(data=claim_input(), actor=clerk)
    services.claim_submit(claim_id=claim.pk, actor=clerk)
    send_to_prefecture(claim, sampled_by=reviewer)
    assert backlog_stored() == backlog_fresh() != {}
    ((key, _),) = backlog_fresh().items()
    BacklogEntry.objects.create(  # a row gone wrong
        report_id=key[0], unit_id=key[1], day=key[2], claims=2, amount=0
    )
    out = StringIO()
    call_command("rebuild_summaries", stdout=out)

    assert "待审核积压与申报不一致：1 组" in out.getvalue()
    assert backlog_stored() == backlog_fresh()
    assert BacklogEntry.objects.count() == 1
    quarter_services.claim_approve(claim_id=claim.pk, actor=reviewer)
    assert backlog_stored() == backlog_fresh() == {}


def test_a_report_discarded_or_built_moves_its_claims_in_and_out_of_the_backlog(
    claim_input, clerk
):
    claim = services.claim_create(data=claim_input(), actor=clerk)
    services.claim_submit(claim_id=claim.pk, actor=clerk)
    report = quarter_services.report_build(
        unit_id=clerk.unit_id, quarter="2020Q1", actor=clerk
    )
    assert set(backlog_stored()) == {
        (report.pk, clerk.unit_id, timezone.localdate(claim.submitted_at))
    }
    quarter_services.report_discard(report_id=report.pk, actor=clerk)
    assert backlog_stored() == backlog_fresh() == {}
    assert quarter_services.backlog_compact_waiting() == 2  # its in and out, folded
    assert not BacklogEntry.objects.exists()


def test_a_deleted_draft_leaves_its_summary_row_at_nothing(claim_input, clerk):
    claim = services.claim_create(data=claim_input(), actor=clerk)
    services.claim_delete(claim_id=claim.pk, actor=clerk)

    assert summaries_stored() == {}
    assert summaries_fresh() == {}


@requires_postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_submissions_racing_on_one_summary_row_both_count(claim_input):
    clerk = UserFactory(username="race_clerk", role="county_clerk", unit_id="654301")
    drafts = [
        services.claim_create(data=claim_input(trainee_id=person().pk), actor=clerk)
        for _ in range(4)
    ]
    key_rows_before = ClaimSummary.objects.count()

    outcomes = race(
        [
            lambda pk=d.pk: services.claim_submit(claim_id=pk, actor=clerk)
            for d in drafts
        ]
    )

    assert outcomes == {"ok": 4}, outcomes
    assert summaries_stored() == summaries_fresh()
    submitted = ClaimSummary.objects.get(status=workflow.SUBMITTED)
    assert submitted.claims == 4
    assert submitted.amount == sum((d.amount for d in drafts), rules.ZERO)
    assert ClaimSummary.objects.count() == key_rows_before + 1


def test_a_save_of_some_fields_counts_only_what_it_writes(claim_input, clerk):
    """A change held in memory but not among ``update_fields`` is not stored, so it
    moves no summary and no backlog row (found by a review of issue 20's backlog)."""
    claim = services.claim_create(data=claim_input(), actor=clerk)
    services.claim_submit(claim_id=claim.pk, actor=clerk)
    send_to_prefecture(claim)
    loaded = Claim.objects.get(pk=claim.pk)
    loaded.status = workflow.APPROVED  # not saved below
    loaded.amount = Decimal("1700.00")
    loaded.save(update_fields=["amount"])

    assert Claim.objects.get(pk=claim.pk).status == workflow.SUBMITTED
    assert summaries_stored() == summaries_fresh()
    assert backlog_stored() == backlog_fresh() != {}


def test_a_claim_reread_is_saved_from_what_is_stored(claim_input, clerk):
    """``refresh_from_db`` after another transaction moved the claim (its report
    discarded): the next save starts from the stored row, not the first load."""
    claim = services.claim_create(data=claim_input(), actor=clerk)
    services.claim_submit(claim_id=claim.pk, actor=clerk)
    report = quarter_services.report_build(
        unit_id=clerk.unit_id, quarter="2020Q1", actor=clerk
    )
    held = Claim.objects.get(pk=claim.pk)  # loaded while in the draft report
    quarter_services.report_discard(report_id=report.pk, actor=clerk)
    held.refresh_from_db()
    held.save()

    assert backlog_stored() == backlog_fresh() == {}
    assert summaries_stored() == summaries_fresh()
