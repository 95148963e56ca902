"""The registry's pages that show a person's claims: the lookup by ID number, the
person's page (their subsidy history, 五(二), and the claims the user may see) and the
audited reveal of the full number, which redraws that page.

They keep the registry's URLs and names (``trainee_lookup``, ``trainee_detail``,
``trainee_id_number_reveal`` under "trainees/", mounted by ``claims.urls``) and its
templates, but live in the claim stage because the history is the person's claims and
the registry (``trainees``, an earlier stage) never imports claims. Registration and the
change of a person's facts stay in ``trainees.views``; the reveal itself (its rule,
throttle and audit row) stays in ``trainees.services`` — see ``trainees.selectors``.

The registry is prefecture-wide; a person's history shows to any clerk as counts and the
trade/levels already subsidised, with the ID number masked (first 6 and last 4).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import User
from accounts.views import AuthedRequest, renders_domain_errors
from altay_skills.client_address import client_address
from altay_skills.errors import DomainError, PermissionDenied
from claims.selectors import claims_visible_to, subsidy_history
from claims.workflow import STATUS_LABELS
from trainees.forms import IdNumberForm, IdNumberRevealForm, TraineeRegistrationForm
from trainees.models import RevealChannel, Trainee
from trainees.permissions import can_change_trainee_facts
from trainees.selectors import (
    id_number_reveal_refusal,
    id_number_reveals_of,
    shows_whole_record,
    trainee_by_id_number,
    trainee_fact_changes_of,
    trainee_in_scope,
)
from trainees.services import id_number_reveal, trainee_found


def _history_context(trainee: Trainee, user: User) -> dict[str, Any]:
    history = subsidy_history(trainee, year=timezone.localdate().year)
    used = [
        {
            "trade": u.trade,
            "level": u.level,
            "unit": u.unit,
            "year": u.year,
            "status": u.status,
            "status_label": STATUS_LABELS.get(u.status, u.status),
        }
        for u in history.used
    ]
    return {
        "trainee": trainee,
        # Outside the person's own unit a clerk reads what the limits need: the masked
        # number, the name and the history, not the groups or places (issue 14, 3).
        "whole": shows_whole_record(user, trainee),
        "history": history,
        "used": used,
        "by_year": sorted(history.by_year.items(), reverse=True),
    }


def _lookup_context(user: User, form: IdNumberForm) -> dict[str, Any]:
    """What the lookup shows: a hint, the reason a number is invalid, the person, or a
    registration form for a valid number nobody has registered yet."""
    if not form.is_bound or not form.data.get("id_number", "").strip():
        return {"state": "empty"}
    if not form.is_valid():
        return {"state": "invalid", "errors": form.errors["id_number"]}
    number = form.cleaned_data["id_number"]
    trainee = trainee_by_id_number(user, number)
    if trainee is None:
        registration = TraineeRegistrationForm(initial={"id_number": number})
        return {"state": "new", "number": number, "registration": registration}
    trainee_found(actor=user, trainee=trainee)
    return {"state": "found", **_history_context(trainee, user)}


@login_required
@require_http_methods(["GET", "POST"])
def trainee_lookup(request: AuthedRequest) -> HttpResponse:
    """Find a person by ID number; htmx asks as the clerk types (POST keeps the number
    out of URLs and access logs)."""
    form = IdNumberForm(request.POST if request.method == "POST" else None)
    context: dict[str, Any] = {
        "form": form,
        "result": _lookup_context(request.user, form),
    }
    if request.htmx:
        return render(request, "trainees/_lookup_result.html", context)
    if context["result"]["state"] == "found":
        # The person is known: the page shows the masked number only.
        context["form"] = IdNumberForm()
    return render(request, "trainees/lookup.html", context)


@login_required
@renders_domain_errors
def trainee_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    trainee = trainee_in_scope(request.user, pk)
    return render(request, "trainees/detail.html", _detail_context(request, trainee))


def _detail_context(request: AuthedRequest, trainee: Trainee) -> dict[str, Any]:
    own_claims = (
        claims_visible_to(request.user)
        .filter(trainee=trainee)
        .order_by("-training_end", "-id")[:50]
    )
    return {
        **_history_context(trainee, request.user),
        "own_claims": own_claims,
        "reveal": _reveal_context(request, trainee),
        "reveals": id_number_reveals_of(request.user, trainee)[:50],
        "may_change_facts": can_change_trainee_facts(request.user, trainee)[0],
        "fact_changes": trainee_fact_changes_of(request.user, trainee)[:50],
    }


def _reveal_context(
    request: AuthedRequest,
    trainee: Trainee,
    *,
    form: IdNumberRevealForm | None = None,
    number: str = "",
    error: str = "",
) -> dict[str, Any]:
    """The "查看完整身份证号" block: offered only to a role whose work needs it."""
    return {
        "allowed": id_number_reveal_refusal(request.user, trainee) is None,
        "form": form or IdNumberRevealForm(initial={"source": request.path}),
        "number": number,
        "error": error,
    }


@login_required
@require_POST
@never_cache
@renders_domain_errors
def trainee_id_number_reveal(request: AuthedRequest, pk: int) -> HttpResponse:
    """POST only (a GET never reveals): the reason is required, the reveal is recorded
    (``IdNumberReveal``) before the number is sent, and the answer is never cached.
    htmx swaps the block in place; without it the person's page is shown again."""
    trainee = trainee_in_scope(request.user, pk)
    form = IdNumberRevealForm(request.POST)
    number, error, status = "", "", 200
    if not form.is_valid():
        error, status = form.error_text(), 400
    else:
        try:
            number = id_number_reveal(
                trainee_id=trainee.pk,
                actor=request.user,
                reason=form.cleaned_data["reason"],
                channel=RevealChannel.PAGE,
                source=form.cleaned_data["source"] or request.path,
                address=client_address(request),
            )
        except DomainError as exc:
            if isinstance(exc, PermissionDenied):
                raise
            error, status = exc.message, exc.status_code
    reveal = _reveal_context(request, trainee, form=form, number=number, error=error)
    if request.htmx:
        context = {"trainee": trainee, "reveal": reveal}
        return render(request, "trainees/_reveal.html", context, status=status)
    context = {**_detail_context(request, trainee), "reveal": reveal}
    return render(request, "trainees/detail.html", context, status=status)
