"""The database out of reach mid-request: a clean 503, never a 500 traceback.

A connection dropped under a request (PostgreSQL restarted, its backend terminated, the
network cut) raises ``OperationalError`` or ``InterfaceError``. The transaction it was
in never committed, so nothing of the request was saved; the user is told so in
Chinese and asked to retry. Django closes the broken connection when the request ends
(``close_old_connections``; ``CONN_HEALTH_CHECKS`` for persistent connections), so the
next request connects afresh. The API's own handler (``altay_skills.api``) answers the
same for API views; this middleware answers for the pages.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)

DATABASE_ERRORS = (OperationalError, InterfaceError)
CODE = "database_unavailable"
MESSAGE = "数据库暂时无法连接，您刚才的操作未保存，请稍后重试。"
RETRY_AFTER = "5"  # seconds


def database_unavailable_logged(request: HttpRequest, exc: Exception) -> None:
    logger.error(
        "database unavailable during %s %s: %s",
        request.method,
        request.path,
        type(exc).__name__,
    )


def api_unavailable() -> JsonResponse:
    """The API's 503 when the database is out of reach: nothing was saved, retry."""
    response = JsonResponse(
        {"code": CODE, "message": MESSAGE},
        status=503,
        json_dumps_params={"ensure_ascii": False},
    )
    response["Retry-After"] = RETRY_AFTER
    return response


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(
        self, request: HttpRequest, exc: Exception
    ) -> HttpResponse | None:
        if not isinstance(exc, DATABASE_ERRORS):
            return None
        database_unavailable_logged(request, exc)
        if request.path.startswith("/api/"):
            return api_unavailable()
        # No request context: its processors (the user, messages) would query the
        # database that has just failed.
        response = HttpResponse(render_to_string("503.html"), status=503)
        response["Retry-After"] = RETRY_AFTER
        return response
