"""One exception handler: every API error is JSON with a stable ``code`` and a message."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404

from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from altay_skills.errors import DomainError

_DRF_CODES = {
    exceptions.NotAuthenticated: ("not_authenticated", "请先登录"),
    exceptions.AuthenticationFailed: ("authentication_failed", "身份验证失败"),
    exceptions.PermissionDenied: ("permission_denied", "您没有执行此操作的权限"),
    exceptions.NotFound: ("not_found", "未找到该记录"),
    exceptions.MethodNotAllowed: ("method_not_allowed", "不支持该请求方法"),
    exceptions.Throttled: ("throttled", "请求过于频繁，请稍后再试"),
    exceptions.UnsupportedMediaType: ("unsupported_media_type", "不支持的内容类型"),
    exceptions.ParseError: ("parse_error", "请求内容无法解析"),
}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        body: dict[str, Any] = {"code": exc.code, "message": exc.message}
        if exc.detail is not None:
            body["detail"] = exc.detail
        return Response(body, status=exc.status_code)
    if isinstance(exc, Http404):
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
            "message": "提交的数据有误，请检查标注的字段",
            "fields": fields,
        }
        response.status_code = status.HTTP_400_BAD_REQUEST
        return response
    for kind, (code, message) in _DRF_CODES.items():
        if isinstance(exc, kind):
            response.data = {"code": code, "message": message}
            break
    return response


#: Field-level codes that surface as the error's own code (api-contract.md).
_DOMAIN_VALIDATION_CODES = {"invalid_id_number", "invalid_credit_code"}


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
