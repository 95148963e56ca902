"""What an API answer is made of: JSON whatever the client asks, and an ``OPTIONS``
answer in Chinese (``REST_FRAMEWORK``'s negotiation and metadata classes).

Kept apart from ``altay_skills.api``: DRF imports these while it defines ``APIView``,
so they must not import ``rest_framework.views``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext

from rest_framework import exceptions
from rest_framework.metadata import BaseMetadata
from rest_framework.negotiation import DefaultContentNegotiation

if TYPE_CHECKING:
    from rest_framework.renderers import BaseRenderer
    from rest_framework.request import Request


class JsonAnswers(DefaultContentNegotiation):
    """Every answer under ``/api/`` is JSON, whatever the client asks for.

    The views render JSON only (``DEFAULT_RENDERER_CLASSES``). A browser opening an API
    address asks ``Accept: text/html`` (it had DRF's browsable page, in English) and a
    script may ask ``?format=api`` or a type no view makes: all get the view's first
    renderer — JSON, or for the schema and docs views their own — instead of a 406 or a
    404 for the format. Views that render something else (the schema's YAML and JSON)
    are still chosen between by ``Accept`` and ``?format=`` as before."""

    def select_renderer(
        self,
        request: Request,
        renderers: Iterable[BaseRenderer],
        format_suffix: str | None = None,
    ) -> tuple[BaseRenderer, str]:
        renderers = list(renderers)
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except (exceptions.NotAcceptable, Http404):
            return renderers[0], renderers[0].media_type


class ApiMetadata(BaseMetadata):
    """An ``OPTIONS`` answer in Chinese: the methods the address takes, each with its
    summary from the OpenAPI schema, what it reads and writes, and where the schema is.

    DRF's own answer named the view by its class (``Claim List Create Api``), described
    it by the developers' English docstring, and listed under ``POST`` the fields of the
    serializer that *renders* a claim — every one read-only — not the body a POST takes;
    the body of each operation is in the schema (``/api/schema/``, ``/api/docs/``)."""

    def determine_metadata(self, request: Request, view: Any) -> dict[str, Any]:
        methods = {
            method: operation_summary(view, method)
            for method in view.allowed_methods
            if method not in ("OPTIONS", "HEAD")
        }
        return {
            "name": next((s for s in methods.values() if s), gettext("接口")),
            "methods": methods,
            "renders": answered_media(view),
            "parses": [parser.media_type for parser in view.parser_classes],
            "schema": reverse("api-schema"),
            "docs": reverse("api-docs"),
        }


def answered_media(view: Any) -> list[str]:
    """What the address answers: the media types its GET declares for a 200 (a file:
    the workbook, a document, a bank batch), then JSON (its errors); else what its
    renderers give (JSON)."""
    schema = _operation_schema(view, "GET")
    responses = schema.get_response_serializers() if schema is not None else None
    files = [
        key[1]
        for key in (responses if isinstance(responses, dict) else {})
        if isinstance(key, tuple) and str(key[0]) == "200"
    ]
    rendered = [renderer.media_type for renderer in view.renderer_classes]
    return list(dict.fromkeys(files + rendered)) if files else rendered


def _operation_schema(view: Any, method: str) -> Any:
    """The schema drf-spectacular attaches to the handler of ``method`` (None if
    none), set up as its generator sets it up."""
    handler = getattr(view, method.lower(), None)
    schema_class = getattr(handler, "kwargs", {}).get("schema")
    if schema_class is None:
        return None
    schema = schema_class()
    schema.view = view
    schema.method = method
    return schema


def operation_summary(view: Any, method: str) -> str:
    """The ``summary`` an operation's ``@extend_schema`` gives it ("" if none): the
    schema class drf-spectacular attaches to the handler, asked as its generator asks
    it (tests/test_api_options.py holds every API operation to having one)."""
    schema = _operation_schema(view, method)
    return str(schema.get_summary() or "") if schema is not None else ""
