"""The site's error handlers (``handler400`` … ``handler500``, ``CSRF_FAILURE_VIEW``):
under ``/api/`` the API's JSON error — a ``code`` and a Chinese ``message`` — and
elsewhere the Chinese pages of ``templates/``.

DRF's own views answer their errors through ``altay_skills.api.exception_handler``; these
answer what happens before or outside them: a body Django refuses while reading it (too
many fields), a CSRF failure, a bug. With DEBUG off nothing of the exception is shown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.views import defaults

#: status → (code, message), the same codes as the API's exception handler.
API_ERRORS = {
    400: ("bad_request", "请求无效，未被处理"),
    403: ("permission_denied", "您没有执行此操作的权限"),
    404: ("not_found", "接口不存在（API 路径以 / 结尾）"),
    500: ("server_error", "系统出现错误，已记录；请稍后重试，如仍有问题请联系管理员"),
}
CSRF_MESSAGE = (
    "CSRF 校验失败：浏览器请刷新页面后重试；脚本请以 Authorization: Token <令牌> 发送"
)


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def api_error(status: int, message: str | None = None) -> JsonResponse:
    code, default = API_ERRORS[status]
    return JsonResponse(
        {"code": code, "message": message or default},
        status=status,
        json_dumps_params={"ensure_ascii": False},
    )


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        return api_error(400)
    return defaults.bad_request(request, exception, template_name="400.html")


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        return api_error(403)
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        return api_error(404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if is_api(request):
        return api_error(500)
    return defaults.server_error(request)


#: Fields never shown back on the CSRF page.
SECRET_FIELDS = ("csrfmiddlewaretoken", "password", "token", "code", "challenge")
#: What the CSRF page shows back of the form, at most.
SHOWN_FIELDS, SHOWN_CHARACTERS = 60, 500


def csrf_failure(request: HttpRequest, reason: str = "", **kwargs: Any) -> HttpResponse:
    """A refused form (its page open from before a log-out, a log-in in another tab or
    the session's end): under ``/api/`` the JSON 403; elsewhere a Chinese page that
    says nothing was saved and shows back what was typed, so that a clerk's long form
    is not lost (Django's own page is English and keeps nothing). Django's page stays
    for ``DEBUG`` only where the reason is needed: never — the reason is logged."""
    if is_api(request):
        return api_error(403, CSRF_MESSAGE)
    try:
        posted = [(name, str(value)) for name, value in request.POST.items()]
    except Exception:  # a body Django would not read (too many fields…): show nothing
        posted = []
    typed = [
        (name, value[:SHOWN_CHARACTERS])
        for name, value in posted
        if value.strip() and not any(secret in name for secret in SECRET_FIELDS)
    ][:SHOWN_FIELDS]
    return render(
        request, "csrf_failure.html", {"typed": typed, "reason": reason}, status=403
    )


class NotFoundPageMiddleware:
    """Under DEBUG too, a page that does not exist is the Chinese 404 page (or the
    API's JSON 404), not Django's technical page in English.

    With DEBUG off ``handler404`` answers already. With it on, Django answers an
    unmatched path and a view's ``Http404`` with its technical page, before any
    handler: this middleware resolves the path first and catches the view's
    ``Http404``. It sits inside CommonMiddleware, whose APPEND_SLASH still turns a
    404 for ``/claims`` into a redirect to ``/claims/``.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.DEBUG:
            try:
                resolve(request.path_info, getattr(request, "urlconf", None))
            except Resolver404 as exc:
                return page_not_found(request, exc)
        return self.get_response(request)

    def process_exception(
        self, request: HttpRequest, exc: Exception
    ) -> HttpResponse | None:
        if settings.DEBUG and isinstance(exc, Http404):
            return page_not_found(request, exc)
        return None
