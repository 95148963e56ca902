"""What is offered is exactly what the services accept (issue 11, "permissions in one
place per app").

For every role and every state a claim can be in, the actions the claim page and the
claim API offer (``claims.permissions.actions_for``, with the reviewer's decisions that
``quarters.permissions`` adds) are compared with the actions the services accept, each
service called in a savepoint that is then rolled back. Every claim here is eligible:
whether a draft may be submitted on its merits is the rules' judgement at the moment of
submission (``not_eligible``), not a permission, and is tested with the rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

import pytest
from rest_framework.test import APIClient

from accounts.models import Role, User
from altay_skills.errors import Conflict, DomainError, PermissionDenied
from altay_skills.permissions import (
    ALLOWED,
    Permission,
    conflict,
    deny,
    require,
    shown_on_page,
)
from claims import services as claim_services
from claims.models import Claim
from claims.permissions import actions_for, actions_for_many
from quarters import services as quarter_services
from quarters.models import SpotCheck
from tests.factories import (
    TraineeFactory,
    UserFactory,
    clear_spot_checks,
    opened_evidence,
)

pytestmark = pytest.mark.django_db

ACTIONS = ("edit", "submit", "withdraw", "delete", "approve", "reject", "return")
ROLES = ("clerk", "other_clerk", "reviewer", "maker", "finance", "auditor")
REVIEWED = {"approve", "reject", "return"}

#: What each role may do with a claim in each state: the rules, written out once, so
#: that offering and accepting cannot agree on a mistake. ``maker`` is a reviewer who,
#: as a clerk, entered the claim ``made_by_maker`` and edited and submitted the claim
#: ``edited_by_maker`` that another clerk entered (经办与审核分离, issue 12).
EXPECTED: dict[str, dict[str, set[str]]] = {
    "clerk": {
        # 删除草稿 (issue 15, 4): a draft only
        "draft": {"edit", "submit", "withdraw", "delete"},
        "submitted": {"withdraw"},
        "in_draft_report": {"withdraw"},
        "returned": {"edit", "submit", "withdraw"},
    },
    "reviewer": {
        "in_submitted_report": REVIEWED,
        "made_by_maker": REVIEWED,
        "edited_by_maker": REVIEWED,
        "spot_check_pending": {"reject", "return"},
        "spot_check_done": REVIEWED,
        # no approval before the report's sample is drawn (spot_checks_not_drawn)
        "in_undrawn_report": {"reject", "return"},
    },
    "maker": {
        "in_submitted_report": REVIEWED,
        "spot_check_pending": {"reject", "return"},
        "spot_check_done": REVIEWED,
        "in_undrawn_report": {"reject", "return"},
    },
}
STATES = (
    "draft",
    "submitted",
    "in_draft_report",
    "returned",
    "in_submitted_report",
    "made_by_maker",
    "edited_by_maker",
    "spot_check_pending",
    "spot_check_done",
    "in_undrawn_report",
    "approved",
    "rejected",
    "withdrawn",
)

#: Training spans that put a claim into a quarter's report.
SPANS = {
    "2020Q1": (date(2020, 3, 1), date(2020, 3, 31)),
    "2020Q2": (date(2020, 5, 1), date(2020, 5, 31)),
    "2020Q3": (date(2020, 8, 1), date(2020, 8, 31)),
    "2020Q4": (date(2020, 11, 1), date(2020, 11, 30)),
    "2021Q1": (date(2021, 3, 1), date(2021, 3, 31)),
}
REASON = "材料不全"


def _file(claim_input: Any, clerk: User, quarter: str, *, submit: bool = True) -> Any:
    start, end = SPANS[quarter]
    person = TraineeFactory(groups=["poor_labour"])
    claim = claim_services.claim_create(
        data=claim_input(trainee_id=person.pk, training_start=start, training_end=end),
        actor=clerk,
    )
    if submit:
        claim_services.claim_submit(claim_id=claim.pk, actor=clerk)
    return claim


def _report(clerk: User, quarter: str, *, submit: bool = True) -> Any:
    report = quarter_services.report_build(
        unit_id=clerk.unit_id, quarter=quarter, actor=clerk
    )
    if submit:
        report = quarter_services.report_submit(report_id=report.pk, actor=clerk)
    return report


@pytest.fixture
def world(
    claim_input: Any,
    clerk: User,
    other_clerk: User,
    reviewer: User,
    finance: User,
    auditor: User,
) -> dict[str, Any]:
    """One claim of unit 654301 in each state of ``STATES``, and a user of each role."""
    maker = UserFactory(username="maker", role=Role.COUNTY_CLERK, unit_id="654301")
    claims = {}
    # 2020Q1: a submitted report; three of its claims are then decided
    for state in ("in_submitted_report", "approved", "rejected", "returned"):
        claims[state] = _file(claim_input, clerk, "2020Q1")
    claims["made_by_maker"] = _file(claim_input, maker, "2020Q1")
    claims["edited_by_maker"] = edited = _file(
        claim_input, clerk, "2020Q1", submit=False
    )
    claim_services.claim_update(
        claim_id=edited.pk,
        data=replace(claim_services.input_of(edited), certificate_number="CERT-0009"),
        actor=maker,
    )
    claim_services.claim_submit(claim_id=edited.pk, actor=maker)
    clear_spot_checks(_report(clerk, "2020Q1"), reviewer)
    quarter_services.claim_approve(claim_id=claims["approved"].pk, actor=reviewer)
    quarter_services.claim_reject(
        claim_id=claims["rejected"].pk, actor=reviewer, reason=REASON
    )
    quarter_services.claim_return(
        claim_id=claims["returned"].pk, actor=reviewer, reason=REASON
    )
    # 2020Q2: a submitted report, all of it sampled; one check recorded
    for state in ("spot_check_pending", "spot_check_done"):
        claims[state] = _file(claim_input, clerk, "2020Q2")
    report = _report(clerk, "2020Q2")
    quarter_services.report_draw_spot_checks(
        report_id=report.pk, actor=reviewer, share=Decimal("1")
    )
    done = SpotCheck.objects.get(claim=claims["spot_check_done"]).pk
    quarter_services.spot_check_record(
        spot_check_id=done,
        actor=reviewer,
        result="consistent",
        documents=opened_evidence(done, reviewer),
    )
    # 2021Q1: a submitted report whose sample is not drawn yet
    claims["in_undrawn_report"] = _file(claim_input, clerk, "2021Q1")
    _report(clerk, "2021Q1")
    # 2020Q3: a draft report
    claims["in_draft_report"] = _file(claim_input, clerk, "2020Q3")
    _report(clerk, "2020Q3", submit=False)
    # 2020Q4: no report
    claims["submitted"] = _file(claim_input, clerk, "2020Q4")
    claims["draft"] = _file(claim_input, clerk, "2020Q4", submit=False)
    claims["withdrawn"] = _file(claim_input, clerk, "2020Q4", submit=False)
    claim_services.claim_withdraw(claim_id=claims["withdrawn"].pk, actor=clerk)
    # the clerk who entered ``made_by_maker`` is later made a reviewer
    maker.role, maker.unit = Role.PREFECTURE_REVIEWER, None
    maker.save()
    assert set(claims) == set(STATES)
    return {
        "claims": {state: claim.pk for state, claim in claims.items()},
        "users": {
            "clerk": clerk,
            "other_clerk": other_clerk,
            "reviewer": reviewer,
            "maker": maker,
            "finance": finance,
            "auditor": auditor,
        },
    }


SERVICES: dict[str, Callable[[int, User], object]] = {
    "edit": lambda pk, user: claim_services.claim_update(
        claim_id=pk,
        data=claim_services.input_of(Claim.objects.get(pk=pk)),
        actor=user,
    ),
    "submit": lambda pk, user: claim_services.claim_submit(claim_id=pk, actor=user),
    "withdraw": lambda pk, user: claim_services.claim_withdraw(claim_id=pk, actor=user),
    "delete": lambda pk, user: claim_services.claim_delete(claim_id=pk, actor=user),
    "approve": lambda pk, user: quarter_services.claim_approve(claim_id=pk, actor=user),
    "reject": lambda pk, user: quarter_services.claim_reject(
        claim_id=pk, actor=user, reason=REASON
    ),
    "return": lambda pk, user: quarter_services.claim_return(
        claim_id=pk, actor=user, reason=REASON
    ),
}


class _RolledBack(Exception):
    """Raised to roll a savepoint back after a service accepted."""


def accepted(action: str, claim_id: int, user: User) -> bool:
    """Whether the service takes the action: called in a savepoint, then rolled back."""
    try:
        with transaction.atomic():
            SERVICES[action](claim_id, user)
            raise _RolledBack
    except _RolledBack:
        return True
    except DomainError:
        return False


def offered(user: User, claim_id: int) -> set[str]:
    claim = Claim.objects.select_related("report").get(pk=claim_id)
    return set(actions_for(user, claim))


@pytest.mark.parametrize("role", ROLES)
def test_what_is_offered_is_what_the_services_accept(
    world: dict[str, Any], role: str
) -> None:
    user = world["users"][role]
    claims = world["claims"]
    offers = {state: offered(user, pk) for state, pk in claims.items()}
    accepts = {
        state: {a for a in ACTIONS if accepted(a, pk, user)}
        for state, pk in claims.items()
    }
    expected = {state: EXPECTED.get(role, {}).get(state, set()) for state in STATES}
    assert accepts == expected
    assert offers == accepts


@pytest.mark.parametrize("role", ROLES)
def test_the_api_offers_the_same_as_the_page_and_a_list_the_same_as_one(
    world: dict[str, Any], role: str
) -> None:
    user = world["users"][role]
    claims = world["claims"]
    client = APIClient()
    client.force_authenticate(user)
    listed = {
        row["id"]: row["allowed_actions"]
        for row in client.get("/api/claims/", {"page_size": 100}).json()["results"]
    }
    rows = list(Claim.objects.select_related("report").filter(pk__in=claims.values()))
    many = actions_for_many(user, rows)
    for state, pk in claims.items():
        one = offered(user, pk)
        assert set(many[pk]) == one, state
        response = client.get(f"/api/claims/{pk}/")
        if response.status_code == 404:  # another unit's claim
            assert one == set() and pk not in listed, state
            continue
        assert set(response.json()["allowed_actions"]) == one, state
        assert set(listed[pk]) == one, state


def test_a_claim_whose_spot_check_is_pending_is_not_offered_approval(
    client: Any, world: dict[str, Any]
) -> None:
    reviewer = world["users"]["reviewer"]
    pk = world["claims"]["spot_check_pending"]
    api = APIClient()
    api.force_authenticate(reviewer)
    # the API and the page do not offer approval…
    assert api.get(f"/api/claims/{pk}/").json()["allowed_actions"] == [
        "reject",
        "return",
    ]
    listed = api.get("/api/claims/", {"status": "submitted"}).json()["results"]
    assert next(r for r in listed if r["id"] == pk)["allowed_actions"] == [
        "reject",
        "return",
    ]
    client.force_login(reviewer)
    page = client.get(reverse("claim_detail", args=[pk])).content.decode()
    assert 'data-testid="review-panel"' in page
    assert 'data-testid="reject"' in page
    assert 'data-testid="approve"' not in page
    # …because the service refuses it
    response = api.post(f"/api/claims/{pk}/approve/")
    assert response.status_code == 409
    assert response.json()["code"] == "spot_check_pending"
    # once the documents are checked, approval is offered and accepted
    check = SpotCheck.objects.get(claim_id=pk)
    quarter_services.spot_check_record(
        spot_check_id=check.pk,
        actor=reviewer,
        result="consistent",
        documents=opened_evidence(check.pk, reviewer),
    )
    page = client.get(reverse("claim_detail", args=[pk])).content.decode()
    assert 'data-testid="approve"' in page
    assert api.post(f"/api/claims/{pk}/approve/").json()["status"] == "approved"


def test_the_reviewers_list_reads_the_spot_checks_once(
    world: dict[str, Any], claim_input: Any, clerk: User
) -> None:
    reviewer = world["users"]["reviewer"]
    api = APIClient()
    api.force_authenticate(reviewer)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api.get("/api/claims/", {"status": "submitted"}).status_code == 200
        return len(captured)

    before = queries()
    # more claims the reviewer may decide, in another submitted report
    for _ in range(3):
        _file(claim_input, clerk, "2020Q4")
    _report(clerk, "2020Q4")
    assert queries() == before


# --- The answer's shape ------------------------------------------------------------------
def test_a_permission_is_truthy_when_allowed_and_unpacks_with_its_reason() -> None:
    refused = deny("只有财政人员可以登记拨付")
    assert ALLOWED and not refused
    allowed, reason = refused
    assert (allowed, reason) == (False, "只有财政人员可以登记拨付")
    assert tuple(ALLOWED) == (True, "")


@pytest.mark.parametrize(
    ("permission", "error", "code", "status"),
    [
        (deny("不行"), PermissionDenied, "permission_denied", 403),
        (conflict("report_frozen", "已报送"), Conflict, "report_frozen", 409),
        (Permission(False, "无效", "invalid", 400), DomainError, "invalid", 400),
    ],
)
def test_require_raises_the_refusal_with_its_code_and_status(
    permission: Permission, error: type[DomainError], code: str, status: int
) -> None:
    require(ALLOWED)
    with pytest.raises(error) as raised:
        require(permission)
    assert (raised.value.code, raised.value.status_code) == (code, status)
    assert raised.value.message == permission.reason


def test_a_page_shows_a_refusal_of_state_and_raises_one_of_access() -> None:
    state = Conflict("report_frozen", "已报送")
    assert shown_on_page(state) is state
    with pytest.raises(PermissionDenied):
        shown_on_page(PermissionDenied("不行"))


# --- The role first (issue 12, 2) ----------------------------------------------------
#: A role that may never take an action is refused for its role (403) whatever the
#: claim's state; only a role that may take it hears about the state (409). On main the
#: state was judged first: a clerk's ``approve/`` on their own draft was a 409.
ROLE_FIRST = [
    ("clerk", "draft", "approve"),
    ("clerk", "draft", "reject"),
    ("clerk", "draft", "return"),
    ("clerk", "approved", "approve"),
    ("finance", "draft", "approve"),
    ("auditor", "withdrawn", "return"),
    ("reviewer", "approved", "submit"),
    ("reviewer", "approved", "withdraw"),
    ("reviewer", "withdrawn", "edit"),
    ("maker", "draft", "submit"),
]


@pytest.mark.parametrize(("role", "state", "action"), ROLE_FIRST)
def test_a_role_that_never_takes_an_action_is_refused_for_its_role_first(
    world: dict[str, Any], role: str, state: str, action: str
) -> None:
    user = world["users"][role]
    pk = world["claims"][state]
    client = APIClient()
    client.force_authenticate(user)
    before = Claim.objects.values_list("status", "updated_at").get(pk=pk)

    if action == "edit":
        response = client.patch(
            f"/api/claims/{pk}/", {"amount_requested": "1.00"}, format="json"
        )
    else:
        response = client.post(
            f"/api/claims/{pk}/{action}/", {"reason": REASON}, format="json"
        )

    assert response.status_code == 403, response.json()
    assert response.json()["code"] == "permission_denied"
    assert Claim.objects.values_list("status", "updated_at").get(pk=pk) == before


@pytest.mark.parametrize(
    ("role", "state", "action"),
    [
        ("reviewer", "draft", "approve"),
        ("reviewer", "approved", "reject"),
        ("clerk", "approved", "withdraw"),
        ("clerk", "submitted", "submit"),
    ],
)
def test_a_role_that_takes_an_action_hears_about_the_state(
    world: dict[str, Any], role: str, state: str, action: str
) -> None:
    client = APIClient()
    client.force_authenticate(world["users"][role])

    response = client.post(
        f"/api/claims/{world['claims'][state]}/{action}/",
        {"reason": REASON},
        format="json",
    )

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
