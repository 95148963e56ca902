"""The prefecture rollup: SQL aggregates, immutable, idempotent, reconciled to the fen."""

from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db.models import Sum

import pytest
from openpyxl import load_workbook

from altay_skills.errors import Conflict, PermissionDenied
from claims.models import Claim
from finance import services
from finance.ledger import money_of
from finance.models import Rollup, RollupLine
from tests.factories import opened_evidence

pytestmark = pytest.mark.django_db


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


def test_rollup_lines_are_the_sql_figures_of_approved_claims(
    advanced_quarter, reviewer, send
):
    rollup = send()
    rollup.refresh_from_db()  # eager Celery ran the task on commit
    assert rollup.status == "ready" and rollup.progress == 100
    lines = RollupLine.objects.filter(rollup=rollup)
    approved = Claim.objects.filter(status="approved")
    assert (
        lines.aggregate(t=Sum("approved"))["t"]
        == approved.aggregate(t=Sum("approved_amount"))["t"]
    )
    assert sum(line.trained for line in lines) == approved.count() == 6
    a = lines.get(unit_id="654301")
    assert (a.trained, a.passed, a.employed) == (3, 3, 3)
    assert a.balance == a.approved - a.advance
    # the advances paid (40% of each), from the ledger; the rejected claim's came back
    assert a.advance == (a.approved * Decimal("0.4")).quantize(Decimal("0.01"))
    assert a.recovery == 0
    b = lines.get(unit_id="654322")  # no advance given, none paid: all is balance
    assert (b.advance, b.balance) == (0, b.approved)


def test_an_advance_never_paid_leaves_the_whole_amount_as_balance(
    closed_quarter, reviewer, send
):
    # the rules gave unit 654301's claims an advance, but finance never paid it
    rollup = send()
    a = RollupLine.objects.get(rollup=rollup, unit_id="654301")
    assert a.advance == 0 and a.balance == a.approved


def test_running_twice_gives_the_same_rollup(closed_quarter, reviewer, send):
    first = send()
    again = send()
    assert first.pk == again.pk
    ready = Rollup.objects.get(pk=first.pk)
    assert services.rollup_build(rollup_id=first.pk).checksum == ready.checksum
    assert RollupLine.objects.filter(rollup=ready).count() == 2


def test_a_killed_build_leaves_nothing_and_a_rerun_completes(
    closed_quarter, monkeypatch, send
):
    # given the workbook writer dies halfway
    def crash(*args, **kwargs):
        raise MemoryError("killed")

    monkeypatch.setattr(services.exports, "write_finance_workbook", crash)
    rollup = send()
    rollup.refresh_from_db()
    assert rollup.status == "failed" and not rollup.lines.exists()
    assert not list(Path(settings.MEDIA_ROOT).rglob("*.partial"))
    # when it is run again
    monkeypatch.undo()
    rollup = send()
    rollup.refresh_from_db()
    # then it completes
    assert rollup.status == "ready" and rollup.lines.count() == 2


def test_the_workbook_reconciles_to_the_database(advanced_quarter, reviewer, send):
    rollup = send()
    rollup.refresh_from_db()
    wb = load_workbook(Path(settings.MEDIA_ROOT) / rollup.workbook)
    sheet = wb["职业技能提升行动专项资金"]
    rows = list(sheet.iter_rows(min_row=3, values_only=True))
    lines, total = rows[:-1], rows[-1]
    approved = Claim.objects.filter(status="approved").order_by("unit_id", "pk")
    assert [r[0] for r in lines] == [c.pk for c in approved]
    assert Decimal(str(total[11])) == sum(c.approved_amount for c in approved)
    for row, claim in zip(lines, approved, strict=True):
        money = money_of(claim.pk)  # the ledger: the advance actually paid
        assert Decimal(str(row[11])) == claim.approved_amount == money.owed
        assert Decimal(str(row[12])) == money.advance == claim.advance
        assert Decimal(str(row[13])) == money.balance == claim.amount - claim.advance
        assert "*" in (row[4] or "*")  # never a full ID number
    assert rollup.totals["approved"] == str(sum(c.approved_amount for c in approved))


def test_rollup_waits_for_every_report_to_be_closed(claim_input, reviewer, clerk, send):
    from claims import services as claim_services
    from quarters import services as quarter_services

    draft = claim_services.claim_create(data=claim_input(), actor=clerk)
    claim_services.claim_submit(claim_id=draft.pk, actor=clerk)
    report = quarter_services.report_build(
        unit_id="654301", quarter="2020Q1", actor=clerk
    )
    quarter_services.report_submit(report_id=report.pk, actor=clerk)
    with pytest.raises(Conflict, match="未审结"):
        send()


def test_only_a_reviewer_sends_the_quarter(closed_quarter, finance):
    with pytest.raises(PermissionDenied):
        services.rollup_request(quarter="2020Q1", actor=finance)


def late_report(claim_input, reviewer):
    """Unit 654323's report of the quarter, closed after the quarter's rollup was
    built (a unit that reported late): one claim, approved."""
    from claims import services as claim_services
    from quarters import services as quarter_services
    from tests.factories import InstitutionFactory, TraineeFactory, UserFactory

    clerk = UserFactory(username="late_clerk", role="county_clerk", unit_id="654323")
    person = TraineeFactory(groups=["poor_labour"], registered_by_unit_id="654323")
    data = claim_input(
        trainee_id=person.pk,
        unit_id="654323",
        institution_id=InstitutionFactory(unit_id="654323").pk,
    )
    draft = claim_services.claim_create(data=data, actor=clerk)
    claim_services.claim_submit(claim_id=draft.pk, actor=clerk)
    report = quarter_services.report_build(
        unit_id="654323", quarter="2020Q1", actor=clerk
    )
    quarter_services.report_submit(report_id=report.pk, actor=clerk)
    quarter_services.report_draw_spot_checks(report_id=report.pk, actor=reviewer)
    for check in report.spot_checks.all():
        quarter_services.spot_check_record(
            spot_check_id=check.pk,
            actor=reviewer,
            result="consistent",
            documents=opened_evidence(check.pk, reviewer),
        )
    claim = quarter_services.claim_approve(claim_id=draft.pk, actor=reviewer)
    quarter_services.report_close(report_id=report.pk, actor=reviewer)
    return claim


def pay_balance(claim, finance):
    from datetime import date

    return services.payment_record(
        claim_id=claim.pk,
        kind="balance",
        amount=money_of(claim.pk).due,
        paid_on=date.today(),
        status="paid",
        actor=finance,
        reference=f"BAL-{claim.pk}",
    )


def test_a_report_closed_after_the_rollup_is_paid_only_once_rolled_up_again(
    closed_quarter, claim_input, reviewer, finance, send
):
    # a claim closed after the quarter's rollup is not in the workbook finance
    # downloaded: paying it made the payments disagree with the rollup's figures
    first = send()
    first.refresh_from_db()
    before = Decimal(first.totals["approved"])
    late = late_report(claim_input, reviewer)

    with pytest.raises(Conflict) as refused:
        pay_balance(late, finance)
    assert refused.value.code == "not_in_rollup"
    assert "重新" in refused.value.message
    # the rollup's page says so, and offers the reviewer to send the quarter again
    from django.test import Client

    page = Client()
    page.force_login(reviewer)
    html = page.get(f"/rollups/{first.pk}/").content.decode()
    alert = html.split('data-testid="late-reports"')[1].split("</div>")[0]
    assert "1份报表" in alert and "福海县" in alert
    assert 'data-testid="resend-rollup"' in html
    assert f"/claims/{late.pk}/" not in html  # not among the claims it pays

    # the reviewer sends the quarter again: the same rollup, built again with it
    again = send()
    again.refresh_from_db()
    assert again.pk == first.pk and again.status == "ready"
    assert Decimal(again.totals["approved"]) == before + late.approved_amount
    assert again.lines.filter(unit_id="654323").exists()
    assert again.checksum != first.checksum
    assert pay_balance(late, finance).status == "paid"


def test_sending_a_quarter_again_with_nothing_new_changes_nothing(
    closed_quarter, reviewer, send
):
    first = send()
    first.refresh_from_db()
    again = send()
    again.refresh_from_db()
    assert (again.checksum, again.finished_at) == (first.checksum, first.finished_at)
