"""``POST /api/auth/token/``: a token for scripts (the browser uses sessions + CSRF).

The credentials go through ``django.contrib.auth.authenticate`` with the request, so
django-axes counts failures per account and address exactly as for the login page.
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib.auth import authenticate

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
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
    token = serializers.CharField(help_text="之后以 Authorization: Token … 发送")


class TokenObtainApi(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["auth"],
        summary="获取 API 令牌",
        description=(
            "用户名和密码换取令牌；之后在请求头发送 Authorization: Token <令牌>。"
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
        token, _ = Token.objects.get_or_create(user=body.validated_data["user"])
        return Response({"token": token.key})


def signed_in_user(request: Request) -> User:
    """The user of a request that passed ``IsAuthenticated`` (the API's default)."""
    return cast(User, request.user)
