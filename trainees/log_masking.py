"""No full ID number in any log line: a filter on every handler masks them.

Installed by ``settings.LOGGING`` on the root handler (and on ``django.server``'s), and
on the Celery worker's handlers when Celery sets up its own logging (see ``apps.py``).
It renders each record's message with its arguments, then masks the message, the
formatted traceback (a PostgreSQL ``Key (id_number)=(…)`` detail, an exception that
quotes input) and the stack, so whatever formatter or handler follows sees the masked
text only. A handler filter mutates the record in place: handlers after it on the same
logger (a test's capture handler included) see it masked too.

gunicorn writes its access and error logs itself, through handlers it sets up before
Django (and its ``LOGGING``) is loaded: ``gunicorn.conf.py`` names ``GunicornLogger``
as its ``logger_class``, which puts the same filter on them, so the request path, the
User-Agent and the referrer of an access line are masked as well.
"""

from __future__ import annotations

import json
import logging
import os
import traceback
from datetime import UTC, datetime
from typing import Any

from gunicorn.glogging import Logger

from altay_skills.sms import mask_phones_in
from trainees.id_numbers import mask_id_numbers_in as _mask_ids


def mask_id_numbers_in(text: str) -> str:
    """ID numbers and mobile phone numbers masked (issue 17: phones too)."""
    return mask_phones_in(_mask_ids(text))


_TRACEBACKS = logging.Formatter()


class IdNumberMaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep what there is, masked
            message = f"{record.msg} {record.args!r}"
        record.msg = mask_id_numbers_in(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = _TRACEBACKS.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_id_numbers_in(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_id_numbers_in(record.stack_info)
        return True


def mask_handlers_of(logger: logging.Logger) -> None:
    """Put the filter on each of ``logger``'s handlers that lacks it."""
    for handler in logger.handlers:
        if not any(isinstance(f, IdNumberMaskingFilter) for f in handler.filters):
            handler.addFilter(IdNumberMaskingFilter())


class GunicornLogger(Logger):
    """gunicorn's logger with every handler of its access and error logs masked
    (``logger_class`` in ``gunicorn.conf.py``); ``setup`` runs again on a reload."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for logger in (self.error_log, self.access_log):
            mask_handlers_of(logger)

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        """With ``LOG_FORMAT=json`` (the default when DEBUG is off) an access line is
        JSON too, with the request id the application answered (issue 19); the same
        fields as the plain line: no query string, no referrer."""
        if not json_lines() or not self.access_log_enabled:
            super().access(resp, req, environ, request_time)
            return
        atoms = self.atoms(resp, req, environ, request_time)

        def atom(key: str) -> Any:
            return atoms.get(key.lower() if key.startswith("{") else key, "-")

        body = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "level": "INFO",
            "logger": "gunicorn.access",
            "client": atom("{x-forwarded-for}i"),
            "peer": atom("h"),
            "method": atom("m"),
            "path": atom("U"),
            "status": atom("s"),
            "bytes": atom("B"),
            "duration_ms": atom("M"),
            "agent": atom("a"),
            "request_id": atom("{x-request-id}o"),
        }
        try:
            self.access_log.info(json.dumps(body, ensure_ascii=False, default=str))
        except Exception:  # as gunicorn's own: a line that fails is an error line
            self.error(traceback.format_exc())


def json_lines() -> bool:
    """The same choice as ``settings.LOG_FORMAT``, for gunicorn's own logs (set up
    before Django's settings are read)."""
    debug = os.environ.get("DEBUG", "").lower() in ("1", "true", "yes", "on")
    return os.environ.get("LOG_FORMAT", "plain" if debug else "json") == "json"


#: the fields of a request or task a JSON line may carry (altay_skills.request_context)
REQUEST_FIELDS = (
    "request_id",
    "user_id",
    "route",
    "method",
    "path",
    "status",
    "duration_ms",
    "task",
    "task_id",
)


class JsonFormatter(logging.Formatter):
    """One JSON line a record (issue 19): time, level, logger, message and the request's
    fields (``altay_skills.request_context.FIELDS``), ID numbers masked in the whole line
    — every field, the path, the message and the traceback."""

    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in REQUEST_FIELDS:
            value = getattr(record, field, None)
            if value not in (None, ""):
                body[field] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            body["exception"] = record.exc_text
        return mask_id_numbers_in(json.dumps(body, ensure_ascii=False, default=str))
