"""The public notice over the API (公示, issue 17): no login, nothing personal beyond the
masked forms (张*三, 654301********1234).

``GET /api/public/notices/?unit=&quarter=`` the open and closed notices with their
lines; ``GET /api/public/challenge/`` a new challenge; ``POST /api/public/objections/``
an objection to one line, guarded by the challenge and counted per address
(``quarters.throttles``) → 201 ``{"reference"}``; ``GET /api/public/objections/{ref}/``
what became of it.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from altay_skills.api import ErrorSerializer, ValidationErrorSerializer
from altay_skills.errors import DomainError, NotFound
from quarters import services
from quarters.selectors import objection_by_reference, public_notices
from quarters.serializers import (
    ChallengeIssuedSerializer,
    ObjectionLodgedSerializer,
    ObjectionLodgeSerializer,
    ObjectionOutcomeSerializer,
    PublicNoticeQuerySerializer,
    PublicNoticeSerializer,
)
from quarters.throttles import (
    CHALLENGE_FAILED,
    ObjectionThrottle,
    challenge_new,
    challenge_passed,
)

PUBLIC = "public"
#: A reference code as ``services.objection_lodge`` draws it.
REFERENCE_PATTERN = f"^[{services.REFERENCE_ALPHABET}]{{{services.REFERENCE_LENGTH}}}$"
BAD_BODY = OpenApiResponse(ValidationErrorSerializer, description="输入有误")


class _PublicApi(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]


class PublicNoticeListApi(_PublicApi):
    @extend_schema(
        tags=[PUBLIC],
        summary="补贴对象公示（无需登录）",
        description=(
            "季度报表报送后，其申报公示若干个工作日（政策标准“公示期（工作日）”，遇法定节假日"
            "和调休顺延）。按单位（unit，如 654301）和季度（quarter，如 2020Q1）筛选，列出"
            "公示中和已结束的公示及每笔申报：姓名中间隐去、身份证号码只显示前6位和后4位、"
            "培训机构、项目、职业(工种)和等级、金额。不含其他个人信息。"
        ),
        parameters=[PublicNoticeQuerySerializer],
        responses={200: PublicNoticeSerializer(many=True), 400: BAD_BODY},
        auth=[],
    )
    def get(self, request: Request) -> Response:
        query = PublicNoticeQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        notices = public_notices(
            unit=query.validated_data.get("unit", ""),
            quarter=query.validated_data.get("quarter") or "",
        )
        return Response(PublicNoticeSerializer(notices, many=True).data)


class PublicChallengeApi(_PublicApi):
    @extend_schema(
        tags=[PUBLIC],
        summary="取得验证码（无需登录）",
        description=(
            "提出异议前取得一张验证码图片（本系统生成，不依赖外部服务）：key 和图片地址；"
            "每张只能用一次，10分钟内有效。"
        ),
        responses={200: ChallengeIssuedSerializer},
        auth=[],
    )
    def get(self, request: Request) -> Response:
        return Response(ChallengeIssuedSerializer(challenge_new()).data)


class PublicObjectionLodgeApi(_PublicApi):
    throttle_classes = [ObjectionThrottle]

    @extend_schema(
        tags=[PUBLIC],
        summary="对公示提出异议（无需登录）",
        description=(
            "对公示中的一行（notice 为公示编号，line 为公示明细编号）提出异议：text 写明"
            "哪里不对（必填），contact 为联系方式（选填），challenge 为验证码"
            "（{key, answer}，见 /api/public/challenge/；不正确时 400，code 为"
            " challenge_failed）。同一地址提交过于频繁时 429（code 为 throttled）。"
            "公示期已结束时 409（notice_closed）。返回查询码 reference，凭此查询核查结果。"
        ),
        request=ObjectionLodgeSerializer,
        responses={
            201: ObjectionLodgedSerializer,
            400: BAD_BODY,
            404: OpenApiResponse(ErrorSerializer, description="公示或明细不存在"),
            409: OpenApiResponse(ErrorSerializer, description="公示期已结束"),
            429: OpenApiResponse(ErrorSerializer, description="提交过于频繁"),
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        body = ObjectionLodgeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        if not challenge_passed(data["challenge"]["key"], data["challenge"]["answer"]):
            raise DomainError("challenge_failed", str(CHALLENGE_FAILED))
        objection = services.objection_lodge(
            notice_id=data["notice"],
            line_id=data["line"],
            text=data["text"],
            contact=data["contact"],
            actor=None,
        )
        return Response(
            ObjectionLodgedSerializer(objection).data, status=status.HTTP_201_CREATED
        )


class PublicObjectionOutcomeApi(_PublicApi):
    @extend_schema(
        tags=[PUBLIC],
        summary="凭查询码查询异议核查结果（无需登录）",
        description=(
            "status：open 待核查，upheld 异议成立，dismissed 异议不成立；finding 为核查结论。"
            "不显示提出人的联系方式和申报人的信息。"
        ),
        parameters=[
            OpenApiParameter(
                "reference",
                str,
                OpenApiParameter.PATH,
                description="提出异议时取得的查询码（12位字母数字）",
                pattern=REFERENCE_PATTERN,
            )
        ],
        responses={
            200: ObjectionOutcomeSerializer,
            404: OpenApiResponse(ErrorSerializer, description="查询码不存在"),
        },
        auth=[],
    )
    def get(self, request: Request, reference: str) -> Response:
        objection = objection_by_reference(reference)
        if objection is None:
            raise NotFound("未找到该查询码的异议")
        return Response(ObjectionOutcomeSerializer(objection).data)
