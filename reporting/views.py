"""Each role's home page, and the public pages (no login there: counts and sums only,
never a trainee's name or number).

The home page reads every stage — claims, reports, rollups, notices — so it lives here,
in the last stage, which may read them all."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Min, OuterRef, Q, QuerySet, Subquery, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.models import RoleChangeStatus, User
from accounts.selectors import role_changes_visible_to
from accounts.views import AuthedRequest
from altay_skills.periods import QUARTER_MESSAGE, current_quarter, quarter_bounds
from claims import rules
from claims.confirmations import grievances_overdue_for
from claims.models import LIMIT_SLOTS, Claim, ClaimEvent, ClaimStatus
from claims.permissions import can_find_grievance
from claims.rules import ZERO
from claims.selectors import claims_visible_to
from claims.workflow import STATUS_LABELS
from programs.models import Institution, Unit, fund_label
from quarters.models import ReportStatus
from reporting import selectors
from reporting.selectors import notifications_for

HOME_LIST_SIZE = 8
STATUSES = [s.value for s in ClaimStatus]


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
            error, status, quarter = QUARTER_MESSAGE, 400, None
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
        "annual_limit": LIMIT_SLOTS,
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


# --- Home -------------------------------------------------------------------------------
@login_required
def home(request: AuthedRequest) -> HttpResponse:
    user = request.user
    if user.is_institution_staff:
        # the institution's staff work on their classes: their landing page (issue 16)
        return redirect("class_list")
    if user.is_clerk:
        context = _clerk_home(user)
    elif user.is_reviewer:
        context = _reviewer_home(user)
    elif user.is_administrator:
        context = _administrator_home(user)
    else:
        context = _summary_home(user)
    context["notifications"] = notifications_for(user)
    if can_find_grievance(user):  # the clerk's and the reviewer's (issue 17)
        context["overdue_grievances"] = grievances_overdue_for(user).count()
    return render(request, "claims/home.html", context)


def _status_counts(visible: QuerySet[Claim], **extra: Any) -> dict[str, Any]:
    return visible.aggregate(
        total=Count("pk"),
        **{status: Count("pk", filter=Q(status=status)) for status in STATUSES},
        **extra,
    )


def _status_cards(counts: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"status": s, "label": STATUS_LABELS[s], "count": counts[s]} for s in STATUSES
    ]


def _clerk_home(user: User) -> dict[str, Any]:
    visible = claims_visible_to(user)
    quarter, bounds = current_quarter()
    in_quarter = Q(submitted_at__date__range=bounds)
    live = in_quarter & Q(status__in=list(rules.COUNTING_STATUSES))
    approved = in_quarter & Q(status=ClaimStatus.APPROVED)
    drafts = Q(status=ClaimStatus.DRAFT)
    counts = _status_counts(
        visible,
        quarter_submitted=Count("pk", filter=live),
        quarter_requested=Sum("amount_requested", filter=live),
        quarter_amount=Sum("amount", filter=live),
        quarter_advance=Sum("advance", filter=live),
        quarter_approved=Count("pk", filter=approved),
        quarter_approved_amount=Sum("approved_amount", filter=approved),
        drafts_eligible=Count("pk", filter=drafts & Q(eligible=True)),
        drafts_refused=Count("pk", filter=drafts & Q(eligible=False)),
    )
    last_return = ClaimEvent.objects.filter(
        claim=OuterRef("pk"), action="return"
    ).order_by("-at", "-id")
    returned = (
        visible.filter(status=ClaimStatus.RETURNED)
        .annotate(return_reason=Subquery(last_return.values("reason")[:1]))
        .order_by("-reviewed_at", "-id")[:HOME_LIST_SIZE]
    )
    refused = visible.filter(drafts & Q(eligible=False)).order_by("-updated_at")
    ready = visible.filter(drafts & Q(eligible=True)).order_by("-updated_at")
    return {
        "role": "clerk",
        "counts": counts,
        "status_cards": _status_cards(counts),
        "quarter": quarter,
        "quarter_bounds": bounds,
        "quarter_money": {
            key: rules.money(counts[key])
            for key in (
                "quarter_requested",
                "quarter_amount",
                "quarter_advance",
                "quarter_approved_amount",
            )
        },
        "returned": returned,
        "refused_drafts": refused[:HOME_LIST_SIZE],
        "ready_drafts": ready[:HOME_LIST_SIZE],
    }


def _reviewer_home(user: User) -> dict[str, Any]:
    visible = claims_visible_to(user)
    counts = _status_counts(visible)
    # to review: a submitted claim in a submitted report; one the county has not yet
    # reported is counted apart (the review of session 25 opened such a claim from
    # 待审核 and found no way to decide it)
    reported = Q(report__status=ReportStatus.SUBMITTED)
    waiting: dict[str, dict[str, Any]] = {
        row["unit_id"]: dict(row)
        for row in visible.filter(status=ClaimStatus.SUBMITTED)
        .values("unit_id")
        .annotate(
            n=Count("pk", filter=reported),
            unreported=Count("pk", filter=~reported),
            amount=Sum("amount", filter=reported),
            oldest=Min("submitted_at", filter=reported),
        )
        .order_by()
    }
    none: dict[str, Any] = {}
    units = [
        {
            "unit": unit,
            "waiting": waiting.get(unit.code, none).get("n", 0),
            "unreported": waiting.get(unit.code, none).get("unreported", 0),
            "amount": rules.money(waiting.get(unit.code, none).get("amount")),
            "oldest": waiting.get(unit.code, none).get("oldest"),
        }
        for unit in Unit.objects.order_by("sort_order", "code")
    ]
    return {
        "role": "reviewer",
        "counts": counts,
        "status_cards": _status_cards(counts),
        "units": units,
        "waiting_total": sum(u["waiting"] for u in units),
        "waiting_amount": rules.money(sum(u["amount"] for u in units)),
    }


def _administrator_home(user: User) -> dict[str, Any]:
    """The administrator sees no claim (least privilege): their own work instead —
    providers proposed and waiting for admission (七(三)), role changes waiting for a
    second administrator — not claim figures that would read 0."""
    waiting_roles = role_changes_visible_to(user, status=RoleChangeStatus.PROPOSED)
    return {
        "role": "administrator",
        # another's proposals: one's own is admitted by someone else
        "institutions_waiting": Institution.objects.filter(admitted=False)
        .exclude(proposed_by=user)
        .count(),
        "role_changes_waiting": waiting_roles.exclude(proposed_by=user).count(),
        "own_role_changes_waiting": waiting_roles.filter(proposed_by=user).count(),
    }


def _summary_home(user: User) -> dict[str, Any]:
    visible = claims_visible_to(user)
    approved = Q(status=ClaimStatus.APPROVED)
    counts = _status_counts(
        visible,
        approved_amount=Sum("approved_amount", filter=approved),
        advance=Sum("advance", filter=approved),
    )
    by_fund = [
        {
            "fund": fund_label(row["fund"]),
            "n": row["n"],
            "amount": rules.money(row["amount"]),
        }
        for row in visible.filter(approved)
        .values("fund")
        .annotate(n=Count("pk"), amount=Sum("approved_amount"))
        .order_by("fund")
    ]
    return {
        "role": "summary",
        "counts": counts,
        "status_cards": _status_cards(counts),
        "approved_amount": rules.money(counts["approved_amount"]),
        "approved_advance": rules.money(counts["advance"]),
        "by_fund": by_fund,
    }
