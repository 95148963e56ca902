"""Anonymous objections to a public notice, counted per client address (issue 17).

One count for the API (``POST /api/public/objections/``) and the page's form: DRF's
simple rate throttle over the shared ``throttle`` cache (Redis when ``REDIS_URL`` is
set, so every gunicorn worker shares it), keyed by the client address as the proxy
reports it (``altay_skills.client_address``: only the configured proxy is believed).
Past ``settings.OBJECTION_RATE`` the API answers 429 ``throttled`` with Retry-After and
the page says so. The counter out of reach lets the objection through (logged): the
challenge still stands in front of it.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.cache import BaseCache, caches
from django.utils.translation import gettext_lazy as _

from captcha.helpers import captcha_image_url
from captcha.models import CaptchaStore
from captcha.validators import captcha_validate
from redis.exceptions import RedisError
from rest_framework.exceptions import ValidationError
from rest_framework.throttling import SimpleRateThrottle

from altay_skills.client_address import client_address

logger = logging.getLogger(__name__)


class ObjectionThrottle(SimpleRateThrottle):
    scope = "public_objections"

    @property
    def cache(self) -> BaseCache:  # type: ignore[override]
        return caches["throttle"]

    def get_rate(self) -> str:
        return str(settings.OBJECTION_RATE)

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return None  # reading a notice or an outcome is not counted
        address = client_address(request) or "unknown"
        return self.cache_format % {"scope": self.scope, "ident": address}

    def allow_request(self, request: Any, view: Any) -> bool:
        try:
            return super().allow_request(request, view)
        except (RedisError, OSError) as exc:
            logger.warning("objection throttle unavailable: %s", type(exc).__name__)
            return True


def challenge_passed(key: str, answer: str) -> bool:
    """The challenge drawn by django-simple-captcha on this server, answered: each
    challenge is tried once (a wrong answer spends it too), expires after
    ``CAPTCHA_TIMEOUT`` minutes. No outside service is asked."""
    try:
        captcha_validate(str(key or ""), str(answer or "").strip())
    except ValidationError:
        return False
    return True


def challenge_new() -> dict[str, str]:
    """A new challenge: its key and the address of its picture."""
    key = CaptchaStore.generate_key()
    return {"key": key, "image_url": captcha_image_url(key)}


#: Shown to the visitor in their language (issue 17): lazy, translated where shown.
CHALLENGE_FAILED = _("验证码不正确或已过期，请看清图中字符后重新输入（已换一张）")
THROTTLED = _("提交异议过于频繁，请稍后再试")
