"""Who may do what in the quarter: the unit's report, the spot checks and the reviewer's
decision on each claim — ``can_<verb>(user, obj=None) -> Permission``.

``quarters.services`` raises with these answers and the report and claim pages offer
exactly what they allow. The reviewer's decisions are offered on the claim page and in
the claim API, which belong to ``claims`` (an earlier stage that may not import this
one): ``decisions_offered`` is registered with ``claims.permissions.offer_decisions``
in ``QuartersConfig.ready()``, so the claim's ``allowed_actions`` carry approve, reject
and return exactly when ``can_decide`` — the check ``claim_approve``, ``claim_reject``
and ``claim_return`` require — allows them (a claim whose spot check is still pending
is not offered approval: the service would answer 409 ``spot_check_pending``; nor is
any claim of a report whose sample is not drawn yet: ``spot_checks_not_drawn``).

Duties are separated (经办与审核分离, issue 12): whoever created, edited, submitted or
reported a claim, or built or submitted a report holding it
(``quarters.selectors.claim_makers``), never decides it nor records its spot check,
and whoever built or submitted a report never draws its sample, reviews or closes it
(``report_makers``) — whatever their role is now. Every check answers *who* (the
role, then the maker, 403) before *what* (the claim's or the report's state, 409).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date, timedelta

from accounts.models import User
from altay_skills.permissions import ALLOWED, Permission, conflict, deny
from claims import workflow
from claims.models import Claim
from claims.permissions import can_file_for_unit, can_move
from quarters.models import (
    Objection,
    ObjectionStatus,
    PublicNotice,
    QuarterlyReport,
    ReportStatus,
    SpotCheck,
    SpotCheckResult,
)
from quarters.selectors import (
    claim_makers_and_payers,
    claims_with_open_objections,
    report_makers,
    spot_check_results,
)

#: The reviewer's decisions on a claim, in the order the page and the API list them.
DECISIONS = ("approve", "reject", "return")

CLAIM_MAKER = (
    "不能审核本人录入、修改、提交、报送或拨付的申报，"
    "也不能审核本人编制或报送的报表中的申报（经办与审核须分离，拨付与审核亦须分离）"
)
OBJECTION_OPEN = (
    "该申报在公示期间收到异议，尚未核查；"
    "须由本单位经办人或地区审核人登记核查结论后方可核准"
)
REPORT_MAKER = "不能审核本人编制或报送的报表（经办与审核须分离）"
SPOT_CHECK_INCONSISTENT = (
    "该申报抽查结果为材料不符，不能直接核准：请驳回或退回；确需核准的，"
    "请打开该申报，在“抽查不符仍予核准的理由”一栏写明理由后逐笔核准"
)
CLAIM_LEFT_REPORT = (
    "申报#{claim}已退回经办人，不在该报表中，不再登记这次抽查的结果"
    "（重新报送后如被抽中，在新报表中核对）"
)
SPOT_CHECKS_NOT_DRAWN = "请先为该报表随机抽查，再核准其中的申报（抽查须在核准之前）"


def _maker_of_claim(
    user: User, claim: Claim, makers: Collection[int] | None
) -> Permission:
    if makers is None:
        makers = claim_makers_and_payers([claim])[claim.pk]
    if user.pk in makers or claim.created_by_id == user.pk:
        return deny(CLAIM_MAKER)
    return ALLOWED


def _maker_of_report(
    user: User, report: QuarterlyReport, makers: Collection[int] | None = None
) -> Permission:
    if makers is None:
        makers = report_makers(report)
    if user.pk in makers:
        return deny(REPORT_MAKER)
    return ALLOWED


# --- The reviewer's decision on one claim ---------------------------------------------
def can_decide(
    user: User,
    claim: Claim | None,
    action: str,
    *,
    makers: Collection[int] | None = None,
    spot_checks: Collection[str] | None = None,
    spot_check_override: bool = False,
    open_objection: bool | None = None,
) -> Permission:
    """Approve, reject or return a claim. Who first: the role (403 whatever the
    claim's state: a clerk's approval of their own draft is refused for the role),
    then maker ≠ checker — nobody decides a claim they made (``claim_makers``: created,
    edited, submitted, reported, or built or submitted a report holding it), whatever
    their role is now. Then what: the transition table's status (409), the claim must
    sit in a submitted, not yet closed report (五(一)), and an approval waits for the
    claim's pending spot check; a spot check found inconsistent (材料不符) stops an
    approval unless ``spot_check_override`` (the reviewer's stated reason for
    approving anyway; an ordinary comment never is one).

    ``makers`` and ``spot_checks`` (the results of the claim's spot checks) are those
    facts when the caller already read them (a list, a bulk approval, under the
    claim's lock); otherwise they are read here. So is ``open_objection``: an objection
    lodged against the claim on its public notice and not yet found stops an approval
    (``objection_open``, issue 17) — rejecting or returning it is still allowed."""
    role = can_move(user, None, action)
    if not role or claim is None:
        return role
    if not (own := _maker_of_claim(user, claim, makers)):
        return own
    if not (moved := can_move(user, claim, action)):
        return moved
    report = claim.report  # none without a query when the claim is in no report
    if report is None or report.status != ReportStatus.SUBMITTED:
        return conflict(
            "not_in_report", "只能审核已随季度报表报送、尚未审结的申报（五(一)）"
        )
    if action == "approve":
        # the sample comes first (五(一) 随机抽查): a claim approved before the draw
        # could be sampled, found inconsistent and still be paid
        if not report.spot_check_seed:
            return conflict("spot_checks_not_drawn", SPOT_CHECKS_NOT_DRAWN)
        if spot_checks is None:
            spot_checks = spot_check_results([claim])[claim.pk]
        if SpotCheckResult.PENDING in spot_checks:
            return conflict("spot_check_pending", "该申报被抽查，请先登记材料核对结果")
        if SpotCheckResult.INCONSISTENT in spot_checks and not spot_check_override:
            return conflict("spot_check_inconsistent", SPOT_CHECK_INCONSISTENT)
        if open_objection is None:
            open_objection = bool(claims_with_open_objections([claim.pk]))
        if open_objection:
            return conflict("objection_open", OBJECTION_OPEN)
    return ALLOWED


def approval_hint(user: User, claim: Claim) -> tuple[str, str] | None:
    """Why a reviewer is not offered 核准 on a submitted claim (``claims.permissions
    .approval_hint``): the refusal ``can_decide`` gives, in words for its page. None
    for other roles and states, and when approval is offered."""
    if not (user.is_authenticated and user.is_reviewer):
        return None
    if claim.status != workflow.SUBMITTED:
        return None
    refused = can_decide(user, claim, "approve")
    if refused:
        return None
    if refused.code == "not_in_report":
        return refused.code, NOT_YET_REPORTED
    return refused.code, refused.reason


#: A submitted claim no report of the prefecture holds yet (or whose report closed).
NOT_YET_REPORTED = (
    "该申报已由县(市)提交，但尚未随本单位季度报表报送（或所在报表已审结）："
    "县(市)编制并报送季度报表后方可审核（五(一)）"
)


def can_approve(user: User, claim: Claim | None = None) -> Permission:
    return can_decide(user, claim, "approve")


def can_reject(user: User, claim: Claim | None = None) -> Permission:
    return can_decide(user, claim, "reject")


def can_return(user: User, claim: Claim | None = None) -> Permission:
    return can_decide(user, claim, "return")


def decisions_offered(
    user: User,
    claims: Sequence[Claim],
    *,
    makers: Mapping[int, Collection[int]] | None = None,
) -> dict[int, list[str]]:
    """The decisions ``can_decide`` allows on each claim, for ``claims.permissions
    .actions_for``. The facts are read only for the claims the role and state leave
    decidable, each kind in one query for all of them: who made them
    (``claim_makers``, unless the caller read them: ``makers``) and their spot checks.
    A claim whose spot check was found inconsistent is offered approval — through the
    stated reason the claim page asks for and the service requires."""
    offered: dict[int, list[str]] = {claim.pk: [] for claim in claims}
    if not any(can_move(user, None, a) for a in DECISIONS):
        return offered  # the role decides nothing: no query

    def allowed(
        claim: Claim,
        makers: Collection[int],
        spot_checks: Collection[str],
        open_objection: bool = False,
    ) -> list[str]:
        return [
            a
            for a in DECISIONS
            if can_decide(
                user,
                claim,
                a,
                makers=makers,
                spot_checks=spot_checks,
                spot_check_override=True,
                open_objection=open_objection,
            )
        ]

    # the role and the state first, on no facts (no query)
    open_ = [c for c in claims if allowed(c, (), ())]
    if not open_:
        return offered
    if makers is None:
        makers = claim_makers_and_payers(open_)
    results = spot_check_results(open_)
    objected = claims_with_open_objections(results)
    for claim in open_:
        offered[claim.pk] = allowed(
            claim, makers[claim.pk], results[claim.pk], claim.pk in objected
        )
    return offered


# --- The unit's report -----------------------------------------------------------------
def can_read_reports(user: User) -> Permission:
    """The report pages: the clerks (their unit's), the reviewer, finance, the auditor."""
    if user.is_authenticated and (
        user.is_clerk or user.is_reviewer or user.is_finance or user.is_auditor
    ):
        return ALLOWED
    return deny("您的角色不查看季度报表")


def can_build_report(
    user: User, unit_id: str | None = None, report: QuarterlyReport | None = None
) -> Permission:
    """Build (or refresh) a unit's draft report: its own clerk, while the quarter's
    report of the unit is not yet submitted."""
    if not user.is_authenticated or not user.is_clerk:
        return deny("只有县(市)经办人可以编制季度报表")
    if unit_id is not None and not (own := can_file_for_unit(user, unit_id)):
        return own
    if report is not None and report.status != ReportStatus.DRAFT:
        return conflict("report_frozen", f"{report.quarter}季度报表已报送，不能再编制")
    return ALLOWED


def _own_report(user: User, report: QuarterlyReport) -> Permission:
    if report.unit_id != user.unit_id:
        return deny("经办人只能办理本单位的报表")
    return ALLOWED


def can_submit_report(user: User, report: QuarterlyReport | None = None) -> Permission:
    """Send the unit's draft to the prefecture (the list and total then freeze)."""
    if not user.is_authenticated or not user.is_clerk:
        return deny("只有经办人可以报送本单位的报表")
    if report is None:
        return ALLOWED
    if not (own := _own_report(user, report)):
        return own
    if report.status != ReportStatus.DRAFT:
        return conflict("report_frozen", "该报表已报送")
    return ALLOWED


def can_discard_report(user: User, report: QuarterlyReport | None = None) -> Permission:
    """Discard the unit's draft: its claims may then be reported again."""
    if not user.is_authenticated or not user.is_clerk:
        return deny("只有经办人可以作废本单位的报表草稿")
    if report is None:
        return ALLOWED
    if not (own := _own_report(user, report)):
        return own
    if report.status != ReportStatus.DRAFT:
        return conflict("report_frozen", "已报送的报表不能作废")
    return ALLOWED


# --- The reviewer's work on a submitted report ----------------------------------------
def can_review_report(
    user: User,
    report: QuarterlyReport | None = None,
    *,
    makers: Collection[int] | None = None,
) -> Permission:
    """The reviewer's panels of a report (spot checks, bulk approval, closing): the
    reviewer who neither built nor submitted it, on a submitted report not yet
    closed. ``makers`` is ``report_makers(report)`` when the caller read it."""
    if not user.is_authenticated or not user.is_reviewer:
        return deny("只有地区审核人可以审核报表")
    if report is None:
        return ALLOWED
    if not (own := _maker_of_report(user, report, makers)):
        return own
    if report.status != ReportStatus.SUBMITTED:
        return conflict("report_not_submitted", "只能审核已报送、未审结的报表")
    return ALLOWED


def can_draw_spot_checks(
    user: User, report: QuarterlyReport | None = None
) -> Permission:
    """Draw the report's random sample (随机抽查), once: the seed is kept. Never by
    whoever built or submitted the report (choosing what is checked is a review)."""
    if not user.is_authenticated or not user.is_reviewer:
        return deny("只有地区审核人可以抽查")
    if report is None:
        return ALLOWED
    if not (own := _maker_of_report(user, report)):
        return own
    if report.status != ReportStatus.SUBMITTED:
        return conflict("report_not_submitted", "只能对已报送、未审结的报表抽查")
    if report.spot_check_seed:
        return conflict("spot_checks_drawn", "该报表已抽样，种子已记录，不能重抽")
    return ALLOWED


def can_record_spot_check(
    user: User,
    check: SpotCheck | None = None,
    *,
    makers: Collection[int] | None = None,
) -> Permission:
    """Record a sampled claim's document check, once, until its report is closed:
    recording it is a decision on the claim, never taken by one of its makers
    (``claim_makers``). Recorded, the result stands: an inconsistent finding is
    answered by rejecting, returning or an approval with its stated reason, not by
    recording it again."""
    if not user.is_authenticated or not user.is_reviewer:
        return deny("只有地区审核人可以登记抽查结果")
    if check is None:
        return ALLOWED
    if not (own := _maker_of_claim(user, check.claim, makers)):
        return own
    if check.report.status != ReportStatus.SUBMITTED:
        return conflict("report_not_submitted", "报表已审结，不能修改抽查结果")
    if check.left_report:
        return conflict("not_in_report", CLAIM_LEFT_REPORT.format(claim=check.claim_id))
    if check.result != SpotCheckResult.PENDING:
        return conflict(
            "spot_check_recorded",
            f"该抽查已登记为“{check.get_result_display()}”，不能更改",
        )
    return ALLOWED


def can_close_report(user: User, report: QuarterlyReport | None = None) -> Permission:
    """审结: by a reviewer who neither built nor submitted it, a submitted report
    whose sample is drawn, every claim decided, and every sampled claim decided. With
    the report, its makers and its claims are read (three queries)."""
    if not user.is_authenticated or not user.is_reviewer:
        return deny("只有地区审核人可以审结报表")
    if report is None:
        return ALLOWED
    if not (own := _maker_of_report(user, report)):
        return own
    if report.status != ReportStatus.SUBMITTED:
        return conflict("report_not_submitted", "只能审结已报送的报表")
    if not report.spot_check_seed:
        return conflict("spot_checks_missing", "请先随机抽查，再审结报表")
    pending = report.claims.filter(status=workflow.SUBMITTED).count()
    if pending:
        return conflict("claims_undecided", f"报表中还有{pending}笔申报未审核")
    # A sampled claim returned to its unit was decided here, even if it has since
    # been resubmitted into a later report.
    sampled_open = report.spot_checks.filter(
        claim__report=report, claim__status=workflow.SUBMITTED
    ).count()
    if sampled_open:
        return conflict("spot_checks_undecided", "抽查的申报尚未全部审核")
    return ALLOWED


# --- Public notice and objections (公示, issue 17) -------------------------------------------
OBJECTION_MAKER = (
    "不能核查针对本人录入、修改、提交或报送的申报的异议（经办与审核须分离），"
    "请由本单位其他经办人或地区审核人核查"
)


def can_record_finding(
    user: User,
    objection: Objection | None = None,
    *,
    makers: Collection[int] | None = None,
) -> Permission:
    """Record the finding on an objection: the clerk of the notice's unit or the
    reviewer (who), but nobody who made the claim objected to (``claim_makers``,
    maker ≠ checker as for a decision: upholding it decides the claim, dismissing it
    clears the way to its approval), while it is still open (what). ``makers`` are
    the claim's when the caller already read them."""
    if not user.is_authenticated or not (user.is_clerk or user.is_reviewer):
        return deny("只有本单位经办人或地区审核人可以登记异议核查结论")
    if objection is None:
        return ALLOWED
    if user.is_clerk and objection.notice.unit_id != user.unit_id:
        return deny("经办人只能核查本单位公示的异议")
    if not _maker_of_claim(user, objection.claim, makers):
        return deny(OBJECTION_MAKER)
    if objection.status != ObjectionStatus.OPEN:
        return conflict("objection_decided", "该异议已登记核查结论")
    return ALLOWED


def can_read_objections(user: User) -> Permission:
    """The list of objections and findings: the clerks (their unit's), the reviewer,
    finance and the auditor."""
    if user.is_authenticated and (
        user.is_clerk or user.is_reviewer or user.is_finance or user.is_auditor
    ):
        return ALLOWED
    return deny("您的角色不查看公示异议")


def balance_after_notice(claim: Claim, today: date) -> Permission:
    """The balance of a claim waits for its public notice to close (``notice_open``)
    and for every objection lodged against it to be found (``objection_open``); an
    objection upheld on a claim already approved holds it (``objection_upheld``). A
    claim reported before notices existed (no notice) is not held. Advances are not
    affected: they are paid while the report is with the prefecture (五(二))."""
    return balances_after_notice([claim], today)[claim.pk]


def balances_after_notice(claims: list[Claim], today: date) -> dict[int, Permission]:
    """``balance_after_notice`` of each of ``claims``, in two queries whatever their
    number (a bank batch checks thousands)."""
    reports = {claim.report_id for claim in claims if claim.report_id is not None}
    notices = {
        notice.report_id: notice
        for notice in PublicNotice.objects.filter(report_id__in=reports)
    }
    # an open objection holds wherever it was lodged; an upheld one, on this notice
    # (an upheld finding that returned the claim does not hold its next report)
    statuses: dict[int, set[str]] = {}
    report_of = {claim.pk: claim.report_id for claim in claims}
    for claim_id, status, report_id in Objection.objects.filter(
        claim_id__in=[c.pk for c in claims if c.report_id is not None]
    ).values_list("claim_id", "status", "notice__report_id"):
        if status == ObjectionStatus.OPEN or report_id == report_of[claim_id]:
            statuses.setdefault(claim_id, set()).add(status)
    answers: dict[int, Permission] = {}
    for claim in claims:
        answers[claim.pk] = ALLOWED
        if claim.report_id is None:
            continue
        notice = notices.get(claim.report_id)
        if notice is not None and today < notice.closes_on:
            last_day = notice.closes_on - timedelta(days=1)
            answers[claim.pk] = conflict(
                "notice_open",
                f"该申报所在的{notice.quarter}季度公示至{last_day:%Y年%m月%d日}结束，"
                "公示期满后方可拨付余额",
            )
        elif ObjectionStatus.OPEN in statuses.get(claim.pk, ()):
            answers[claim.pk] = conflict(
                "objection_open",
                "该申报有尚未核查的公示异议，登记核查结论后方可拨付余额",
            )
        elif ObjectionStatus.UPHELD in statuses.get(claim.pk, ()):
            answers[claim.pk] = conflict(
                "objection_upheld", "该申报的公示异议经核查成立，不能拨付余额"
            )
    return answers
