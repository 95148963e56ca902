"""API tokens for scripts: issued on ``POST /api/auth/token/``, sent as
``Authorization: Token <key>`` (api-contract.md), and ended by time, by a change of the
account and by logging out (issue 14, 8).

- Every request for a token issues a new random key (256 bits); only its SHA-256 digest
  is stored, so the key is shown once, in that answer, and never again — not in the
  admin, not in a backup. A high-entropy key needs no slow hash: the digest is looked up
  by its unique index.
- A token ends ``API_TOKEN_TTL_HOURS`` (8 by default) after it was issued.
- A user holds at most ``API_TOKENS_PER_USER`` (10 by default) live tokens: issuing one
  more ends the oldest, so a script that asks for a token on every run leaves no pile
  of live keys behind.
- A token carries a fingerprint of the account as it was issued: a keyed hash of the
  password hash, role, unit and active status. A password set by any path (the page,
  the admin, ``create_staff_user``), a role or unit changed, or the account switched
  off, and the fingerprint no longer matches: the token is refused and deleted. The
  role change and the sign-out pages also delete the user's tokens outright.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from accounts.models import ApiToken, User

#: The longest key accepted for a lookup (issued keys are 43 characters).
MAX_KEY_LENGTH = 128


def digest_of(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def fingerprint(user: User) -> str:
    """What must not have changed since the token was issued, keyed with SECRET_KEY."""
    facts = "|".join(
        [user.password, user.role, str(user.unit_id or ""), str(user.is_active)]
    )
    return salted_hmac("accounts.tokens.fingerprint", facts).hexdigest()


def token_create(*, user: User) -> str:
    """Issue a new token for ``user``; the key, returned here only."""
    now = timezone.now()
    ApiToken.objects.filter(user=user, expires_at__lte=now).delete()
    keep = max(settings.API_TOKENS_PER_USER - 1, 0)
    oldest = ApiToken.objects.filter(user=user).order_by("-expires_at", "-pk")[keep:]
    ApiToken.objects.filter(pk__in=list(oldest.values_list("pk", flat=True))).delete()
    key = secrets.token_urlsafe(32)
    ApiToken.objects.create(
        user=user,
        digest=digest_of(key),
        fingerprint=fingerprint(user),
        expires_at=now + timedelta(hours=settings.API_TOKEN_TTL_HOURS),
    )
    return key


class TokenRefused(Exception):
    """The key names no live token; ``message`` says why, in Chinese."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def token_user(key: str) -> tuple[User, ApiToken]:
    """The user a key signs in, or ``TokenRefused``. An expired token, or one whose
    account changed since it was issued, is deleted as it is refused."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise TokenRefused("令牌无效")
    token = (
        ApiToken.objects.select_related("user").filter(digest=digest_of(key)).first()
    )
    if token is None:
        raise TokenRefused("令牌无效")
    if token.expires_at <= timezone.now():
        token.delete()
        raise TokenRefused("令牌已过期，请重新获取")
    user = token.user
    if not user.is_active or not constant_time_compare(
        token.fingerprint, fingerprint(user)
    ):
        token.delete()
        raise TokenRefused("账户的密码、角色或状态已变更，令牌已失效，请重新获取")
    return user, token


def token_revoke(*, token_id: int) -> None:
    """End one token (the script that sent it logs out)."""
    ApiToken.objects.filter(pk=token_id).delete()


def tokens_revoke(*, user: User) -> int:
    """End every token of ``user``; how many there were."""
    count, _ = ApiToken.objects.filter(user=user).delete()
    return count
