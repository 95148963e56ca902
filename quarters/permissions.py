"""Who may do what in the quarter: the unit's report, the spot checks and the reviewer's
decision on each claim — ``can_<verb>(user, obj=None) -> Permission``.

``quarters.services`` raises with these answers and the report and claim pages offer
exactly what they allow. The reviewer's decisions are offered on the claim page and in
the claim API, which belong to ``claims`` (an earlier stage that may not import this
one): ``decisions_offered`` is registered with ``claims.permissions.offer_decisions``
in ``QuartersConfig.ready()``, so the claim's ``allowed_actions`` carry approve, reject
and return exactly when ``can_decide`` — the check ``claim_approve``, ``claim_reject``
and ``claim_return`` require — allows them (a claim whose spot check is still pending
is not offered approval: the service would answer 409 ``spot_check_pending``).
"""

from __future__ import annotations

from collections.abc import Sequence

from accounts.models import User
from altay_skills.permissions import ALLOWED, Permission, conflict, deny
from claims import workflow
from claims.models import Claim
from claims.permissions import can_file_for_unit, can_move
from quarters.models import QuarterlyReport, ReportStatus, SpotCheck, SpotCheckResult

#: The reviewer's decisions on a claim, in the order the page and the API list them.
DECISIONS = ("approve", "reject", "return")


# --- The reviewer's decision on one claim ---------------------------------------------
def can_decide(
    user: User,
    claim: Claim | None,
    action: str,
    *,
    spot_check_pending: bool | None = None,
) -> Permission:
    """Approve, reject or return a claim: the transition table (status, role), then
    maker ≠ checker (whoever entered a claim never decides it), then the claim must sit
    in a submitted, not yet closed report (五(一)), and an approval waits for the
    claim's pending spot check. ``spot_check_pending`` is that last fact when the caller
    already read it (a list); otherwise it is read here."""
    moved = can_move(user, claim, action)
    if not moved or claim is None:
        return moved
    if claim.created_by_id == user.pk:
        return deny("不能审核本人录入的申报（经办与审核须分离）")
    report = claim.report  # none without a query when the claim is in no report
    if report is None or report.status != ReportStatus.SUBMITTED:
        return conflict(
            "not_in_report", "只能审核已随季度报表报送、尚未审结的申报（五(一)）"
        )
    if action == "approve":
        if spot_check_pending is None:
            spot_check_pending = claim.spot_checks.filter(
                result=SpotCheckResult.PENDING
            ).exists()
        if spot_check_pending:
            return conflict("spot_check_pending", "该申报被抽查，请先登记材料核对结果")
    return ALLOWED


def can_approve(user: User, claim: Claim | None = None) -> Permission:
    return can_decide(user, claim, "approve")


def can_reject(user: User, claim: Claim | None = None) -> Permission:
    return can_decide(user, claim, "reject")


def can_return(user: User, claim: Claim | None = None) -> Permission:
    return can_decide(user, claim, "return")


def decisions_offered(user: User, claims: Sequence[Claim]) -> dict[int, list[str]]:
    """The decisions ``can_decide`` allows on each claim, for ``claims.permissions
    .actions_for``: the pending spot checks of the claims that could be approved are
    read in one query."""
    offered = {
        claim.pk: [
            a for a in DECISIONS if can_decide(user, claim, a, spot_check_pending=False)
        ]
        for claim in claims
    }
    approvable = [pk for pk, actions in offered.items() if "approve" in actions]
    if approvable:
        pending = SpotCheck.objects.filter(
            claim_id__in=approvable, result=SpotCheckResult.PENDING
        ).values_list("claim_id", flat=True)
        for claim_id in set(pending):
            offered[claim_id].remove("approve")
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
def can_review_report(user: User, report: QuarterlyReport | None = None) -> Permission:
    """The reviewer's panels of a report (spot checks, bulk approval, closing): the
    reviewer, on a submitted report not yet closed."""
    if not user.is_authenticated or not user.is_reviewer:
        return deny("只有地区审核人可以审核报表")
    if report is not None and report.status != ReportStatus.SUBMITTED:
        return conflict("report_not_submitted", "只能审核已报送、未审结的报表")
    return ALLOWED


def can_draw_spot_checks(
    user: User, report: QuarterlyReport | None = None
) -> Permission:
    """Draw the report's random sample (随机抽查), once: the seed is kept."""
    if not user.is_authenticated or not user.is_reviewer:
        return deny("只有地区审核人可以抽查")
    if report is None:
        return ALLOWED
    if report.status != ReportStatus.SUBMITTED:
        return conflict("report_not_submitted", "只能对已报送、未审结的报表抽查")
    if report.spot_check_seed:
        return conflict("spot_checks_drawn", "该报表已抽样，种子已记录，不能重抽")
    return ALLOWED


def can_record_spot_check(user: User, check: SpotCheck | None = None) -> Permission:
    """Record a sampled claim's document check, until its report is closed."""
    if not user.is_authenticated or not user.is_reviewer:
        return deny("只有地区审核人可以登记抽查结果")
    if check is not None and check.report.status != ReportStatus.SUBMITTED:
        return conflict("report_not_submitted", "报表已审结，不能修改抽查结果")
    return ALLOWED


def can_close_report(user: User, report: QuarterlyReport | None = None) -> Permission:
    """审结: a submitted report whose sample is drawn, every claim decided, and every
    sampled claim decided. With the report, its claims are counted (two queries)."""
    if not user.is_authenticated or not user.is_reviewer:
        return deny("只有地区审核人可以审结报表")
    if report is None:
        return ALLOWED
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
