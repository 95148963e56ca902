"""The public notice pages (公示, issue 17): no login, nothing personal beyond the masked
forms, every string through gettext, in the visitor's language (issue 17).

``/public/notices/`` the open and closed notices by unit and quarter;
``/public/notices/<id>/`` one notice's lines; ``/public/notices/<id>/lines/<line>/
objection/`` the objection form (the challenge, a count per address);
``/public/objections/?reference=`` what became of an objection. The notices are read
through the cache (``quarters.selectors.public_notices``).
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from altay_skills.errors import DomainError, NotFound
from altay_skills.periods import quarter_bounds
from programs.models import Unit
from quarters import services
from quarters.forms import ObjectionForm
from quarters.selectors import objection_by_reference, public_notice, public_notices
from quarters.throttles import THROTTLED, ObjectionThrottle


@require_GET
def public_notice_list(request: HttpRequest) -> HttpResponse:
    unit = (request.GET.get("unit") or "").strip()
    quarter = (request.GET.get("quarter") or "").strip().upper()
    status = 200
    error = ""
    if quarter and quarter_bounds(quarter) is None:
        error, status, quarter = _("季度格式应为 2020Q1"), 400, ""
    if unit and not (unit.isascii() and unit.isdigit() and len(unit) == 6):
        error, status, unit = _("单位代码应为6位数字"), 400, ""
    notices = public_notices(unit=unit, quarter=quarter, with_lines=False)
    context = {
        "notices": notices,
        "open_notices": [n for n in notices if n.is_open],
        "closed_notices": [n for n in notices if not n.is_open],
        "units": [
            (u.code, u.local_name())
            for u in Unit.objects.order_by("sort_order", "code")
        ],
        "unit": unit,
        "quarter": quarter,
        "error": error,
    }
    return render(request, "public/notices.html", context, status=status)


@require_GET
def public_notice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    notice = public_notice(pk)
    if notice is None:
        raise Http404(_("未找到该公示"))
    return render(request, "public/notice.html", {"notice": notice})


@require_http_methods(["GET", "POST"])
def public_objection_new(request: HttpRequest, pk: int, line: int) -> HttpResponse:
    notice = public_notice(pk)
    if notice is None:
        raise Http404(_("未找到该公示"))
    found = next((x for x in notice.lines if x.line == line), None)
    if found is None:
        raise Http404(_("该公示中没有这一行"))
    context = {"notice": notice, "line": found, "reference": "", "error": ""}
    status = 200
    if request.method == "POST":
        form = ObjectionForm(request.POST)
        if not ObjectionThrottle().allow_request(request, None):
            context["error"], status = str(THROTTLED), 429
        elif form.is_valid():
            try:
                objection = services.objection_lodge(
                    notice_id=notice.id,
                    line_id=found.line,
                    text=form.cleaned_data["text"],
                    contact=form.cleaned_data["contact"],
                    actor=request.user if request.user.is_authenticated else None,
                )
            except NotFound:
                raise
            except DomainError as exc:
                context["error"], status = exc.message, exc.status_code
            else:
                context["reference"] = objection.reference
                form = ObjectionForm()
        else:
            status = 400
    else:
        form = ObjectionForm()
    if not notice.is_open and not context["reference"]:
        context["error"] = context["error"] or _("公示期已结束，不能再提出异议")
    context["form"] = form
    return render(request, "public/objection_form.html", context, status=status)


@require_GET
def public_objection_lookup(request: HttpRequest) -> HttpResponse:
    reference = (request.GET.get("reference") or "").strip().upper()
    objection = objection_by_reference(reference) if reference else None
    status = 404 if reference and objection is None else 200
    context = {"reference": reference, "objection": objection}
    return render(request, "public/objection_lookup.html", context, status=status)
