"""Who may do what with a claim: ``can_<verb>(user, claim) -> Permission``.

The services of ``claims`` raise with these answers (``altay_skills.permissions
.require``), and the claim page, the claim API (``allowed_actions``) and the templates
offer exactly the actions these allow — one answer, so a button is never offered that
the service would refuse.

The clerk's actions (create, edit, submit, withdraw) are decided here. The reviewer's
decisions (approve, reject, return) need more than the transition table: the claim must
sit in a submitted quarterly report, and a pending spot check stops an approval. Those
are the quarter's rules (``quarters.permissions``), and this stage may not import a
later one. So a later stage that decides on claims *offers* its actions here
(``offer_decisions``), from its ``AppConfig.ready()`` — as finance hears
``claims.signals.claim_moved`` — and ``actions_for`` adds what it offers to the clerk's.
The claim page and the claim API therefore show the review buttons exactly when
``quarters.permissions.can_decide`` (which ``quarters.services`` requires) allows them,
without ``claims`` knowing what a report or a spot check is. A source answers for many
claims at once, so a listed page asks each later stage once, not once per claim.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from functools import cache
from typing import Any

from accounts.models import User
from altay_skills.permissions import ALLOWED, Permission, conflict, deny
from claims import workflow
from claims.models import Claim
from claims.selectors import claim_trail_makers_and_payers

#: The actions this stage decides, in the order the page and the API list them.
CLERK_ACTIONS = ("edit", "submit", "withdraw", "delete")

#: What a later stage offers: claim id → the actions of its own it allows the user.
DecisionSource = Callable[[User, Sequence[Claim]], Mapping[int, Sequence[str]]]
_decision_sources: list[DecisionSource] = []


def offer_decisions(source: DecisionSource) -> None:
    """Register a later stage's decisions (called from its ``AppConfig.ready()``)."""
    if source not in _decision_sources:
        _decision_sources.append(source)


#: Why a later stage does not offer the user 核准 on a claim now: (code, reason), or
#: None — said on the claim's page, where the button is missing (the review of session
#: 25: a claim with an open objection, or in no report yet, simply lacked it).
ApprovalHint = Callable[[User, Claim], "tuple[str, str] | None"]
_approval_hints: list[ApprovalHint] = []


def offer_approval_hint(source: ApprovalHint) -> None:
    if source not in _approval_hints:
        _approval_hints.append(source)


def approval_hint(user: User, claim: Claim) -> tuple[str, str] | None:
    for source in _approval_hints:
        if (hint := source(user, claim)) is not None:
            return hint
    return None


# --- Filing ------------------------------------------------------------------------------
def can_file_for_unit(user: User, unit_id: str | None) -> Permission:
    """A clerk files, checks and reports for their own unit only (五(二)); the other
    roles are stopped, where they must be, by their role."""
    if user.is_authenticated and user.is_clerk and user.unit_id != unit_id:
        return deny("经办人只能为本单位录入申报")
    return ALLOWED


def can_create(user: User, unit_id: str | None = None) -> Permission:
    """Enter a claim (a draft): a county clerk, for their own unit."""
    if not user.is_authenticated or not user.is_clerk or not user.unit_id:
        return deny("只有县(市)经办人可以录入申报")
    if unit_id is not None:
        return can_file_for_unit(user, unit_id)
    return ALLOWED


# --- Moving a claim through the transition table -------------------------------------
@cache  # the table is fixed when the module loads; the list asks 200 times a page
def roles_for(action: str) -> frozenset[str]:
    """The roles that take ``action`` from some status of the table: any other role
    is refused the action for its role, before the claim's status is looked at."""
    return frozenset(
        role
        for (_, name), transition in workflow.TRANSITIONS.items()
        if name == action
        for role in transition.roles
    )


def can_move(user: User, claim: Claim | None, action: str) -> Permission:
    """The transition table (``workflow``), who before what: a role that never takes
    the action is refused for its role (403) whatever the claim's state, and a clerk
    acts on their own unit's claims only (403); only then must the claim's status have
    the action (else 409 ``invalid_transition``). Without a claim: the role."""
    label = workflow.ACTION_LABELS.get(action, action)
    if not user.is_authenticated or user.role not in roles_for(action):
        return deny(f"您的角色不能{label}申报")
    if claim is None:
        return ALLOWED
    if user.is_clerk and user.unit_id != claim.unit_id:
        return deny("经办人只能办理本单位的申报")
    transition = workflow.transition_for(claim.status, action)
    if transition is None:
        status = workflow.STATUS_LABELS.get(claim.status, claim.status)
        return conflict("invalid_transition", f"“{status}”状态的申报不能{label}")
    if user.role not in transition.roles:
        return deny(f"您的角色不能{label}申报")
    return ALLOWED


def can_edit(user: User, claim: Claim | None = None) -> Permission:
    """Change a draft or a returned claim."""
    return can_move(user, claim, "edit")


def can_submit(user: User, claim: Claim | None = None) -> Permission:
    """Submit a draft or a corrected returned claim (whether it is eligible is the
    rules' answer, given when it is submitted: ``not_eligible``)."""
    return can_move(user, claim, "submit")


def can_withdraw(user: User, claim: Claim | None = None) -> Permission:
    """Withdraw a claim before review: from a draft report it leaves the report; once
    the report has gone to the prefecture it cannot be withdrawn."""
    moved = can_move(user, claim, "withdraw")
    if not moved or claim is None:
        return moved
    report = claim.report  # none without a query when the claim is in no report
    if report is not None and not report.is_draft:
        return conflict("in_report", "申报已随季度报表报送地区审核，不能撤回")
    return ALLOWED


def can_delete(user: User, claim: Claim | None = None) -> Permission:
    """Delete a draft (删除草稿): the clerk of its unit, while it is a draft (else 409).
    Nothing has counted it, no report holds it; its row and trail stay for the audit.
    """
    return can_move(user, claim, "delete")


CLERK_CHECKS: dict[str, Callable[[User, Claim], Permission]] = {
    "edit": can_edit,
    "submit": can_submit,
    "withdraw": can_withdraw,
    "delete": can_delete,
}


# --- What to offer ---------------------------------------------------------------------
def actions_for(user: User, claim: Claim) -> list[str]:
    """What this user may do next with this claim (the page's buttons, the API's
    ``allowed_actions``): exactly the actions the services would accept now."""
    return actions_for_many(user, [claim])[claim.pk]


def actions_for_many(user: User, claims: Sequence[Claim]) -> dict[int, list[str]]:
    """``actions_for`` of a list of claims: each later stage is asked once for all."""
    offered = {
        claim.pk: [a for a in CLERK_ACTIONS if CLERK_CHECKS[a](user, claim)]
        for claim in claims
    }
    if not user.is_authenticated or not claims:
        return offered
    for source in _decision_sources:
        for claim_id, actions in source(user, claims).items():
            offered[claim_id].extend(actions)
    return offered


# --- Evidence (issue 16) -----------------------------------------------------------------
#: While a claim may take evidence: being prepared (draft, returned) or under review
#: (submitted — a reviewer may ask for a missing paper). Never once it is decided
#: (approved, rejected), withdrawn or deleted: what a decision stood on stays as it was.
DOCUMENT_STATUSES = frozenset({workflow.DRAFT, workflow.RETURNED, workflow.SUBMITTED})


def can_attach_document(user: User, claim: Claim | None = None) -> Permission:
    """Attach a document to a claim: the county clerk of its unit (403 otherwise),
    while the claim is a draft, returned or submitted (409 otherwise)."""
    if not user.is_authenticated or not user.is_clerk or not user.unit_id:
        return deny("只有县(市)经办人可以上传申报材料")
    if claim is None:
        return ALLOWED
    if user.unit_id != claim.unit_id:
        return deny("经办人只能为本单位的申报上传材料")
    if claim.status not in DOCUMENT_STATUSES:
        status = workflow.STATUS_LABELS.get(claim.status, claim.status)
        return conflict("documents_closed", f"“{status}”状态的申报不能再上传材料")
    return ALLOWED


GRIEVANCE_MAKER = (
    "不能核查针对本人录入、修改、提交、报送或拨付的申报的申诉"
    "（经办与审核须分离，拨付与审核亦须分离），请由本单位其他经办人或地区审核人核查"
)


def can_read_grievances(user: User) -> Permission:
    """Read the trainees' "not me" list (issue 17): who may record findings (the
    units' clerks, the prefecture reviewer), and the auditor, who reads everything."""
    if user.is_authenticated and user.is_auditor:
        return ALLOWED
    return can_find_grievance(user)


def can_find_grievance(
    user: User, grievance: Any = None, *, makers: Collection[int] | None = None
) -> Permission:
    """Record the finding on a trainee's "not me" (issue 17): the county clerk of the
    claim's unit or the prefecture reviewer, but nobody who made or paid the claim
    (``claims.selectors.claim_trail_makers_and_payers``: a dismissal releases the hold
    on their own claim's balance); once only (409 ``already_found``). ``makers`` are
    those of the claim when the caller already read them."""
    if not user.is_authenticated or not (
        (user.is_clerk and user.unit_id) or user.is_reviewer
    ):
        return deny("只有申报所属单位的经办人或地区审核人可以录入申诉核查结论")
    if grievance is None:
        return ALLOWED
    if user.is_clerk and user.unit_id != grievance.claim.unit_id:
        return deny("经办人只能核查本单位申报的申诉")
    if makers is None:
        makers = claim_trail_makers_and_payers([grievance.claim])[grievance.claim_id]
    if user.pk in makers:
        return deny(GRIEVANCE_MAKER)
    if grievance.outcome:
        return conflict("already_found", "该申诉已录入核查结论，不能重复录入")
    return ALLOWED
