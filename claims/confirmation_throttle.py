"""The rate limit of the trainee's confirmation (issue 17): anonymous requests to
``/t/<code>/`` and ``/api/confirmations/{code}/`` per client address (behind the proxy:
``altay_skills.client_address``), counted together in the shared ``throttle`` cache so
every gunicorn worker sees one count. Past ``settings.CONFIRMATION_RATE``: 429 in
Chinese with Retry-After. The wrong-last-4 lock-out (per code, in the database) is
``claims.confirmations.confirmation_answer``'s."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.cache import BaseCache, caches

from redis.exceptions import RedisError
from rest_framework.throttling import SimpleRateThrottle

from altay_skills.client_address import client_address

logger = logging.getLogger(__name__)


class ConfirmationThrottle(SimpleRateThrottle):
    scope = "confirmations"

    @property
    def cache(self) -> BaseCache:  # type: ignore[override]
        return caches["throttle"]

    def get_rate(self) -> str:
        return str(settings.CONFIRMATION_RATE)

    def get_cache_key(self, request: Any, view: Any) -> str:
        ident = client_address(request) or "unknown"
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request: Any, view: Any) -> bool:
        try:
            return super().allow_request(request, view)
        except (RedisError, OSError) as exc:
            logger.warning("confirmation throttle unavailable: %s", type(exc).__name__)
            return True
