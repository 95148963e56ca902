"""The quarterly report pages (按季汇总、随机抽查, 五(一)).

The clerk builds, refreshes, submits or discards the unit's report; the reviewer sees
every unit's report of a quarter, draws the spot checks, records them, approves in bulk
and closes each report, then sends the quarter to finance. Thin, like ``claims.views``:
a form parses the input, a service of ``claims.services`` decides, a template shows it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Sum
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import (
    require_GET,
    require_http_methods,
    require_POST,
)

from accounts.models import User
from accounts.selectors import role_labels_at
from accounts.views import AuthedRequest, renders_domain_errors
from altay_skills.errors import DomainError, NotFound
from altay_skills.periods import next_quarter, previous_quarter, quarter_of
from altay_skills.permissions import require, shown_on_page
from claims import rules, workflow
from claims.forms import ReviewForm
from claims.models import Claim
from claims.selectors import claim_for, claims_visible_to, warnings_seen_by
from claims.views import render_claim_detail
from claims.warnings import warnings_for_claims
from programs.models import fund_label
from quarters import services
from quarters.budgets import report_budget_impact
from quarters.forms import ObjectionFindingForm
from quarters.models import (
    ObjectionStatus,
    QuarterlyReport,
    ReportStatus,
    SpotCheck,
    SpotCheckResult,
)
from quarters.permissions import (
    can_approve,
    can_build_report,
    can_draw_spot_checks,
    can_read_objections,
    can_read_reports,
    can_record_finding,
    can_record_spot_check,
    can_review_report,
    can_submit_report,
    decisions_offered,
)
from quarters.selectors import (
    claim_makers_and_payers,
    latest_report_quarter,
    next_undecided_claim,
    objections_visible_to,
    quarters_sent,
    quarters_to_report,
    report_claims,
    report_figures,
    report_for,
    spot_checks_waiting,
    with_spot_check_evidence,
)
from quarters.selectors import reports_visible_to as _reports_visible_to

#: How many quarters back the clerk's quarter box suggests.
RECENT_QUARTERS = 8
FIGURE_KEYS = ("trained", "passed", "employed", "requested", "amount", "advance")
MONEY_KEYS = ("requested", "amount", "advance")


# --- Small shared pieces ----------------------------------------------------------------
def last_ended_quarter() -> str:
    return previous_quarter(quarter_of(timezone.localdate()))


def recent_quarters(
    count: int = RECENT_QUARTERS,
    *,
    with_data: Sequence[str] = (),
    sent: Collection[str] = (),
) -> list[str]:
    """The quarters holding data, then the current quarter and the ones before it,
    newest first — none whose report is already ``sent``."""
    quarters = [quarter_of(timezone.localdate())]
    while len(quarters) < count:
        quarters.append(previous_quarter(quarters[-1]))
    return sorted((set(quarters) | set(with_data)) - set(sent), reverse=True)


def quarter_to_build(
    user: User, *, to_report: Sequence[str], sent: Collection[str]
) -> str:
    """The quarter the report builder offers: the latest one holding claims not yet
    reported (the demo's are 2020–2021, long before today), else the user's latest
    report's, else the last quarter that has ended — moved on past the quarters whose
    report is already sent (a claim returned and resubmitted after its quarter's
    report went goes into the next report still open; building a sent quarter is
    refused)."""
    quarter = (to_report[0] if to_report else None) or (
        latest_report_quarter(user) or last_ended_quarter()
    )
    while quarter in sent:  # the current quarter's sent mid-quarter: the next one
        quarter = next_quarter(quarter)
    return quarter


class SpotCheckDrawForm(forms.Form):
    """The share as a percentage (10 = 10%); the service checks 0 < share ≤ 1."""

    share = forms.DecimalField(
        label="抽查比例（%）", max_digits=7, decimal_places=4, required=False
    )


RECORD_CHOICES = [
    (SpotCheckResult.CONSISTENT.value, SpotCheckResult.CONSISTENT.label),
    (SpotCheckResult.INCONSISTENT.value, SpotCheckResult.INCONSISTENT.label),
]


class SpotCheckRecordForm(forms.Form):
    result = forms.ChoiceField(choices=RECORD_CHOICES)
    note = forms.CharField(max_length=2000, required=False)
    #: the claim's evidence documents examined (issue 16): their ids, checked boxes
    documents = forms.Field(required=False, widget=forms.SelectMultiple)

    def clean_documents(self) -> list[int]:
        values = self.cleaned_data.get("documents") or []
        if len(values) > 200 or not all(
            isinstance(v, str) and v.isascii() and v.isdigit() and len(v) <= 18
            for v in values
        ):
            raise forms.ValidationError("所选材料无效")
        return [int(v) for v in values]


# --- The list: the clerk's reports, or the reviewer's quarter --------------------------
def clerk_report_list(
    request: AuthedRequest, *, status: int = 200, quarter: str | None = None
) -> HttpResponse:
    user = request.user
    reports = (
        _reports_visible_to(user)
        .select_related("built_by", "submitted_by", "closed_by")
        .annotate(attached=Count("claims"), attached_total=Sum("claims__amount"))
        .order_by("-quarter", "-built_at", "-pk")
    )
    rows = [
        {
            "report": r,
            "count": r.claim_count if r.claim_count is not None else r.attached,
            "total": rules.money(
                r.control_total if r.control_total is not None else r.attached_total
            ),
        }
        for r in reports
    ]
    figures = (
        claims_visible_to(user)
        .filter(status=workflow.SUBMITTED, report__isnull=True)
        .aggregate(n=Count("pk"), amount=Sum("amount"))
    )
    to_report = quarters_to_report(user)
    sent = quarters_sent(user)
    context = {
        "rows": rows,
        "quarter": quarter or quarter_to_build(user, to_report=to_report, sent=sent),
        "recent_quarters": recent_quarters(with_data=to_report, sent=sent),
        "unreported": {"n": figures["n"], "amount": rules.money(figures["amount"])},
    }
    return render(request, "claims/reports/list.html", context, status=status)


# --- The report page ----------------------------------------------------------------------
def _figures(report: QuarterlyReport) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    rows = []
    totals: dict[str, Any] = {key: 0 for key in FIGURE_KEYS}
    for row in report_figures(report):
        line = dict(row)
        line["fund_label"] = fund_label(row["fund"])  # type: ignore[arg-type]
        for key in MONEY_KEYS:
            line[key] = rules.money(row[key])  # type: ignore[arg-type]
        for key in FIGURE_KEYS:
            totals[key] += line[key]
        rows.append(line)
    return rows, totals


def _claim_rows(report: QuarterlyReport, reviewer: User | None) -> list[dict[str, Any]]:
    """The report's claims (``report_claims``), with what the page marks on each:
    whether it is still to decide (``decidable``); and for the ``reviewer`` of the
    report, whether they may select it for the bulk approval (``selectable``:
    ``decisions_offered`` lets them decide it — never a claim they made — and its
    spot check did not find the documents inconsistent: that is approved one by one,
    with its reason) and record its pending spot check (``recordable``)."""
    rows = report_claims(report)
    decidable = {
        row.claim.pk
        for row in rows
        if row.in_report
        and report.status == ReportStatus.SUBMITTED
        and row.claim.status == workflow.SUBMITTED
    }
    offered: dict[int, list[str]] = {}
    recordable: set[int] = set()
    if reviewer is not None:
        for row in rows:
            if row.in_report:
                row.claim.report = report  # the claim's report, without a query each
            if row.check is not None:
                row.check.report, row.check.claim = report, row.claim
        unchecked = [
            row
            for row in rows
            if row.check is not None and row.check.result == SpotCheckResult.PENDING
        ]
        # who made the claims to decide or check, read once for both
        asked = decidable | {row.claim.pk for row in unchecked}
        makers = claim_makers_and_payers(
            row.claim for row in rows if row.claim.pk in asked
        )
        offered = decisions_offered(
            reviewer,
            [row.claim for row in rows if row.claim.pk in decidable],
            makers=makers,
        )
        recordable = {
            row.claim.pk
            for row in unchecked
            if can_record_spot_check(reviewer, row.check, makers=makers[row.claim.pk])
        }
    return [
        {
            "claim": row.claim,
            "amount": row.amount,
            "advance": row.advance,
            "in_report": row.in_report,
            "decidable": row.claim.pk in decidable,
            # any decision offered: the user may decide it (a pending spot check
            # may be recorded in place, after which it is approved in the bulk)
            "selectable": bool(offered.get(row.claim.pk))
            and not (
                row.check is not None
                and row.check.result == SpotCheckResult.INCONSISTENT
            ),
            "check": row.check,
            "recordable": row.claim.pk in recordable,
            "fund_label": fund_label(row.claim.fund),
        }
        for row in rows
    ]


def _render_report(
    request: AuthedRequest,
    report: QuarterlyReport,
    *,
    status: int = 200,
    share: str | None = None,
    confirm: dict[str, Any] | None = None,
) -> HttpResponse:
    """``confirm``: a bulk approval refused for its warned claims — the page lists
    them and offers to send the same selection again, confirmed."""
    user = request.user
    figures, totals = _figures(report)
    reviewing = bool(can_review_report(user, report))
    claims = _claim_rows(report, user if reviewing else None)
    seen = warnings_seen_by(
        user, warnings_for_claims([row["claim"].pk for row in claims])
    )
    for row in claims:
        row["warnings"] = seen[row["claim"].pk]
    if confirm is not None:
        confirm["rows"] = [
            row for row in claims if row["claim"].pk in confirm["warned"]
        ]
    checks = [row["check"] for row in claims if row["check"] is not None]
    with_spot_check_evidence(user, checks)  # the claim's documents beside the record
    context = {
        "report": report,
        "figures": figures,
        "totals": totals,
        "claims": claims,
        # refresh, submit and discard: the unit's clerk, on a draft
        "clerk_draft": bool(can_submit_report(user, report)),
        # the reviewer who neither built nor submitted it (经办与审核分离)
        "reviewing": reviewing,
        # 七(五): before approving, what the pending claims would do to each fund's
        # budget (only funds with a budget entered can be exceeded).
        "budget_impact": [
            row for row in report_budget_impact(report) if row.budget is not None
        ]
        if reviewing
        else [],
        "pending": sum(1 for row in claims if row["decidable"]),
        "warned_pending": [
            row["claim"].pk for row in claims if row["decidable"] and row["warnings"]
        ],
        "confirm": confirm,
        "sampled": len(checks),
        "unchecked": sum(
            1
            for c in checks
            if c.result == SpotCheckResult.PENDING and not c.left_report
        ),
        "left": sum(1 for c in checks if c.left_report),
        "default_share": share
        if share is not None
        else _percent(settings.SPOT_CHECK_SHARE),
        "share_percent": _percent(report.spot_check_share),
        "record_choices": RECORD_CHOICES,
        # each actor with the role they held then (a role change rewrites no history)
        "trail": list(
            zip(
                report.trail,
                role_labels_at([(e.actor, e.at) for e in report.trail]),
                strict=True,
            )
        ),
    }
    return render(request, "claims/reports/detail.html", context, status=status)


def _percent(share: Decimal | str | None) -> str:
    value = (Decimal(str(share or 0)) * 100).normalize()
    return f"{value:f}"


@login_required
@require_GET
@renders_domain_errors
def report_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    require(can_read_reports(request.user))
    return _render_report(request, _report(request.user, pk))


def _report(user: User, pk: int) -> QuarterlyReport:
    """The report through the user's scope, with who acted on it (404 when not theirs)."""
    reports = _reports_visible_to(user).select_related(
        "built_by", "submitted_by", "spot_checked_by", "closed_by"
    )
    try:
        return reports.get(pk=pk)
    except QuarterlyReport.DoesNotExist:
        raise NotFound("未找到该报表") from None


def _refused(
    request: AuthedRequest, pk: int, exc: DomainError, **extra: Any
) -> HttpResponse:
    """A refusal of the service: the report page again, with the reason and its 4xx."""
    messages.error(request, shown_on_page(exc).message)
    return _render_report(
        request, _report(request.user, pk), status=exc.status_code, **extra
    )


# --- The clerk's actions --------------------------------------------------------------------
@login_required
@require_POST
@renders_domain_errors
def report_build_view(request: AuthedRequest) -> HttpResponse:
    user = request.user
    require(can_build_report(user))
    quarter = (request.POST.get("quarter") or "").strip().upper()
    existing = (
        _reports_visible_to(user)
        .filter(quarter=quarter, status=ReportStatus.DRAFT)
        .values_list("pk", flat=True)
        .first()
    )
    try:
        report = services.report_build(
            unit_id=user.unit_id or "", quarter=quarter, actor=user
        )
    except DomainError as exc:
        messages.error(request, shown_on_page(exc).message)
        return clerk_report_list(request, status=exc.status_code, quarter=quarter)
    attached = report.claims.count()
    if existing:
        messages.success(
            request, f"{report.quarter}季度报表草稿已刷新，现有{attached}笔申报。"
        )
    else:
        messages.success(
            request, f"已编制{report.quarter}季度报表草稿，列入{attached}笔申报。"
        )
    return redirect("report_detail", pk=report.pk)


@login_required
@require_POST
@renders_domain_errors
def report_submit_view(request: AuthedRequest, pk: int) -> HttpResponse:
    try:
        report = services.report_submit(report_id=pk, actor=request.user)
    except DomainError as exc:
        return _refused(request, pk, exc)
    messages.success(
        request,
        f"{report.quarter}季度报表已报送地区审核：{report.claim_count}笔，"
        f"控制总额{rules.yuan(report.control_total or Decimal(0))}元。",
    )
    return redirect("report_detail", pk=pk)


@login_required
@require_POST
@renders_domain_errors
def report_discard_view(request: AuthedRequest, pk: int) -> HttpResponse:
    try:
        report = services.report_discard(report_id=pk, actor=request.user)
    except DomainError as exc:
        return _refused(request, pk, exc)
    messages.success(
        request, f"{report.quarter}季度报表草稿已作废，其中的申报可重新编入报表。"
    )
    return redirect("report_list")


# --- The reviewer's actions -----------------------------------------------------------------
def _ids_posted(request: AuthedRequest, name: str) -> list[int]:
    """Claim ids of a form's field (repeated); anything else is left out."""
    values = request.POST.getlist(name)
    return [int(v) for v in values if v.isascii() and v.isdigit() and len(v) < 12]


@login_required
@require_POST
@renders_domain_errors
def report_approve_bulk_view(request: AuthedRequest, pk: int) -> HttpResponse:
    user = request.user
    report = _report(user, pk)
    require(can_approve(user))
    in_report = set(
        report.claims.filter(status=workflow.SUBMITTED).values_list("pk", flat=True)
    )
    if request.POST.get("select") == "all":
        ids = sorted(in_report)
    else:
        try:
            ids = sorted({int(v) for v in request.POST.getlist("claims")})
        except ValueError:
            ids = []
    if not ids:
        exc = DomainError("nothing_selected", "请先勾选要核准的申报")
        return _refused(request, pk, exc)
    stray = [i for i in ids if i not in in_report]
    if stray:
        exc = DomainError(
            "not_in_report", f"申报#{stray[0]}不在本报表的待审申报中，未核准任何申报"
        )
        return _refused(request, pk, exc)
    budget_reason = request.POST.get("budget_reason", "").strip()[:500]
    try:
        approved = services.claims_approve_bulk(
            claim_ids=ids,
            actor=user,
            budget_reason=budget_reason,
            warnings_confirmed=_ids_posted(request, "warnings_confirmed"),
        )
    except DomainError as exc:
        shown_on_page(exc)
        confirm = None
        if exc.code == "warnings_unconfirmed":
            # the list to confirm, and the same selection to send again with it
            confirm = {
                "claims": ids,
                "warned": [entry["claim"] for entry in exc.detail],
                "budget_reason": budget_reason,
            }
        exc.message = f"批量核准未执行（全部或全不）：{exc.message}"
        return _refused(request, pk, exc, confirm=confirm)
    total = sum((c.approved_amount or Decimal(0) for c in approved), Decimal(0))
    messages.success(
        request, f"已核准{len(approved)}笔申报，核准金额{rules.yuan(total)}元。"
    )
    return redirect("report_detail", pk=pk)


@login_required
@require_POST
@renders_domain_errors
def report_spot_checks_view(request: AuthedRequest, pk: int) -> HttpResponse:
    _report(request.user, pk)  # 404 first: not the user's to see
    require(can_draw_spot_checks(request.user))
    form = SpotCheckDrawForm(request.POST)
    raw = request.POST.get("share", "")
    if not form.is_valid():
        exc = DomainError("invalid_share", "抽查比例应为大于0、不超过100的百分数")
        return _refused(request, pk, exc, share=raw)
    percent = form.cleaned_data["share"]
    try:
        share = (percent / 100) if percent is not None else None
        checks = services.report_draw_spot_checks(
            report_id=pk, actor=request.user, share=share
        )
    except (DomainError, InvalidOperation) as exc:
        if not isinstance(exc, DomainError):
            exc = DomainError("invalid_share", "抽查比例应为大于0、不超过100的百分数")
        return _refused(request, pk, exc, share=raw)
    report = report_for(request.user, pk)
    messages.success(
        request,
        f"已按{_percent(report.spot_check_share)}%随机抽取{len(checks)}笔申报核对材料，"
        f"抽样种子 {report.spot_check_seed}（已记录，可复核）。",
    )
    return redirect("report_detail", pk=pk)


@login_required
@require_POST
@renders_domain_errors
def spot_check_record_view(request: AuthedRequest, pk: int) -> HttpResponse:
    user = request.user
    require(can_record_spot_check(user))
    form = SpotCheckRecordForm(request.POST)
    result = form.data.get("result", "")
    note = form.data.get("note", "")
    error: DomainError | None = None
    if not form.is_valid():
        error = DomainError(
            "invalid",
            "请选择“材料相符”或“材料不符”；说明不超过2000字；材料须为该申报的",
        )
    else:
        try:
            services.spot_check_record(
                spot_check_id=pk,
                actor=user,
                result=form.cleaned_data["result"],
                note=form.cleaned_data["note"],
                documents=form.cleaned_data["documents"],
            )
        except DomainError as exc:
            error = shown_on_page(exc)
    check = (
        SpotCheck.objects.select_related("report", "checked_by").filter(pk=pk).first()
    )
    if check is None:
        raise NotFound("未找到该抽查")
    with_spot_check_evidence(user, [check])
    if request.htmx:
        report = check.report
        results = spot_checks_waiting([report.pk])[report.pk]
        context = {
            "oob": True,
            "report": report,
            "sampled": sum(results.values()),
            "unchecked": results.get(SpotCheckResult.PENDING, 0),
            "left": results.get("left", 0),
            "pending": report.claims.filter(status=workflow.SUBMITTED).count(),
            "check": check,
            "error": error,
            "note": note if error else "",
            "result": result if error else "",
            "reviewing": bool(can_record_spot_check(user, check)),
            "record_choices": RECORD_CHOICES,
        }
        return render(
            request,
            "claims/reports/_spot_check.html",
            context,
            # an incomplete record (400) is the form's state, shown in place: 200
            status=error.status_code if error and error.status_code != 400 else 200,
        )
    if error is not None:
        return _refused(request, check.report_id, error)
    messages.success(
        request,
        f"申报#{check.claim_id}的抽查结果已登记：{check.get_result_display()}。",
    )
    return redirect(reverse("report_detail", args=[check.report_id]) + "#spot-checks")


@login_required
@require_POST
@renders_domain_errors
def report_close_view(request: AuthedRequest, pk: int) -> HttpResponse:
    try:
        report = services.report_close(report_id=pk, actor=request.user)
    except DomainError as exc:
        return _refused(request, pk, exc)
    messages.success(request, f"{report.unit.name}{report.quarter}季度报表已审结。")
    return redirect(f"{reverse('report_list')}?quarter={report.quarter}")


# --- The reviewer's decision on one claim (from the claim page) -----------------
REVIEW_ACTIONS: dict[str, Callable[..., Claim]] = {
    "approve": services.claim_approve,
    "reject": services.claim_reject,
    "return": services.claim_return,
}
REVIEW_DONE = {
    "approve": "已核准。",
    "reject": "已驳回。",
    "return": "已退回经办人修改。",
}


@login_required
@require_POST
@renders_domain_errors
def claim_review_view(request: AuthedRequest, pk: int) -> HttpResponse:
    form = ReviewForm(request.POST)
    if not form.is_valid():
        messages.error(
            request,
            "；".join(str(e) for errors in form.errors.values() for e in errors)
            if "action" not in form.errors
            else "请选择审核操作；理由不超过500字。",
        )
        claim = claim_for(request.user, pk)
        return render_claim_detail(request, claim, status=400, review_form=form)
    action = form.cleaned_data["action"]
    report_id = claim_for(request.user, pk).report_id
    try:
        reason = form.cleaned_data["reason"]
        extra = (
            {
                "budget_reason": form.cleaned_data["budget_override_reason"],
                "spot_check_reason": form.cleaned_data["spot_check_override_reason"],
            }
            if action == "approve"
            else {}
        )
        REVIEW_ACTIONS[action](claim_id=pk, actor=request.user, reason=reason, **extra)
    except DomainError as exc:
        messages.error(request, shown_on_page(exc).message)
        claim = claim_for(request.user, pk)
        return render_claim_detail(
            request, claim, status=exc.status_code, review_form=form
        )
    done = f"申报#{pk}{REVIEW_DONE[action]}"
    if report_id is None:
        messages.success(request, done)
        return redirect("claim_detail", pk=pk)
    # decided from its report: back to the report, at the next claim to decide
    following = next_undecided_claim(report_id, after=pk)
    if following is None:
        messages.success(request, f"{done}本报表已没有待审核的申报。")
        return redirect(reverse("report_detail", args=[report_id]) + "#claims")
    messages.success(request, f"{done}下一笔待审核：申报#{following}。")
    return redirect(reverse("report_detail", args=[report_id]) + f"#claim-{following}")


# --- Objections to the public notice (公示, issue 17) -----------------------------------------
@login_required
@require_http_methods(["GET", "POST"])
@renders_domain_errors
def objection_list_view(request: AuthedRequest) -> HttpResponse:
    """The objections and their findings (the auditor's list; the clerk's of their unit)
    and, for the clerk of the unit and the reviewer, the finding form of each open one."""
    user = request.user
    require(can_read_objections(user))
    status = 200
    if request.method == "POST":
        form = ObjectionFindingForm(request.POST)
        try:
            if not form.is_valid():
                raise DomainError("invalid", "请选择核查结论并填写理由（不超过500字）")
            services.objection_find(
                objection_id=_int(request.POST.get("objection")),
                outcome=form.cleaned_data["outcome"],
                reason=form.cleaned_data["reason"],
                claim_action=form.cleaned_data["claim_action"] or "return",
                actor=user,
            )
        except DomainError as exc:
            messages.error(request, shown_on_page(exc).message)
            status = exc.status_code
        else:
            messages.success(request, "核查结论已登记")
            return redirect("objection_list")
    objections = list(objections_visible_to(user)[:500])
    open_ones = [o for o in objections if o.status == ObjectionStatus.OPEN]
    makers = claim_makers_and_payers([o.claim for o in open_ones]) if open_ones else {}
    context = {
        "objections": objections,
        # the form on each open objection its reader may judge (not on their own claim)
        "findable": {
            o.pk
            for o in open_ones
            if can_record_finding(user, o, makers=makers[o.claim_id])
        },
        "can_find": bool(can_record_finding(user)),
        "finding_form": ObjectionFindingForm(auto_id=False),
    }
    return render(request, "claims/reports/objections.html", context, status=status)


def _int(value: object) -> int:
    text = str(value or "").strip()
    if not (text.isascii() and text.isdigit()):
        raise NotFound("未找到该异议")
    return int(text)
