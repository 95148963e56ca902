"""Every change goes through a service that checks, records and refuses clearly."""

from datetime import date
from decimal import Decimal

import pytest

from altay_skills.errors import Conflict, DomainError, NotFound, PermissionDenied
from claims import services
from claims.models import Claim, ClaimEvent
from programs.models import PolicyEntry
from quarters import services as quarter_services
from tests.factories import InstitutionFactory, TraineeFactory, send_to_prefecture

pytestmark = pytest.mark.django_db

TRADES = ["6-31-01-03", "4-07-05-01", "4-10-01-05", "4-01-06-01"]


def submitted(clerk, claim_input, **overrides):
    claim = services.claim_create(data=claim_input(**overrides), actor=clerk)
    return services.claim_submit(claim_id=claim.pk, actor=clerk)


def reported(clerk, claim_input, *, sampled_by=None, **overrides):
    """Submitted and sent to the prefecture in the unit's quarterly report (with
    ``sampled_by``, its spot checks drawn and cleared: ready for approval)."""
    claim = submitted(clerk, claim_input, **overrides)
    send_to_prefecture(claim, sampled_by=sampled_by)
    return claim


def test_create_saves_a_draft_with_its_decision_and_an_event(clerk, claim_input):
    claim = services.claim_create(data=claim_input(), actor=clerk)
    assert (claim.status, claim.cap, claim.amount, claim.eligible) == (
        "draft",
        Decimal("1800.00"),
        Decimal("1800.00"),
        True,
    )
    assert set(claim.policy_entries.values_list("kind", flat=True)) == {
        "plan_period",  # 2019—2021: the notice's terms are in force (issue 13, 1)
        "cap",
        "annual_limit",
    }
    event = ClaimEvent.objects.get(claim=claim)
    assert (event.action, event.to_status, event.actor) == ("create", "draft", clerk)
    assert event.changes["amount_requested"] == [None, "1800.00"]


def test_a_refused_draft_can_still_be_saved(clerk, claim_input):
    claim = services.claim_create(
        data=claim_input(amount_requested=Decimal("5000")), actor=clerk
    )
    assert claim.status == "draft" and not claim.eligible
    assert [v["code"] for v in claim.violations] == ["over_cap"]


def test_submit_refuses_an_ineligible_claim_with_its_decision(clerk, claim_input):
    claim = services.claim_create(data=claim_input(employment="none"), actor=clerk)
    with pytest.raises(Conflict) as caught:
        services.claim_submit(claim_id=claim.pk, actor=clerk)
    assert caught.value.status_code == 409
    assert [v["code"] for v in caught.value.detail["violations"]] == [
        "employment_required"
    ]
    claim.refresh_from_db()
    assert claim.status == "draft"
    assert not ClaimEvent.objects.filter(claim=claim, action="submit").exists()


def test_a_refused_submit_keeps_the_decision_of_the_claim_as_it_is_now(
    clerk, clerk_same_unit, claim_input, monkeypatch
):
    """The second review: between the refused submit's rollback and the decision kept
    after it, a colleague corrected the draft to 1,800 — and the refusal's "over cap"
    was written over the corrected claim. The claim is judged again under its lock."""
    draft = services.claim_create(
        data=claim_input(amount_requested=Decimal("9000")), actor=clerk
    )
    keep = services._keep_decision

    def corrected_first(claim_id, actor):
        services.claim_update(
            claim_id=claim_id,
            data=claim_input(amount_requested=Decimal("1800")),
            actor=clerk_same_unit,
        )
        keep(claim_id, actor)

    monkeypatch.setattr(services, "_keep_decision", corrected_first)
    with pytest.raises(Conflict):
        services.claim_submit(claim_id=draft.pk, actor=clerk)

    draft.refresh_from_db()
    assert (draft.amount_requested, draft.eligible, draft.violations) == (
        Decimal("1800.00"),
        True,
        [],
    )


def test_a_claim_of_nothing_is_not_submitted(clerk, claim_input):
    # (observed: a claim of 0 yuan was eligible, took one of the person's three
    # subsidies of the year and their trade and level for good)
    claim = services.claim_create(
        data=claim_input(amount_requested=Decimal("0.00")), actor=clerk
    )
    with pytest.raises(DomainError) as caught:
        services.claim_submit(claim_id=claim.pk, actor=clerk)
    assert caught.value.code == "invalid_amount" and "大于0" in caught.value.message
    claim.refresh_from_db()
    assert (claim.status, claim.limit_slot) == ("draft", None)


def test_submit_takes_a_slot_of_the_year(clerk, claim_input):
    claim = submitted(clerk, claim_input)
    assert (claim.status, claim.limit_year, claim.limit_slot) == ("submitted", 2020, 1)
    assert claim.submitted_at is not None


def test_the_fourth_claim_of_a_year_is_refused_across_units(
    clerk, other_clerk, claim_input
):
    # given three live claims in 2020 filed by the first unit
    for trade in TRADES[:3]:
        submitted(clerk, claim_input, trade_id=trade)
    # when another unit files a fourth for the same person
    inst_b = InstitutionFactory(unit_id="654322")
    draft = services.claim_create(
        data=claim_input(
            trade_id=TRADES[3], unit_id="654322", institution_id=inst_b.pk
        ),
        actor=other_clerk,
    )
    # then it is refused prefecture-wide
    with pytest.raises(Conflict) as caught:
        services.claim_submit(claim_id=draft.pk, actor=other_clerk)
    assert "annual_limit" in [v["code"] for v in caught.value.detail["violations"]]


def test_a_claim_ending_next_year_is_not_limited_by_this_year(clerk, claim_input):
    for trade in TRADES[:3]:
        submitted(clerk, claim_input, trade_id=trade)
    claim = submitted(
        clerk,
        claim_input,
        trade_id=TRADES[3],
        training_start=date(2020, 12, 20),
        training_end=date(2021, 1, 5),
    )
    assert (claim.limit_year, claim.limit_slot) == (2021, 1)


def test_withdrawing_frees_the_slot_and_the_trade_level(clerk, claim_input):
    first = submitted(clerk, claim_input)
    services.claim_withdraw(claim_id=first.pk, actor=clerk)
    first.refresh_from_db()
    assert (first.status, first.limit_slot) == ("withdrawn", None)
    again = submitted(clerk, claim_input)
    assert again.status == "submitted"


def test_a_rejected_claim_frees_the_trade_level(clerk, reviewer, claim_input):
    first = reported(clerk, claim_input)
    quarter_services.claim_reject(claim_id=first.pk, actor=reviewer, reason="材料不实")
    assert submitted(clerk, claim_input).status == "submitted"


def test_approve_records_the_reviewer_and_the_amount(clerk, reviewer, claim_input):
    claim = reported(clerk, claim_input, sampled_by=reviewer)
    claim = quarter_services.claim_approve(claim_id=claim.pk, actor=reviewer)
    assert (claim.status, claim.approved_amount, claim.reviewed_by) == (
        "approved",
        Decimal("1800.00"),
        reviewer,
    )
    assert list(claim.events.values_list("action", flat=True)) == [
        "create",
        "submit",
        "report",
        "attach_document",  # the sampled claim's sign-in sheet, opened by the reviewer
        "spot_check",  # its report's sample, drawn and checked before approval
        "approve",
        "owed",  # the approval's entitlement, a line of the claim's money ledger
    ]


def test_the_person_who_entered_a_claim_cannot_approve_it(clerk, claim_input):
    claim = reported(clerk, claim_input)
    # the maker later given the reviewer role still may not check their own claim
    clerk.role = "prefecture_reviewer"
    clerk.save()
    with pytest.raises(PermissionDenied, match="本人录入"):
        quarter_services.claim_approve(claim_id=claim.pk, actor=clerk)
    claim.refresh_from_db()
    assert claim.status == "submitted"


@pytest.mark.parametrize("action", ["claim_reject", "claim_return"])
def test_reject_and_return_need_a_reason(clerk, reviewer, claim_input, action):
    claim = reported(clerk, claim_input)
    with pytest.raises(DomainError, match="理由"):
        getattr(quarter_services, action)(
            claim_id=claim.pk, actor=reviewer, reason="  "
        )


def test_a_returned_claim_is_corrected_and_resubmitted(clerk, reviewer, claim_input):
    claim = reported(clerk, claim_input)
    quarter_services.claim_return(
        claim_id=claim.pk, actor=reviewer, reason="证书编号有误"
    )
    services.claim_update(
        claim_id=claim.pk, actor=clerk, data=claim_input(certificate_number="CERT-9999")
    )
    claim = services.claim_submit(claim_id=claim.pk, actor=clerk)
    assert claim.status == "submitted" and claim.limit_slot == 1
    edit = claim.events.get(action="edit")
    assert edit.changes == {
        "certificate_number": [claim_input().certificate_number, "CERT-9999"]
    }


def test_a_resubmitted_claim_waits_for_a_review_of_its_own(
    clerk, reviewer, claim_input
):
    """Resubmitted after a return, the claim is not yet reviewed: it showed the return's
    reviewer and time as its 审核人/审核时间 while it waited. The return stays in its
    trail, with who and when."""
    claim = reported(clerk, claim_input)
    quarter_services.claim_return(
        claim_id=claim.pk, actor=reviewer, reason="证书编号有误"
    )
    returned = Claim.objects.get(pk=claim.pk)
    assert (returned.reviewed_by, returned.reviewed_at is not None) == (reviewer, True)

    claim = services.claim_submit(claim_id=claim.pk, actor=clerk)

    claim.refresh_from_db()
    assert (claim.status, claim.reviewed_by, claim.reviewed_at) == (
        "submitted",
        None,
        None,
    )
    back = claim.events.get(action="return")
    assert (back.actor, back.reason) == (reviewer, "证书编号有误")


def test_a_clerk_cannot_touch_another_units_claim(clerk, other_clerk, claim_input):
    claim = services.claim_create(data=claim_input(), actor=clerk)
    with pytest.raises(NotFound):
        services.claim_submit(claim_id=claim.pk, actor=other_clerk)
    with pytest.raises(NotFound):
        services.claim_update(
            claim_id=claim.pk, actor=other_clerk, data=claim_input(unit_id="654322")
        )


def test_a_clerk_cannot_file_for_another_unit(clerk, claim_input):
    with pytest.raises(PermissionDenied):
        services.claim_create(data=claim_input(unit_id="654322"), actor=clerk)


def test_reviewers_cannot_create_claims(reviewer, claim_input):
    with pytest.raises(PermissionDenied):
        services.claim_create(data=claim_input(), actor=reviewer)


def test_an_approved_claim_cannot_be_withdrawn(clerk, reviewer, claim_input):
    claim = reported(clerk, claim_input, sampled_by=reviewer)
    quarter_services.claim_approve(claim_id=claim.pk, actor=reviewer)
    with pytest.raises(Conflict, match="已核准"):
        services.claim_withdraw(claim_id=claim.pk, actor=clerk)


def test_a_policy_change_does_not_rewrite_the_past(clerk, claim_input):
    # given the cap rises from 1800 to 2000 on 2020-07-01
    old = PolicyEntry.objects.get(program_id=9, kind="cap")
    old.effective_to = date(2020, 6, 30)
    old.save()
    PolicyEntry.objects.create(
        program_id=9,
        kind="cap",
        amount=Decimal("2000.00"),
        effective_from=date(2020, 7, 1),
        clause="三(二)9",
        source_document="测试文件",
    )
    # then a training ending before keeps the old cap, one ending after gets the new
    before = services.claim_check(
        data=claim_input(training_end=date(2020, 6, 30)), actor=clerk
    )
    after = services.claim_check(
        data=claim_input(
            training_start=date(2020, 7, 1), training_end=date(2020, 7, 31)
        ),
        actor=clerk,
    )
    assert (before.cap, after.cap) == (Decimal("1800.00"), Decimal("2000.00"))


def test_an_external_cap_entered_by_an_administrator_makes_a_program_claimable(
    clerk, claim_input
):
    trainee = TraineeFactory(groups=["poor_labour"])
    body = claim_input(
        program_id=10, trainee_id=trainee.pk, amount_requested=Decimal("1500.00")
    )
    assert "cap_not_configured" in services.claim_check(data=body, actor=clerk).codes
    PolicyEntry.objects.create(
        program_id=10,
        kind="cap",
        amount=Decimal("1500.00"),
        effective_from=date(2019, 1, 1),
        clause="三(三)10",
        source_document="阿地人社发〔2018〕125号",
    )
    assert services.claim_check(data=body, actor=clerk).codes == []


def test_an_unknown_reference_is_a_clear_400_not_a_crash(clerk, claim_input):
    with pytest.raises(DomainError) as caught:
        services.claim_check(data=claim_input(trade_id="9-99-99-99"), actor=clerk)
    assert caught.value.status_code == 400 and "职业" in caught.value.message


def test_the_dry_run_stores_nothing(clerk, claim_input):
    services.claim_check(data=claim_input(), actor=clerk)
    assert not Claim.objects.exists() and not ClaimEvent.objects.exists()


def test_a_draft_ending_before_it_starts_is_refused_not_stored(clerk, claim_input):
    with pytest.raises(DomainError) as caught:
        services.claim_create(
            data=claim_input(
                training_start=date(2020, 3, 2), training_end=date(2020, 3, 1)
            ),
            actor=clerk,
        )
    assert caught.value.code == "invalid_dates"
    assert not Claim.objects.exists()


def test_a_batch_is_written_with_slots_policy_links_and_events(clerk, claim_input):
    # given two judged claims of one person
    bodies = [claim_input(trade_id=t) for t in TRADES[:2]]
    items = [(b, services.judge(b)) for b in bodies]
    # when they are written as submitted
    claims = services.claims_create_batch(items=items, actor=clerk, submit=True)
    # then each holds its own slot, its policy entries and create+submit events
    assert sorted(c.limit_slot for c in claims) == [1, 2]
    assert all(c.policy_entries.exists() for c in claims)
    assert ClaimEvent.objects.filter(action="submit").count() == 2


def test_a_batch_never_passes_the_yearly_limit(clerk, claim_input):
    for trade in TRADES[:3]:
        submitted(clerk, claim_input, trade_id=trade)
    body = claim_input(trade_id=TRADES[3])
    stale = services.judge(
        claim_input(trade_id=TRADES[3], trainee_id=TraineeFactory().pk)
    )
    with pytest.raises(Conflict) as caught:
        services.claims_create_batch(items=[(body, stale)], actor=clerk, submit=True)
    assert caught.value.code == "annual_limit"
    assert Claim.objects.filter(status="submitted").count() == 3


def test_a_batch_refuses_a_submission_the_rules_refuse(clerk, claim_input):
    body = claim_input(employment="none")
    with pytest.raises(Conflict):
        services.claims_create_batch(
            items=[(body, services.judge(body))], actor=clerk, submit=True
        )
    assert not Claim.objects.exists()
