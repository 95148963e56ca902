"""Errors reach a person, with no full ID number and no request body (issue 19).

- ``SENTRY_DSN`` set (a self-hosted Sentry or GlitchTip inside the prefecture's network;
  no outside service is assumed): every event of the web and the worker goes there,
  scrubbed by ``scrubbed`` — every string of the event (message, exception values,
  stack frames' variables, breadcrumbs, tags) masked as the logs are, the request's body,
  cookies and authorization dropped, no personal data sent (``send_default_pii=False``).
- Otherwise, ``ADMINS`` set: an ERROR line mails them through ``MaskedAdminEmailHandler``
  — the same masking over the subject and the whole text, and the request's form body
  left out of the report (``NoBodyReporterFilter``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils.log import AdminEmailHandler
from django.views.debug import SafeExceptionReporterFilter

from trainees.id_numbers import mask_id_numbers_in

_DROPPED_HEADERS = {"cookie", "authorization", "x-csrftoken", "proxy-authorization"}


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask_id_numbers_in(value)
    if isinstance(value, dict):
        return {_masked(k): _masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_masked(v) for v in value)
    return value


def scrubbed(event: Any, hint: Any = None) -> Any:
    """Sentry's ``before_send``: the event with no body, cookie or credential, every
    string masked."""
    request = event.get("request")
    if isinstance(request, dict):
        for key in ("data", "cookies", "query_string"):
            request.pop(key, None)
        headers = request.get("headers")
        if isinstance(headers, dict):
            request["headers"] = {
                k: v for k, v in headers.items() if k.lower() not in _DROPPED_HEADERS
            }
    event.pop("user", None)
    return _masked(event)


def start_sentry(
    dsn: str, *, environment: str, transport: Callable[..., Any] | None = None
) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    options: dict[str, Any] = {}
    if transport is not None:  # a test's capture
        options["transport"] = transport
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        max_request_body_size="never",
        include_local_variables=False,
        traces_sample_rate=0.0,
        before_send=scrubbed,
        before_breadcrumb=lambda crumb, hint: _masked(crumb),
        **options,
    )


class NoBodyReporterFilter(SafeExceptionReporterFilter):
    """An error report (the admins' mail, the DEBUG page) without the request's form."""

    def get_post_parameters(self, request: Any) -> dict[str, Any]:
        return {}


class MaskedAdminEmailHandler(AdminEmailHandler):
    def send_mail(self, subject: Any, message: Any, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("html_message"):
            kwargs["html_message"] = mask_id_numbers_in(kwargs["html_message"])
        super().send_mail(
            mask_id_numbers_in(subject), mask_id_numbers_in(message), *args, **kwargs
        )
