"""The registry's own pages: register a person, and change a person's facts (recorded,
with a reason).

The lookup by ID number, the person's page and the audited reveal of a full number show
the person's subsidy history (their claims), so they are the claim stage's pages
(``claims.registry_views``), mounted beside these under "trainees/" by ``claims.urls``;
this earlier stage never imports claims.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.views import AuthedRequest, renders_domain_errors
from altay_skills.errors import DomainError, NotFound, PermissionDenied
from trainees.forms import IdNumberForm, TraineeFactsForm, TraineeRegistrationForm
from trainees.permissions import can_change_trainee_facts
from trainees.selectors import trainee_in_scope
from trainees.services import trainee_register, trainee_update_facts


@login_required
@require_POST
@renders_domain_errors
def trainee_register_view(request: AuthedRequest) -> HttpResponse:
    registration = TraineeRegistrationForm(request.POST)
    if not registration.is_valid():
        number = registration.data.get("id_number", "")
        result = {"state": "new", "number": number, "registration": registration}
        context = {
            "form": IdNumberForm(initial={"id_number": number}),
            "result": result,
        }
        return render(request, "trainees/lookup.html", context, status=400)
    data = registration.cleaned_data
    try:
        trainee, created = trainee_register(
            id_number=data["id_number"],
            name=data["name"],
            household=data["household"],
            groups=list(data["groups"]),
            phone=data["phone"],
            actor=request.user,
            **registration.places(),
        )
    except PermissionDenied:
        raise
    except DomainError as exc:
        messages.error(request, exc.message)
        result = {
            "state": "new",
            "number": data["id_number"],
            "registration": registration,
        }
        context = {"form": IdNumberForm(), "result": result}
        return render(request, "trainees/lookup.html", context, status=exc.status_code)
    if created:
        messages.success(request, f"已登记培训人员：{trainee.name}。")
    else:
        messages.info(request, "该身份证号码已登记，以下为已有人员信息（未作修改）。")
    return redirect("trainee_detail", pk=trainee.pk)


@login_required
@require_http_methods(["GET", "POST"])
@renders_domain_errors
def trainee_edit_view(request: AuthedRequest, pk: int) -> HttpResponse:
    """Change a person's facts, with a reason (``trainee_update_facts`` records it):
    offered to the clerk of the person's own unit and to the prefecture only."""
    trainee = trainee_in_scope(request.user, pk)
    allowed, why = can_change_trainee_facts(request.user, trainee)
    if not allowed:
        raise PermissionDenied(why)
    initial = {
        "name": trainee.name,
        "household": trainee.household,
        "groups": list(trainee.groups),
        "phone": trainee.phone,
        "message_language": trainee.message_language,
        "registered_by_unit": trainee.registered_by_unit_id,
        "residence_unit": trainee.residence_unit_id,
        "job_seeking_unit": trainee.job_seeking_unit_id,
        "residence": trainee.residence,
        "months_in_town": trainee.months_in_town,
    }
    status = 200
    if request.method == "GET":
        form = TraineeFactsForm(initial=initial)
    else:
        form = TraineeFactsForm(request.POST, initial=initial)
        status = 400
        if form.is_valid():
            try:
                trainee_update_facts(
                    actor=request.user,
                    trainee_id=trainee.pk,
                    reason=form.cleaned_data["reason"],
                    **form.changed_facts(),
                )
            except DomainError as exc:
                if isinstance(exc, PermissionDenied | NotFound):
                    raise
                form.add_error(None, exc.message)
                status = exc.status_code
            else:
                messages.success(request, "已修改培训人员信息，修改记录已留存。")
                return redirect("trainee_detail", pk=trainee.pk)
    context = {"trainee": trainee, "form": form}
    return render(request, "trainees/edit.html", context, status=status)
