"""The trainee's confirmation (issue 17): ``GET``/``POST /api/confirmations/{code}/``
without a login, rate-limited per address; and the unit's finding on a grievance,
``POST /api/trainee-grievances/{id}/finding/`` (and the list, ``GET
/api/trainee-grievances/``)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.apis import signed_in_user
from altay_skills.api import ErrorSerializer, ValidationErrorSerializer
from altay_skills.permissions import require
from claims.confirmation_throttle import ConfirmationThrottle
from claims.confirmations import (
    confirmation_answer,
    confirmation_by_code,
    grievance_find,
    grievances_visible_to,
    public_view,
)
from claims.models import GrievanceOutcome, TraineeGrievance
from claims.permissions import can_find_grievance, can_read_grievances

TAG = "培训人员确认"
CODE = OpenApiParameter(
    "code",
    str,
    OpenApiParameter.PATH,
    description="确认码（10位，可带连字符，如 ABCDE-FGHJK）",
    pattern="^[2-9A-HJ-NP-Za-hj-np-z]{5}-?[2-9A-HJ-NP-Za-hj-np-z]{5}$",
)
THROTTLED = OpenApiResponse(
    ErrorSerializer,
    description="请求过于频繁（throttled）或确认码已锁定（confirmation_locked）",
)


class ConfirmationSerializer(serializers.Serializer):
    name_masked = serializers.CharField(help_text="姓名（中间字隐去）")
    id_number_masked = serializers.CharField(
        help_text="身份证号码（只显示前6位：后4位是本人确认时要填写的）"
    )
    program = serializers.CharField()
    institution_name = serializers.CharField(source="institution")
    unit = serializers.CharField()
    training_start = serializers.DateField()
    training_end = serializers.DateField()
    hours_attended = serializers.DecimalField(
        max_digits=6, decimal_places=1, allow_null=True
    )
    amount_claimed = serializers.DecimalField(max_digits=12, decimal_places=2)
    status = serializers.CharField(help_text="pending | confirmed | disputed")
    status_label = serializers.CharField()
    answered_at = serializers.DateTimeField(allow_null=True)
    claim_closed = serializers.BooleanField(
        help_text="申报已撤回、驳回或删除：无需答复（答复得 409 claim_closed）"
    )


class ConfirmationAnswerSerializer(serializers.Serializer):
    answer = serializers.ChoiceField(
        choices=[("confirmed", "是我本人参加"), ("disputed", "我没有参加此培训")]
    )
    id_last4 = serializers.CharField(
        max_length=4, min_length=4, help_text="身份证号码后四位"
    )


class ConfirmationApi(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes = [ConfirmationThrottle]

    @extend_schema(
        tags=[TAG],
        summary="查看以本人名义申报的培训（无需登录）",
        description="凭确认码查看申报的项目、机构、日期、出勤学时和申请金额；只显示脱敏信息。",
        parameters=[CODE],
        responses={200: ConfirmationSerializer, 404: ErrorSerializer, 429: THROTTLED},
        auth=[],
    )
    def get(self, request: Request, code: str) -> Response:
        view = public_view(confirmation_by_code(code))
        return Response(ConfirmationSerializer(view).data)

    @extend_schema(
        tags=[TAG],
        summary="本人确认或否认参加培训（无需登录）",
        description=(
            "answer 为 confirmed（是我本人参加）或 disputed（我没有参加此培训），须填写身份证"
            "号码后四位；错误多次后确认码暂时锁定（429 confirmation_locked），再次锁定的时长"
            "逐次加倍。否认参加即向申报单位提出申诉，核查结论录入前暂停拨付余额。已答复的"
            "得 409 already_answered；申报已撤回、驳回或删除的得 409 claim_closed。"
            "申报退回后修改了所示信息的，原确认码失效，重新提交时发送新确认码。"
        ),
        request=ConfirmationAnswerSerializer,
        parameters=[CODE],
        responses={
            200: ConfirmationSerializer,
            400: ValidationErrorSerializer,
            404: ErrorSerializer,
            409: ErrorSerializer,
            429: THROTTLED,
        },
        auth=[],
    )
    def post(self, request: Request, code: str) -> Response:
        body = ConfirmationAnswerSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        confirmation = confirmation_answer(code=code, **body.validated_data)
        return Response(ConfirmationSerializer(public_view(confirmation)).data)


class GrievanceSerializer(serializers.ModelSerializer):
    claim = serializers.IntegerField(source="claim_id")
    trainee_name = serializers.CharField(source="claim.trainee.name")
    id_number_masked = serializers.CharField(source="claim.trainee.id_number_masked")
    unit = serializers.CharField(source="claim.unit_id")
    is_open = serializers.BooleanField()

    class Meta:
        model = TraineeGrievance
        fields = [
            "id",
            "claim",
            "trainee_name",
            "id_number_masked",
            "unit",
            "opened_at",
            "due_on",
            "is_open",
            "outcome",
            "finding",
            "found_at",
        ]


class GrievanceFindingSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=GrievanceOutcome.choices)
    reason = serializers.CharField(max_length=500, help_text="核查情况")


class GrievanceListApi(APIView):
    @extend_schema(
        tags=[TAG],
        summary="培训人员申诉（否认参加培训）列表",
        description="经办人看本单位的，审核人和督查看全地区的；按核查期限排序。",
        responses={200: GrievanceSerializer(many=True), 403: ErrorSerializer},
    )
    def get(self, request: Request) -> Response:
        user = signed_in_user(request)
        require(can_read_grievances(user))
        rows = grievances_visible_to(user)[:500]
        return Response(GrievanceSerializer(rows, many=True).data)


class GrievanceFindingApi(APIView):
    @extend_schema(
        tags=[TAG],
        summary="录入申诉核查结论",
        description=(
            "outcome：upheld（属实，本人未参加，继续暂停拨付，申报应驳回）或 dismissed"
            "（不属实，恢复拨付）；reason 必填。申报所属单位的经办人或地区审核人；只能录入一次"
            "（409 already_found）。"
        ),
        request=GrievanceFindingSerializer,
        responses={
            200: GrievanceSerializer,
            400: ValidationErrorSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,
            409: ErrorSerializer,
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        user = signed_in_user(request)
        require(can_find_grievance(user))
        body = GrievanceFindingSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        grievance = grievance_find(
            grievance_id=pk,
            outcome=body.validated_data["outcome"],
            reason=body.validated_data["reason"],
            actor=user,
        )
        fresh = grievances_visible_to(user).get(pk=grievance.pk)
        return Response(GrievanceSerializer(fresh).data)
