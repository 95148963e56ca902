"""DRF authentication by ``Authorization: Token <key>`` against ``accounts.tokens``
(the header scheme of api-contract.md, unchanged)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from accounts.tokens import TokenRefused, token_user

KEYWORD = "Token"


class ApiTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != KEYWORD.lower().encode():
            return None  # not ours: the session may sign the request in
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                "令牌格式应为 Authorization: Token <令牌>"
            )
        try:
            key = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("令牌无效") from None
        try:
            return token_user(key)
        except TokenRefused as refused:
            raise exceptions.AuthenticationFailed(refused.message) from None

    def authenticate_header(self, request: Request) -> str:
        return KEYWORD


class ApiTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """The schema's security scheme, named as DRF's token scheme was (``tokenAuth``)."""

    target_class = "accounts.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "令牌前须加 “Token ” 前缀，如 Token abc…；8 小时后到期",
        }
