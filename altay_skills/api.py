"""One exception handler: every API error is JSON with a stable ``code`` and a message.

Also the shapes of those errors for the OpenAPI schema, and the JSON 404 for an unknown
path under ``/api/``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.template import Context, Engine
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt

from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularRedocView
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from altay_skills import middleware
from altay_skills.errors import DomainError
from altay_skills.plain_text import MAX_REASON_LENGTH, multi_line_text, stated_reason

_DRF_CODES = {
    exceptions.NotAuthenticated: ("not_authenticated", _("请先登录")),
    exceptions.AuthenticationFailed: ("authentication_failed", _("身份验证失败")),
    exceptions.PermissionDenied: ("permission_denied", _("您没有执行此操作的权限")),
    exceptions.NotFound: ("not_found", _("未找到该记录")),
    exceptions.MethodNotAllowed: ("method_not_allowed", _("不支持该请求方法")),
    exceptions.Throttled: ("throttled", _("请求过于频繁，请稍后再试")),
    exceptions.UnsupportedMediaType: ("unsupported_media_type", _("不支持的内容类型")),
    exceptions.ParseError: ("parse_error", _("请求内容无法解析")),
    exceptions.NotAcceptable: ("not_acceptable", _("接口只以 JSON 作答")),
}

#: Domain errors whose ``detail`` is a claim decision: the body names it ``decision``
#: (api-contract.md: "409 with the decision").
_DECISION_CODES = {"not_eligible"}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, middleware.DATABASE_ERRORS):  # nothing was saved: retry later
        middleware.database_unavailable_logged(context["request"], exc)
        return Response(
            {"code": middleware.CODE, "message": middleware.MESSAGE},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": middleware.RETRY_AFTER},
        )
    if isinstance(exc, DomainError):
        body: dict[str, Any] = {"code": exc.code, "message": exc.message}
        if exc.detail is not None:
            key = "decision" if exc.code in _DECISION_CODES else "detail"
            body[key] = exc.detail
        return Response(body, status=exc.status_code)
    if isinstance(exc, Http404 | OverflowError):
        # OverflowError: SQLite cannot even look up an id past 64 bits (/claims/1e40/)
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = response.data
        code = _first_code(exc.get_codes())
        response.data = {
            "code": code if code in _DOMAIN_VALIDATION_CODES else "invalid",
            "message": gettext("提交的数据有误，请检查标注的字段"),
            "fields": fields,
        }
        response.status_code = status.HTTP_400_BAD_REQUEST
        return response
    for kind, (code, lazy_message) in _DRF_CODES.items():
        if isinstance(exc, kind):
            message = str(lazy_message)  # in the visitor's language on their paths
            if isinstance(exc, exceptions.AuthenticationFailed) and (
                exc.detail != exc.default_detail
            ):
                message = str(exc.detail)  # accounts.authentication's own reason
            response.data = {"code": code, "message": message}
            break
    return response


#: Field-level codes that surface as the error's own code (api-contract.md).
_DOMAIN_VALIDATION_CODES = {
    "invalid_id_number",
    "invalid_credit_code",
    "invalid_dates",
    "reason_required",
    "invalid_credentials",
}


def _first_code(codes: Any) -> str:
    if isinstance(codes, dict):
        for value in codes.values():
            found = _first_code(value)
            if found in _DOMAIN_VALIDATION_CODES:
                return found
        return next((_first_code(v) for v in codes.values()), "invalid")
    if isinstance(codes, list):
        for value in codes:
            found = _first_code(value)
            if found in _DOMAIN_VALIDATION_CODES:
                return found
        return _first_code(codes[0]) if codes else "invalid"
    return str(codes)


#: ReDoc's stock page fetches Google Fonts: a county office may have no internet, and
#: nothing of the docs should leave the server (stack.md). Same page, no external font.
_REDOC_HEAD = """{% extends "drf_spectacular/redoc.html" %}{% block head %}
<title>{{ title|default:"Redoc" }}</title>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body { margin: 0; padding: 0; }</style>
{% endblock head %}"""


class RedocView(SpectacularRedocView):
    """ReDoc served entirely from this server (the sidecar's bundle, system fonts)."""

    @staticmethod
    def _redoc_standalone() -> str:
        # the sidecar's bundle with its one outside address (Redocly's logo) made local
        return reverse("api-redoc-bundle")

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().get(request, *args, **kwargs)
        template = Engine.get_default().from_string(_REDOC_HEAD)
        html = template.render(Context(response.data))
        return HttpResponse(html, content_type="text/html; charset=utf-8")


@csrf_exempt
def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """An unknown path under ``/api/`` answers JSON, like every other API error.

    Exempt from CSRF: it changes nothing, and a script's POST carries a token, not a
    CSRF cookie (before, it answered Django's English CSRF page instead of this 404)."""
    return JsonResponse(
        {"code": "not_found", "message": "接口不存在（API 路径以 / 结尾）"},
        status=404,
        json_dumps_params={"ensure_ascii": False},
    )


# --- Error shapes, for the OpenAPI schema ---------------------------------------------
class ErrorSerializer(serializers.Serializer):
    """Every 4xx: a stable ``code`` and a Chinese ``message``."""

    code = serializers.CharField(
        help_text="稳定的错误代码，如 not_found、permission_denied"
    )
    message = serializers.CharField(help_text="中文说明")
    detail = serializers.JSONField(
        required=False, help_text="部分业务错误附带的补充信息"
    )


class ValidationErrorSerializer(serializers.Serializer):
    """A 400: ``code`` is ``invalid`` or a domain code such as ``invalid_id_number``."""

    code = serializers.CharField(
        help_text="invalid，或 invalid_id_number、invalid_credit_code、invalid_dates、"
        "reason_required、invalid_credentials 等"
    )
    message = serializers.CharField()
    fields = serializers.DictField(  # type: ignore[assignment]  # the key of the body
        required=False,
        child=serializers.JSONField(),
        help_text="字段名 → 错误说明列表",
    )


# --- A reason in a body --------------------------------------------------------------------
def reason_field(help_text: str) -> serializers.CharField:
    """A body's ``reason``, as the service will check it (``plain_text.checked_reason``):
    at most ``MAX_REASON_LENGTH`` characters, no hidden characters; blank is allowed
    here so that ``ReasonBody`` answers ``reason_required`` rather than DRF's code."""
    return serializers.CharField(
        max_length=MAX_REASON_LENGTH,
        allow_blank=True,
        allow_null=True,
        default="",
        validators=[multi_line_text],
        help_text=help_text,
    )


class RecordField(serializers.PrimaryKeyRelatedField):
    """A record named by its key, as ``PrimaryKeyRelatedField`` — but a JSON number
    with a fraction is refused (``incorrect_type``: "应为记录编号（整数）"), not
    rounded down to another record: Django's integer lookup does ``int(1.5)``, and
    ``"trainee": 1.5`` made a claim for person 1. Every relation a body names goes
    through this field (``tests/test_record_fields.py``)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, float) and not data.is_integer():
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(data)


class ReasonBody(serializers.Serializer):
    """A body whose ``reason`` is required: a missing or blank one is 400
    ``reason_required`` with ``missing`` as the message. Subclasses name ``missing`` and
    declare ``reason = reason_field("…")`` for the schema's help text."""

    missing = "请填写理由"
    reason = reason_field("理由（必填）")

    def validate_reason(self, value: str | None) -> str:
        return stated_reason(value, missing=self.missing)
