"""``POST /api/auth/token/``: a token for scripts (the browser uses sessions + CSRF);
``POST /api/auth/logout/``: the script's token ends.

The credentials go through ``django.contrib.auth.authenticate`` with the request, so
django-axes counts failures per account and address exactly as for the login page.
Each request issues a new token, shown only in that answer (``accounts.tokens``).
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib.auth import authenticate

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import ApiTokenAuthentication
from accounts.models import ApiToken, User
from accounts.tokens import token_create, token_revoke
from altay_skills.api import ErrorSerializer, ValidationErrorSerializer
from altay_skills.errors import DomainError


class LockedOut(DomainError):
    """Too many failed sign-ins for this account from this address (django-axes)."""

    status_code = 429

    def __init__(self) -> None:
        super().__init__("locked_out", "登录失败次数过多，账户已暂时锁定，请稍后再试")


class TokenCredentialsSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(
        max_length=4096, trim_whitespace=False, style={"input_type": "password"}
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        request: Request = self.context["request"]
        user = authenticate(
            request=request, username=attrs["username"], password=attrs["password"]
        )
        if user is None:
            if getattr(request, "axes_locked_out", False):
                raise LockedOut()
            raise serializers.ValidationError(
                "用户名或密码错误", code="invalid_credentials"
            )
        if not user.is_active:  # pragma: no cover - ModelBackend refuses them already
            raise serializers.ValidationError(
                "用户名或密码错误", code="invalid_credentials"
            )
        attrs["user"] = user
        return attrs


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(
        help_text="之后以 Authorization: Token … 发送；只在此处显示一次，"
        "有效期 API_TOKEN_TTL_HOURS 小时（默认 8 小时）"
    )


class TokenObtainApi(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    # a token is shown once: its answer is never kept for an Idempotency-Key's replay
    idempotency_exempt = True

    @extend_schema(
        tags=["auth"],
        summary="获取 API 令牌",
        description=(
            "用户名和密码换取令牌；之后在请求头发送 Authorization: Token <令牌>。"
            "每次请求签发一个新令牌，只显示这一次；令牌在签发后 8 小时（可配置）"
            "到期，修改密码、变更角色或单位、退出登录后失效，失效后返回 401。"
            "用户名或密码错误返回 400（code 为 invalid_credentials）；"
            "连续失败过多返回 429（code 为 locked_out）。"
        ),
        request=TokenCredentialsSerializer,
        responses={
            200: TokenSerializer,
            400: ValidationErrorSerializer,
            429: OpenApiResponse(ErrorSerializer, description="登录失败次数过多"),
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        body = TokenCredentialsSerializer(
            data=request.data, context={"request": request}
        )
        body.is_valid(raise_exception=True)
        return Response({"token": token_create(user=body.validated_data["user"])})


class TokenLogoutApi(APIView):
    authentication_classes = [ApiTokenAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["auth"],
        summary="注销 API 令牌",
        description="使本次请求所带的令牌立即失效（同一用户的其他令牌不受影响）。",
        request=None,
        responses={
            204: None,
            401: OpenApiResponse(ErrorSerializer, description="令牌无效或已失效"),
        },
    )
    def post(self, request: Request) -> Response:
        token = cast(ApiToken, request.auth)
        token_revoke(token_id=token.pk)
        return Response(status=204)


def signed_in_user(request: Request) -> User:
    """The user of a request that passed ``IsAuthenticated`` (the API's default)."""
    return cast(User, request.user)
