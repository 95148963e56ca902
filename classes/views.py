"""The class pages (issue 16), in Chinese: thin — a form parses the input, a service of
``classes.services`` does the work (the same as the API's), a selector reads in the
user's scope, ``classes.permissions`` says which buttons show. A refusal is shown on
the class page with its reason and status (a 404 or 403 as those pages); never a 500.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import User
from accounts.selectors import role_labels_at
from accounts.views import AuthedRequest, renders_domain_errors
from altay_skills.errors import DomainError
from altay_skills.permissions import require, shown_on_page
from altay_skills.record_ids import record_id
from claims.confirmations import slip_of
from claims.models import DocumentKind, Employment, TraineeConfirmation
from claims.selectors import claims_visible_to
from classes import permissions, rules, services
from classes.completion_sheet import results_from_sheet
from classes.forms import ClassForm, ImportForm, ReasonForm, SessionForm
from classes.models import ClassEvent, RosterLine, TrainingClass
from classes.selectors import (
    attended_hours_of,
    class_documents,
    class_events,
    class_for,
    class_sessions,
    classes_visible_to,
    live_roster,
)
from classes.services import ClassResult
from programs.models import Level
from trainees.id_numbers import InvalidIdNumber, mask_id_number
from trainees.models import Trainee
from trainees.selectors import trainee_by_id_number, trainees_in_scope
from trainees.services import trainee_found

PAGE_SIZE = 50
#: People offered as checkboxes on the roster page (besides those on the roster).
CANDIDATES = 100
#: ID numbers typed at once on the roster page (a roster holds at most 50).
MAX_NUMBERS = 60


# --- The list ----------------------------------------------------------------------------
@login_required
@renders_domain_errors
def class_list(request: AuthedRequest) -> HttpResponse:
    user = request.user
    require(permissions.can_list(user))
    classes = classes_visible_to(user).order_by("-planned_start", "-id")
    status = request.GET.get("status", "")
    if status in rules.STATUS_LABELS:
        classes = classes.filter(status=status)
    page = Paginator(classes, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "status": status,
        "status_choices": list(rules.STATUS_LABELS.items()),
        "can_create": bool(permissions.can_create(user)),
        "scope": _scope_label(user),
    }
    return render(request, "classes/list.html", context)


def _scope_label(user: User) -> str:
    if user.is_institution_staff and user.institution is not None:
        return f"{user.institution.name}的培训班"
    if user.is_clerk and user.unit is not None:
        return f"{user.unit.name}备案的培训班"
    return "全地区的培训班"


# --- Drafting ----------------------------------------------------------------------------
@login_required
@require_http_methods(["GET", "POST"])
@renders_domain_errors
def class_create_view(request: AuthedRequest) -> HttpResponse:
    user = request.user
    require(permissions.can_create(user))
    form = ClassForm(request.POST or None, user=user)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                cls = services.class_create(data=form.class_input(), actor=user)
            except DomainError as exc:
                form.add_error(None, shown_on_page(exc).message)
                status = exc.status_code
            else:
                messages.success(request, f"培训班#{cls.pk}已起草，请编排名单后报备。")
                return redirect("class_roster", pk=cls.pk)
        else:
            status = 400
    context = {"form": form, "last_day_note": _lead_note()}
    return render(request, "classes/form.html", context, status=status)


def _lead_note() -> str:
    term = rules.FILING_LEAD_DAYS
    return f"须在开班{term.whole}日前完成报备和备案（{term.source}）。"


#: What may stand between ID numbers on one line.
NUMBER_SEPARATORS = str.maketrans({",": " ", "，": " ", "、": " ", ";": " ", "；": " "})
ID_NUMBER_LENGTH = 18


def roster_id_numbers(text: str) -> list[tuple[int, str]]:
    """The ID numbers typed or pasted into the roster box, each with its line: a line
    is one number, spaces inside it ignored (``654301199203151 06X`` is one) — unless
    it holds several whole numbers apart (pasted from a sheet's row)."""
    found: list[tuple[int, str]] = []
    for line, raw in enumerate(text.splitlines(), start=1):
        parts = raw.translate(NUMBER_SEPARATORS).split()
        if not parts:
            continue
        if len(parts) > 1 and all(len(p) == ID_NUMBER_LENGTH for p in parts):
            found.extend((line, part) for part in parts)
        else:
            found.append((line, "".join(parts)))
    return found


@login_required
@require_http_methods(["GET", "POST"])
@renders_domain_errors
def class_roster_view(request: AuthedRequest, pk: int) -> HttpResponse:
    """编排名单: people by their ID numbers (found, as the registry's lookup records)
    or chosen among the registered people the user may open; each line's pre-check
    shows on the class page."""
    user = request.user
    cls = class_for(user, pk)
    require(permissions.can_set_roster(user, cls))
    current = list(live_roster(cls.pk))
    errors: list[str] = []
    numbers_text = ""
    # the boxes as they were sent: a refused save shows them again as ticked, not as
    # the roster stood (fixing the ID numbers then saved a roster of nobody)
    picked: set[int] | None = None
    if request.method == "POST":
        numbers_text = request.POST.get("id_numbers", "")[:2000]
        chosen: list[int] = []
        for value in request.POST.getlist("trainee"):
            if (person_id := record_id(value)) is not None:
                chosen.append(person_id)
            else:
                errors.append("所选人员无效")
        picked = set(chosen)
        numbers = roster_id_numbers(numbers_text)
        if len(numbers) > MAX_NUMBERS:
            errors.append(f"一次最多输入{MAX_NUMBERS}个身份证号码")
            numbers = []
        for line, number in numbers:
            where = f"第{line}行（{mask_id_number(number)}）"
            try:
                person = trainee_by_id_number(user, number)
            except InvalidIdNumber as exc:
                errors.append(f"{where}：{exc.message}")
                continue
            if person is None:
                errors.append(
                    f"{where}：该身份证号码尚未登记，请先由经办人在“培训人员”中登记"
                )
                continue
            trainee_found(actor=user, trainee=person)
            chosen.append(person.pk)
        if not errors:
            try:
                was = cls.status
                saved = services.class_roster_set(
                    class_id=cls.pk, trainee_ids=chosen, actor=user
                )
            except DomainError as exc:
                errors.append(shown_on_page(exc).message)
            else:
                messages.success(
                    request,
                    "名单变更已保存：有新加入的人员，培训班须由本单位未参与编排的经办人"
                    "重新备案后方可开班。"
                    if was != saved.status
                    else "名单已保存，每人的预审结果见下表（按培训班如期结业、合格、"
                    "就业判定）。",
                )
                return redirect("class_detail", pk=cls.pk)
    on_roster = {line.trainee_id for line in current}
    candidates: QuerySet[Trainee] = (
        trainees_in_scope(user).exclude(pk__in=on_roster).order_by("-pk")[:CANDIDATES]
    )
    context = {
        "cls": cls,
        "current": [_person(line.trainee, picked, True) for line in current],
        "candidates": [_person(t, picked, False) for t in candidates],
        "errors": errors,
        "id_numbers": numbers_text,
        "roster_max": rules.ROSTER_MAX.whole,
    }
    return render(
        request, "classes/roster.html", context, status=400 if errors else 200
    )


def _person(
    trainee: Trainee, picked: set[int] | None, on_roster: bool
) -> dict[str, Any]:
    """A box of the roster form: ticked as sent, or (a first visit) if on the roster."""
    return {
        "pk": trainee.pk,
        "name": trainee.name,
        "id_number": mask_id_number(trainee.id_number),
        "ticked": on_roster if picked is None else trainee.pk in picked,
    }


# --- The class page ------------------------------------------------------------------------
@dataclass(frozen=True)
class SessionTyped:
    """What the session form held when it was refused: shown again, so that fixing the
    date does not record everyone present (the boxes came back all ticked)."""

    date: str
    hours: str
    present: frozenset[int]
    had_sheet: bool

    @classmethod
    def of(cls, request: AuthedRequest) -> SessionTyped:
        return cls(
            date=request.POST.get("date", "")[:10],
            hours=request.POST.get("hours", "")[:8],
            present=frozenset(
                person_id
                for person_id in map(record_id, request.POST.getlist("present"))
                if person_id is not None
            ),
            had_sheet=bool(request.FILES.get("sign_in_sheet")),
        )


def render_class_detail(
    request: AuthedRequest,
    cls: TrainingClass,
    *,
    status: int = 200,
    session_typed: SessionTyped | None = None,
) -> HttpResponse:
    user = request.user
    actions = set(permissions.actions_for(user, cls))
    attended = attended_hours_of(cls.pk)
    documents = class_documents(user, cls.pk)
    sheets: dict[int, list[Any]] = {}
    for document in documents:
        session_id = getattr(document, "session_id", None)
        if session_id is not None:
            sheets.setdefault(session_id, []).append(document)
    sessions = [
        {
            "session": s,
            "present": [p.name for p in s.present.all()],
            "sheets": sheets.get(s.pk, []),
        }
        for s in class_sessions(cls.pk)
    ]
    lines = list(live_roster(cls.pk))
    visible_claims = set(
        claims_visible_to(user)
        .filter(pk__in=[line.claim_id for line in lines if line.claim_id])
        .values_list("pk", flat=True)
    )
    context = {
        "cls": cls,
        "status_label": rules.STATUS_LABELS.get(cls.status, cls.status),
        "actions": actions,
        "roster": [_roster_row(line, attended, cls, visible_claims) for line in lines],
        "sessions": sessions,
        "documents": documents,
        "document_kinds": DocumentKind.choices,
        "events": _event_rows(class_events(cls.pk)),
        "reason_form": ReasonForm(),
        "session_form": SessionForm(),
        "session_typed": session_typed,
        "last_filing_day": rules.last_filing_day(cls.planned_start),
        "lead_note": _lead_note(),
        "attendance_term": rules.ATTENDANCE_THRESHOLD,
        "attendance_percent": int(rules.ATTENDANCE_THRESHOLD.value * 100),
    }
    return render(request, "classes/detail.html", context, status=status)


def _roster_row(
    line: RosterLine,
    attended: dict[int, Decimal],
    cls: TrainingClass,
    visible_claims: set[int],
) -> dict[str, Any]:
    precheck = line.precheck or {}
    hours = attended.get(line.trainee_id, Decimal(0))
    share = (hours / cls.hours * 100) if cls.hours else Decimal(0)
    return {
        "line": line,
        "name": line.trainee.name,
        "id_number": mask_id_number(line.trainee.id_number),
        "checked": bool(precheck),
        "eligible": bool(precheck.get("eligible")),
        "violations": precheck.get("violations") or [],
        "warnings": precheck.get("warnings") or [],
        "cap": precheck.get("cap"),
        "hours": hours,
        "share": share.quantize(Decimal("1")),
        "below": share < rules.ATTENDANCE_THRESHOLD.value * 100,
        "claim_visible": line.claim_id in visible_claims,
        "employment_label": dict(Employment.choices).get(line.employment, ""),
    }


def _event_rows(events: QuerySet[ClassEvent]) -> list[dict[str, Any]]:
    events_list = list(events.select_related("actor"))
    roles = role_labels_at([(e.actor, e.at) for e in events_list])
    kinds = dict(DocumentKind.choices)
    rows = []
    for event, role in zip(events_list, roles, strict=True):
        changes = event.changes or {}
        detail = ""
        if event.action == "attach_document":
            detail = (
                f"材料#{changes.get('document', '')} "
                f"{kinds.get(str(changes.get('kind', '')), changes.get('kind', ''))}，"
                f"SHA-256 {changes.get('sha256', '')}"
            )
        elif event.action == "session":
            detail = (
                f"{changes.get('date', '')} {changes.get('hours', '')}学时，"
                f"出勤{len(changes.get('present') or [])}人"
            )
            if changes.get("sign_in_sheet"):
                detail += f"，签到表材料#{changes['sign_in_sheet']}"
        elif event.action in ("roster", "amend"):
            detail = (
                f"名单{changes.get('size', '')}人（加入{len(changes.get('added') or [])}，"
                f"移出{len(changes.get('removed') or [])}）"
            )
        elif event.action == "complete":
            detail = f"生成申报{len(changes.get('claims') or [])}笔"
        rows.append(
            {
                "at": event.at,
                "actor": event.actor,
                "actor_role": role,
                "action": rules.ACTION_LABELS.get(event.action, event.action),
                "from_label": rules.STATUS_LABELS.get(event.from_status, ""),
                "to_label": rules.STATUS_LABELS.get(event.to_status, event.to_status),
                "reason": event.reason,
                "detail": detail,
            }
        )
    return rows


@login_required
@renders_domain_errors
def class_confirmation_slips(request: AuthedRequest, pk: int) -> HttpResponse:
    """The slips of a completed class's people (issue 17): the institution prints
    them and hands each person theirs."""
    cls = class_for(request.user, pk)  # another's or a missing class: 404 first
    require(permissions.can_list(request.user))
    asked = TraineeConfirmation.objects.filter(
        claim__roster_line__training_class_id=cls.pk
    ).select_related("claim__trainee", "claim__program", "claim__institution")
    return render(
        request,
        "public/confirmation_slips.html",
        {"slips": [slip_of(c) for c in asked.order_by("pk")], "training_class": cls},
    )


@login_required
@renders_domain_errors
def class_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    cls = class_for(request.user, pk)  # another's or a missing class: 404 first
    require(permissions.can_list(request.user))
    return render_class_detail(request, cls)


def _refused(
    request: AuthedRequest,
    pk: int,
    exc: DomainError,
    *,
    session_typed: SessionTyped | None = None,
) -> HttpResponse:
    """A refusal: the class page again, with the reason (a 404/403 as those pages)
    and, for the session form, what was typed in it."""
    messages.error(request, shown_on_page(exc).message)
    return render_class_detail(
        request,
        class_for(request.user, pk),
        status=exc.status_code,
        session_typed=session_typed,
    )


# --- The moves ---------------------------------------------------------------------------
def _move_view(action: str, done: str, *, reason: bool = False) -> Any:
    @login_required
    @require_POST
    @renders_domain_errors
    def view(request: AuthedRequest, pk: int) -> HttpResponse:
        user = request.user
        class_for(user, pk)  # another's or a missing class: 404 first
        try:
            if reason:
                form = ReasonForm(request.POST)
                text = form.cleaned_data["reason"] if form.is_valid() else ""
                if not form.is_valid() and request.POST.get("reason", "").strip():
                    raise DomainError("invalid_reason", "理由含有不允许的字符或过长")
                getattr(services, f"class_{action}")(
                    class_id=pk, actor=user, reason=text
                )
            else:
                getattr(services, f"class_{action}")(class_id=pk, actor=user)
        except DomainError as exc:
            return _refused(request, pk, exc)
        messages.success(request, done)
        return redirect("class_detail", pk=pk)

    view.__name__ = f"class_{action}_view"
    return view


class_file_view = _move_view("file", "培训班已报备，等待备案单位经办人备案。")
class_accept_view = _move_view("accept", "已备案：名单冻结，开班前的变更记入审计。")
class_return_view = _move_view("return", "已退回报备。", reason=True)
class_start_view = _move_view("start", "培训班已开班。")
class_cancel_view = _move_view("cancel", "培训班已取消。", reason=True)


@login_required
@require_POST
@renders_domain_errors
def class_session_view(request: AuthedRequest, pk: int) -> HttpResponse:
    """记录课次: date, hours, who was present (checkboxes of the roster), and the
    sign-in sheet uploaded with it (optional), all or none."""
    user = request.user
    cls = class_for(user, pk)
    try:  # the role (403) and the class's state (409) before the body
        require(permissions.can_record_session(user, cls))
    except DomainError as exc:
        return _refused(request, pk, exc)
    typed = SessionTyped.of(request)
    form = SessionForm(request.POST)
    if not form.is_valid():
        problems = "；".join(
            f"{form.fields[name].label}：{'，'.join(map(str, errs))}"
            if name in form.fields
            else "，".join(map(str, errs))
            for name, errs in form.errors.items()
        )
        return _refused(
            request,
            pk,
            DomainError("invalid_session", problems),
            session_typed=typed,
        )
    present: list[int] = []
    for value in request.POST.getlist("present"):
        if record_id(value) is None:
            return _refused(
                request,
                pk,
                DomainError("invalid_present", "出勤人员无效"),
                session_typed=typed,
            )
        present.append(int(value.strip()))
    sheet = request.FILES.get("sign_in_sheet")
    try:
        session = services.class_session_record(
            class_id=pk,
            on=form.cleaned_data["date"],
            hours=form.cleaned_data["hours"],
            present=present,
            actor=user,
            sign_in_sheet=sheet,
        )
    except DomainError as exc:
        return _refused(request, pk, exc, session_typed=typed)
    note = "，签到表已上传并记入审计链" if sheet is not None else ""
    messages.success(
        request,
        f"已记录{session.date:%Y-%m-%d}的课次（{session.hours}学时，出勤{len(present)}人）{note}。",
    )
    return redirect("class_detail", pk=pk)


@login_required
@require_POST
@renders_domain_errors
def class_document_upload_view(request: AuthedRequest, pk: int) -> HttpResponse:
    """The class page's upload form: the same service as the API."""
    session = request.POST.get("session", "")
    try:
        if session and record_id(session) is None:
            raise DomainError("invalid_reference", "课次无效")
        document = services.class_attach_document(
            class_id=pk,
            kind=request.POST.get("kind"),
            upload=request.FILES.get("file"),
            actor=request.user,
            session_id=int(session) if session else None,
        )
    except DomainError as exc:
        return _refused(request, pk, exc)
    messages.success(
        request,
        f"材料#{document.pk}（{document.get_kind_display()}）已上传，"
        f"SHA-256 {document.sha256[:16]}… 已记入培训班的审计链。",
    )
    return redirect("class_detail", pk=pk)


# --- Completion --------------------------------------------------------------------------
@login_required
@require_http_methods(["GET", "POST"])
@renders_domain_errors
def class_complete_view(request: AuthedRequest, pk: int) -> HttpResponse:
    """结业: each person's result typed on the page (or imported from a sheet, below),
    then the class's claims created in one step, all or none."""
    user = request.user
    cls = class_for(user, pk)
    require(permissions.can_complete(user, cls))
    lines = list(live_roster(cls.pk))
    attended = attended_hours_of(cls.pk)
    errors: list[str] = []
    typed: dict[int, dict[str, str]] = {}
    if request.method == "POST":
        results = []
        levels = set(Level.objects.values_list("code", flat=True))
        for line in lines:
            key = str(line.trainee_id)
            row = {
                "passed": request.POST.get(f"passed_{key}", ""),
                "certificate_number": request.POST.get(
                    f"certificate_{key}", ""
                ).strip()[:200],
                "level": request.POST.get(f"level_{key}", ""),
                "employment": request.POST.get(f"employment_{key}", ""),
            }
            typed[line.trainee_id] = row
            name = line.trainee.name
            if row["passed"] not in ("yes", "no"):
                errors.append(f"{name}：请选择是否合格")
            if len(row["certificate_number"]) > 50:
                errors.append(f"{name}：证书编号超过50个字符")
            if row["level"] and row["level"] not in levels:
                errors.append(f"{name}：取得等级无效")
            if row["employment"] not in Employment.values:
                errors.append(f"{name}：请选择就业情况")
            results.append(
                ClassResult(
                    trainee_id=line.trainee_id,
                    passed=row["passed"] == "yes",
                    certificate_number=row["certificate_number"],
                    level_id=row["level"] or None,
                    employment=row["employment"] or Employment.NONE,
                )
            )
        if not errors:
            return _complete(request, cls, results) or _completion_page(
                request, cls, lines, attended, typed, [], status=409
            )
    return _completion_page(
        request, cls, lines, attended, typed, errors, status=400 if errors else 200
    )


def _complete(
    request: AuthedRequest, cls: TrainingClass, results: list[ClassResult]
) -> HttpResponse | None:
    try:
        claims = services.class_complete(
            class_id=cls.pk, results=results, actor=request.user
        )
    except DomainError as exc:
        messages.error(request, shown_on_page(exc).message)
        return None
    eligible = sum(1 for c in claims if c.eligible)
    messages.success(
        request,
        f"培训班已结业，生成申报{len(claims)}笔（草稿），其中{eligible}笔符合补贴条件、"
        f"{len(claims) - eligible}笔不符合；每笔已按规则判定，见申报列表。",
    )
    return redirect("class_detail", pk=cls.pk)


def _completion_page(
    request: AuthedRequest,
    cls: TrainingClass,
    lines: list[RosterLine],
    attended: dict[int, Decimal],
    typed: dict[int, dict[str, str]],
    errors: list[str],
    *,
    status: int = 200,
) -> HttpResponse:
    rows = []
    for line in lines:
        hours = attended.get(line.trainee_id, Decimal(0))
        rows.append(
            {
                "line": line,
                "name": line.trainee.name,
                "id_number": mask_id_number(line.trainee.id_number),
                "hours": hours,
                "typed": typed.get(line.trainee_id, {}),
            }
        )
    context = {
        "cls": cls,
        "rows": rows,
        "errors": errors,
        "levels": list(
            Level.objects.order_by("sort_order").values_list("code", "name")
        ),
        "employment_choices": Employment.choices,
        "import_form": ImportForm(),
        "attendance_term": rules.ATTENDANCE_THRESHOLD,
        "attendance_percent": int(rules.ATTENDANCE_THRESHOLD.value * 100),
    }
    return render(request, "classes/complete.html", context, status=status)


@login_required
@require_POST
@renders_domain_errors
def class_complete_import_view(request: AuthedRequest, pk: int) -> HttpResponse:
    """结业结果表: the results read from an .xlsx (one row per person on the roster),
    every bad row named, all or none; then the same completion as the page's."""
    user = request.user
    cls = class_for(user, pk)
    require(permissions.can_complete(user, cls))
    lines = list(live_roster(cls.pk))
    attended = attended_hours_of(cls.pk)
    upload = request.FILES.get("sheet")
    if upload is None:
        return _completion_page(
            request, cls, lines, attended, {}, ["请选择结业结果表（.xlsx）"], status=400
        )
    if (upload.size or 0) > 5 * 1024 * 1024:
        return _completion_page(
            request, cls, lines, attended, {}, ["文件超过5 MB的上限"], status=400
        )
    try:
        results = results_from_sheet(upload.read(), lines)
    except DomainError as exc:
        return _completion_page(
            request, cls, lines, attended, {}, [exc.message], status=400
        )
    return _complete(request, cls, results) or _completion_page(
        request, cls, lines, attended, {}, [], status=409
    )
