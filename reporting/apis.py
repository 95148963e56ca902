"""Read-only answers over the REST API: each role's notices and the public side.

The public endpoints need no login and carry counts and sums only.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.apis import signed_in_user
from altay_skills.api import ErrorSerializer, ValidationErrorSerializer
from reporting import selectors
from reporting.serializers import (
    CatalogueEntrySerializer,
    DisclosureQuerySerializer,
    DisclosureSerializer,
    NotificationSerializer,
    PublicInstitutionSerializer,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
UNAUTHENTICATED = OpenApiResponse(ErrorSerializer, description="未登录")
FORBIDDEN = OpenApiResponse(ErrorSerializer, description="角色不允许此操作")
BAD_BODY = OpenApiResponse(
    ValidationErrorSerializer, description="输入有误，未保存任何内容"
)
BAD_QUERY = OpenApiResponse(ValidationErrorSerializer, description="筛选条件有误")
ROLLUP_NOT_FOUND = OpenApiResponse(
    ErrorSerializer, description="汇总不存在或无权查看（经办人、管理员）"
)


# --- Notices -------------------------------------------------------------------------------------
class NotificationListApi(APIView):
    @extend_schema(
        tags=["notifications"],
        summary="我的提醒",
        description=(
            "经办人：本单位被驳回、退回的申报和已审结的报表；地区审核人：待审核的报表和"
            "系统通知；财政：已生成可拨付的汇总和待追回款。"
        ),
        responses={200: NotificationSerializer(many=True), 401: UNAUTHENTICATED},
    )
    def get(self, request: Request) -> Response:
        items = selectors.notifications_for(signed_in_user(request))
        return Response(NotificationSerializer(items, many=True).data)


# --- The public side: no login, no personal data --------------------------------------------
PUBLIC = "public"


class _PublicApi(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]


class PublicDisclosureApi(_PublicApi):
    @extend_schema(
        tags=[PUBLIC],
        summary="资金使用情况公开（无需登录）",
        description=(
            "各单位各季度按项目和资金渠道的补贴人次和金额及合计（五(一) 向社会公开资金使用"
            "情况），只含已生成的汇总；不含任何个人信息。可按季度（如 2020Q1）筛选。"
        ),
        parameters=[DisclosureQuerySerializer],
        responses={200: DisclosureSerializer, 400: BAD_QUERY},
        auth=[],
    )
    def get(self, request: Request) -> Response:
        query = DisclosureQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        quarter = query.validated_data.get("quarter")
        disclosure = selectors.public_disclosure(quarter=quarter)
        data = {
            "quarter": quarter,
            "quarters": selectors.published_quarters(),
            "rows": disclosure.rows,
            "by_unit": [
                {"unit": unit, "person_times": times, "amount": amount}
                for unit, times, amount in disclosure.by_unit
            ],
            "person_times": disclosure.person_times,
            "amount": disclosure.amount,
        }
        return Response(DisclosureSerializer(data).data)


class PublicProgramListApi(_PublicApi):
    @extend_schema(
        tags=[PUBLIC],
        summary="补贴性培训项目目录（无需登录）",
        description="七(三)：按人申报补贴的项目及现行补贴标准。",
        responses={200: CatalogueEntrySerializer(many=True)},
        auth=[],
    )
    def get(self, request: Request) -> Response:
        return Response(
            CatalogueEntrySerializer(selectors.program_catalogue(), many=True).data
        )


class PublicInstitutionListApi(_PublicApi):
    @extend_schema(
        tags=[PUBLIC],
        summary="培训机构目录（无需登录）",
        description="七(三)：列入目录的培训机构和企业（公开登记信息）。",
        responses={200: PublicInstitutionSerializer(many=True)},
        auth=[],
    )
    def get(self, request: Request) -> Response:
        return Response(
            PublicInstitutionSerializer(
                selectors.institution_catalogue(), many=True
            ).data
        )
