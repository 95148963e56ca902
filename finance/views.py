"""The quarter's money in the browser: the rollup sent to finance and what finance pays.

Thin, like ``claims.views``: a form parses, a service of ``finance.services`` decides,
a selector of ``finance.selectors`` reads (who may see a rollup is
``rollups_visible_to``: anyone else gets a 404, as for a missing one).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from accounts.models import User
from accounts.views import AuthedRequest, renders_domain_errors
from altay_skills.errors import DomainError, NotFound
from altay_skills.periods import QUARTER_MESSAGE, quarter_bounds
from altay_skills.permissions import require, shown_on_page
from altay_skills.record_ids import record_id
from claims import rules, workflow
from claims.models import Claim
from finance import selectors, services
from finance.forms import (
    ClassAdvanceForm,
    PaymentForm,
    RecoverySettleForm,
    RollupRequestForm,
)
from finance.ledger import money_from, money_of
from finance.models import Payment, PaymentKind, PaymentStatus, Rollup, RollupStatus
from finance.permissions import (
    can_read_finance,
    can_read_rollup_error,
    can_record_payment,
    can_request_rollup,
)
from finance.rules import PAYMENT_STATES, ClaimMoney, payment_state_of
from programs.models import Unit, fund_label
from quarters import views as quarter_views
from quarters.models import ReportStatus, SpotCheckResult
from quarters.permissions import can_read_reports
from quarters.selectors import reports_visible_to, spot_checks_waiting
from quarters.views import last_ended_quarter

#: Claims per page on the rollup page; lines to pay on the finance page.
PAGE_SIZE = 50
ZERO = Decimal("0.00")
PAYMENT_STATE_LABELS = PAYMENT_STATES
TOTAL_KEYS = ("approved", "advance", "balance", "recovery")


# --- The prefecture's quarter: each unit's report and the rollup --------------------------
@login_required
@require_GET
@renders_domain_errors
def report_list(request: AuthedRequest) -> HttpResponse:
    user = request.user
    require(can_read_reports(user))
    if user.is_clerk:
        return quarter_views.clerk_report_list(request)
    quarter = (request.GET.get("quarter") or "").strip().upper()
    return render_quarter(request, quarter or None)


def _quarters_on_file(user: User) -> list[str]:
    quarters = set(
        reports_visible_to(user)
        .exclude(status=ReportStatus.DISCARDED)
        .values_list("quarter", flat=True)
        .distinct()
    )
    quarters |= set(Rollup.objects.values_list("quarter", flat=True))
    return sorted(quarters, reverse=True)


def render_quarter(
    request: AuthedRequest, quarter: str | None, *, status: int = 200
) -> HttpResponse:
    """The quarter overview: every unit's report of the quarter, what is still open in
    each, and the rollup to finance. Also the page a refused rollup request returns to."""
    user = request.user
    quarters = _quarters_on_file(user)
    if quarter is None:
        quarter = quarters[0] if quarters else last_ended_quarter()
    if quarter_bounds(quarter) is None:
        messages.error(request, QUARTER_MESSAGE)
        quarter, status = quarters[0] if quarters else last_ended_quarter(), 400
    reports = list(
        reports_visible_to(user)
        .filter(quarter=quarter)
        .exclude(status=ReportStatus.DISCARDED)
        .select_related("submitted_by", "closed_by")
    )
    by_unit = {r.unit_id: r for r in reports}
    ids = [r.pk for r in reports]
    claims: dict[int, dict[str, int]] = defaultdict(dict)
    for report_id, claim_status, n in (
        Claim.objects.filter(report_id__in=ids)
        .values_list("report_id", "status")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        claims[report_id][claim_status] = n
    checks = spot_checks_waiting(ids)
    rows = []
    for unit in Unit.objects.order_by("sort_order", "code"):
        report = by_unit.get(unit.code)
        row: dict[str, Any] = {"unit": unit, "report": report}
        if report is not None:
            counts = claims[report.pk]
            attached = sum(counts.values())
            frozen = report.claim_count
            row.update(
                count=frozen if frozen is not None else attached,
                total=rules.money(report.control_total) if frozen is not None else None,
                pending=counts.get(workflow.SUBMITTED, 0),
                approved=counts.get(workflow.APPROVED, 0),
                rejected=counts.get(workflow.REJECTED, 0),
                returned=(frozen - attached) if frozen is not None else 0,
                sampled=sum(checks[report.pk].values()),
                unchecked=checks[report.pk].get(SpotCheckResult.PENDING, 0),
                left=checks[report.pk].get("left", 0),
            )
        rows.append(row)
    statuses = {r.status for r in reports}
    rollup = (
        Rollup.objects.filter(quarter=quarter).select_related("requested_by").first()
    )
    under_review = ReportStatus.SUBMITTED in statuses
    has_closed = ReportStatus.CLOSED in statuses
    context = {
        "quarter": quarter,
        "quarters": quarters,
        "rows": rows,
        "rollup": rollup,
        "under_review": under_review,
        "has_closed": has_closed,
        # offered while the service would accept it and there is something to do
        "can_request": (
            bool(can_request_rollup(user, quarter))
            and (rollup is None or rollup.status == RollupStatus.FAILED)
        ),
        "counts": {
            "reported": sum(1 for r in reports if r.status != ReportStatus.DRAFT),
            "closed": sum(1 for r in reports if r.status == ReportStatus.CLOSED),
            "units": len(rows),
        },
        # the units that have not reported: "all closed" was said with 7 of 9 missing
        "not_reported": [
            row["unit"].name
            for row in rows
            if row["report"] is None or row["report"].status == ReportStatus.DRAFT
        ],
    }
    return render(request, "claims/reports/quarter.html", context, status=status)


# --- Sending the quarter to finance ------------------------------------------------------
@login_required
@require_POST
@renders_domain_errors
def rollup_request_view(request: AuthedRequest) -> HttpResponse:
    user = request.user
    require(can_request_rollup(user))
    form = RollupRequestForm(request.POST)
    quarter = form.cleaned_data["quarter"] if form.is_valid() else ""
    try:
        rollup = services.rollup_request(quarter=quarter, actor=user)
    except DomainError as exc:
        messages.error(request, shown_on_page(exc).message)
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
    money: ClaimMoney
    #: kind → (label, amount due, the failed payment a new one re-issues, or None)
    options: dict[str, tuple[str, Decimal, int | None]] = field(default_factory=dict)
    kind: str = ""
    #: why the balance due is not payable now (the public notice running, an
    #: objection, a trainee's "not me"): said instead of a form the service refuses
    hold: str = ""

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


def payment_row(
    claim: Claim, *, kind: str | None = None, holds: services.BalanceHolds | None = None
) -> PaymentRow:
    """What may still be paid on an approved claim of a ready rollup: the balance the
    ledger says is due (``finance.ledger``; the advance is paid from the finance page
    while the report is open), or why it waits (``hold``: the review of session 25
    typed a whole payment to be told the notice runs until the 14th). The service
    checks the same again. ``holds``: read already for a page of claims."""
    payments = list(claim.payments.all())
    money = money_from(claim) if hasattr(claim, "owed") else money_of(claim.pk)
    row = PaymentRow(
        claim=claim,
        payments=payments,
        state=payment_state_of(money, approved=claim.status == workflow.APPROVED),
        paid=money.paid,
        money=money,
    )
    failed = {p.kind: p.pk for p in row.open_failures}
    if claim.status == workflow.APPROVED and money.due > 0:
        row.options[PaymentKind.BALANCE] = (
            str(PaymentKind.BALANCE.label),
            money.due,
            failed.get(PaymentKind.BALANCE),
        )
    if PaymentKind.BALANCE in row.options:
        holds = holds or services.balance_holds([claim])
        refusal = holds.disputes.get(claim.pk)
        notice = holds.notices.get(claim.pk)
        if refusal is not None:
            row.hold = refusal.message
        elif notice is not None and not notice:
            row.hold = notice.reason
        if row.hold:
            del row.options[PaymentKind.BALANCE]
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
        "show_error": can_read_rollup_error(user),
        "can_pay": can_record_payment(user),
        "today": timezone.localdate(),
    }
    if rollup.status == RollupStatus.READY:
        context.update(_ready_context(request, rollup))
        context["late_reports"] = list(
            selectors.closed_after(rollup).select_related("unit")
        )
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
    holds = services.balance_holds(
        list(page.object_list)
    )  # the page's, in a fixed count
    return {
        "lines": lines,
        "totals": _ready_totals(rollup),
        "summary": selectors.payment_summary(rollup),
        "units": units,
        "unit": unit,
        "page": page,
        "rows": [payment_row(c, holds=holds) for c in page.object_list],
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
            "show_error": can_read_rollup_error(request.user),
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
        "can_pay": can_record_payment(request.user),
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
    require(can_read_finance(request.user))
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
    for p in failed:
        p.reissuable = selectors.reissuable(p)  # type: ignore[attr-defined]
    recoveries = list(selectors.open_recoveries().order_by("created_at", "id"))
    context = {
        "rollups": rollups,
        "advances": page,
        "failed": failed,
        "recoveries": recoveries,
        "recovery_total": sum((r.amount for r in recoveries), ZERO),
        "netted": list(selectors.netted_recoveries().order_by("-netted_at", "-id")),
        "classes_due": selectors.classes_due_advance(),
        "class_advances": list(selectors.class_advances_paid()[:20]),
        "can_pay": can_record_payment(request.user),
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
    require(can_record_payment(user))
    form = PaymentForm(request.POST)
    row_of = request.POST.get("rollup", "")
    in_row = bool(request.htmx and record_id(row_of) is not None)
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
            # in a row of the rollup page a missing claim is told in the row
            shown = isinstance(exc, NotFound) and in_row
            error = exc if shown else shown_on_page(exc)
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
                # an incomplete payment (400) is the row's state, shown in place
                status=200 if error.status_code == 400 else error.status_code,
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
        messages.error(request, shown_on_page(exc).message)
        return _render_finance(request, status=exc.status_code)
    if recovery.reopens_id is not None:  # netted, and sent back all the same
        messages.success(
            request,
            f"申报#{recovery.claim_id}已冲抵的{rules.yuan(recovery.amount)}元已登记为"
            "收款人退回，先冲抵该申报其余应追回款，余下的将随余额重新拨付。",
        )
    else:
        messages.success(
            request,
            f"申报#{recovery.claim_id}的应追回款{rules.yuan(recovery.amount)}元已登记追回。",
        )
    return redirect("finance_home")


@login_required
@require_POST
@renders_domain_errors
def class_advance_view(request: AuthedRequest, pk: int) -> HttpResponse:
    """Finance pays a project-based class's advance (``class_advance_pay``)."""
    require(can_record_payment(request.user))
    form = ClassAdvanceForm(request.POST)
    try:
        if not form.is_valid():
            raise DomainError("invalid", form.error_text())
        data = form.cleaned_data
        advance = services.class_advance_pay(
            class_id=pk,
            actor=request.user,
            paid_on=data["paid_on"],
            reference=data["reference"],
            amount=data["amount"],
        )
    except DomainError as exc:
        messages.error(request, shown_on_page(exc).message)
        return _render_finance(request, status=exc.status_code)
    messages.success(
        request,
        f"培训班#{advance.training_class_id}的先行拨付{rules.yuan(advance.amount)}元"
        "已登记。",
    )
    return redirect("finance_home")
