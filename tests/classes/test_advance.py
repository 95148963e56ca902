"""A project-based class's advance (五(二), issue 16): paid to the institution once the
class is accepted and has started, 40% of the roster's expected total; at completion
split over the claims to the fen, and what fewer completing leaves unowed recovered."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from io import StringIO
from typing import Any

from django.core.management import call_command

import pytest

from accounts.models import User
from altay_skills.errors import Conflict, DomainError, NotFound, PermissionDenied
from claims import services as claim_services
from claims.models import (
    Claim,
    ClaimEvent,
    ClaimSummary,
    summaries_fresh,
    summaries_stored,
)
from classes import services
from classes.models import ClassEvent, TrainingClass
from finance import selectors as finance_selectors
from finance import services as finance_services
from finance.ledger import money_of
from finance.models import ClassAdvance, LedgerKind, Payment, Recovery
from programs.models import Institution
from reporting import dashboards
from tests.classes.conftest import (
    END,
    START,
    class_input,
    found_by,
    started_class,
)
from tests.classes.test_services import attend, passed_all
from tests.classes.test_services import complete_with_one_short as complete
from tests.factories import InstitutionFactory, TraineeFactory, UserFactory
from trainees.models import Trainee

pytestmark = pytest.mark.django_db

ADVANCE = Decimal("2160.00")  # 40% of three people's 1800 yuan


def pay(cls: TrainingClass, finance: User, **kwargs: Any) -> ClassAdvance:
    return finance_services.class_advance_pay(
        class_id=cls.pk, actor=finance, reference="ADV-CLASS-1", **kwargs
    )


def test_the_advance_is_refused_before_the_class_starts(
    filed_class: TrainingClass, clerk: User, finance: User, clock: Any
) -> None:
    with pytest.raises(Conflict) as filed:
        pay(filed_class, finance)
    assert filed.value.code == "class_not_running"
    services.class_accept(class_id=filed_class.pk, actor=clerk)
    with pytest.raises(Conflict) as accepted:
        pay(filed_class, finance)
    assert accepted.value.code == "class_not_running"
    assert "已开班" in accepted.value.message
    assert not ClassAdvance.objects.exists()


def test_the_advance_is_refused_for_a_class_that_is_not_project_based(
    clock: Any,
    staff: User,
    school: Institution,
    people: list[Trainee],
    clerk: User,
    finance: User,
) -> None:
    cls = started_class(clock, staff, clerk, school, people, project_based=False)

    with pytest.raises(Conflict) as refused:
        pay(cls, finance)
    assert refused.value.code == "not_project_based"
    assert "五(二)" in refused.value.message


def test_no_advance_where_the_rules_give_its_people_none(
    clock: Any, people: list[Trainee], clerk: User, finance: User
) -> None:
    # 五(二) 培训机构开展项目制培训的，可先行拨付40%: a project-based class run by an
    # enterprise for people it does not employ is no provider's training — the roster's
    # pre-checks give nobody an advance, and 40% of their amounts was paid all the same
    firm = InstitutionFactory(kind="enterprise", unit_id="654301")
    firm_staff = UserFactory(
        username="firm_staff", role="institution_staff", unit_id=None, institution=firm
    )
    found_by(firm_staff, *people)
    cls = services.class_create(data=class_input(firm), actor=firm_staff)
    services.class_roster_set(
        class_id=cls.pk, trainee_ids=[p.pk for p in people], actor=firm_staff
    )
    services.class_file(class_id=cls.pk, actor=firm_staff)
    services.class_accept(class_id=cls.pk, actor=clerk)
    clock(START)
    services.class_start(class_id=cls.pk, actor=firm_staff)
    lines = cls.roster.filter(removed_at__isnull=True)
    assert [line.precheck["advance"] for line in lines] == ["0.00"] * 3

    with pytest.raises(Conflict) as refused:
        pay(cls, finance)
    assert refused.value.code == "nothing_due"
    assert "五(二)" in refused.value.message
    assert not ClassAdvance.objects.exists()


def test_a_person_on_two_classes_of_one_trade_and_level_is_advanced_once(
    running_class: TrainingClass,
    finance: User,
    clerk: User,
    staff: User,
    school: Institution,
    people: list[Trainee],
    clock: Any,
) -> None:
    """The attacker review: a person on the roster of two classes of the same trade
    and level at once was counted in both classes' advances — 40% paid twice for a
    subsidy they may have once (五(二) 同一职业同一等级不可重复享受). The second
    roster's pre-check counts the first roster's place as a claim to come."""
    pay(running_class, finance)
    newcomer = found_by(staff, TraineeFactory(groups=["poor_labour"]))[0]
    clock(START - timedelta(days=10))
    second = started_class(
        clock, staff, clerk, school, [people[0], newcomer], location="第二教学点"
    )

    lines = {
        line.trainee_id: line.precheck
        for line in second.roster.filter(removed_at__isnull=True)
    }
    twice = lines[people[0].pk]
    assert twice["eligible"] is False
    assert [v["code"] for v in twice["violations"]] == ["duplicate_trade_level"]
    assert f"培训班#{running_class.pk}" in twice["violations"][0]["message"]
    assert lines[newcomer.pk]["eligible"] is True
    advance = pay(second, finance)
    assert advance.expected == {str(people[0].pk): "0.00", str(newcomer.pk): "1800.00"}
    assert advance.amount == Decimal("720.00")


def test_the_advance_is_paid_once_at_start_with_its_event(
    running_class: TrainingClass, finance: User, clerk: User, clock: Any
) -> None:
    advance = pay(running_class, finance, amount=ADVANCE)

    assert advance.amount == ADVANCE
    assert advance.expected_total == Decimal("5400.00")
    assert advance.ratio == Decimal("0.4")
    assert sorted(advance.expected.values()) == ["1800.00"] * 3
    event = ClassEvent.objects.filter(training_class=running_class).last()
    assert event is not None and event.action == "advance"
    assert event.from_status == event.to_status == "running"
    assert event.changes["amount"] == "2160.00"
    assert event.changes["advance"] == advance.pk

    with pytest.raises(Conflict) as twice:
        pay(running_class, finance, amount=ADVANCE)
    assert twice.value.code == "already_paid"
    assert ClassAdvance.objects.count() == 1


def test_nobody_who_made_the_class_pays_its_advance(
    running_class: TrainingClass, clerk: User, finance: User
) -> None:
    """Maker, checker and payer are three people, for a class as for a claim: the clerk
    who accepted (备案) the class, moved to finance, paid its advance."""
    clerk.role = "finance_officer"
    clerk.save()

    with pytest.raises(PermissionDenied, match="其他财政人员"):
        pay(running_class, clerk, amount=ADVANCE)

    assert not ClassAdvance.objects.exists()
    assert pay(running_class, finance, amount=ADVANCE).amount == ADVANCE


def test_the_advance_asks_finance_the_amount_due_and_a_date_after_the_start(
    running_class: TrainingClass, finance: User, clerk: User, clock: Any
) -> None:
    with pytest.raises(PermissionDenied):
        pay(running_class, clerk)
    with pytest.raises(DomainError) as wrong:
        pay(running_class, finance, amount=Decimal("2000.00"))
    assert wrong.value.code == "amount_mismatch"
    assert "2,160.00" in wrong.value.message
    with pytest.raises(DomainError) as early:
        pay(running_class, finance, paid_on=START - timedelta(days=1))
    assert early.value.code == "invalid_dates"
    with pytest.raises(DomainError) as future:
        pay(running_class, finance, paid_on=START + timedelta(days=1))
    assert future.value.code == "invalid_dates"
    with pytest.raises(NotFound):
        finance_services.class_advance_pay(class_id=999999, actor=finance)
    assert not ClassAdvance.objects.exists()


@pytest.fixture
def completed_with_advance(
    running_class: TrainingClass,
    finance: User,
    staff: User,
    clerk: User,
    people: list[Trainee],
    clock: Any,
) -> list[Claim]:
    """The class's advance paid at the start, every person attending, the class
    completed the day after its end: the claims it created."""
    pay(running_class, finance)
    clock(END)
    attend(running_class, staff, people, days=10)
    clock(END + timedelta(days=1))
    return services.class_complete(
        class_id=running_class.pk, results=passed_all(people), actor=clerk
    )


def test_every_completing_shares_exactly_the_advance_paid(
    running_class: TrainingClass, completed_with_advance: list[Claim]
) -> None:
    claims = completed_with_advance

    shares = [money_of(c.pk) for c in claims]
    assert [m.advance_paid for m in shares] == [Decimal("720.00")] * 3
    assert sum(m.advance_paid for m in shares) == ADVANCE
    assert all(m.owed == Decimal("720.00") and m.recovery == 0 for m in shares)
    assert not Recovery.objects.exists()
    payments = Payment.objects.filter(class_advance__training_class=running_class)
    assert payments.count() == 3
    assert {p.reference for p in payments} == {"ADV-CLASS-1"}
    assert ClassAdvance.objects.get().allocated_at is not None
    # each claim carries its share as paid, and so does its summary row (issue 20)
    assert [c.paid for c in Claim.objects.filter(pk__in=[c.pk for c in claims])] == [
        Decimal("720.00")
    ] * 3
    assert summaries_stored() == summaries_fresh()


def test_a_share_paid_on_a_draft_later_deleted_stays_paid_on_the_dashboards(
    completed_with_advance: list[Claim], clerk: User
) -> None:
    """Issue 20: what was paid is read from the claim summaries; a deleted draft counts
    nowhere, but the advance share paid on it was paid (and is to be recovered)."""
    claim = completed_with_advance[0]

    claim_services.claim_delete(claim_id=claim.pk, actor=clerk)

    assert summaries_stored() == summaries_fresh()
    assert dashboards.totals(END.year).paid == ADVANCE
    gone = ClaimSummary.objects.get(status="deleted")
    assert (gone.claims, gone.paid) == (0, Decimal("720.00"))


def test_fewer_completing_owe_their_shares_back_at_once(
    running_class: TrainingClass,
    finance: User,
    staff: User,
    clerk: User,
    people: list[Trainee],
    clock: Any,
) -> None:
    pay(running_class, finance)

    # the third person attended 70%: their claim is refused, their share comes back
    claims = complete(running_class, staff, clerk, people, clock)

    full, _, short = claims
    assert not short.eligible
    assert money_of(full.pk).advance_paid == Decimal("720.00")
    assert money_of(short.pk).advance_paid == Decimal("720.00")
    assert money_of(short.pk).owed == 0
    (recovery,) = Recovery.objects.all()
    assert recovery.claim_id == short.pk
    assert recovery.amount == Decimal("720.00")
    assert "出勤" in recovery.reason
    total = sum((money_of(c.pk).advance for c in claims), Decimal(0))
    assert total == ADVANCE - recovery.amount  # the advance that stands
    # each line is a link of the claim's chain, and the whole trail verifies
    kinds = list(
        ClaimEvent.objects.filter(claim=short)
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert kinds == ["create", LedgerKind.PAID, LedgerKind.RECOVERY]
    out = StringIO()
    call_command("verify_audit", stdout=out, stderr=StringIO())  # exit 1 raises
    assert "培训班先行拨付与审计链一致：1 笔" in out.getvalue()


def test_the_shares_round_to_the_fen_and_add_up_to_the_advance(
    clock: Any, staff: User, school: Institution, clerk: User, finance: User
) -> None:
    # seven people, 40% of 7 × 1800 = 5040.00; the split itself to the fen, with its
    # remainder, is finance.rules.advance_shares (tests/finance/test_class_advance_rules)
    people = found_by(
        staff, *(TraineeFactory(groups=["poor_labour"]) for _ in range(7))
    )
    cls = services.class_create(data=class_input(school), actor=staff)
    services.class_roster_set(
        class_id=cls.pk, trainee_ids=[p.pk for p in people], actor=staff
    )
    services.class_file(class_id=cls.pk, actor=staff)
    services.class_accept(class_id=cls.pk, actor=clerk)
    clock(START)
    services.class_start(class_id=cls.pk, actor=staff)
    advance = pay(cls, finance)
    assert advance.amount == Decimal("5040.00")

    clock(END)
    attend(cls, staff, people, days=10)
    clock(END + timedelta(days=1))
    claims = services.class_complete(
        class_id=cls.pk, results=passed_all(people), actor=clerk
    )

    paid = [money_of(c.pk).advance_paid for c in claims]
    assert sum(paid, Decimal(0)) == advance.amount
    assert all(p == p.quantize(Decimal("0.01")) for p in paid)


def test_verify_audit_names_an_advance_row_changed_behind_the_trail(
    running_class: TrainingClass, finance: User, clock: Any
) -> None:
    advance = pay(running_class, finance)
    clean_out, clean_err = StringIO(), StringIO()
    call_command("verify_audit", stdout=clean_out, stderr=clean_err)
    assert "先行拨付" in clean_out.getvalue()

    ClassAdvance.objects.filter(pk=advance.pk).update(amount=Decimal("2100.00"))
    err = StringIO()
    with pytest.raises(SystemExit):
        call_command("verify_audit", stdout=StringIO(), stderr=err)
    assert f"培训班 #{running_class.pk}" in err.getvalue()


def test_a_class_completed_without_its_advance_paid_puts_nothing_on_its_claims(
    running_class: TrainingClass,
    staff: User,
    clerk: User,
    people: list[Trainee],
    clock: Any,
) -> None:
    claims = complete(running_class, staff, clerk, people, clock)

    assert all(money_of(c.pk).paid == 0 for c in claims)
    assert not Payment.objects.exists()


def test_classes_due_an_advance_are_listed_for_finance(
    running_class: TrainingClass, finance: User, clock: Any
) -> None:
    due = finance_selectors.classes_due_advance()
    assert [(item.training_class.pk, item.due.amount) for item in due] == [
        (running_class.pk, ADVANCE)
    ]
    pay(running_class, finance)
    assert finance_selectors.classes_due_advance() == []


def test_deleting_a_class_claim_holding_a_share_recovers_it(
    running_class: TrainingClass,
    finance: User,
    staff: User,
    clerk: User,
    people: list[Trainee],
    clock: Any,
) -> None:
    from claims import services as claim_services

    pay(running_class, finance)
    full, *_ = complete(running_class, staff, clerk, people, clock)

    claim_services.claim_delete(claim_id=full.pk, actor=clerk)

    recovery = Recovery.objects.get(claim=full)
    assert recovery.amount == Decimal("720.00")
    assert money_of(full.pk).owed == 0


# --- The API and the finance page ---------------------------------------------------------
def api(user: User | None) -> Any:
    from rest_framework.test import APIClient

    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def test_finance_pays_a_class_advance_through_the_api(
    running_class: TrainingClass,
    finance: User,
    clerk: User,
    staff: User,
    auditor: User,
    clock: Any,
) -> None:
    path = f"/api/classes/{running_class.pk}/advance/"
    body = {"paid_on": START.isoformat(), "reference": "ADV-7", "amount": "2160.00"}
    assert api(None).post(path, body, format="json").status_code == 401
    for other in (clerk, staff, auditor):
        refused = api(other).post(path, body, format="json")
        assert refused.status_code == 403, other.role
        assert refused["Content-Type"].startswith("application/json")
    bad = api(finance).post(path, {**body, "paid_on": "not a date"}, format="json")
    assert bad.status_code == 400

    paid = api(finance).post(path, body, format="json")

    assert paid.status_code == 201, paid.json()
    data = paid.json()
    assert data["amount"] == "2160.00" and data["expected_total"] == "5400.00"
    assert data["training_class"] == running_class.pk
    assert data["institution"] == running_class.institution_id
    assert data["paid_on"] == START.isoformat() and data["reference"] == "ADV-7"
    again = api(finance).post(path, body, format="json")
    assert again.status_code == 409 and again.json()["code"] == "already_paid"
    missing = api(finance).post("/api/classes/999999/advance/", {}, format="json")
    assert missing.status_code == 404


def test_the_finance_page_lists_the_class_due_and_pays_it(
    running_class: TrainingClass, finance: User, auditor: User, clock: Any
) -> None:
    from django.test import Client

    browser = Client()
    browser.force_login(auditor)
    shown = browser.get("/finance/").content.decode()
    assert f'data-testid="class-advance-{running_class.pk}"' in shown
    assert "2,160.00" in shown or "2160.00" in shown
    assert f"class-advance-pay-{running_class.pk}" not in shown  # read-only
    assert browser.post(
        f"/finance/classes/{running_class.pk}/advance/",
        {"amount": "2160.00", "paid_on": START.isoformat()},
    ).status_code in (403, 404)

    browser.force_login(finance)
    page = browser.get("/finance/").content.decode()
    assert f"class-advance-pay-{running_class.pk}" in page
    wrong = browser.post(
        f"/finance/classes/{running_class.pk}/advance/",
        {"amount": "2000.00", "paid_on": START.isoformat()},
    )
    assert wrong.status_code == 400
    assert "应拨金额为2,160.00元" in wrong.content.decode()
    done = browser.post(
        f"/finance/classes/{running_class.pk}/advance/",
        {"amount": "2160.00", "paid_on": START.isoformat(), "reference": "ADV-8"},
        follow=True,
    )
    assert done.status_code == 200
    text = done.content.decode()
    assert f"培训班#{running_class.pk}的先行拨付2,160.00元已登记" in text
    assert f'data-testid="class-advance-{running_class.pk}"' not in text
    assert 'data-testid="class-advances-paid"' in text


def test_a_running_class_long_past_its_end_is_listed_with_its_advance(
    running_class: TrainingClass, finance: User, clerk: User, clock: Any
) -> None:
    """The attacker review: an advance paid at the start of a class never completed
    was never shared out nor recovered, and nothing named the class. A running class
    more than ``COMPLETION_GRACE_DAYS`` past its planned end is on the anomalies page
    with the advance it holds; completing it (those who did not finish as not passed)
    recovers what they are not owed."""
    from classes.rules import COMPLETION_GRACE_DAYS
    from reporting.anomalies import anomalies

    pay(running_class, finance, amount=ADVANCE)
    clock(END + timedelta(days=COMPLETION_GRACE_DAYS.whole))
    assert anomalies().overdue_classes == []
    clock(END + timedelta(days=COMPLETION_GRACE_DAYS.whole + 1))
    found = anomalies()
    [overdue] = found.overdue_classes
    assert (overdue.class_id, overdue.advance, overdue.days_past_end) == (
        running_class.pk,
        ADVANCE,
        COMPLETION_GRACE_DAYS.whole + 1,
    )
    assert found.total == 1
