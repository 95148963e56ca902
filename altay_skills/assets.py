"""What a browser asks of the site itself, answered from this server: the favicon,
and ReDoc's bundle without the one thing it would fetch from outside (its logo).

Nothing of a page may come from another server (a county office may have no
internet, and the CSP forbids it): the sidecar serves ReDoc's bundle locally, but the
bundle still draws Redocly's logo from a CDN, which the CSP blocks with an error in the
console. The bundle is served here with that address turned into the site's icon.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.templatetags.static import static
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

import drf_spectacular_sidecar

ICON = "app/favicon.ico"
REDOC_BUNDLE = (
    Path(drf_spectacular_sidecar.__file__).parent
    / "static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"
)
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@require_GET
@cache_control(max_age=86400, public=True)
def favicon(request: HttpRequest) -> HttpResponse:
    """``/favicon.ico``, which browsers ask for on their own: the static icon."""
    return HttpResponseRedirect(static(ICON))


@cache
def redoc_bundle_text() -> str:
    return REDOC_BUNDLE.read_text(encoding="utf-8").replace(REDOC_LOGO, static(ICON))


@require_GET
@cache_control(max_age=86400, public=True)
def redoc_bundle(request: HttpRequest) -> HttpResponse:
    return HttpResponse(
        redoc_bundle_text(), content_type="text/javascript; charset=utf-8"
    )
