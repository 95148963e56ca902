"""The county quarterly report: built, frozen on submission, reviewed, spot-checked."""

from datetime import date
from decimal import Decimal

from django.db import IntegrityError, transaction

import pytest

from altay_skills.errors import Conflict, DomainError, NotFound, PermissionDenied
from claims import rules, services
from claims.models import ClaimEvent
from quarters import services as quarter_services
from quarters.models import QuarterlyReport, ReportItem, SpotCheck
from tests.factories import clear_spot_checks, opened_evidence

pytestmark = pytest.mark.django_db

TRADES = ["6-31-01-03", "4-07-05-01", "4-10-01-05"]


@pytest.fixture
def three_submitted(clerk, claim_input):
    claims = []
    for trade in TRADES:
        draft = services.claim_create(data=claim_input(trade_id=trade), actor=clerk)
        claims.append(services.claim_submit(claim_id=draft.pk, actor=clerk))
    return claims


@pytest.fixture
def submitted_report(clerk, three_submitted):
    report = quarter_services.report_build(
        unit_id="654301", quarter="2020Q1", actor=clerk
    )
    return quarter_services.report_submit(report_id=report.pk, actor=clerk)


def test_build_takes_submitted_claims_not_yet_reported(
    clerk, three_submitted, claim_input
):
    # given a draft that is not submitted
    services.claim_create(data=claim_input(trade_id="4-01-06-01"), actor=clerk)
    report = quarter_services.report_build(
        unit_id="654301", quarter="2020Q1", actor=clerk
    )
    assert set(report.claims.values_list("pk", flat=True)) == {
        c.pk for c in three_submitted
    }
    assert report.status == "draft"


def test_build_leaves_out_trainings_ending_after_the_quarter(clerk, claim_input):
    late = services.claim_create(
        data=claim_input(
            training_start=date(2020, 4, 1), training_end=date(2020, 4, 20)
        ),
        actor=clerk,
    )
    services.claim_submit(claim_id=late.pk, actor=clerk)
    report = quarter_services.report_build(
        unit_id="654301", quarter="2020Q1", actor=clerk
    )
    assert not report.claims.exists()


def test_submission_freezes_list_count_and_control_total(
    submitted_report, three_submitted
):
    assert submitted_report.status == "submitted"
    assert submitted_report.claim_count == 3
    assert submitted_report.control_total == Decimal("5400.00")
    assert ReportItem.objects.filter(report=submitted_report).count() == 3
    assert ClaimEvent.objects.filter(action="report").count() == 3


def test_one_live_report_per_unit_and_quarter(clerk, submitted_report):
    with pytest.raises(Conflict):
        quarter_services.report_build(unit_id="654301", quarter="2020Q1", actor=clerk)
    with pytest.raises(IntegrityError), transaction.atomic():
        QuarterlyReport.objects.create(
            unit_id="654301", quarter="2020Q1", built_by=clerk
        )


def test_an_empty_report_cannot_be_submitted(clerk):
    report = quarter_services.report_build(
        unit_id="654301", quarter="2020Q1", actor=clerk
    )
    with pytest.raises(DomainError, match="没有"):
        quarter_services.report_submit(report_id=report.pk, actor=clerk)


def test_a_future_quarter_or_a_bad_label_is_refused(clerk):
    with pytest.raises(DomainError):
        quarter_services.report_build(unit_id="654301", quarter="2099Q1", actor=clerk)
    with pytest.raises(DomainError):
        quarter_services.report_build(unit_id="654301", quarter="2020Q5", actor=clerk)


def test_another_unit_cannot_see_or_submit_the_report(
    other_clerk, clerk, three_submitted
):
    report = quarter_services.report_build(
        unit_id="654301", quarter="2020Q1", actor=clerk
    )
    with pytest.raises(NotFound):
        quarter_services.report_submit(report_id=report.pk, actor=other_clerk)
    with pytest.raises(PermissionDenied):
        quarter_services.report_build(
            unit_id="654301", quarter="2020Q1", actor=other_clerk
        )


def test_spot_checks_are_reproducible_from_the_recorded_seed(
    reviewer, submitted_report
):
    checks = quarter_services.report_draw_spot_checks(
        report_id=submitted_report.pk, actor=reviewer, share=Decimal("0.5")
    )
    submitted_report.refresh_from_db()
    ids = submitted_report.items.values_list("claim_id", flat=True)
    redrawn = rules.spot_check_sample(
        ids, submitted_report.spot_check_share, submitted_report.spot_check_seed
    )
    assert sorted(c.claim_id for c in checks) == redrawn
    assert len(redrawn) == 2  # ceil(3 × 50%)


def test_the_draw_leaves_out_claims_already_decided_and_records_what_it_drew_from(
    reviewer, submitted_report, three_submitted
):
    # given one claim returned and one rejected before the draw (no draw needed)
    returned, rejected, left = three_submitted
    quarter_services.claim_return(
        claim_id=returned.pk, actor=reviewer, reason="缺签到表"
    )
    quarter_services.claim_reject(
        claim_id=rejected.pk, actor=reviewer, reason="材料不全"
    )
    # when the whole report is to be drawn (observed: every listed claim was drawn, so
    # a returned claim took a pending check it could never leave, and the draw spent
    # itself on claims that will never be paid)
    checks = quarter_services.report_draw_spot_checks(
        report_id=submitted_report.pk, actor=reviewer, share=Decimal("1")
    )
    # then only the claim still to decide is drawn
    assert [c.claim_id for c in checks] == [left.pk]
    drawn = submitted_report.events.get(action="draw_spot_checks").changes
    assert drawn["population"] == [left.pk]
    assert drawn["claims"] == rules.spot_check_sample(
        drawn["population"], Decimal(drawn["share"]), drawn["seed"]
    )


def test_a_check_left_pending_in_a_report_the_claim_left_does_not_hold_it_up(
    clerk, reviewer, submitted_report, three_submitted
):
    # given a sampled claim returned before its check was recorded, its report closed
    x, *others = three_submitted
    quarter_services.report_draw_spot_checks(
        report_id=submitted_report.pk, actor=reviewer, share=Decimal("1")
    )
    quarter_services.claim_return(claim_id=x.pk, actor=reviewer, reason="金额有误")
    for claim in others:
        quarter_services.claim_reject(claim_id=claim.pk, actor=reviewer, reason="重复")
    quarter_services.report_close(report_id=submitted_report.pk, actor=reviewer)
    assert SpotCheck.objects.get(claim=x).result == "pending"
    # when the corrected claim comes back in the next report, drawn and checked there
    services.claim_submit(claim_id=x.pk, actor=clerk)
    second = quarter_services.report_build(
        unit_id="654301", quarter="2020Q2", actor=clerk
    )
    second = quarter_services.report_submit(report_id=second.pk, actor=clerk)
    clear_spot_checks(second, reviewer)
    # then it is approved (observed: 409 spot_check_pending for good — the first
    # report's check can no longer be recorded once that report is closed)
    approved = quarter_services.claim_approve(claim_id=x.pk, actor=reviewer)
    assert approved.status == "approved"


def test_an_inconsistent_finding_of_an_earlier_report_still_stands(
    clerk, reviewer, submitted_report, three_submitted
):
    x, *others = three_submitted
    quarter_services.report_draw_spot_checks(
        report_id=submitted_report.pk, actor=reviewer, share=Decimal("1")
    )
    quarter_services.spot_check_record(
        spot_check_id=SpotCheck.objects.get(claim=x).pk,
        actor=reviewer,
        result="inconsistent",
        note="签到表与名单不符",
    )
    quarter_services.claim_return(claim_id=x.pk, actor=reviewer, reason="请核实")
    services.claim_submit(claim_id=x.pk, actor=clerk)
    for claim in others:
        quarter_services.claim_reject(claim_id=claim.pk, actor=reviewer, reason="重复")
    quarter_services.report_close(report_id=submitted_report.pk, actor=reviewer)
    second = quarter_services.report_build(
        unit_id="654301", quarter="2020Q2", actor=clerk
    )
    second = quarter_services.report_submit(report_id=second.pk, actor=clerk)
    clear_spot_checks(second, reviewer)
    with pytest.raises(Conflict) as refused:
        quarter_services.claim_approve(claim_id=x.pk, actor=reviewer)
    assert refused.value.code == "spot_check_inconsistent"


def test_spot_checks_cannot_be_redrawn(reviewer, submitted_report):
    quarter_services.report_draw_spot_checks(
        report_id=submitted_report.pk, actor=reviewer
    )
    with pytest.raises(Conflict, match="不能重抽"):
        quarter_services.report_draw_spot_checks(
            report_id=submitted_report.pk, actor=reviewer
        )


def test_the_sample_is_a_stable_function_of_seed():
    assert rules.spot_check_sample(
        range(1, 101), Decimal("0.1"), "abc"
    ) == rules.spot_check_sample(range(100, 0, -1), Decimal("0.1"), "abc")
    assert len(rules.spot_check_sample(range(1, 101), Decimal("0.1"), "abc")) == 10
    assert rules.spot_check_sample([], Decimal("0.1"), "abc") == []


def test_a_report_cannot_close_while_a_sampled_claim_is_undecided(
    reviewer, submitted_report, three_submitted
):
    checks = quarter_services.report_draw_spot_checks(
        report_id=submitted_report.pk, actor=reviewer, share=Decimal("0.34")
    )
    sampled = {c.claim_id for c in checks}
    for claim in three_submitted:
        if claim.pk not in sampled:
            quarter_services.claim_approve(claim_id=claim.pk, actor=reviewer)
    with pytest.raises(Conflict):
        quarter_services.report_close(report_id=submitted_report.pk, actor=reviewer)
    for check in checks:
        quarter_services.spot_check_record(
            spot_check_id=check.pk,
            actor=reviewer,
            result="consistent",
            documents=opened_evidence(check.pk, reviewer),
        )
        quarter_services.claim_approve(claim_id=check.claim_id, actor=reviewer)
    closed = quarter_services.report_close(
        report_id=submitted_report.pk, actor=reviewer
    )
    assert closed.status == "closed"


def test_a_report_cannot_close_before_spot_checks(
    reviewer, submitted_report, three_submitted
):
    for claim in three_submitted:  # decided without a draw: rejected
        quarter_services.claim_reject(
            claim_id=claim.pk, actor=reviewer, reason="材料不全"
        )
    with pytest.raises(Conflict, match="抽查"):
        quarter_services.report_close(report_id=submitted_report.pk, actor=reviewer)


def test_an_inconsistent_spot_check_needs_a_note(reviewer, submitted_report):
    check = quarter_services.report_draw_spot_checks(
        report_id=submitted_report.pk, actor=reviewer
    )[0]
    with pytest.raises(DomainError, match="说明"):
        quarter_services.spot_check_record(
            spot_check_id=check.pk, actor=reviewer, result="inconsistent"
        )
    quarter_services.spot_check_record(
        spot_check_id=check.pk,
        actor=reviewer,
        result="inconsistent",
        note="签到表与名单不符",
    )
    assert SpotCheck.objects.get(pk=check.pk).result == "inconsistent"


def test_bulk_approval_is_all_or_nothing(
    reviewer, clerk, submitted_report, three_submitted
):
    # the maker cannot approve; with the maker as reviewer the whole selection fails
    clerk.role = "prefecture_reviewer"
    clerk.save()
    with pytest.raises(PermissionDenied, match="申报#"):
        quarter_services.claims_approve_bulk(
            claim_ids=[c.pk for c in three_submitted], actor=clerk
        )
    assert all(c.status == "submitted" for c in submitted_report.claims.all())
    # nor, before the report's sample is drawn, can the reviewer
    with pytest.raises(Conflict, match="随机抽查") as refused:
        quarter_services.claims_approve_bulk(
            claim_ids=[c.pk for c in three_submitted], actor=reviewer
        )
    assert refused.value.code == "spot_checks_not_drawn"
    assert all(c.status == "submitted" for c in submitted_report.claims.all())
    clear_spot_checks(submitted_report, reviewer)
    # (one person's three trainings of March overlap: warnings, confirmed)
    approved = quarter_services.claims_approve_bulk(
        claim_ids=[c.pk for c in three_submitted],
        actor=reviewer,
        warnings_confirmed=[c.pk for c in three_submitted],
    )
    assert {c.status for c in approved} == {"approved"}


def test_discarding_a_draft_report_releases_its_claims(clerk, three_submitted):
    report = quarter_services.report_build(
        unit_id="654301", quarter="2020Q1", actor=clerk
    )
    quarter_services.report_discard(report_id=report.pk, actor=clerk)
    again = quarter_services.report_build(
        unit_id="654301", quarter="2020Q1", actor=clerk
    )
    assert again.pk != report.pk and again.claims.count() == 3


def test_withdrawing_leaves_a_draft_report(clerk, three_submitted):
    report = quarter_services.report_build(
        unit_id="654301", quarter="2020Q1", actor=clerk
    )
    services.claim_withdraw(claim_id=three_submitted[0].pk, actor=clerk)
    assert report.claims.count() == 2


def test_a_claim_in_a_submitted_report_cannot_be_withdrawn(
    clerk, submitted_report, three_submitted
):
    with pytest.raises(Conflict, match="不能撤回"):
        services.claim_withdraw(claim_id=three_submitted[0].pk, actor=clerk)


def test_a_sampled_claim_returned_and_resubmitted_does_not_hold_its_old_report(
    clerk, reviewer, submitted_report, three_submitted
):
    # given every claim sampled, one returned to the unit, the others approved
    quarter_services.report_draw_spot_checks(
        report_id=submitted_report.pk, actor=reviewer, share=Decimal("1")
    )
    for check in submitted_report.spot_checks.all():
        quarter_services.spot_check_record(
            spot_check_id=check.pk,
            actor=reviewer,
            result="consistent",
            documents=opened_evidence(check.pk, reviewer),
        )
    first, *rest = three_submitted
    quarter_services.claim_return(claim_id=first.pk, actor=reviewer, reason="请补材料")
    for claim in rest:
        quarter_services.claim_approve(claim_id=claim.pk, actor=reviewer)
    # when the clerk resubmits the returned claim
    services.claim_submit(claim_id=first.pk, actor=clerk)
    # then the old report can still be closed
    assert (
        quarter_services.report_close(
            report_id=submitted_report.pk, actor=reviewer
        ).status
        == "closed"
    )
