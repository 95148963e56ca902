"""The Content-Security-Policy middleware: django-csp's, plus the two API docs pages.

Swagger UI (``/api/docs/``) and ReDoc (``/api/redoc/``) are drf-spectacular's own
templates, which start the viewer from an inline ``<script>``. Rather than exempt those
pages from the policy altogether, they get the site policy with the few additions named
in ``settings.API_DOCS_CSP_UPDATE``; every other page gets the site policy unchanged.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

from csp.middleware import CSPMiddleware as BaseCSPMiddleware
from csp.middleware import PolicyParts


class CSPMiddleware(BaseCSPMiddleware):
    def get_policy_parts(
        self,
        request: HttpRequest,
        response: HttpResponseBase,
        report_only: bool = False,
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        extra = getattr(settings, "API_DOCS_CSP_UPDATE", {}).get(request.path_info)
        if extra and not report_only:
            update: dict[str, Any] = dict(parts.update or {})
            for directive, sources in extra.items():
                update[directive] = [*update.get(directive, []), *sources]
            parts.update = update
        return parts
