"""The OpenAPI schema class: every view documents the errors DRF answers for it."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiResponse


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's schema plus the errors every view of a kind can answer.

    A view documents its own business errors (403, 404, 409 …); the answers DRF gives
    before the view runs are added here, so the schema lists every status the API
    really returns: a paginated list answers 404 for a page past the end, a body that
    is not JSON (or a form) answers 400 or 415, and a view behind a login answers 401.
    """

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        # here, not at the top: altay_skills.api imports drf_spectacular.views, which
        # reads DEFAULT_SCHEMA_CLASS (this class) while it loads
        from altay_skills.api import ErrorSerializer, ValidationErrorSerializer

        bodies: dict[str, Any] = super()._get_response_bodies(direction)
        extra: dict[str, OpenApiResponse] = {}
        if self._is_list_view() and self._get_paginator() is not None:
            extra["404"] = OpenApiResponse(ErrorSerializer, description="页码超出范围")
        if self._get_request_body(direction="request") is not None:
            extra["400"] = OpenApiResponse(
                ValidationErrorSerializer, description="请求内容无法解析或输入有误"
            )
            extra["415"] = OpenApiResponse(
                ErrorSerializer, description="不支持的内容类型（请用 JSON）"
            )
        if self.view.get_authenticators():
            extra["401"] = OpenApiResponse(ErrorSerializer, description="未登录")
        for code, response in extra.items():
            if code not in bodies:
                bodies[code] = self._get_response_for_code(
                    response, code, direction=direction
                )
        return dict(sorted(bodies.items()))
