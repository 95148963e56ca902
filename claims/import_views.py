"""The spreadsheet import pages: template, upload and check, result, save.

Views only validate the request, call ``claims.intake`` and render; the services decide.
The upload view checks the declared size before reading the body, and caps what it reads,
so a large upload is refused before anything is parsed (see ``_UploadLimit``). It then
only queues the check (``intake.import_start``) and answers at once; the result page
shows the check's progress, polled every second as the rollup's page does, until the
result is there (issue 14, item 4).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User
from altay_skills.errors import Conflict, DomainError, NotFound, PermissionDenied
from claims import intake
from claims.models import LIMIT_SLOTS
from claims.selectors import import_institutions

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PAGE_SIZE = 100
#: Multipart framing around the file; a body larger than file + this is refused unread.
BODY_SLACK = 64 * 1024


def _clerk(request: HttpRequest) -> User:
    """The signed-in county clerk, or 403 for anyone else (signed in: login_required)."""
    user = request.user
    if not isinstance(user, User) or not user.is_clerk or not user.unit_id:
        raise DjangoPermissionDenied("只有县(市)经办人可以批量导入申报")
    return user


def _attachment(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type=XLSX)
    ascii_name = "import.xlsx"
    response["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    )
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _claim_list_url() -> str:
    try:
        return reverse("claim_list")
    except NoReverseMatch:  # the claim list belongs to the main UI
        return "/claims/"


@require_GET
@login_required
def import_template(request: HttpRequest) -> HttpResponse:
    user = _clerk(request)
    return _attachment(intake.template_workbook(user), "补贴申报导入模板.xlsx")


class _UploadLimit(FileUploadHandler):
    """Stops reading an uploaded file once it passes the size limit."""

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.exceeded = False
        self._received = 0

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self._received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self._received += len(raw_data)
        if self._received > intake.MAX_UPLOAD_BYTES:
            self.exceeded = True
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


def _start_page(
    request: HttpRequest, *, error: str = "", filename: str = "", status: int = 200
) -> HttpResponse:
    user = _clerk(request)
    return render(
        request,
        "claims/import/start.html",
        {
            "institutions": import_institutions(user),
            "error": error,
            "filename": filename[:100],
            "max_rows": intake.MAX_ROWS,
            "max_mb": intake.MAX_UPLOAD_BYTES // (1024 * 1024),
            "annual_limit": LIMIT_SLOTS,
            "columns": intake.COLUMNS,
        },
        status=status,
    )


def _too_large() -> str:
    return f"文件超过{intake.MAX_UPLOAD_BYTES // (1024 * 1024)}MB的上限，未读取"


@csrf_exempt  # CSRF is checked by the inner view, after the upload handlers are set
@require_http_methods(["GET", "POST"])
@login_required
def import_start(request: HttpRequest) -> HttpResponse:
    _clerk(request)
    if request.method == "POST":
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > intake.MAX_UPLOAD_BYTES + BODY_SLACK:
            # Refused before a byte of the body is read; nothing changes, so no CSRF
            # check is needed for this answer.
            return _start_page(request, error=_too_large(), status=400)
        request.upload_handlers.insert(0, _UploadLimit(request))
    return _import_start(request)


@csrf_protect
def _import_start(request: HttpRequest) -> HttpResponse:
    user = _clerk(request)
    if request.method != "POST":
        return _start_page(request)
    upload = request.FILES.get("file")
    limit = next(
        (h for h in request.upload_handlers if isinstance(h, _UploadLimit)), None
    )
    if limit is not None and limit.exceeded:
        return _start_page(request, error=_too_large(), status=400)
    if upload is None:
        return _start_page(request, error="请选择要上传的.xlsx文件", status=400)
    if upload.size is not None and upload.size > intake.MAX_UPLOAD_BYTES:
        return _start_page(request, error=_too_large(), status=400)
    data = upload.read(intake.MAX_UPLOAD_BYTES + 1)
    try:
        job = intake.import_start(data=data, filename=upload.name or "", actor=user)
    except intake.ImportRefused as refused:
        return _start_page(
            request, error=refused.message, filename=upload.name or "", status=400
        )
    except Conflict as busy:
        return _start_page(
            request, error=busy.message, filename=upload.name or "", status=409
        )
    except PermissionDenied as denied:
        raise DjangoPermissionDenied(denied.message) from None
    return redirect("claims_import:result", token=job.token)


def _job_or_404(request: HttpRequest, token: str) -> Any:
    try:
        return intake.import_job(token=token, actor=_clerk(request))
    except NotFound as missing:
        raise Http404(missing.message) from None
    except PermissionDenied as denied:
        raise DjangoPermissionDenied(denied.message) from None


def _batch_or_404(request: HttpRequest, token: str) -> intake.ImportBatch:
    try:
        return intake.import_batch(token=token, actor=_clerk(request))
    except NotFound as missing:
        raise Http404(missing.message) from None
    except PermissionDenied as denied:
        raise DjangoPermissionDenied(denied.message) from None


def _result_page(
    request: HttpRequest,
    batch: intake.ImportBatch,
    *,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    show = request.GET.get("show", "all")
    if show == "failing":
        rows = batch.failing
    elif show == "passing":
        rows = batch.passing
    else:
        show, rows = "all", batch.results
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "claims/import/result.html",
        {
            "batch": batch,
            "page": page,
            "show": show,
            "error": error,
            "passing_count": len(batch.passing),
            "failing_count": len(batch.failing),
            "registering_count": len(
                {r.id_masked + r.name for r in batch.passing if r.registers}
            ),
        },
        status=status,
    )


@require_GET
@login_required
def import_result(request: HttpRequest, token: str) -> HttpResponse:
    """While the check runs: its progress; a refused file: why; then the result."""
    _clerk(request)
    job = _job_or_404(request, token)
    if job.active:
        return render(request, "claims/import/checking.html", {"job": job})
    if job.message:
        return _start_page(request, error=job.message, filename=job.filename)
    return _result_page(request, _batch_or_404(request, token))


@require_GET
@login_required
def import_progress(request: HttpRequest, token: str) -> HttpResponse:
    """The polled part of the checking page: it polls itself again only while the
    check is queued or running; once done, the whole page reloads with the result."""
    _clerk(request)
    job = _job_or_404(request, token)
    response = render(request, "claims/import/_progress.html", {"job": job})
    if request.headers.get("HX-Request") == "true" and not job.active:
        response["HX-Refresh"] = "true"
    return response


@require_GET
@login_required
def import_result_xlsx(request: HttpRequest, token: str) -> HttpResponse:
    """The result copy; ``?rows=failing``: only the refused rows, to be corrected in
    the copy and uploaded again (their 参考码 gives the masked numbers back)."""
    _clerk(request)
    batch = _batch_or_404(request, token)
    stem = (batch.filename.rsplit(".", 1)[0] or "导入") if batch.filename else "导入"
    if request.GET.get("rows") == "failing":
        return _attachment(
            intake.result_workbook(batch, only_failing=True), f"{stem}_不通过的行.xlsx"
        )
    return _attachment(intake.result_workbook(batch), f"{stem}_检查结果.xlsx")


@require_POST
@login_required
def import_save(request: HttpRequest, token: str) -> HttpResponse:
    user = _clerk(request)
    mode = request.POST.get("mode")
    if mode not in ("draft", "submit"):
        batch = _batch_or_404(request, token)
        return _result_page(
            request, batch, error="请选择“保存为草稿”或“直接提交”", status=400
        )
    try:
        outcome = intake.import_save(token=token, actor=user, submit=mode == "submit")
    except intake.ImportSaveFailed as failed:
        batch = _batch_or_404(request, token)
        return _result_page(request, batch, error=failed.message, status=409)
    except NotFound as missing:
        raise Http404(missing.message) from None
    except PermissionDenied as denied:
        raise DjangoPermissionDenied(denied.message) from None
    except DomainError as refused:
        batch = _batch_or_404(request, token)
        return _result_page(request, batch, error=refused.message, status=400)
    done = "提交" if outcome.submitted else "保存为草稿"
    text = f"已从导入文件{done}{len(outcome.claims)}条申报"
    if outcome.registered:
        text += f"，并实名登记了{outcome.registered}名新人员"
    messages.success(request, text + "。")
    status = "submitted" if outcome.submitted else "draft"
    return redirect(f"{_claim_list_url()}?status={status}")
