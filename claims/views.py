"""The clerk's and the reviewer's pages: thin — a form parses the input, a service or a
selector does the work, a template shows the result. No rule of the notice lives here.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import User
from accounts.selectors import role_labels_at
from accounts.views import AuthedRequest, renders_domain_errors
from altay_skills.errors import DomainError, PermissionDenied
from altay_skills.permissions import require, shown_on_page
from altay_skills.record_ids import record_id
from claims import listing, rules, services
from claims.filters import QUARTER_MESSAGE, ClaimFilter, quarter_bounds
from claims.forms import (
    ClaimForm,
    ReasonForm,
    ReviewForm,
    grouped_options,
    institution_choices,
)
from claims.list_page import list_page_table
from claims.models import (
    Claim,
    ClaimEvent,
    ClaimStatus,
    DocumentKind,
    Employment,
    Payee,
    TraineeGrievance,
)
from claims.permissions import (
    actions_for,
    approval_hint,
    can_attach_document,
    can_create,
    can_edit,
    can_read_grievances,
)
from claims.selectors import (
    claim_documents,
    claim_events,
    claim_for,
    claims_listed,
    subsidy_history,
    warnings_seen_by,
)
from claims.warnings import warnings_for_claims
from claims.workflow import ACTION_LABELS, STATUS_LABELS
from programs.models import Fund, Program, Unit
from trainees.forms import IdNumberForm, TraineeRegistrationForm
from trainees.models import Trainee
from trainees.selectors import trainee_by_id_number, trainee_in_scope
from trainees.services import trainee_register

STATUSES = [s.value for s in ClaimStatus]


# --- Small shared pieces --------------------------------------------------------------
def _clerk_unit(user: User) -> str:
    """The unit a clerk files for; anyone else may not use the claim form."""
    require(can_create(user))
    assert user.unit_id is not None  # can_create refuses a clerk without a unit
    return user.unit_id


def _label(choices: type[Any], value: str | None) -> str:
    return str(choices(value).label) if value in choices.values else (value or "—")


def decision_from_rules(
    decision: rules.Decision, warnings: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A fresh decision (the dry run) as the decision panel shows it, with the
    warnings found beside it (``warnings_seen_by``)."""
    return {
        "warnings": warnings or [],
        "eligible": decision.eligible,
        "cap": decision.cap,
        "amount": decision.amount,
        "advance": decision.advance,
        "fund_label": _label(Fund, decision.fund),
        "payee_label": _label(Payee, decision.payee),
        "violations": [v.as_dict() for v in decision.violations],
        "explanation": list(decision.explanation),
    }


def _fund_note(claim: Claim) -> str:
    """三(三)10: program 10's fund is fixed when it is approved."""
    if claim.program_id not in rules.SHORTFALL_FUNDS or not claim.fund:
        return ""
    if claim.status == ClaimStatus.APPROVED:
        return "核准时按本单位当年就业专项资金预算余额确定（三(三)10）"
    return "暂按就业专项资金；核准时就业专项资金预算不足的，从技能提升专项资金补充（三(三)10）"


def decision_from_claim(
    claim: Claim, warnings: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The decision stored on a claim (as judged at its last save or submission), with
    its warnings as they stand now (``warnings_seen_by``)."""
    return {
        "warnings": warnings or [],
        "eligible": claim.eligible,
        "cap": claim.cap,
        "amount": claim.amount,
        "advance": claim.advance,
        "fund_label": _label(Fund, claim.fund),
        "fund_note": _fund_note(claim),
        "payee_label": _label(Payee, claim.payee),
        "violations": list(claim.violations or []),
        "explanation": list(claim.explanation or []),
        "decided_on": claim.decided_on,
    }


# --- The list ---------------------------------------------------------------------------
@login_required
def claim_list(request: AuthedRequest) -> HttpResponse:
    """The claim list, newest first, one keyset page at a time (issue 20): 上一页 and
    下一页 carry a cursor; old ``?page=N`` links are served up to
    ``listing.OFFSET_PAGES``, deeper ones answer 400 with the first page and why."""
    user = request.user
    claim_filter = ClaimFilter(request.GET or None, queryset=claims_listed(user))
    claims = claim_filter.qs
    errors = claim_filter.form.errors if claim_filter.is_bound else {}
    filters = claim_filter.form.cleaned_data if claim_filter.is_bound else {}
    quarter = request.GET.get("quarter", "").strip()
    bad_quarter = bool(quarter) and quarter_bounds(quarter.upper()) is None
    page_error = ""
    try:
        listed = listing.list_page(
            user,
            claims,
            filters,
            cursor=request.GET.get("cursor"),
            page=request.GET.get("page"),
        )
    except DomainError as refused:  # a cursor or page number it cannot serve
        page_error = refused.message
        listed = listing.list_page(user, claims, filters, cursor=None, page=None)
    context = {
        "listed": listed,
        "rows": list_page_table(listed.rows, with_unit=user.sees_all_units),
        "next_cursor": listed.next.encode() if listed.next else "",
        "previous_cursor": listed.previous.encode() if listed.previous else "",
        "page_error": page_error,
        "filter_errors": errors,
        "bad_quarter": bad_quarter,
        "quarter_message": QUARTER_MESSAGE,
        "params": request.GET,
        "status_choices": ClaimStatus.choices,
        "program_choices": Program.objects.filter(claimable=True).order_by("number"),
        "institution_options": grouped_options(
            institution_choices(user.unit_id if user.is_clerk else None, empty=""),
            request.GET.get("institution", ""),
        ),
        "page_size": listing.PAGE_SIZE,
        "units": Unit.objects.order_by("sort_order") if user.sees_all_units else [],
        "filtered": any(
            request.GET.get(k)
            for k in ("status", "program", "quarter", "q", "institution", "unit")
        ),
    }
    return render(
        request,
        "claims/list.html",
        context,
        status=400 if bad_quarter or page_error else 200,
    )


# --- The claim page -------------------------------------------------------------------
FIELD_LABELS = {
    name: str(Claim._meta.get_field(name.removesuffix("_id")).verbose_name)  # type: ignore[union-attr]
    for name in services.INPUT_FIELDS
}
LEVEL_LABELS = rules.LEVEL_NAMES


def _change_value(name: str, value: object) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if name == "level_id":
        return LEVEL_LABELS.get(str(value), str(value))
    if name == "employment":
        return _label(Employment, str(value))
    return str(value)


#: The claim's money lines in its trail (finance.models.LedgerEntry): their events
#: carry the amount, and which part of the subsidy it is.
MONEY_ACTIONS = frozenset({"owed", "paid", "failed", "recovery", "recovered", "netted"})
MONEY_PARTS = {"advance": "先行拨付", "balance": "余额"}


def _money_line(event: ClaimEvent) -> str:
    if event.action not in MONEY_ACTIONS:
        return ""
    changes = event.changes or {}
    part = MONEY_PARTS.get(changes.get("part") or "", "")
    text = f"{part} {changes.get('amount', '')} 元".strip()
    return f"{text}（{event.reason}）" if event.reason else text


def _document_line(event: ClaimEvent) -> str:
    """An attached document, as its trail shows it: which, what, and its hash."""
    if event.action != "attach_document":
        return ""
    changes = event.changes or {}
    kind = _label(DocumentKind, str(changes.get("kind", "")))
    return f"材料#{changes.get('document', '')} {kind}，SHA-256 {changes.get('sha256', '')}"


def _event_rows(events: Iterable[ClaimEvent]) -> list[dict[str, Any]]:
    events = list(events)
    # the role each actor held then (a role change rewrites no history)
    roles = role_labels_at([(event.actor, event.at) for event in events])
    rows = []
    for event, role in zip(events, roles, strict=True):
        changes = []
        if event.action == "edit":
            changes = [
                {
                    "field": FIELD_LABELS.get(name, name),
                    "old": _change_value(name, pair[0]),
                    "new": _change_value(name, pair[1]),
                }
                for name, pair in (event.changes or {}).items()
            ]
        rows.append(
            {
                "at": event.at,
                "actor": event.actor,
                "actor_role": role,
                "action": ACTION_LABELS.get(event.action, event.action),
                "action_code": event.action,
                "from_label": STATUS_LABELS.get(event.from_status, ""),
                "to_label": STATUS_LABELS.get(event.to_status, event.to_status),
                "to_status": event.to_status,
                "reason": _money_line(event) or event.reason,
                # what the event attached (not a reason): the document and its hash
                "detail": _document_line(event),
                "changes": changes,
            }
        )
    return rows


def render_claim_detail(
    request: AuthedRequest,
    claim: Claim,
    *,
    status: int = 200,
    review_form: ReviewForm | None = None,
) -> HttpResponse:
    user = request.user
    actions = set(actions_for(user, claim))
    context = {
        "claim": claim,
        # where 核准 is missing, why (an open objection, no report yet, …)
        "approval_hint": None if "approve" in actions else approval_hint(user, claim),
        # the trainee's "not me" waiting for a finding holds the balance: said here
        "open_grievance": (
            TraineeGrievance.objects.filter(claim=claim, outcome="").first()
            if can_read_grievances(user)
            else None
        ),
        "decision": decision_from_claim(claim, claim_warnings(user, claim.pk)),
        "events": _event_rows(claim_events(user, claim.pk)),
        "actions": actions,
        # the reviewer's decisions, as quarters.permissions offers them
        "can_review": bool(actions & {"approve", "reject", "return"}),
        "review_form": review_form or ReviewForm(),
        "withdraw_form": ReasonForm(),
        "documents": claim_documents(user, claim),
        "can_upload": bool(can_attach_document(user, claim)),
        "document_kinds": DocumentKind.choices,
    }
    return render(request, "claims/detail.html", context, status=status)


@login_required
@renders_domain_errors
def claim_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    return render_claim_detail(request, claim_for(request.user, pk))


def _refused(request: AuthedRequest, pk: int, exc: DomainError) -> HttpResponse:
    """A transition the service refused: the claim page again, with the reason."""
    messages.error(request, shown_on_page(exc).message)
    return render_claim_detail(
        request, claim_for(request.user, pk), status=exc.status_code
    )


@login_required
@require_POST
@renders_domain_errors
def claim_submit_view(request: AuthedRequest, pk: int) -> HttpResponse:
    try:
        services.claim_submit(claim_id=pk, actor=request.user)
    except DomainError as exc:
        return _refused(request, pk, exc)
    messages.success(request, "申报已提交，等待地区人社局审核。")
    return redirect("claim_detail", pk=pk)


@login_required
@require_POST
@renders_domain_errors
def claim_withdraw_view(request: AuthedRequest, pk: int) -> HttpResponse:
    form = ReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        services.claim_withdraw(claim_id=pk, actor=request.user, reason=reason)
    except DomainError as exc:
        return _refused(request, pk, exc)
    messages.success(request, "申报已撤回。")
    return redirect("claim_detail", pk=pk)


@login_required
@require_POST
@renders_domain_errors
def claim_delete_view(request: AuthedRequest, pk: int) -> HttpResponse:
    """删除草稿: the draft leaves the lists; its trail stays (``claim_delete``)."""
    try:
        services.claim_delete(claim_id=pk, actor=request.user)
    except DomainError as exc:
        return _refused(request, pk, exc)
    messages.success(request, f"草稿#{pk}已删除。")
    return redirect("claim_list")


@login_required
@require_POST
@renders_domain_errors
def claim_document_upload_view(request: AuthedRequest, pk: int) -> HttpResponse:
    """The claim page's upload form (issue 16): the same service as the API."""
    try:
        document = services.claim_attach_document(
            claim_id=pk,
            kind=request.POST.get("kind"),
            upload=request.FILES.get("file"),
            actor=request.user,
        )
    except DomainError as exc:
        return _refused(request, pk, exc)
    messages.success(
        request,
        f"材料#{document.pk}（{document.get_kind_display()}）已上传，"
        f"SHA-256 {document.sha256[:16]}… 已记入审计链。",
    )
    return redirect("claim_detail", pk=pk)


# --- The claim form -------------------------------------------------------------------
def _trainee_summary(
    trainee: Trainee | None,
    form: ClaimForm | None = None,
    claim: Claim | None = None,
) -> dict[str, Any] | None:
    """The person's subsidies in the year the training ends: the year the 3-a-year
    rule judges (五(二)) — the form's end date, else the edited claim's, else the
    current year until one is given. The edited claim itself is left out, as the
    rules leave it out (a returned claim still counts)."""
    if trainee is None:
        return None
    end = getattr(form, "cleaned_data", {}).get("training_end") if form else None
    if end is None and claim is not None:
        end = claim.training_end
    year = end.year if end else timezone.localdate().year
    history = subsidy_history(
        trainee, year=year, exclude_claim_id=claim.pk if claim else None
    )
    return {"trainee": trainee, "history": history}


def claim_warnings(user: User, claim_id: int) -> list[dict[str, Any]]:
    """A stored claim's warnings, as ``user`` may see them."""
    return warnings_seen_by(user, warnings_for_claims([claim_id]))[claim_id]


def _judge(
    user: User, data: services.ClaimInput, claim: Claim | None
) -> dict[str, Any]:
    """The decision panel's decision for the form's input, with its warnings."""
    if claim is None:
        decision = services.claim_check(data=data, actor=user)
    else:
        # Editing: leave the claim itself out of the person's history (a returned
        # claim still counts), as claim_update and claim_submit do.
        decision = services.judge(data, claim_id=claim.pk)
    found = services.input_warnings(data, claim_id=claim.pk if claim else None)
    return decision_from_rules(decision, warnings_seen_by(user, {0: found})[0])


def _pending(form: ClaimForm) -> dict[str, Any]:
    """Why there is no decision yet: what is missing, and what is malformed."""
    missing, problems = [], []
    for name, errors in form.errors.as_data().items():
        label = form.fields[name].label if name in form.fields else ""
        for error in errors:
            if error.code == "required":
                missing.append(label)
            else:
                problems.append({"field": label, "message": " ".join(error.messages)})
    return {"missing": list(dict.fromkeys(missing)), "problems": problems}


#: The session's map of a new-claim form (its ``form_token``) to the draft it saved.
FORM_DRAFTS = "claim_form_drafts"
FORM_DRAFTS_KEPT = 20


def _draft_of_form(request: AuthedRequest) -> Claim | None:
    """The draft an earlier try of this very form saved (a refused submit, then a
    reload, the back button or a second click): that draft is edited again, never a
    new one created per try (issue 15, item 4)."""
    token = request.POST.get("form_token", "")
    pk = request.session.get(FORM_DRAFTS, {}).get(token)
    if pk is None:
        return None
    try:
        claim = claim_for(request.user, pk)
    except DomainError:  # deleted meanwhile, or never this user's
        return None
    return claim if can_edit(request.user, claim) else None


def _remember_draft(request: AuthedRequest, claim: Claim) -> None:
    token = request.POST.get("form_token", "")
    if not token:
        return
    drafts = dict(request.session.get(FORM_DRAFTS, {}))
    drafts[token] = claim.pk
    request.session[FORM_DRAFTS] = dict(list(drafts.items())[-FORM_DRAFTS_KEPT:])


def _form_context(
    request: AuthedRequest,
    form: ClaimForm,
    claim: Claim | None,
    *,
    decision: dict[str, Any] | None = None,
    trainee: Trainee | None = None,
) -> dict[str, Any]:
    if claim is None:
        action_url, check_url = reverse("claim_create"), reverse("claim_check")
    else:
        action_url = reverse("claim_edit", args=[claim.pk])
        check_url = reverse("claim_check_edit", args=[claim.pk])
    return {
        "form": form,
        "claim": claim,
        "form_action": action_url,
        "check_url": check_url,
        "decision": decision,
        "pending": None if decision or not form.is_bound else _pending(form),
        "summary": _trainee_summary(
            trainee or form.resolved_trainee, form if form.is_bound else None, claim
        ),
        "form_token": request.POST.get("form_token") or secrets.token_urlsafe(16),
        "registration": _registration_in_place(request),
    }


def _claim_form_page(request: AuthedRequest, claim: Claim | None) -> HttpResponse:
    user = request.user
    unit_id = _clerk_unit(user)
    if claim is not None and not (editable := can_edit(user, claim)):
        messages.warning(request, f"{editable.reason}。")
        return render_claim_detail(request, claim, status=editable.status)
    if request.method != "POST":
        return _claim_form_get(request, claim)
    if claim is None:
        claim = _draft_of_form(request)
    form = ClaimForm(request.POST, user=user)
    if not form.is_valid():
        context = _form_context(request, form, claim)
        return render(request, "claims/form.html", context, status=400)
    data = form.to_input(unit_id=unit_id)
    try:
        if claim is None:
            saved = services.claim_create(data=data, actor=user)
            _remember_draft(request, saved)
        else:
            saved = services.claim_update(claim_id=claim.pk, data=data, actor=user)
    except DomainError as exc:
        messages.error(request, shown_on_page(exc).message)
        context = _form_context(request, form, claim)
        return render(request, "claims/form.html", context, status=exc.status_code)
    if request.POST.get("action") != "submit":
        messages.success(request, f"申报#{saved.pk}已保存为草稿。")
        return redirect("claim_detail", pk=saved.pk)
    try:
        services.claim_submit(claim_id=saved.pk, actor=user)
    except DomainError as exc:
        shown_on_page(exc)
        # Refused: the draft is kept with its fresh decision; stay on its form.
        saved = claim_for(user, saved.pk)
        messages.error(
            request,
            f"{exc.message}。申报#{saved.pk}已保存为草稿，请按“核定结果”所列原因"
            "修改后再提交；不再需要的，可点“删除草稿”。",
        )
        decision = decision_from_claim(saved, claim_warnings(user, saved.pk))
        context = _form_context(request, form, saved, decision=decision)
        return render(request, "claims/form.html", context, status=exc.status_code)
    messages.success(request, f"申报#{saved.pk}已提交，等待地区人社局审核。")
    return redirect("claim_detail", pk=saved.pk)


def _claim_form_get(request: AuthedRequest, claim: Claim | None) -> HttpResponse:
    user = request.user
    if claim is None:
        trainee = None
        initial: dict[str, Any] = {
            "employment": Employment.NONE,
            "work_in_lieu_months": 0,
        }
        if request.GET.get("trainee"):
            trainee = trainee_in_scope(user, request.GET["trainee"])  # type: ignore[arg-type]
            initial["trainee"] = trainee.pk
        form = ClaimForm(initial=initial, user=user)
        context = _form_context(request, form, None, trainee=trainee)
        return render(request, "claims/form.html", context)
    form = ClaimForm(initial=ClaimForm.initial_for(claim), user=user)
    try:
        decision = _judge(user, services.input_of(claim), claim)
    except DomainError:
        decision = decision_from_claim(claim, claim_warnings(user, claim.pk))
    context = _form_context(
        request, form, claim, decision=decision, trainee=claim.trainee
    )
    return render(request, "claims/form.html", context)


# --- Registering a person from the claim form (issue 15, item 3) -----------------------
REGISTRATION_FIELDS = tuple(TraineeRegistrationForm.base_fields)


def _registration_in_place(
    request: AuthedRequest, registration: TraineeRegistrationForm | None = None
) -> TraineeRegistrationForm | None:
    """The registration to offer beside the ID number typed on the claim form: only
    for a valid number nobody has registered; filled with what was already typed."""
    if request.method != "POST":
        return None
    number_form = IdNumberForm(request.POST)
    if not number_form.is_valid():
        return None
    number = number_form.cleaned_data["id_number"]
    if trainee_by_id_number(request.user, number) is not None:
        return None
    if registration is not None:
        return registration
    typed: dict[str, Any] = {
        name: request.POST.get(name) for name in REGISTRATION_FIELDS
    }
    typed["groups"] = request.POST.getlist("groups")
    return TraineeRegistrationForm(initial={**typed, "id_number": number})


@login_required
@require_POST
@renders_domain_errors
def claim_trainee_view(request: AuthedRequest) -> HttpResponse:
    """As a number is typed on the claim form: the registration in place for a valid
    number nobody has registered, else nothing (the panel says the rest)."""
    _clerk_unit(request.user)
    registration = _registration_in_place(request)
    shown_for = request.POST.get("registering_for", "")
    if registration is not None and shown_for == registration.initial["id_number"]:
        # already offered for this number: leave what is being typed there alone
        return HttpResponse(status=204)
    context = {"registration": registration}
    return render(request, "claims/_trainee_register.html", context)


@login_required
@require_POST
@renders_domain_errors
def claim_register_trainee_view(request: AuthedRequest) -> HttpResponse:
    """登记并继续: register the person of the typed number with the registry's own form
    and service, then give back the claim form with that person chosen and everything
    else as typed (htmx: the person's card and the panel; without it: the page)."""
    user = request.user
    unit_id = _clerk_unit(user)
    editing = request.POST.get("editing", "")
    editing_id = record_id(editing)
    claim = claim_for(user, editing_id) if editing_id is not None else None
    registration = TraineeRegistrationForm(request.POST)
    trainee = None
    if registration.is_valid():
        data = registration.cleaned_data
        try:
            trainee, _ = trainee_register(
                id_number=data["id_number"],
                name=data["name"],
                household=data["household"],
                groups=list(data["groups"]),
                phone=data["phone"],
                actor=user,
                **registration.places(),
            )
        except PermissionDenied:
            raise
        except DomainError as exc:
            registration.add_error(None, exc.message)
    if trainee is None:
        if request.htmx:  # the registration's state, shown in place: 200
            form = ClaimForm(request.POST, user=user)
            context: dict[str, Any] = {
                "form": form,
                "summary": None,
                "registration": _registration_in_place(request, registration),
            }
            return render(request, "claims/_trainee_card.html", context)
        form = ClaimForm(request.POST, user=user)
        form.is_valid()
        context = _form_context(request, form, claim)
        context["registration"] = _registration_in_place(request, registration)
        return render(request, "claims/form.html", context, status=400)
    posted = request.POST.copy()
    posted["trainee"], posted["id_number"] = str(trainee.pk), ""
    form = ClaimForm(posted, user=user)
    panel, _status = _panel_context(user, form, claim, unit_id)
    if request.htmx:
        context = {**panel, "form": form, "registration": None, "oob_panel": True}
        return render(request, "claims/_trainee_card.html", context)
    messages.success(request, f"已登记培训人员：{trainee.name}，请继续填写申报。")
    context = _form_context(request, form, claim, trainee=trainee)
    context.update(panel, registration=None)
    return render(request, "claims/form.html", context)


@login_required
@require_http_methods(["GET", "POST"])
@renders_domain_errors
def claim_create_view(request: AuthedRequest) -> HttpResponse:
    return _claim_form_page(request, None)


@login_required
@require_http_methods(["GET", "POST"])
@renders_domain_errors
def claim_edit_view(request: AuthedRequest, pk: int) -> HttpResponse:
    return _claim_form_page(request, claim_for(request.user, pk))


@login_required
@require_POST
@renders_domain_errors
def claim_check_view(request: AuthedRequest, pk: int | None = None) -> HttpResponse:
    """The dry run behind the decision panel: nothing is stored."""
    user = request.user
    unit_id = _clerk_unit(user)
    claim = claim_for(user, pk) if pk is not None else None
    form = ClaimForm(request.POST, user=user)
    context, status = _panel_context(user, form, claim, unit_id)
    return render(request, "claims/_decision.html", context, status=status)


def _panel_context(
    user: User, form: ClaimForm, claim: Claim | None, unit_id: str
) -> tuple[dict[str, Any], int]:
    """The decision panel for a form as it stands, and the answer's status."""
    context: dict[str, Any] = {"summary": None, "decision": None, "pending": None}
    if not form.is_valid():
        # A form being filled in is the panel's ordinary state, not an error: 200,
        # with what is missing (issue 15, item 1).
        context.update(
            pending=_pending(form),
            summary=_trainee_summary(form.resolved_trainee, form, claim),
        )
        return context, 200
    data = form.to_input(unit_id=unit_id)
    context["summary"] = _trainee_summary(form.resolved_trainee, form, claim)
    try:
        context["decision"] = _judge(user, data, claim)
    except DomainError as exc:
        context["error"] = shown_on_page(exc)
        return context, exc.status_code
    return context, 200
