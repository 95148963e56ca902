"""Each role's dashboard — the prefecture's, a unit's, finance's — and the anomalies."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.views import AuthedRequest, renders_domain_errors
from altay_skills import outbox
from altay_skills.errors import PermissionDenied
from altay_skills.models import OutboxMessage, OutboxStatus
from claims.confirmations import confirmation_shares
from reporting import anomaly_snapshots, dashboards
from reporting.dashboard_views.frame import (
    context,
    require,
    sees_finance,
    sees_prefecture,
    year_asked,
)
from reporting.dashboard_views.panels import (
    anomalies_panel,
    backlog_panel,
    budget_panel,
    finance_kpis,
    kpis,
    money_panel,
    month_panel,
    paid_panel,
    programs_panel,
    quarter_fund_panel,
    rates_panel,
    target_panel,
    unit_programs_panel,
    units_panel,
)

#: The task that recomputes the anomaly lists' snapshot.
REFRESH_ANOMALIES = "reporting.tasks.refresh_anomalies"
ANOMALIES_REFUSED = "只有地区审核人和督查可以查看异常线索"


# --- The entry ---------------------------------------------------------------------------
@login_required
@require_GET
@renders_domain_errors
def index(request: AuthedRequest) -> HttpResponse:
    user = request.user
    query = f"?{request.GET.urlencode()}" if request.GET else ""
    if user.is_clerk:
        return redirect(reverse("dashboards:unit") + query)
    if user.is_finance:
        return redirect(reverse("dashboards:finance") + query)
    if sees_prefecture(user):
        return redirect(reverse("dashboards:prefecture") + query)
    raise PermissionDenied("您的角色没有统计看板")


# --- Prefecture ------------------------------------------------------------------------------
@login_required
@require_GET
@renders_domain_errors
def prefecture(request: AuthedRequest) -> HttpResponse:
    require(sees_prefecture(request.user), "只有地区审核人和督查可以查看全地区统计")
    year = year_asked(request)
    d = dashboards.prefecture_dashboard(year)
    panels = [
        target_panel(d.work_year_total, d.target, work_year=d.work_year),
        month_panel(d.months),
        units_panel(d.units, year, d.target),
        money_panel("unit-money", "各单位金额：申请、核准、拨付", d.units, d.total),
        programs_panel(d.programs),
        money_panel(
            "fund-money",
            "按资金渠道：申请、核准、拨付",
            d.funds,
            d.total,
            first="资金渠道",
        ),
        budget_panel("budget", "预算执行（按资金渠道，全地区）", d.budget_funds),
        backlog_panel(d.backlog),
        rates_panel("unit-rates", "各单位合格率、就业率", d.units),
        rates_panel("program-rates", "各项目合格率、就业率", d.programs, first="项目"),
    ]
    return render(
        request,
        "dashboards/prefecture.html",
        context(
            request,
            "dashboards:prefecture",
            year=year,
            years=d.years,
            dashboard=d,
            kpis=kpis(
                d.total,
                target=d.target,
                work_year=d.work_year,
                work_year_total=d.work_year_total,
            ),
            panels=panels,
            budget_lines=d.budget_lines,
            confirmations=confirmation_shares(dashboards.year_claims(year)),
        ),
    )


# --- A unit ------------------------------------------------------------------------------------
@login_required
@require_GET
@renders_domain_errors
def unit(request: AuthedRequest) -> HttpResponse:
    user = request.user
    require(user.is_clerk or sees_finance(user), "您的角色不能查看单位统计")
    chosen = dashboards.dashboard_unit(user, request.GET.get("unit", ""))
    year = year_asked(request)
    d = dashboards.unit_dashboard(year, chosen)
    panels = [
        month_panel(d.months, with_amount=True),
        unit_programs_panel(d.programs),
        money_panel(
            "fund-money",
            "按资金渠道：申请、核准、拨付",
            d.funds,
            d.total,
            first="资金渠道",
        ),
        budget_panel("budget", "预算执行（按资金渠道）", d.budget_lines),
    ]
    return render(
        request,
        "dashboards/unit.html",
        context(
            request,
            "dashboards:unit",
            year=year,
            years=d.years,
            dashboard=d,
            kpis=kpis(d.total),
            panels=panels,
            all_units=[] if user.is_clerk else dashboards.units(),
            confirmations=confirmation_shares(
                dashboards.year_claims(year, unit=chosen.code)
            ),
        ),
    )


# --- Finance --------------------------------------------------------------------------------------
@login_required
@require_GET
@renders_domain_errors
def finance(request: AuthedRequest) -> HttpResponse:
    require(sees_finance(request.user), "只有财政、地区审核人和督查可以查看资金统计")
    year = year_asked(request)
    d = dashboards.finance_dashboard(year)
    panels = [
        quarter_fund_panel(d),
        paid_panel(d),
        budget_panel("budget", "预算执行（按资金渠道，全地区）", d.budget_funds),
    ]
    return render(
        request,
        "dashboards/finance.html",
        context(
            request,
            "dashboards:finance",
            year=year,
            years=d.years,
            dashboard=d,
            kpis=finance_kpis(d),
            panels=panels,
            budget_lines=d.budget_lines,
        ),
    )


# --- Anomalies --------------------------------------------------------------------------------
@login_required
@require_GET
@renders_domain_errors
def anomalies(request: AuthedRequest) -> HttpResponse:
    """The lists as last computed in the background (``reporting.anomaly_snapshots``),
    with their age."""
    require(sees_prefecture(request.user), ANOMALIES_REFUSED)
    snapshot = anomaly_snapshots.anomalies_current()
    return render(
        request,
        "dashboards/anomalies.html",
        context(
            request,
            "dashboards:anomalies",
            found=snapshot.found,
            snapshot=snapshot,
            refresh_minutes=max(1, anomaly_snapshots.refresh_seconds() // 60),
            may_refresh=request.user.is_reviewer,
            refresh_queued=OutboxMessage.objects.filter(
                task=REFRESH_ANOMALIES, status=OutboxStatus.PENDING
            ).exists(),
            panels=[anomalies_panel(snapshot.found)],
        ),
    )


@login_required
@require_POST
@renders_domain_errors
def anomalies_refresh(request: AuthedRequest) -> HttpResponse:
    """立即更新: queue a computation of the lists (one at a time: a request while one
    waits adds none)."""
    # the auditor reads; only the reviewer, whose lists they are, asks for work
    require(request.user.is_reviewer, "只有地区审核人可以要求重新计算异常线索")
    with transaction.atomic():
        waiting = OutboxMessage.objects.filter(
            task=REFRESH_ANOMALIES, status=OutboxStatus.PENDING
        ).exists()
        if not waiting:
            outbox.enqueue(REFRESH_ANOMALIES)
    messages.info(request, "已安排重新计算异常线索，完成后刷新本页即可看到。")
    return redirect("dashboards:anomalies")
