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

import logging
from typing import Any

from gunicorn.glogging import Logger

from trainees.id_numbers import mask_id_numbers_in

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
