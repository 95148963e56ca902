"""The November review (考核验收, 六(三)): the page of every unit, a unit's page, and
the workbook, from ``reporting.review.review_figures``."""

from __future__ import annotations

import io

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from accounts.models import User
from accounts.views import AuthedRequest, renders_domain_errors
from altay_skills.errors import NotFound
from claims.confirmations import ConfirmationShares
from claims.rules import yuan
from reporting import dashboards, review
from reporting.dashboard_views.frame import context, require, sees_finance
from reporting.dashboard_views.panels import (
    APPROVED,
    PAID,
    REMAINING,
    Cell,
    Panel,
    as_float,
    chart,
    header_cells,
    num,
    series,
    yuan_or,
)
from reporting.templatetags.dashboard_format import pct, thousands


def _review_allowed(user: User, unit_code: str | None = None) -> None:
    if user.is_clerk and unit_code is not None:
        if unit_code != user.unit_id:
            raise NotFound("未找到该单位")
        return
    require(sees_finance(user), "只有地区审核人、督查和财政可以查看考核验收汇总")


def _review_units_panel(r: review.Review) -> Panel:
    return Panel(
        key="review-units",
        title=f"{r.year}年各单位培训人次",
        chart=chart(
            "bar",
            [u.name for u in r.units],
            [series("人次", [u.figures.person_times for u in r.units], APPROVED)],
            horizontal=True,
        ),
        headers=header_cells(
            "单位", "人次", "占目标", "合格率", "就业率", "核准金额（元）"
        ),
        rows=[
            [
                Cell(
                    u.name,
                    href=reverse("dashboards:review_unit", args=[r.year, u.code]),
                ),
                num(thousands(u.figures.person_times)),
                num(pct(u.share_of_target)),
                num(pct(u.figures.pass_rate)),
                num(pct(u.figures.employment_rate)),
                num(yuan(u.figures.approved)),
            ]
            for u in r.units
        ],
        total=[
            Cell("全地区合计"),
            num(thousands(r.total.figures.person_times)),
            num(pct(r.total.share_of_target)),
            num(pct(r.total.figures.pass_rate)),
            num(pct(r.total.figures.employment_rate)),
            num(yuan(r.total.figures.approved)),
        ],
        tall=True,
    )


def _review_funds_panel(u: review.UnitReview) -> Panel:
    return Panel(
        key="review-funds",
        title="按资金渠道：预算、核准、拨付",
        chart=chart(
            "bar",
            [f.short for f in u.funds],
            [
                series("预算", [as_float(f.budget) for f in u.funds], REMAINING),
                series(
                    "核准", [as_float(f.figures.approved) for f in u.funds], APPROVED
                ),
                series("已拨付", [as_float(f.figures.paid) for f in u.funds], PAID),
            ],
            fmt="money",
        ),
        headers=header_cells("资金渠道", "预算", "申请", "核准", "已拨付", "执行率"),
        rows=[
            [
                Cell(f.short, title=f.label),
                num(yuan_or(f.budget)),
                num(yuan(f.figures.requested)),
                num(yuan(f.figures.approved)),
                num(yuan(f.figures.paid)),
                num(pct(f.execution)),
            ]
            for f in u.funds
        ],
        total=[
            Cell("合计"),
            num(yuan_or(u.budget)),
            num(yuan(u.figures.requested)),
            num(yuan(u.figures.approved)),
            num(yuan(u.figures.paid)),
            num(
                pct(
                    dashboards.percent(u.figures.approved, u.budget)
                    if u.budget
                    else None
                )
            ),
        ],
        note="执行率＝核准金额÷预算；未录入预算的资金渠道不设上限。",
    )


def _confirmations(r: review.Review, unit: str | None = None) -> dict[str, object]:
    """The trainees' answers (issue 17) over the review's work year, as the review
    counted them (the same figures as its workbook)."""
    line = r.unit(unit) if unit else r.total
    return (line.confirmations if line else ConfirmationShares()).as_dict()


@login_required
@require_GET
@renders_domain_errors
def review_page(request: AuthedRequest, year: int) -> HttpResponse:
    _review_allowed(request.user)
    r = review.review_figures(year)
    return render(
        request,
        "dashboards/review.html",
        context(
            request,
            "dashboards:review",
            year=year,
            years=dashboards.years_with_data(),
            review=r,
            panels=[_review_units_panel(r)],
            high_skill_target=review.HIGH_SKILL_TARGET,
            confirmations=_confirmations(r),
        ),
    )


@login_required
@require_GET
@renders_domain_errors
def review_unit_page(request: AuthedRequest, year: int, code: str) -> HttpResponse:
    _review_allowed(request.user, code)
    r = review.review_figures(year)
    u = r.unit(code)
    if u is None:
        raise NotFound("未找到该单位")
    return render(
        request,
        "dashboards/review_unit.html",
        context(
            request,
            "dashboards:review",
            year=year,
            years=dashboards.years_with_data(),
            review=r,
            u=u,
            panels=[_review_funds_panel(u)],
            high_skill_target=review.HIGH_SKILL_TARGET,
            is_clerk=request.user.is_clerk,
            confirmations=_confirmations(r, unit=code),
        ),
    )


@login_required
@require_GET
@renders_domain_errors
def review_xlsx(request: AuthedRequest, year: int) -> HttpResponse:
    _review_allowed(request.user)
    r = review.review_figures(year)
    buffer = io.BytesIO()
    review.write_review_workbook(r, buffer)
    response = HttpResponse(
        buffer.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    filename = f"review-{year}.xlsx"
    response["Content-Disposition"] = (
        f"attachment; filename=\"{filename}\"; filename*=UTF-8''"
        f"{year}%E5%B9%B4%E8%80%83%E6%A0%B8%E9%AA%8C%E6%94%B6.xlsx"
    )
    return response
