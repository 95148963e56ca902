"""The quarter's money in the browser: the rollup sent to finance, what finance pays,
and the public side.

Thin, like ``claims.views``: a form parses, a service of ``reporting.services`` decides,
a selector of ``reporting.selectors`` reads (who may see a rollup is
``rollups_visible_to``: anyone else gets a 404, as for a missing one). The public pages
need no login and show counts and sums only — never a trainee's name or number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from accounts.models import User
from accounts.views import AuthedRequest, renders_domain_errors
from altay_skills.errors import DomainError, NotFound, PermissionDenied
from claims import rules
from claims.models import Claim
from claims.quarters import quarter_bounds
from claims.report_views import fund_label, render_quarter
from programs.models import Unit
from reporting import selectors, services
from reporting.forms import PaymentForm, RecoverySettleForm, RollupRequestForm
from reporting.models import (
    Payment,
    PaymentKind,
    PaymentStatus,
    Rollup,
    RollupStatus,
)

#: Claims per page on the rollup page; lines to pay on the finance page.
PAGE_SIZE = 50
ZERO = Decimal("0.00")
PAYMENT_STATE_LABELS = {
    "paid": "已拨付",
    "partly_paid": "部分拨付",
    "failed": "拨付失败",
    "unpaid": "未拨付",
}
TOTAL_KEYS = ("approved", "advance", "balance")


def _reads_finance(user: User) -> bool:
    return user.is_finance or user.is_auditor


# --- Sending the quarter to finance ------------------------------------------------------
@login_required
@require_POST
@renders_domain_errors
def rollup_request_view(request: AuthedRequest) -> HttpResponse:
    user = request.user
    if not user.is_reviewer:
        raise PermissionDenied("只有地区审核人可以将季度汇总报送财政")
    form = RollupRequestForm(request.POST)
    quarter = form.cleaned_data["quarter"] if form.is_valid() else ""
    try:
        rollup = services.rollup_request(quarter=quarter, actor=user)
    except DomainError as exc:
        if isinstance(exc, NotFound | PermissionDenied):
            raise
        messages.error(request, exc.message)
        shown = quarter if quarter_bounds(quarter) else None
        return render_quarter(request, shown, status=exc.status_code)
    rollup.refresh_from_db()  # the task may already have run (eager Celery)
    if rollup.status == RollupStatus.READY:
        messages.success(request, f"{rollup.quarter}季度汇总已生成，财政可下载拨付表。")
    else:
        messages.success(
            request, f"已将{rollup.quarter}报送财政，汇总正在后台生成，请稍候。"
        )
    return redirect("rollup_detail", pk=rollup.pk)


# --- The rollup page ---------------------------------------------------------------------------
@dataclass
class PaymentRow:
    """One claim of a ready rollup as finance pays it: what was paid, what is due."""

    claim: Claim
    payments: list[Payment]
    state: str
    paid: Decimal
    #: kind → (label, amount due, the failed payment a new one re-issues, or None)
    options: dict[str, tuple[str, Decimal, int | None]] = field(default_factory=dict)
    kind: str = ""

    @property
    def state_label(self) -> str:
        return PAYMENT_STATE_LABELS[self.state]

    @property
    def due(self) -> Decimal:
        return self.options[self.kind][1] if self.kind else ZERO

    @property
    def reissue_of(self) -> int | None:
        return self.options[self.kind][2] if self.kind else None

    @property
    def open_failures(self) -> list[Payment]:
        reissued = {p.reissue_of_id for p in self.payments if p.reissue_of_id}
        return [
            p
            for p in self.payments
            if p.status == PaymentStatus.FAILED and p.pk not in reissued
        ]


def payment_row(claim: Claim, *, kind: str | None = None) -> PaymentRow:
    """What may still be paid on a claim, from its prefetched payments. The service
    checks the same amounts again when the payment is recorded (五(二): never twice)."""
    payments = list(claim.payments.all())
    paid = [p for p in payments if p.status == PaymentStatus.PAID]
    paid_kinds = {p.kind for p in paid}
    paid_advance = sum((p.amount for p in paid if p.kind == PaymentKind.ADVANCE), ZERO)
    row = PaymentRow(
        claim=claim,
        payments=payments,
        state=services.payment_state(claim),
        paid=sum((p.amount for p in paid), ZERO),
    )
    failed = {p.kind: p.pk for p in row.open_failures}
    if PaymentKind.BALANCE not in paid_kinds and claim.approved_amount is not None:
        due = rules.to_fen(claim.approved_amount - paid_advance)
        if due > 0:
            row.options[PaymentKind.BALANCE] = (
                str(PaymentKind.BALANCE.label),
                due,
                failed.get(PaymentKind.BALANCE),
            )
        if claim.advance > 0 and PaymentKind.ADVANCE not in paid_kinds:
            row.options[PaymentKind.ADVANCE] = (
                str(PaymentKind.ADVANCE.label),
                claim.advance,
                failed.get(PaymentKind.ADVANCE),
            )
    if row.options:
        row.kind = kind if kind in row.options else next(iter(row.options))
    return row


def _ready_totals(rollup: Rollup) -> dict[str, Any]:
    totals: dict[str, Any] = dict(rollup.totals or {})
    for key in TOTAL_KEYS:
        totals[key] = Decimal(str(totals.get(key) or "0"))
    return totals


@login_required
@require_GET
@renders_domain_errors
def rollup_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    user = request.user
    rollup = selectors.rollup_for(user, pk)
    context: dict[str, Any] = {
        "rollup": rollup,
        "show_error": user.is_reviewer or user.is_auditor,
        "can_pay": user.is_finance,
        "today": timezone.localdate(),
    }
    if rollup.status == RollupStatus.READY:
        context.update(_ready_context(request, rollup))
    return render(request, "reporting/rollup.html", context)


def _ready_context(request: AuthedRequest, rollup: Rollup) -> dict[str, Any]:
    lines = list(
        rollup.lines.select_related("unit", "program").order_by(
            "unit__sort_order", "unit_id", "program_id", "fund"
        )
    )
    for line in lines:
        line.fund_label = fund_label(line.fund)  # type: ignore[attr-defined]
    units = Unit.objects.filter(code__in={line.unit_id for line in lines}).order_by(
        "sort_order"
    )
    unit = request.GET.get("unit", "")
    claims = selectors.rollup_claims_for_payment(rollup)
    if unit:
        claims = claims.filter(unit_id=unit)
    page = Paginator(claims, PAGE_SIZE).get_page(request.GET.get("page"))
    return {
        "lines": lines,
        "totals": _ready_totals(rollup),
        "summary": selectors.payment_summary(rollup),
        "units": units,
        "unit": unit,
        "page": page,
        "rows": [payment_row(c) for c in page.object_list],
        "workbook_url": reverse("api-rollup-xlsx", args=[rollup.pk]),
    }


@login_required
@require_GET
@renders_domain_errors
def rollup_progress(request: AuthedRequest, pk: int) -> HttpResponse:
    """The polled part of the rollup page: it polls itself again only while the task
    is queued or running; once it is done, the whole page reloads with the result."""
    rollup = selectors.rollup_for(request.user, pk)
    response = render(
        request,
        "reporting/_rollup_progress.html",
        {
            "rollup": rollup,
            "show_error": request.user.is_reviewer or request.user.is_auditor,
        },
    )
    if request.htmx and rollup.status in (RollupStatus.READY, RollupStatus.FAILED):
        response["HX-Refresh"] = "true"
    return response


def _rollup_claim(user: User, rollup_id: int, claim_id: int) -> tuple[Rollup, Claim]:
    rollup = selectors.rollup_for(user, rollup_id)
    claim = (
        selectors.rollup_claims_for_payment(rollup).filter(pk=claim_id).first()
        if rollup.status == RollupStatus.READY
        else None
    )
    if claim is None:
        raise NotFound("该汇总中没有这笔申报")
    return rollup, claim


@login_required
@require_GET
@renders_domain_errors
def rollup_claim_row(request: AuthedRequest, pk: int, claim_id: int) -> HttpResponse:
    """One claim's line of the rollup page, for the kind chosen (htmx: the amount due
    follows the kind)."""
    rollup, claim = _rollup_claim(request.user, pk, claim_id)
    return _render_row(
        request, rollup, payment_row(claim, kind=request.GET.get("kind"))
    )


def _render_row(
    request: AuthedRequest,
    rollup: Rollup,
    row: PaymentRow,
    *,
    status: int = 200,
    error: str = "",
    form: PaymentForm | None = None,
    summary: bool = False,
) -> HttpResponse:
    context = {
        "rollup": rollup,
        "row": row,
        "can_pay": request.user.is_finance,
        "today": timezone.localdate(),
        "error": error,
        "posted": form.data if form is not None and error else None,
        "summary": selectors.payment_summary(rollup) if summary else None,
    }
    return render(request, "reporting/_payment_row.html", context, status=status)


# --- Finance ------------------------------------------------------------------------------------
@login_required
@require_GET
@renders_domain_errors
def finance_home(request: AuthedRequest) -> HttpResponse:
    user = request.user
    if not _reads_finance(user):
        raise PermissionDenied("只有财政和督查可以查看拨付管理")
    return _render_finance(request)


def _render_finance(request: AuthedRequest, *, status: int = 200) -> HttpResponse:
    rollups = [
        {"rollup": r, "summary": selectors.payment_summary(r)}
        for r in Rollup.objects.filter(status=RollupStatus.READY).order_by("-quarter")
    ]
    advances = (
        selectors.advances_payable()
        .select_related("report")
        .order_by("unit__sort_order", "unit_id", "pk")
    )
    page = Paginator(advances, PAGE_SIZE).get_page(request.GET.get("page"))
    failed = list(selectors.failed_payments().order_by("-recorded_at", "-id"))
    recoveries = list(selectors.open_recoveries().order_by("created_at", "id"))
    context = {
        "rollups": rollups,
        "advances": page,
        "failed": failed,
        "recoveries": recoveries,
        "recovery_total": sum((r.amount for r in recoveries), ZERO),
        "can_pay": request.user.is_finance,
        "today": timezone.localdate(),
    }
    return render(request, "reporting/finance.html", context, status=status)


def _next_url(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


@login_required
@require_POST
@renders_domain_errors
def payment_record_view(request: AuthedRequest) -> HttpResponse:
    user = request.user
    if not user.is_finance:
        raise PermissionDenied("只有财政人员可以登记拨付")
    form = PaymentForm(request.POST)
    row_of = request.POST.get("rollup", "")
    in_row = bool(request.htmx and row_of.isdigit())
    error: DomainError | None = None
    payment = None
    if not form.is_valid():
        error = DomainError("invalid", form.error_text())
    else:
        data = form.cleaned_data
        try:
            payment = services.payment_record(
                claim_id=data["claim"],
                kind=data["kind"],
                amount=data["amount"],
                paid_on=data["paid_on"],
                status=data["status"],
                actor=user,
                reference=data["reference"],
                failure_reason=data["failure_reason"],
                reissue_of_id=data["reissue_of"],
            )
        except DomainError as exc:
            if isinstance(exc, PermissionDenied):
                raise
            if isinstance(exc, NotFound) and not in_row:
                raise
            error = exc
    if in_row:
        claim_id = form.cleaned_data.get("claim") if form.is_valid() else None
        claim_id = claim_id or _int(request.POST.get("claim"))
        rollup, claim = _rollup_claim(user, int(row_of), claim_id or 0)
        row = payment_row(claim, kind=request.POST.get("kind"))
        if error is not None:
            return _render_row(
                request,
                rollup,
                row,
                status=error.status_code,
                error=error.message,
                form=form,
            )
        return _render_row(request, rollup, row, summary=True)
    if error is not None:
        messages.error(request, error.message)
        return _render_finance(request, status=error.status_code)
    assert payment is not None
    messages.success(request, _payment_done(payment))
    return redirect(_next_url(request, reverse("finance_home")))


def _int(value: str | None) -> int | None:
    try:
        return int(value or "")
    except ValueError:
        return None


def _payment_done(payment: Payment) -> str:
    what = f"申报#{payment.claim_id}{payment.get_kind_display()}{rules.yuan(payment.amount)}元"
    if payment.status == PaymentStatus.FAILED:
        return f"已登记{what}拨付失败：{payment.failure_reason}"
    again = "（重新拨付）" if payment.reissue_of_id else ""
    return f"已登记{what}{again}。"


@login_required
@require_POST
@renders_domain_errors
def recovery_settle_view(request: AuthedRequest, pk: int) -> HttpResponse:
    form = RecoverySettleForm(request.POST)
    reference = form.cleaned_data["reference"] if form.is_valid() else ""
    try:
        recovery = services.recovery_settle(
            recovery_id=pk, actor=request.user, reference=reference
        )
    except DomainError as exc:
        if isinstance(exc, NotFound | PermissionDenied):
            raise
        messages.error(request, exc.message)
        return _render_finance(request, status=exc.status_code)
    messages.success(
        request,
        f"申报#{recovery.claim_id}的应追回款{rules.yuan(recovery.amount)}元已登记追回。",
    )
    return redirect("finance_home")


# --- The public side: no login, no personal data --------------------------------------------
@require_GET
def public_disclosure(request: HttpRequest) -> HttpResponse:
    """各县(市)要及时向社会公开资金使用情况 (五(一)): published (ready) rollups only."""
    quarters = selectors.published_quarters()
    chosen = (request.GET.get("quarter") or "").strip().upper()
    status = 200
    error = ""
    if chosen == "ALL":
        quarter = None
    elif chosen:
        quarter = chosen
        if quarter_bounds(chosen) is None:
            error, status, quarter = "季度格式应为“2020Q1”", 400, None
    else:
        quarter = quarters[0] if quarters else None
    disclosure = selectors.public_disclosure(quarter=quarter) if not error else None
    groups: list[dict[str, Any]] = []
    if disclosure is not None:
        for row in disclosure.rows:
            key = (row.quarter, row.unit)
            if not groups or groups[-1]["key"] != key:
                groups.append(
                    {"key": key, "quarter": row.quarter, "unit": row.unit, "rows": []}
                )
            groups[-1]["rows"].append(row)
        for group in groups:
            group["person_times"] = sum(r.person_times for r in group["rows"])
            group["amount"] = sum((r.amount for r in group["rows"]), ZERO)
    context = {
        "quarters": quarters,
        "quarter": quarter,
        "all_quarters": chosen == "ALL",
        "error": error,
        "disclosure": disclosure,
        "groups": groups,
        "by_unit": disclosure.by_unit if disclosure else [],
        "unpublished": bool(quarter and quarter not in quarters),
    }
    return render(request, "public/disclosure.html", context, status=status)


@require_GET
def public_programs(request: HttpRequest) -> HttpResponse:
    """七(三) 公布补贴性培训项目目录: the claimable programs with the caps in force."""
    context = {"programs": selectors.program_catalogue(), "today": timezone.localdate()}
    return render(request, "public/programs.html", context)


@require_GET
def public_institutions(request: HttpRequest) -> HttpResponse:
    """七(三) 培训评价机构目录: the admitted institutions (public registration data)."""
    institutions = list(selectors.institution_catalogue())
    groups: list[dict[str, Any]] = []
    for inst in institutions:
        if not groups or groups[-1]["unit"] != inst.unit:
            groups.append({"unit": inst.unit, "institutions": []})
        groups[-1]["institutions"].append(inst)
    context = {"groups": groups, "count": len(institutions)}
    return render(request, "public/institutions.html", context)
