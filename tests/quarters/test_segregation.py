"""Segregation of duties (issue 12, 2): nobody decides a claim they made.

Observed on main: clerk A creates claim X; clerk B of the same unit edits it, submits
it, builds and submits the quarter's report; an administrator (two of them: one
proposes, one confirms) makes B a reviewer; B draws the spot checks and approves X →
200. The only maker-checker rule was ``reviewed_by ≠ created_by``.

Now whoever created, edited, submitted or put a claim into a report, or built or
submitted the report it is in, never approves, rejects, returns or records a spot check
on it, nor draws the sample of that report — whatever their role is now
(``quarters.permissions.can_decide`` on the facts ``quarters.selectors.claim_makers``
reads under the claim's lock). The service, the claim page, the claim API and the bulk
approval give one answer.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

import pytest
from rest_framework.test import APIClient

from accounts import services as account_services
from accounts.models import Role, User
from altay_skills.errors import PermissionDenied
from claims import services
from claims.models import Claim, ClaimEvent
from claims.services import ClaimInput
from quarters import selectors
from quarters import services as quarter_services
from quarters.models import QuarterlyReport, SpotCheck
from tests.factories import (
    TraineeFactory,
    UserFactory,
    clear_spot_checks,
    opened_evidence,
)

pytestmark = pytest.mark.django_db

REASON = "材料不全"


def api(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def admins(db: Any) -> tuple[User, User]:
    return (
        UserFactory(username="admin_1", role=Role.ADMINISTRATOR, is_staff=True),
        UserFactory(username="admin_2", role=Role.ADMINISTRATOR, is_staff=True),
    )


def make_reviewer(user: User, admins: tuple[User, User]) -> User:
    """The role change as an administrator makes it: one proposes, another confirms."""
    proposer, confirmer = admins
    change = account_services.role_change_propose(
        actor=proposer,
        user_id=user.pk,
        role=Role.PREFECTURE_REVIEWER,
        unit_code=None,
        reason="调任地区人社局审核岗",
    )
    account_services.role_change_confirm(actor=confirmer, change_id=change.pk)
    return User.objects.get(pk=user.pk)


def edit(claim: Claim, actor: User) -> Claim:
    data = services.input_of(Claim.objects.get(pk=claim.pk))
    return services.claim_update(
        claim_id=claim.pk,
        data=replace(data, certificate_number="CERT-0002"),
        actor=actor,
    )


def build(actor: User) -> QuarterlyReport:
    return quarter_services.report_build(
        unit_id="654301", quarter="2020Q1", actor=actor
    )


def submit_report(report: QuarterlyReport, actor: User) -> QuarterlyReport:
    return quarter_services.report_submit(report_id=report.pk, actor=actor)


@pytest.fixture
def observed(
    clerk: User,
    clerk_same_unit: User,
    claim_input: Callable[..., ClaimInput],
    admins: tuple[User, User],
) -> tuple[Claim, QuarterlyReport, User]:
    """The issue's repro: A creates X; B edits, submits, builds and submits the
    report; B is then made a reviewer. Returns X, the report and B."""
    x = services.claim_create(data=claim_input(), actor=clerk)
    edit(x, clerk_same_unit)
    services.claim_submit(claim_id=x.pk, actor=clerk_same_unit)
    report = submit_report(build(clerk_same_unit), clerk_same_unit)
    return x, report, make_reviewer(clerk_same_unit, admins)


# --- The observation, step by step ------------------------------------------------
def test_the_clerk_made_reviewer_cannot_approve_the_claim_they_handled(observed):
    x, _, b = observed

    response = api(b).post(f"/api/claims/{x.pk}/approve/", {}, format="json")

    assert response.status_code == 403
    assert "经办与审核须分离" in response.json()["message"]
    x.refresh_from_db()
    assert (x.status, x.reviewed_by_id) == ("submitted", None)
    assert not ClaimEvent.objects.filter(claim=x, action="approve").exists()


@pytest.mark.parametrize("action", ["reject", "return"])
def test_nor_reject_or_return_it(observed, action):
    x, _, b = observed

    response = api(b).post(
        f"/api/claims/{x.pk}/{action}/", {"reason": REASON}, format="json"
    )

    assert response.status_code == 403
    x.refresh_from_db()
    assert x.status == "submitted"


def test_nor_draw_the_spot_checks_of_the_report_they_built(observed):
    _, report, b = observed

    response = api(b).post(
        f"/api/reports/{report.pk}/spot-checks/", {"share": "1"}, format="json"
    )

    assert response.status_code == 403
    report.refresh_from_db()
    assert report.spot_check_seed == ""
    assert not SpotCheck.objects.filter(report=report).exists()


def test_nor_record_the_spot_check_of_the_claim(observed, reviewer):
    x, report, b = observed
    quarter_services.report_draw_spot_checks(
        report_id=report.pk, actor=reviewer, share=Decimal("1")
    )
    check = SpotCheck.objects.get(claim=x)

    response = api(b).post(
        f"/api/spot-checks/{check.pk}/", {"result": "consistent"}, format="json"
    )

    assert response.status_code == 403
    check.refresh_from_db()
    assert (check.result, check.checked_by_id) == ("pending", None)


def test_nor_approve_it_in_bulk_and_the_refusal_names_the_claim(observed):
    x, _, b = observed

    response = api(b).post(
        "/api/claims/approve-bulk/", {"claims": [x.pk]}, format="json"
    )

    assert response.status_code == 403
    assert f"申报#{x.pk}" in response.json()["message"]
    assert not Claim.objects.filter(status="approved").exists()


def test_an_uninvolved_reviewer_still_decides_it(observed, reviewer):
    x, report, _ = observed
    quarter_services.report_draw_spot_checks(
        report_id=report.pk, actor=reviewer, share=Decimal("1")
    )
    check = SpotCheck.objects.get(claim=x)
    quarter_services.spot_check_record(
        spot_check_id=check.pk,
        actor=reviewer,
        result="consistent",
        documents=opened_evidence(check.pk, reviewer),
    )

    response = api(reviewer).post(f"/api/claims/{x.pk}/approve/", {}, format="json")

    assert response.status_code == 200
    assert response.json()["status"] == "approved"


# --- Nothing is offered that would be refused --------------------------------------
def test_the_claim_page_and_api_offer_the_maker_no_decision(client, observed):
    x, _, b = observed

    assert api(b).get(f"/api/claims/{x.pk}/").json()["allowed_actions"] == []
    client.force_login(b)
    page = client.get(f"/claims/{x.pk}/").content.decode()
    assert 'data-testid="review-panel"' not in page
    assert 'data-testid="approve"' not in page


def test_the_report_page_offers_the_maker_no_review_panel(client, observed):
    _, report, b = observed

    client.force_login(b)
    page = client.get(f"/reports/{report.pk}/").content.decode()

    assert 'data-testid="spot-check-panel"' not in page
    assert 'data-testid="approve-selected"' not in page
    assert 'name="claims"' not in page


def test_the_report_page_offers_no_checkbox_for_a_claim_the_reviewer_made(
    client, clerk, claim_input, admins, reviewer
):
    # given a claim entered by a clerk later made a reviewer, in a report built and
    # submitted by another clerk (so the reviewer may review the report)
    maker = UserFactory(username="maker", role=Role.COUNTY_CLERK, unit_id="654301")
    mine = services.claim_create(data=claim_input(), actor=maker)
    services.claim_submit(claim_id=mine.pk, actor=maker)
    other = services.claim_create(
        data=claim_input(trainee_id=TraineeFactory().pk), actor=clerk
    )
    services.claim_submit(claim_id=other.pk, actor=clerk)
    report = submit_report(build(clerk), clerk)
    maker = make_reviewer(maker, admins)

    client.force_login(maker)
    page = client.get(f"/reports/{report.pk}/").content.decode()

    assert f'data-testid="select-{other.pk}"' in page
    assert f'data-testid="select-{mine.pk}"' not in page


# --- Each act alone makes a maker ------------------------------------------------
def _only_edited(x, a, b):
    edit(x, b)
    services.claim_submit(claim_id=x.pk, actor=a)
    submit_report(build(a), a)


def _only_submitted(x, a, b):
    services.claim_submit(claim_id=x.pk, actor=b)
    submit_report(build(a), a)


def _only_built_the_report(x, a, b):
    services.claim_submit(claim_id=x.pk, actor=a)
    submit_report(build(b), a)


def _only_submitted_the_report(x, a, b):
    services.claim_submit(claim_id=x.pk, actor=a)
    submit_report(build(a), b)


def _only_put_it_into_a_discarded_draft(x, a, b):
    services.claim_submit(claim_id=x.pk, actor=a)
    draft = build(b)
    quarter_services.report_discard(report_id=draft.pk, actor=b)
    submit_report(build(a), a)


def _only_refreshed_the_draft(x, a, b):
    # a first builds the draft with another claim; b refreshes it, putting x in
    other = services.claim_create(
        data=replace(services.input_of(x), trainee_id=TraineeFactory().pk), actor=a
    )
    services.claim_submit(claim_id=other.pk, actor=a)
    draft = build(a)
    services.claim_submit(claim_id=x.pk, actor=a)
    build(b)
    submit_report(draft, a)


@pytest.mark.parametrize(
    "act",
    [
        _only_edited,
        _only_submitted,
        _only_built_the_report,
        _only_submitted_the_report,
        _only_put_it_into_a_discarded_draft,
        _only_refreshed_the_draft,
    ],
    ids=lambda f: f.__name__.strip("_"),
)
@pytest.mark.parametrize("decision", ["approve", "reject", "return"])
def test_each_makers_act_alone_bars_every_decision(
    clerk, clerk_same_unit, claim_input, admins, act, decision
):
    x = services.claim_create(data=claim_input(), actor=clerk)
    act(x, clerk, clerk_same_unit)
    b = make_reviewer(clerk_same_unit, admins)
    decide = getattr(quarter_services, f"claim_{decision}")

    with pytest.raises(PermissionDenied, match="经办与审核须分离"):
        decide(claim_id=x.pk, actor=b, reason=REASON)

    assert Claim.objects.get(pk=x.pk).status == "submitted"


def test_deciding_does_not_make_a_maker(clerk, reviewer, claim_input):
    """The reviewer who returned a claim decides it again once it is corrected and
    reported anew: a decision, a spot check or the sample are not a maker's acts."""
    x = services.claim_create(data=claim_input(), actor=clerk)
    services.claim_submit(claim_id=x.pk, actor=clerk)
    first = submit_report(build(clerk), clerk)
    quarter_services.report_draw_spot_checks(
        report_id=first.pk, actor=reviewer, share=Decimal("1")
    )
    check = SpotCheck.objects.get(claim=x).pk
    quarter_services.spot_check_record(
        spot_check_id=check,
        actor=reviewer,
        result="consistent",
        documents=opened_evidence(check, reviewer),
    )
    quarter_services.claim_return(claim_id=x.pk, actor=reviewer, reason=REASON)
    quarter_services.report_close(report_id=first.pk, actor=reviewer)
    edit(x, clerk)
    services.claim_submit(claim_id=x.pk, actor=clerk)
    second = quarter_services.report_build(
        unit_id="654301", quarter="2020Q2", actor=clerk
    )
    clear_spot_checks(submit_report(second, clerk), reviewer)

    approved = quarter_services.claim_approve(claim_id=x.pk, actor=reviewer)

    assert approved.status == "approved"


# --- History ---------------------------------------------------------------------
def test_a_role_change_rewrites_no_history(clerk, clerk_same_unit, claim_input, admins):
    x = services.claim_create(data=claim_input(), actor=clerk)
    edit(x, clerk_same_unit)
    services.claim_submit(claim_id=x.pk, actor=clerk_same_unit)
    report = submit_report(build(clerk_same_unit), clerk_same_unit)
    trail = list(
        ClaimEvent.objects.filter(claim=x).values_list("pk", "actor_id", "hash")
    )
    report_trail = list(report.events.values_list("pk", "actor_id", "hash"))

    make_reviewer(clerk_same_unit, admins)

    assert trail == list(
        ClaimEvent.objects.filter(claim=x).values_list("pk", "actor_id", "hash")
    )
    assert report_trail == list(report.events.values_list("pk", "actor_id", "hash"))
    report.refresh_from_db()
    assert report.built_by_id == report.submitted_by_id == clerk_same_unit.pk


def test_the_trails_show_the_role_held_when_acting(client, observed, reviewer):
    x, report, b = observed
    client.force_login(reviewer)

    claim_page = client.get(f"/claims/{x.pk}/").content.decode()
    report_page = client.get(f"/reports/{report.pk}/").content.decode()

    # B edited, submitted and reported as a clerk; B is a reviewer only now
    name = b.get_full_name() or b.username
    for page in (claim_page, report_page):
        assert f"{name}（县(市)经办人）" in page
        assert f"{name}（地区审核人）" not in page


# --- The bulk approval reads who made the selection once --------------------------
def test_the_bulk_approval_reads_the_makers_of_its_selection_in_one_query(
    clerk, reviewer, claim_input
):
    claims = []
    for _ in range(4):
        draft = services.claim_create(
            data=claim_input(trainee_id=TraineeFactory().pk), actor=clerk
        )
        claims.append(services.claim_submit(claim_id=draft.pk, actor=clerk))
    clear_spot_checks(submit_report(build(clerk), clerk), reviewer)

    with CaptureQueriesContext(connection) as captured:
        quarter_services.claims_approve_bulk(
            claim_ids=[c.pk for c in claims], actor=reviewer
        )

    makers_reads = [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].lstrip("(").startswith("SELECT")
        and '"claims_claimevent"."actor_id"' in q["sql"]
    ]
    assert len(makers_reads) == 1, makers_reads
    assert Claim.objects.filter(status="approved").count() == 4


def test_the_makers_of_more_claims_than_a_statement_may_name_are_read(
    observed, clerk, monkeypatch, request
):
    """A bank batch of 6,000 claims named them six times in one statement, past
    SQLite's limit on parameters (``make run``): "too many SQL variables". The
    claims are read in as many statements as the database needs."""
    if connection.vendor == "sqlite":  # SQLite's own default; Debian builds allow more
        connection.ensure_connection()
        limit = sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER
        was = connection.connection.setlimit(limit, 32_766)
        request.addfinalizer(lambda: connection.connection.setlimit(limit, was))
    made = Claim.objects.get(pk=observed[0].pk)
    nowhere = [
        Claim(pk=10_000_000 + n, created_by_id=clerk.pk, unit_id=made.unit_id)
        for n in range(6_000)
    ]

    at_once = selectors.claim_makers([made, *nowhere])

    assert at_once[made.pk] == selectors.claim_makers([made])[made.pk]
    assert all(at_once[c.pk] == {clerk.pk} for c in nowhere)
    monkeypatch.setattr(selectors, "_claims_per_statement", lambda: 7)
    assert selectors.claim_makers([*nowhere[:20], made]) == {
        **{c.pk: frozenset({clerk.pk}) for c in nowhere[:20]},
        made.pk: at_once[made.pk],
    }


def test_who_uploaded_a_claims_evidence_never_checks_it_nor_decides_the_claim(
    clerk, clerk_same_unit, claim_input, admins, reviewer, settings, tmp_path
):
    """The attacker review: clerk B uploaded the certificate to A's claim, was made a
    reviewer, recorded the spot check as consistent naming that very document, and
    approved the claim (200, 200)."""
    from tests.claims.test_documents import pdf_bytes, upload

    settings.MEDIA_ROOT = tmp_path / "media"
    x = services.claim_create(data=claim_input(), actor=clerk)
    services.claim_submit(claim_id=x.pk, actor=clerk)
    document = services.claim_attach_document(
        claim_id=x.pk,
        kind="certificate",
        upload=upload("证书.pdf", pdf_bytes()),
        actor=clerk_same_unit,
    )
    report = submit_report(build(clerk), clerk)
    b = make_reviewer(clerk_same_unit, admins)

    quarter_services.report_draw_spot_checks(
        report_id=report.pk, actor=reviewer, share=Decimal("1")
    )
    check = SpotCheck.objects.get(claim=x)
    with pytest.raises(PermissionDenied):
        quarter_services.spot_check_record(
            spot_check_id=check.pk,
            actor=b,
            result="consistent",
            documents=[document.pk],
        )
    with pytest.raises(PermissionDenied):
        quarter_services.claim_approve(claim_id=x.pk, actor=b)
    assert Claim.objects.get(pk=x.pk).status == "submitted"


# --- And the payer (经办、审核与拨付分离) ---------------------------------------------
def to_finance(user: User, admins: tuple[User, User]) -> User:
    proposer, confirmer = admins
    change = account_services.role_change_propose(
        actor=proposer,
        user_id=user.pk,
        role=Role.FINANCE_OFFICER,
        unit_code=None,
        reason="调任财政局拨付岗",
    )
    account_services.role_change_confirm(actor=confirmer, change_id=change.pk)
    return User.objects.get(pk=user.pk)


def test_the_clerk_made_finance_officer_cannot_pay_the_claim_they_handled(
    clerk, clerk_same_unit, claim_input, admins
):
    x = services.claim_create(data=claim_input(), actor=clerk)
    services.claim_submit(claim_id=x.pk, actor=clerk_same_unit)
    submit_report(build(clerk_same_unit), clerk_same_unit)
    b = to_finance(clerk_same_unit, admins)

    response = api(b).post(
        "/api/payments/",
        {
            "claim": x.pk,
            "kind": "advance",
            "amount": "720.00",
            "paid_on": "2020-05-10",
            "status": "paid",
        },
        format="json",
    )

    assert response.status_code == 403, response.content
    assert "经办、审核与拨付须分离" in response.json()["message"]
    assert not x.payments.exists()


def test_the_finance_officer_who_paid_its_advance_never_decides_the_claim(
    claim_input, reviewer, finance, admins
):
    """The second review: finance paid a claim's 40% advance while its report was with
    the prefecture; made a reviewer, the officer approved the claim (200). Maker,
    checker and payer are three people, whatever the role is now."""
    from tests.quarter_run import run_quarter

    quarter = run_quarter(claim_input, reviewer, finance=finance, decide=False)
    report = quarter.reports[0]
    paid = report.claims.filter(advance__gt=0).order_by("pk").first()
    assert paid is not None and paid.payments.filter(recorded_by=finance).exists()
    clear_spot_checks(report, reviewer)
    made_reviewer = make_reviewer(finance, admins)

    answer = api(made_reviewer).post(
        f"/api/claims/{paid.pk}/approve/", {}, format="json"
    )

    assert answer.status_code == 403, answer.content
    assert "拨付" in answer.json()["message"]
    assert Claim.objects.get(pk=paid.pk).status == "submitted"
    approved = api(reviewer).post(f"/api/claims/{paid.pk}/approve/", {}, format="json")
    assert approved.status_code == 200, approved.content


def test_who_checked_a_claims_documents_never_pays_it(
    clerk, claim_input, reviewer, admins
):
    """The second review: reviewer C recorded the claim's spot check, R approved it;
    C, made a finance officer, could record its payment."""
    from finance.permissions import can_record_payment

    x = services.claim_create(data=claim_input(), actor=clerk)
    services.claim_submit(claim_id=x.pk, actor=clerk)
    report = submit_report(build(clerk), clerk)
    checker = UserFactory(username="reviewer_c", role=Role.PREFECTURE_REVIEWER)
    quarter_services.report_draw_spot_checks(
        report_id=report.pk, actor=reviewer, share=Decimal("1")
    )
    check = SpotCheck.objects.get(claim=x).pk
    quarter_services.spot_check_record(
        spot_check_id=check,
        actor=checker,
        result="consistent",
        documents=opened_evidence(check, checker),
    )
    quarter_services.claim_approve(claim_id=x.pk, actor=reviewer)
    payer = to_finance(checker, admins)
    other = UserFactory(username="fin_other", role=Role.FINANCE_OFFICER)

    claim = Claim.objects.get(pk=x.pk)
    assert not can_record_payment(payer, claim)
    assert can_record_payment(other, claim)


def test_nor_the_reviewer_who_approved_it(observed, reviewer, admins):
    from finance.permissions import can_record_payment

    x, _, _ = observed
    Claim.objects.filter(pk=x.pk).update(reviewed_by=reviewer)
    payer = to_finance(reviewer, admins)
    x.refresh_from_db()

    refused = can_record_payment(payer, x)
    assert not refused and "须分离" in refused.reason
    other = UserFactory(username="finance_2", role=Role.FINANCE_OFFICER)
    assert can_record_payment(other, x)


def test_who_paid_a_claim_never_rules_on_its_trainees_not_me(
    claim_input, reviewer, finance, admins
):
    """The attacker review: the officer who paid a claim's advance, made a reviewer,
    dismissed the trainee's "我没有参加" — releasing the hold on its balance."""
    from claims.confirmations import code_for, confirmation_answer, grievance_find
    from claims.models import TraineeConfirmation, TraineeGrievance
    from tests.quarter_run import run_quarter

    quarter = run_quarter(claim_input, reviewer, finance=finance, decide=False)
    paid = quarter.reports[0].claims.filter(advance__gt=0).order_by("pk").first()
    assert paid.payments.filter(recorded_by=finance).exists()
    confirmation = TraineeConfirmation.objects.get(claim=paid)
    confirmation_answer(
        code=code_for(confirmation),
        answer="disputed",
        id_last4=paid.trainee.id_number[-4:],
    )
    grievance = TraineeGrievance.objects.get(claim=paid)
    payer = make_reviewer(finance, admins)
    with pytest.raises(PermissionDenied):
        grievance_find(
            grievance_id=grievance.pk,
            outcome="dismissed",
            reason="已电话核实本人参加",
            actor=payer,
        )
    grievance.refresh_from_db()
    assert (grievance.outcome, grievance.found_at) == ("", None)


def test_the_reviewer_is_told_an_advance_was_paid_before_rejecting(
    client, claim_input, reviewer, finance
):
    """The review of session 25: a claim whose advance was paid was rejected without
    the page saying so; the recovery it opened was news afterwards."""
    from tests.quarter_run import run_quarter

    quarter = run_quarter(claim_input, reviewer, finance=finance, decide=False)
    report = quarter.reports[0]
    clear_spot_checks(report, reviewer)
    paid = report.claims.filter(advance__gt=0).order_by("pk").first()
    assert paid.paid > 0
    client.force_login(reviewer)
    page = client.get(f"/claims/{paid.pk}/").content.decode()
    assert 'data-testid="review-paid"' in page and "驳回后已拨款项记为应追回" in page
    # the other unit's claims are not project-based: no advance, nothing said
    unpaid = quarter.reports[1].claims.order_by("pk").first()
    assert unpaid.paid == 0
    page = client.get(f"/claims/{unpaid.pk}/").content.decode()
    assert 'data-testid="review-panel"' in page
    assert 'data-testid="review-paid"' not in page


def test_a_rejected_claim_says_so_above_its_rules_decision(
    client, claim_input, reviewer, clerk
):
    claim = services.claim_create(data=claim_input(), actor=clerk)
    services.claim_submit(claim_id=claim.pk, actor=clerk)
    submit_report(build(clerk), clerk)
    quarter_services.claim_reject(claim_id=claim.pk, actor=reviewer, reason="材料不实")
    client.force_login(clerk)
    page = client.get(f"/claims/{claim.pk}/").content.decode()
    assert 'data-testid="decision-superseded"' in page and "已驳回，不予补贴" in page
