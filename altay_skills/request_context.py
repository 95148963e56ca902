"""Which request a log line belongs to, as JSON a machine can read (issue 19).

- ``RequestContextMiddleware`` gives every request an id — the proxy's ``X-Request-ID``
  when it is a plain token, else a new one — answers it in ``X-Request-ID``, and at the
  end writes one line: method, path (no query string), status, route name, user id and
  duration in milliseconds.
- ``RequestContextFilter`` puts the request id, the user id and the route on every log
  record written while the request runs, and the task's name and id inside a task.
- A task queued by a request carries the request id in its message headers
  (``before_task_publish``); the worker takes it back before the task runs
  (``task_prerun``), so the task's lines name the request that started it.
- ``trainees.log_masking.JsonFormatter`` writes a record as one JSON line with these
  fields and masks ID numbers in the whole line. ``LOG_FORMAT=json`` (the default with
  DEBUG off) selects it; ``make run`` keeps readable console lines.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.functional import empty

from altay_skills import metrics

logger = logging.getLogger("altay_skills.requests")

REQUEST_ID: ContextVar[str] = ContextVar("request_id", default="")
_REQUEST: ContextVar[HttpRequest | None] = ContextVar("request", default=None)
TASK: ContextVar[tuple[str, str] | None] = ContextVar("task", default=None)

HEADER = "X-Request-ID"
_INCOMING = "HTTP_X_REQUEST_ID"
_TOKEN = re.compile(r"[A-Za-z0-9._-]{8,64}")


def _user_id(request: HttpRequest) -> int | None:
    """The signed-in user's id, without loading the session only to log it."""
    user = request.__dict__.get("user")
    if user is None or getattr(user, "_wrapped", None) is empty:
        return None
    return user.pk if getattr(user, "is_authenticated", False) else None


def _route(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    return match.view_name if match is not None else ""


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.META.get(_INCOMING, "")
        request_id = incoming if _TOKEN.fullmatch(incoming) else uuid.uuid4().hex
        tokens = (REQUEST_ID.set(request_id), _REQUEST.set(request))
        started = time.monotonic()
        try:
            response = self.get_response(request)
            response[HEADER] = request_id
            seconds = time.monotonic() - started
            metrics.request_observed(
                _route(request), request.method or "", response.status_code, seconds
            )
            logger.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round(seconds * 1000, 1),
                },
            )
            return response
        finally:
            REQUEST_ID.reset(tokens[0])
            _REQUEST.reset(tokens[1])


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        request_id = REQUEST_ID.get()
        if request_id and not getattr(record, "request_id", None):
            record.request_id = request_id
        request = _REQUEST.get()
        if request is not None:
            record.user_id = _user_id(request)
            record.route = _route(request)
        task = TASK.get()
        if task is not None:
            record.task, record.task_id = task
        return True


# --- Celery: the request id travels with the task -----------------------------------------
def task_published(headers: dict[str, Any] | None = None, **_: Any) -> None:
    request_id = REQUEST_ID.get()
    if headers is not None and request_id:
        headers.setdefault("request_id", request_id)


JSON_FORMATTER = "trainees.log_masking.JsonFormatter"
_TASK_TOKENS: dict[str, tuple[Any, Any]] = {}
task_logger = logging.getLogger("altay_skills.tasks")


def task_starting(task_id: str = "", task: Any = None, **_: Any) -> None:
    request = getattr(task, "request", None)
    if getattr(request, "is_eager", False):  # run inside the request or command
        return
    request_id = getattr(request, "request_id", None) or ""
    _TASK_TOKENS[task_id] = (
        REQUEST_ID.set(str(request_id)),
        TASK.set((getattr(task, "name", ""), task_id)),
    )
    task_logger.info("task %s started", getattr(task, "name", ""))


def task_finished(task_id: str = "", **_: Any) -> None:
    tokens = _TASK_TOKENS.pop(task_id, None)
    if tokens is not None:
        REQUEST_ID.reset(tokens[0])
        TASK.reset(tokens[1])


def format_worker_handlers(logger: Any = None, **_: Any) -> None:
    """A worker's own handlers (Celery replaces the root's): the request's fields,
    and JSON when the settings' console handler writes JSON."""
    from django.conf import settings
    from django.utils.module_loading import import_string

    if logger is None:
        return
    json_lines = settings.LOG_FORMAT == "json"
    for handler in logger.handlers:
        if not any(isinstance(f, RequestContextFilter) for f in handler.filters):
            handler.addFilter(RequestContextFilter())
        if json_lines:
            handler.setFormatter(import_string(JSON_FORMATTER)())


def connect_task_signals() -> None:
    from celery.signals import (
        after_setup_logger,
        after_setup_task_logger,
        before_task_publish,
        task_postrun,
        task_prerun,
    )

    before_task_publish.connect(task_published, weak=False)
    task_prerun.connect(task_starting, weak=False)
    task_postrun.connect(task_finished, weak=False)
    after_setup_logger.connect(format_worker_handlers, weak=False)
    after_setup_task_logger.connect(format_worker_handlers, weak=False)
