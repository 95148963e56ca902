"""What an API body may be before anything reads it: its size and its depth.

A 2 KB body of 1,000 nested brackets made ``json`` raise ``RecursionError`` (a 500, also
for anyone on ``POST /api/auth/token/``); a 6 MB body answered Django's English HTML.
So under ``/api/`` a body larger than ``API_MAX_BODY_BYTES`` is refused by its declared
length before a byte of it is read (413), and a JSON body deeper than ``MAX_DEPTH`` is
refused when parsed (400). The deepest body the API takes is a class's results
(``{"results": [{…}]}``, three levels); ``MAX_DEPTH`` leaves ample room.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from typing import IO, Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from altay_skills.errors import DomainError

MAX_DEPTH = 32


def max_body_bytes() -> int:
    return int(getattr(settings, "API_MAX_BODY_BYTES", 1024 * 1024))


#: The API routes that take an evidence file (issue 16, multipart ``kind`` + ``file``):
#: their body may be the file's limit (10 MB) plus the form's envelope.
UPLOAD_PATH = re.compile(r"^/api/(claims|classes)/[0-9]+/documents/$")


def upload_body_bytes() -> int:
    return int(
        getattr(settings, "API_UPLOAD_MAX_BODY_BYTES", 10 * 1024 * 1024 + 256 * 1024)
    )


def upload_too_large_message() -> str:
    return "文件超过10 MB的上限，未被接收"


def too_large_message() -> str:
    limit = max_body_bytes()
    size = f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit} 字节"
    return f"请求内容超过{size}的上限，未被处理"


class BodyTooLarge(DomainError):
    status_code = 413

    def __init__(self) -> None:
        super().__init__("request_too_large", too_large_message())


class BodyTooDeep(DomainError):
    def __init__(self) -> None:
        super().__init__(
            "parse_error", f"请求内容嵌套层级过深（最多{MAX_DEPTH}层），未被处理"
        )


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser, reading at most the limit and refusing deep nesting."""

    def parse(
        self,
        stream: IO[Any] | None,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        if stream is None:
            return None
        limit = max_body_bytes()
        raw = stream.read(limit + 1)
        if len(raw) > limit:
            raise BodyTooLarge()
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            data = json.loads(
                raw.decode(encoding),
                parse_constant=_no_constant,
                parse_float=_finite_float,
            )
        except RecursionError:
            raise BodyTooDeep() from None
        except (ValueError, LookupError) as exc:
            # LookupError: a charset the codecs module knows that is no text encoding
            # (rot13, hex, base64 — Django lets any known codec name through)
            raise ParseError(f"JSON parse error - {exc}") from None
        if _depth_exceeds(data, MAX_DEPTH):
            raise BodyTooDeep()
        if data is None:  # DRF's answer to it is English ("No data provided")
            raise DomainError(
                "parse_error", "请求内容为 null，应为 JSON 对象，未被处理"
            )
        return data


def _no_constant(name: str) -> Any:
    """``NaN`` and ``Infinity`` are not JSON (DRF's strict mode refuses them too)."""
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    """A number past a float's range (``1e400``) parsed to infinity, which JSON does
    not have and no field takes (an id field raised OverflowError)."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number out of range: {text[:40]}")
    return value


def _depth_exceeds(data: Any, limit: int) -> bool:
    """Whether ``data`` nests deeper than ``limit``, walked without recursion."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class ApiBodyLimitMiddleware:
    """A body under ``/api/`` declared larger than the limit: 413, JSON, unread. An
    evidence upload's route (``UPLOAD_PATH``) has the file's limit instead."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/"):
            try:
                declared = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                declared = 0
            upload = UPLOAD_PATH.match(request.path) is not None
            limit = upload_body_bytes() if upload else max_body_bytes()
            if declared > limit:
                message = upload_too_large_message() if upload else too_large_message()
                response = JsonResponse(
                    {"code": "request_too_large", "message": message},
                    status=413,
                    json_dumps_params={"ensure_ascii": False},
                )
                # answered before CommonMiddleware, which would set it
                response["Content-Length"] = str(len(response.content))
                return response
        return self.get_response(request)
