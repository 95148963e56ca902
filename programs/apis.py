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
from altay_skills.errors import NotFound
from altay_skills.permissions import require
from programs.models import Institution, Level, PolicyEntry, Program, Trade, Unit
from programs.permissions import can_admit_institution, can_enter_policy
from programs.serializers import (
    InstitutionAdmitSerializer,
    InstitutionCreateSerializer,
    InstitutionFilterSerializer,
    InstitutionSerializer,
    LevelSerializer,
    PolicyEntryCreateSerializer,
    PolicyEntrySerializer,
    ProgramSerializer,
    TradeSerializer,
    UnitSerializer,
)
from programs.services import (
    institution_admit,
    institution_create,
    policy_entry_create,
)

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
            "新登记的机构为“待认定”（admitted=false）：不在公开的培训机构目录中，"
            "以其为培训机构的申报可保存为草稿，但须经另一位管理员认定"
            "（POST /api/institutions/{id}/admit/）后方可提交。"
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
            insured=data["insured"],
            actor=signed_in_user(request),
        )
        return Response(
            InstitutionSerializer(institution).data, status=status.HTTP_201_CREATED
        )


class InstitutionAdmitApi(APIView):
    @extend_schema(
        tags=[TAG],
        summary="认定培训机构列入目录（管理员）",
        description=(
            "七(三) 培训评价机构目录：系统管理员认定经办人登记的机构（不能认定本人登记的）。"
            "认定依据必填，记入机构的认定人、认定时间和变更历史。"
            "已认定的机构返回 409，code 为 already_admitted。"
        ),
        request=InstitutionAdmitSerializer,
        responses={
            200: InstitutionSerializer,
            400: OpenApiResponse(
                ValidationErrorSerializer,
                description="未填写认定依据（reason_required）或含控制字符",
            ),
            401: UNAUTHENTICATED,
            403: ErrorSerializer,
            404: ErrorSerializer,
            409: OpenApiResponse(ErrorSerializer, description="已列入目录"),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        user = signed_in_user(request)
        require(can_admit_institution(user))  # the role first: 403, whatever the id
        if not Institution.objects.filter(pk=pk).exists():
            raise NotFound("未找到该培训机构/企业")
        body = InstitutionAdmitSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        institution = institution_admit(
            institution_id=pk, actor=user, reason=body.validated_data["reason"]
        )
        return Response(InstitutionSerializer(institution).data)


class PolicyEntryListCreateApi(APIView):
    @extend_schema(
        tags=[TAG],
        summary="政策标准列表",
        description=(
            "全部有日期的政策标准（过去、现行和将来的）：补贴上限、比例、次数、政策执行期"
            "（plan_period）、县(市)的项目制上浮决定等。unit 为空表示全地区适用；"
            "同类别的单位标准优先于全地区标准。申报按培训结束日期适用当日生效的标准。"
        ),
        responses={200: PolicyEntrySerializer(many=True), 401: UNAUTHENTICATED},
    )
    def get(self, request: Request) -> Response:
        entries = PolicyEntry.objects.order_by(
            "kind", "program_id", "level_id", "unit_id", "effective_from", "pk"
        )
        return Response(PolicyEntrySerializer(entries, many=True).data)

    @extend_schema(
        tags=[TAG],
        summary="录入政策标准（管理员）",
        description=(
            "录入一条有日期的政策标准及其依据文件。数值须与类别相符（cap、"
            "work_in_lieu_monthly 填 amount；project_uplift、advance_ratio 填 ratio；"
            "次数、月数、起始月份填 quantity；plan_period 不填数值，其生效期即"
            "政策执行期）。项目制上浮（project_uplift）是县级人社部门商同级财政部门的"
            "决定：须填写 unit，0<ratio≤0.5。与同项目、同等级、同单位、同类别标准的"
            "生效期重叠时返回 400，code 为 policy_overlap。"
        ),
        request=PolicyEntryCreateSerializer,
        responses={
            201: PolicyEntrySerializer,
            400: ValidationErrorSerializer,
            401: UNAUTHENTICATED,
            403: ErrorSerializer,
        },
    )
    def post(self, request: Request) -> Response:
        user = signed_in_user(request)
        require(can_enter_policy(user))  # the role first: 403 before 400
        body = PolicyEntryCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        entry = policy_entry_create(
            actor=user,
            kind=data["kind"],
            program_id=data["program"].pk if data["program"] else None,
            level_id=data["level"].pk if data["level"] else None,
            unit_id=data["unit"].pk if data["unit"] else None,
            amount=data["amount"],
            ratio=data["ratio"],
            quantity=data["quantity"],
            effective_from=data["effective_from"],
            effective_to=data["effective_to"],
            clause=data["clause"],
            source_document=data["source_document"],
            note=data["note"],
        )
        return Response(
            PolicyEntrySerializer(entry).data, status=status.HTTP_201_CREATED
        )


def _institutions(
    *,
    unit: str | None = None,
    kind: str | None = None,
    admitted: bool | None = None,
) -> QuerySet[Institution]:
    institutions = Institution.objects.select_related("unit")
    if unit:
        institutions = institutions.filter(unit_id=unit)
    if kind:
        institutions = institutions.filter(kind=kind)
    if admitted is not None:
        institutions = institutions.filter(admitted=admitted)
    return institutions
