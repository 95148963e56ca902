"""Pages of the trainee's confirmation (issue 17): ``/t/<code>/`` for the trainee (no
login, phone-sized, rate-limited per address), the slip the institution prints with its
QR code, and the unit's list of grievances with the finding form."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.views import AuthedRequest, renders_domain_errors
from altay_skills.errors import DomainError, NotFound
from altay_skills.permissions import require, shown_on_page
from claims.confirmation_throttle import ConfirmationThrottle
from claims.confirmations import (
    confirmation_answer,
    confirmation_by_code,
    grievance_find,
    grievances_visible_to,
    mask_name,
    public_view,
    slip_of,
)
from claims.models import GrievanceOutcome, TraineeConfirmation
from claims.permissions import can_find_grievance, can_read_grievances
from claims.selectors import claim_for, claim_trail_makers_and_payers


def _page(
    request: HttpRequest, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    return render(request, "public/confirmation.html", context, status=status)


@require_http_methods(["GET", "POST"])
def trainee_confirmation(request: HttpRequest, code: str) -> HttpResponse:
    if not ConfirmationThrottle().allow_request(request, None):
        return _page(request, {"error": _("请求过于频繁，请稍后再试")}, status=429)
    try:
        confirmation = confirmation_by_code(code)
    except NotFound:
        return _page(
            request,
            {"error": _("确认码无效，请核对短信或确认单上的确认码")},
            status=404,
        )
    context: dict[str, Any] = {"code": code}
    status = 200
    if request.method == "POST":
        try:
            confirmation = confirmation_answer(
                code=code,
                answer=request.POST.get("answer", ""),
                id_last4=request.POST.get("id_last4", ""),
            )
            context["answered"] = confirmation.status
        except DomainError as exc:
            context["form_error"] = exc.message
            status = exc.status_code
            confirmation = confirmation_by_code(code)
    context["view"] = public_view(confirmation)
    return _page(request, context, status=status)


@login_required
@require_GET
@renders_domain_errors
def claim_confirmation_slip(request: AuthedRequest, pk: int) -> HttpResponse:
    """The printed slip for one claim (the institution hands it to the trainee)."""
    claim = claim_for(request.user, pk)
    confirmation = TraineeConfirmation.objects.filter(claim_id=claim.pk).first()
    if confirmation is None:
        raise NotFound("该申报尚未生成确认码（提交申报或培训班结业后生成）")
    return render(
        request,
        "public/confirmation_slips.html",
        {"slips": [slip_of(confirmation)]},
    )


@login_required
@require_GET
@renders_domain_errors
def grievance_list(request: AuthedRequest) -> HttpResponse:
    require(can_read_grievances(request.user))
    rows = list(grievances_visible_to(request.user)[:500])
    today = timezone.localdate()
    makers = claim_trail_makers_and_payers([g.claim for g in rows if g.is_open])
    return render(
        request,
        "claims/grievances.html",
        {
            "rows": [
                {
                    "grievance": g,
                    "name": mask_name(g.claim.trainee.name),
                    "overdue": g.is_open and g.due_on < today,
                    # the form where its reader may judge (not on their own claim)
                    "findable": g.is_open
                    and bool(
                        can_find_grievance(request.user, g, makers=makers[g.claim_id])
                    ),
                }
                for g in rows
            ],
            "outcomes": GrievanceOutcome.choices,
        },
    )


@login_required
@require_POST
@renders_domain_errors
def grievance_finding_view(request: AuthedRequest, pk: int) -> HttpResponse:
    try:
        grievance_find(
            grievance_id=pk,
            outcome=request.POST.get("outcome", ""),
            reason=request.POST.get("reason", ""),
            actor=request.user,
        )
    except DomainError as exc:
        if exc.status_code == 404:
            raise
        messages.error(request, shown_on_page(exc).message)
        return redirect("grievance_list")
    messages.success(request, "核查结论已录入")
    return redirect("grievance_list")
