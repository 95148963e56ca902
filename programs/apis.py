"""Reference data: units, programs, trades, levels, institutions (any signed-in user).

The lists are short catalogue tables, so they come back as plain JSON arrays.
"""

from __future__ import annotations

from django.db.models import QuerySet

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.apis import signed_in_user
from altay_skills.api import (
    ErrorSerializer,
    ValidationErrorSerializer,
)
from programs.models import Institution, Level, Program, Trade, Unit
from programs.serializers import (
    InstitutionCreateSerializer,
    InstitutionFilterSerializer,
    InstitutionSerializer,
    LevelSerializer,
    ProgramSerializer,
    TradeSerializer,
    UnitSerializer,
)
from programs.services import institution_create

TAG = "reference"
UNAUTHENTICATED = OpenApiResponse(ErrorSerializer, description="未登录")


class UnitListApi(APIView):
    @extend_schema(
        tags=[TAG],
        summary="单位列表",
        description="9个申报单位；654300 为地区本级，喀纳斯景区使用 654399。",
        responses={200: UnitSerializer(many=True), 401: UNAUTHENTICATED},
    )
    def get(self, request: Request) -> Response:
        return Response(UnitSerializer(Unit.objects.all(), many=True).data)


class ProgramListApi(APIView):
    @extend_schema(
        tags=[TAG],
        summary="项目列表",
        description="通知三、四部分的24个项目；claimable 表示按人申报补贴。",
        responses={200: ProgramSerializer(many=True), 401: UNAUTHENTICATED},
    )
    def get(self, request: Request) -> Response:
        return Response(ProgramSerializer(Program.objects.all(), many=True).data)


class TradeListApi(APIView):
    @extend_schema(
        tags=[TAG],
        summary="职业(工种)列表",
        responses={200: TradeSerializer(many=True), 401: UNAUTHENTICATED},
    )
    def get(self, request: Request) -> Response:
        return Response(TradeSerializer(Trade.objects.all(), many=True).data)


class LevelListApi(APIView):
    @extend_schema(
        tags=[TAG],
        summary="职业技能等级列表",
        responses={200: LevelSerializer(many=True), 401: UNAUTHENTICATED},
    )
    def get(self, request: Request) -> Response:
        return Response(LevelSerializer(Level.objects.all(), many=True).data)


class InstitutionListCreateApi(APIView):
    @extend_schema(
        tags=[TAG],
        summary="培训机构/企业列表",
        parameters=[InstitutionFilterSerializer],
        responses={
            200: InstitutionSerializer(many=True),
            400: ValidationErrorSerializer,
            401: UNAUTHENTICATED,
        },
    )
    def get(self, request: Request) -> Response:
        query = InstitutionFilterSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        institutions = _institutions(**query.validated_data)
        return Response(InstitutionSerializer(institutions, many=True).data)

    @extend_schema(
        tags=[TAG],
        summary="登记培训机构/企业",
        description=(
            "经办人登记本单位的机构（unit 可省略），管理员可登记任何单位的机构；"
            "困难企业认定（certified_difficult）只能由管理员录入。"
            "统一社会信用代码有误时返回 400，code 为 invalid_credit_code。"
        ),
        request=InstitutionCreateSerializer,
        responses={
            201: InstitutionSerializer,
            400: ValidationErrorSerializer,
            401: UNAUTHENTICATED,
            403: ErrorSerializer,
        },
    )
    def post(self, request: Request) -> Response:
        body = InstitutionCreateSerializer(
            data=request.data, context={"request": request}
        )
        body.is_valid(raise_exception=True)
        data = body.validated_data
        institution = institution_create(
            name=data["name"],
            kind=data["kind"],
            credit_code=data["credit_code"],
            unit_id=data["unit"].code,
            certified_difficult=data["certified_difficult"],
            actor=signed_in_user(request),
        )
        return Response(
            InstitutionSerializer(institution).data, status=status.HTTP_201_CREATED
        )


def _institutions(
    *, unit: str | None = None, kind: str | None = None
) -> QuerySet[Institution]:
    institutions = Institution.objects.select_related("unit")
    if unit:
        institutions = institutions.filter(unit_id=unit)
    if kind:
        institutions = institutions.filter(kind=kind)
    return institutions
