"""Training classes over the REST API (api-contract.md "Training classes and
evidence"): validate the body, call a service or selector, render. Every read goes
through ``classes_visible_to`` (another unit's or institution's class is a 404, exactly
like a missing one) and every change through one service of ``classes.services``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.apis import signed_in_user
from altay_skills.api import ErrorSerializer, ValidationErrorSerializer
from altay_skills.errors import DomainError
from altay_skills.record_ids import record_id
from claims.apis import DOCUMENT_REFUSED
from claims.selectors import claims_visible_to
from claims.serializers import ClaimSerializer, DocumentSerializer
from classes import services
from classes.models import TrainingClass
from classes.selectors import class_for, classes_visible_to
from classes.serializers import (
    ClassDocumentUploadSerializer,
    ClassInputSerializer,
    ClassListSerializer,
    ClassSerializer,
    CompleteBodySerializer,
    CompletionSerializer,
    ReturnBodySerializer,
    RosterBodySerializer,
    SessionBodySerializer,
)

TAG = "classes"
SCOPE = (
    "经办人看到本单位的培训班，培训机构人员看到本机构的培训班；地区审核人、财政和督查"
    "可查看全部；无权查看的培训班与不存在的一样返回 404。"
)
UNAUTHENTICATED = OpenApiResponse(ErrorSerializer, description="未登录")
FORBIDDEN = OpenApiResponse(ErrorSerializer, description="角色、单位或机构不允许此操作")
NOT_FOUND = OpenApiResponse(ErrorSerializer, description="培训班不存在或无权查看")
CONFLICT = OpenApiResponse(
    ErrorSerializer,
    description="培训班当前状态不允许此操作（invalid_transition、filing_too_late 等）",
)
ERRORS: dict[int, Any] = {
    400: ValidationErrorSerializer,
    401: UNAUTHENTICATED,
    403: FORBIDDEN,
    404: NOT_FOUND,
    409: CONFLICT,
}


def render_class(
    request: Request, class_id: int, *, code: int = status.HTTP_200_OK
) -> Response:
    cls = class_for(signed_in_user(request), class_id)
    return Response(
        ClassSerializer(cls, context={"request": request}).data, status=code
    )


class ClassListCreateApi(GenericAPIView):
    serializer_class = ClassListSerializer

    def get_queryset(self) -> QuerySet[TrainingClass]:
        return classes_visible_to(signed_in_user(self.request))

    @extend_schema(
        tags=[TAG],
        summary="培训班列表",
        description=SCOPE,
        responses={200: ClassListSerializer(many=True), 401: UNAUTHENTICATED},
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        data = ClassListSerializer(page, many=True).data
        return self.get_paginated_response(data)

    @extend_schema(
        tags=[TAG],
        summary="起草培训班",
        description=(
            "培训机构人员为本机构、县(市)经办人为本单位起草培训班（status 为 draft）。"
            "institution 默认为机构人员本机构，unit 默认为经办人本单位。"
        ),
        request=ClassInputSerializer,
        responses={201: ClassSerializer, **ERRORS},
    )
    def post(self, request: Request) -> Response:
        user = signed_in_user(request)
        body = ClassInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        cls = services.class_create(data=body.class_input(user), actor=user)
        return render_class(request, cls.pk, code=status.HTTP_201_CREATED)


class ClassDetailApi(APIView):
    @extend_schema(
        tags=[TAG],
        summary="培训班详情（名单、预审、课次）",
        description=SCOPE,
        responses={200: ClassSerializer, 401: UNAUTHENTICATED, 404: NOT_FOUND},
    )
    def get(self, request: Request, pk: int) -> Response:
        return render_class(request, pk)


class ClassRosterApi(APIView):
    @extend_schema(
        tags=[TAG],
        summary="设置培训班名单",
        description=(
            "草稿或已退回的培训班：设置名单；已备案、尚未开班的培训班：变更名单（记入审计）。"
            "每班不超过50人（roster_too_large）。返回的 roster 每行附按培训班如期结业的预审判定"
            "（precheck，与手工录入的申报用同一套规则和本人的实时补贴记录）。"
        ),
        request=RosterBodySerializer,
        responses={200: ClassSerializer, **ERRORS},
    )
    def put(self, request: Request, pk: int) -> Response:
        body = RosterBodySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.class_roster_set(
            class_id=pk,
            trainee_ids=body.validated_data["trainees"],
            actor=signed_in_user(request),
        )
        return render_class(request, pk)


class _ClassMoveApi(APIView):
    def move(self, request: Request, pk: int) -> None:
        raise NotImplementedError

    def post(self, request: Request, pk: int) -> Response:
        self.move(request, pk)
        return render_class(request, pk)


def _move_schema(summary: str, description: str, body: Any = None) -> Any:
    return extend_schema(
        tags=[TAG],
        summary=summary,
        description=description,
        request=body,
        responses={200: ClassSerializer, **ERRORS},
    )


class ClassFileApi(_ClassMoveApi):
    def move(self, request: Request, pk: int) -> None:
        services.class_file(class_id=pk, actor=signed_in_user(request))

    @_move_schema(
        "报备培训班",
        "培训机构人员或本单位经办人报备草稿（或已退回）的培训班；须在开班7日前"
        "（filing_too_late），名单不能为空（roster_empty）。",
    )
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)


class ClassAcceptApi(_ClassMoveApi):
    def move(self, request: Request, pk: int) -> None:
        services.class_accept(class_id=pk, actor=signed_in_user(request))

    @_move_schema(
        "备案（接受报备）",
        "培训班所在单位的经办人（非起草人）在开班7日前接受报备；逾期返回 409 "
        "filing_too_late。备案后名单冻结，开班前的变更记入审计。",
    )
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)


class ClassReturnApi(_ClassMoveApi):
    def move(self, request: Request, pk: int) -> None:
        body = ReturnBodySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.class_return(
            class_id=pk,
            actor=signed_in_user(request),
            reason=body.validated_data["reason"],
        )

    @_move_schema(
        "退回报备", "培训班所在单位的经办人退回报备，须填写理由。", ReturnBodySerializer
    )
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)


class ClassCancelApi(_ClassMoveApi):
    def move(self, request: Request, pk: int) -> None:
        body = ReturnBodySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.class_cancel(
            class_id=pk,
            actor=signed_in_user(request),
            reason=body.validated_data["reason"],
        )

    @_move_schema(
        "取消培训班",
        "培训机构人员或本单位经办人取消尚未开班的培训班，须填写理由。",
        ReturnBodySerializer,
    )
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)


class ClassStartApi(_ClassMoveApi):
    def move(self, request: Request, pk: int) -> None:
        services.class_start(class_id=pk, actor=signed_in_user(request))

    @_move_schema("开班", "已备案的培训班在计划开班日期起开班。")
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)


class ClassSessionApi(APIView):
    @extend_schema(
        tags=[TAG],
        summary="记录课次与出勤",
        description=(
            "培训中的培训班记录一次课：日期、学时和出勤人员（须在名单上）；"
            "sign_in_sheet 可选，为已上传到本培训班、尚未关联课次的签到表材料 id。"
        ),
        request=SessionBodySerializer,
        responses={201: ClassSerializer, **ERRORS},
    )
    def post(self, request: Request, pk: int) -> Response:
        body = SessionBodySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        v = body.validated_data
        services.class_session_record(
            class_id=pk,
            on=v["date"],
            hours=v["hours"],
            present=v["present"],
            actor=signed_in_user(request),
            sign_in_sheet_id=v.get("sign_in_sheet"),
        )
        return render_class(request, pk, code=status.HTTP_201_CREATED)


class ClassDocumentsApi(APIView):
    @extend_schema(
        tags=[TAG],
        summary="上传培训班的证明材料",
        description=(
            "培训机构人员或本单位经办人为未取消的培训班上传材料（multipart：kind、file，"
            "签到表可附 session 关联课次）。与申报材料同一套检查：只接收PDF、JPEG、PNG"
            "（按文件内容识别），不超过10 MB（超过返回 413），图片重新编码去除元数据，"
            "含脚本、启动动作或嵌入文件的PDF被拒绝。文件的SHA-256写入该培训班的审计链"
            "（attach_document）；下载经 GET /api/documents/{id}/，按培训班的查看范围。"
        ),
        request={"multipart/form-data": ClassDocumentUploadSerializer},
        responses={
            201: DocumentSerializer,
            400: DOCUMENT_REFUSED,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: CONFLICT,
            413: OpenApiResponse(ErrorSerializer, description="文件超过10 MB"),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        # The service checks the scope (404) and the permission (403, 409) before the
        # kind and the file (400); the serializer above documents the body.
        body = request.data if isinstance(request.data, Mapping) else {}
        session = body.get("session")
        document = services.class_attach_document(
            class_id=pk,
            kind=body.get("kind"),
            upload=body.get("file"),
            actor=signed_in_user(request),
            session_id=_session_id(session),
        )
        return Response(DocumentSerializer(document).data, status=201)


def _session_id(value: object) -> int | None:
    """The multipart ``session`` field: empty is none; anything but an id is a 400."""
    if value in (None, ""):
        return None
    found = record_id(value)
    if found is None or found == 0:
        raise DomainError("invalid_reference", "课次 session 应为课次 id")
    return found


class ClassCompleteApi(APIView):
    @extend_schema(
        tags=[TAG],
        summary="结业并生成申报",
        description=(
            "培训班所在单位的经办人填写名单上每个人的结业结果，一次生成全部申报（草稿），"
            "每笔按手工录入的申报同样判定；出勤不足计划学时80%的判定为 "
            "attendance_insufficient。任何一笔出错则全部不生成。"
        ),
        request=CompleteBodySerializer,
        responses={200: CompletionSerializer, **ERRORS},
    )
    def post(self, request: Request, pk: int) -> Response:
        user = signed_in_user(request)
        body = CompleteBodySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        claims = services.class_complete(
            class_id=pk, results=body.results_given(), actor=user
        )
        cls = class_for(user, pk)
        created = claims_visible_to(user).filter(pk__in=[c.pk for c in claims])
        context = {"request": request}
        return Response(
            {
                "training_class": ClassSerializer(cls, context=context).data,
                "claims": ClaimSerializer(
                    created.order_by("pk"), many=True, context=context
                ).data,
            }
        )
