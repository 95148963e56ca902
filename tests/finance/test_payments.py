"""What finance pays: recorded per line, never twice, failures re-issued, advances
recovered from rejected claims."""

from datetime import date
from decimal import Decimal
from io import StringIO

from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.db.models import F

import pytest

from altay_skills.errors import Conflict, DomainError, PermissionDenied
from claims import services as claim_services
from claims.models import Claim, summaries_fresh, summaries_stored
from finance import services
from finance.models import Payment, Recovery
from quarters import services as quarter_services
from tests.class_run import claim_through_class

pytestmark = pytest.mark.django_db
PAID_ON = date(2020, 5, 10)


@pytest.fixture(autouse=True)
def media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def send(django_capture_on_commit_callbacks, reviewer):
    """Send the quarter to finance and run the queued task (eager Celery) on commit."""

    def request(quarter="2020Q1", actor=None):
        with django_capture_on_commit_callbacks(execute=True):
            return services.rollup_request(quarter=quarter, actor=actor or reviewer)

    return request


@pytest.fixture
def ready(closed_quarter, send):
    send()
    return closed_quarter


def pay(claim, finance, kind="balance", **kw):
    amount = kw.pop("amount", None)
    if amount is None:
        amount = claim.approved_amount if kind == "balance" else claim.advance
    return services.payment_record(
        claim_id=claim.pk,
        kind=kind,
        amount=amount,
        paid_on=PAID_ON,
        status=kw.pop("status", "paid"),
        actor=finance,
        **kw,
    )


def test_a_balance_is_paid_once(ready, finance):
    claim = ready.approved[0]
    pay(claim, finance)
    with pytest.raises(Conflict, match="不能重复"):
        pay(claim, finance)
    assert services.payment_state(claim) == "paid"


def test_the_database_refuses_a_second_payment(ready, finance):
    claim = ready.approved[0]
    first = pay(claim, finance)
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.create(
            claim=claim,
            kind="balance",
            amount=first.amount,
            status="paid",
            paid_on=PAID_ON,
            recorded_by=finance,
        )


@pytest.fixture
def advanced(advanced_quarter, send):
    send()
    return advanced_quarter


def test_advance_then_balance_pays_exactly_the_approved_amount(advanced, finance):
    claim = advanced.approved[0]  # enterprise-run: its 40% advanced before approval
    assert claim.advance > 0
    assert services.payment_state(claim) == "partly_paid"
    with pytest.raises(DomainError, match="应拨金额"):
        pay(claim, finance, amount=claim.approved_amount)
    pay(claim, finance, amount=claim.approved_amount - claim.advance)
    total = sum(p.amount for p in claim.payments.filter(status="paid"))
    assert total == claim.approved_amount
    assert services.payment_state(claim) == "paid"


def paid_on(claim):
    return sum(
        (p.amount for p in claim.payments.filter(status="paid")), Decimal("0.00")
    )


def test_each_claim_and_its_summary_carry_what_was_paid_on_it(ready, finance):
    """Issue 20: the dashboards read what was paid from the claims' summaries, so a
    payment moves the claim's ``paid`` and its summary row in its transaction; a
    failed attempt moves nothing."""
    claim, other = ready.approved[0], ready.approved[1]
    before = Claim.objects.get(pk=other.pk).paid
    pay(claim, finance)
    pay(other, finance, status="failed", failure_reason="账户已注销")

    claim.refresh_from_db()
    other.refresh_from_db()
    assert claim.paid == paid_on(claim) == claim.approved_amount
    assert other.paid == paid_on(other) == before
    assert summaries_stored() == summaries_fresh()


def test_rebuild_summaries_puts_right_a_claims_paid_from_its_payments(ready, finance):
    claim = ready.approved[0]
    pay(claim, finance)
    Claim.objects.filter(pk=claim.pk).update(paid=F("paid") + 1)  # gone wrong

    out = StringIO()
    call_command("rebuild_summaries", stdout=out)

    assert "1 条申报的已拨付金额与其拨付记录不一致" in out.getvalue()
    claim.refresh_from_db()
    assert claim.paid == paid_on(claim) == claim.approved_amount
    assert summaries_stored() == summaries_fresh()


def test_a_failed_payment_is_reissued(ready, finance):
    claim = ready.approved[0]
    failed = pay(claim, finance, status="failed", failure_reason="账户已注销")
    assert services.payment_state(claim) == "failed"
    pay(claim, finance, reissue_of_id=failed.pk)
    assert services.payment_state(claim) == "paid"
    with pytest.raises(Conflict):
        pay(
            claim,
            finance,
            status="failed",
            failure_reason="仍失败",
            reissue_of_id=failed.pk,
        )


@pytest.mark.parametrize("reason", ["", "0", "x", "——"])
def test_a_failure_needs_a_reason(ready, finance, reason):
    """The bank's reason is what a clerk calls the trainee about: "0" is none."""
    with pytest.raises(DomainError, match="原因"):
        pay(ready.approved[0], finance, status="failed", failure_reason=reason)
    assert not Payment.objects.exists()


def test_only_finance_records_payments(ready, reviewer):
    with pytest.raises(PermissionDenied):
        pay(ready.approved[0], reviewer)


def test_an_advance_paid_on_a_claim_later_rejected_is_to_recover(
    claim_input, clerk, reviewer, finance, institution
):
    # given a project-based claim in a submitted report, its advance paid
    draft = claim_through_class(claim_input(project_based=True), clerk=clerk)
    claim = claim_services.claim_submit(claim_id=draft.pk, actor=clerk)
    report = quarter_services.report_build(
        unit_id="654301", quarter="2020Q1", actor=clerk
    )
    quarter_services.report_submit(report_id=report.pk, actor=clerk)
    claim.refresh_from_db()
    pay(claim, finance, kind="advance")
    # when the reviewer rejects it
    quarter_services.claim_reject(
        claim_id=claim.pk, actor=reviewer, reason="培训未完成"
    )
    # then the advance is listed for recovery until settled
    recovery = Recovery.objects.get(claim=claim)
    assert recovery.amount == claim.advance == Decimal("720.00")
    services.recovery_settle(
        recovery_id=recovery.pk, actor=finance, reference="退款001"
    )
    with pytest.raises(Conflict):
        services.recovery_settle(
            recovery_id=recovery.pk, actor=finance, reference="退款002"
        )


def test_no_balance_before_the_rollup_is_ready(closed_quarter, finance):
    with pytest.raises(Conflict, match="汇总"):
        pay(closed_quarter.approved[0], finance)


def test_no_advance_after_the_balance_is_paid(ready, finance):
    claim = ready.approved[0]
    pay(claim, finance)  # the whole approved amount as balance
    with pytest.raises(Conflict, match="余额已拨付"):
        pay(claim, finance, kind="advance")
    from finance.selectors import advances_payable

    assert claim not in advances_payable()


@pytest.mark.parametrize(
    ("kind", "report_status", "claim_status", "offered"),
    [
        ("advance", "submitted", "submitted", True),
        ("advance", "submitted", "approved", True),
        ("advance", "submitted", "rejected", False),
        ("advance", "closed", "approved", False),
        ("balance", "closed", "approved", True),
    ],
)
def test_a_failed_advance_is_offered_again_only_while_it_may_be_paid(
    kind: str, report_status: str, claim_status: str, offered: bool
) -> None:
    # 重新拨付 was offered on a failed advance whose report had closed, and always
    # answered 409 not_payable: what the advance left unpaid goes with the balance;
    # and on a claim rejected while its report was with the prefecture (owed nothing)
    from claims.models import Claim
    from finance.models import Payment
    from finance.selectors import reissuable
    from quarters.models import QuarterlyReport

    claim = Claim(status=claim_status, report=QuarterlyReport(status=report_status))
    assert reissuable(Payment(kind=kind, status="failed", claim=claim)) is offered


def test_who_is_paid_does_not_change_once_an_advance_is_paid(
    claim_input, reviewer, finance
):
    """A returned claim whose advance was paid to its institution was edited to another
    institution: the new one would be paid the balance less an advance it never got,
    and the first kept it for a claim no longer its own. Who is paid — the person, the
    institution, project-based or not — is fixed once money went out; the rest of the
    claim is still corrected."""
    from dataclasses import replace

    from accounts.models import User
    from tests.factories import InstitutionFactory
    from tests.quarter_run import run_quarter

    run_quarter(claim_input, reviewer, finance=finance, decide=False)
    claim = Claim.objects.filter(unit_id="654301", advance__gt=0).order_by("pk")[0]
    quarter_services.claim_return(
        claim_id=claim.pk, actor=reviewer, reason="证书编号有误"
    )
    clerk = User.objects.get(username="q_clerk_a")
    before = claim_services.input_of(Claim.objects.get(pk=claim.pk))
    elsewhere = InstitutionFactory(unit_id="654301").pk

    for change in (
        {"institution_id": elsewhere},
        {"project_based": False},
        {"trainee_id": claim_input().trainee_id},
    ):
        with pytest.raises(Conflict) as refused:
            claim_services.claim_update(
                claim_id=claim.pk, actor=clerk, data=replace(before, **change)
            )
        # a claim with an advance came from a class (project-based): its person,
        # institution and project flag are the class's before anything is paid
        # (``claims.rules.CLASS_FACTS``); ``advance_paid`` guards the same fields
        # for any claim once money went out
        assert refused.value.code == "class_fact_fixed", change
        assert "以培训班为准" in refused.value.message
    assert claim_services.input_of(Claim.objects.get(pk=claim.pk)) == before
    assert not Recovery.objects.filter(claim=claim).exists()

    fixed = claim_services.claim_update(
        claim_id=claim.pk,
        actor=clerk,
        data=replace(before, certificate_number="CERT-2020-9"),
    )
    assert fixed.certificate_number == "CERT-2020-9"


def test_who_is_paid_is_fixed_by_an_advance_paid_on_any_claim():
    """The guard for a claim not from a class (whose payee is the class's anyway):
    once an advance went out, the person, institution and project flag stay."""
    from finance.permissions import can_change_payee

    for moved in ("trainee_id", "institution_id", "project_based"):
        refused = can_change_payee({moved}, Decimal("720.00"))
        assert not refused and refused.code == "advance_paid"
        assert "720.00" in refused.reason
    assert can_change_payee({"certificate_number"}, Decimal("720.00"))
    assert can_change_payee({"trainee_id"}, Decimal("0.00"))
