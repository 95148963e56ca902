"""Claims over the REST API: validate the body, call a service or selector, render.

Every read goes through ``claims_visible_to`` (the list through ``claims_listed``, the
same scope; a claim the user may not see is a 404, exactly like a missing one) and
every change through one service of
``claims.services``, which checks the role, the unit and the transition and writes the
audit event — the same functions the browser calls.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from django.db.models import QuerySet
from django.http import FileResponse

from django_filters.rest_framework import DjangoFilterBackend
from django_filters.utils import translate_validation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from accounts.apis import signed_in_user
from accounts.models import User
from altay_skills.api import (
    ErrorSerializer,
    ValidationErrorSerializer,
)
from altay_skills.client_address import client_address
from claims import listing, services
from claims.filters import ClaimFilter
from claims.models import Claim
from claims.permissions import actions_for_many
from claims.selectors import (
    claim_events,
    claim_for,
    claims_listed,
    policy_entry_ids,
)
from claims.serializers import (
    ClaimEventSerializer,
    ClaimInputSerializer,
    ClaimSerializer,
    DecisionSerializer,
    DocumentSerializer,
    DocumentUploadSerializer,
    NotEligibleSerializer,
    ReasonSerializer,
    WarnedDecision,
    claim_list_rows,
)
from claims.warnings import warnings_for_claims

TAG = "claims"
SCOPE = (
    "经办人只能看到和操作本单位的申报；地区审核人、财政和督查可查看全部单位的申报；"
    "管理员按最小权限原则不接触申报（列表为空，单条为 404）。"
    "无权查看的申报与不存在的申报一样返回 404。"
)
UNAUTHENTICATED = OpenApiResponse(ErrorSerializer, description="未登录")
FORBIDDEN = OpenApiResponse(ErrorSerializer, description="角色或单位不允许此操作")
NOT_FOUND = OpenApiResponse(ErrorSerializer, description="申报不存在或无权查看")
CONFLICT = OpenApiResponse(
    ErrorSerializer, description="申报当前状态不允许此操作（invalid_transition 等）"
)
BAD_BODY = OpenApiResponse(
    ValidationErrorSerializer,
    description="输入有误，未保存任何内容；结束日期早于开始日期时 code 为 invalid_dates",
)


def _claims(user: User) -> QuerySet[Claim]:
    return claims_listed(user)


def render_claim(
    request: Request, claim_id: int, *, code: int = status.HTTP_200_OK
) -> Response:
    """The claim as the user now sees it (re-read through their scope)."""
    claim = claim_for(signed_in_user(request), claim_id)
    return Response(
        ClaimSerializer(claim, context={"request": request}).data, status=code
    )


class ClaimKeysetPagination(BasePagination):
    """The claim list's pages (issue 20): the contract's ``count``, ``next``,
    ``previous`` and ``results``, plus ``count_is_estimate``. ``next`` and
    ``previous`` carry a ``cursor``; ``page`` (old links) is served up to
    ``listing.OFFSET_PAGES``."""

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        link = {"type": "string", "nullable": True, "format": "uri"}
        return {
            "type": "object",
            "required": ["count", "count_is_estimate", "results"],
            "properties": {
                "count": {
                    "type": "integer",
                    "example": 123,
                    "description": (
                        "符合筛选条件的申报数。按单位、项目、状态、季度筛选（或不筛选）时"
                        "取自申报汇总，精确；其余筛选在 "
                        f"{listing.EXACT_COUNT_CAP} 条以内精确计数，超过时为数据库估计值"
                        "（count_is_estimate 为 true）。"
                    ),
                },
                "count_is_estimate": {
                    "type": "boolean",
                    "example": False,
                    "description": "count 是否为估计值（超过精确计数上限时）。",
                },
                "next": {
                    **link,
                    "example": "http://api.example.org/api/claims/?cursor=WyJuIiwi",
                },
                "previous": {
                    **link,
                    "example": "http://api.example.org/api/claims/?cursor=WyJwIiwi",
                },
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": "cursor",
                "required": False,
                "in": "query",
                "description": "翻页位置：取自上一次回答的 next 或 previous 链接，不透明。",
                "schema": {"type": "string"},
            },
            {
                "name": "page",
                "required": False,
                "in": "query",
                "description": (
                    f"旧的页码（每页 {listing.PAGE_SIZE} 条），仅支持 1 至 "
                    f"{listing.OFFSET_PAGES}；更深的页码返回 400 page_too_deep，"
                    "请改用 next / previous 链接。"
                ),
                "schema": {"type": "integer", "minimum": 1},
            },
        ]


def _link(request: Request, at: listing.Cursor | None) -> str | None:
    if at is None:
        return None
    url = remove_query_param(request.build_absolute_uri(), "page")
    return replace_query_param(url, "cursor", at.encode())


class ClaimListCreateApi(GenericAPIView):
    serializer_class = ClaimSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = ClaimFilter
    pagination_class = ClaimKeysetPagination

    def get_queryset(self) -> QuerySet[Claim]:
        return _claims(signed_in_user(self.request))

    @extend_schema(
        tags=[TAG],
        summary="申报列表",
        description=(
            f"{SCOPE}可按状态、项目、单位、培训机构、培训人员、季度（培训结束日期所在季度，"
            "如 2020Q1）和 q（姓名或完整身份证号码）筛选。按录入时间从新到旧分页返回，"
            "每页 50 条；翻页用回答中的 next / previous 链接（游标），页码 page 只支持"
            "前 10 页。count 见其说明（可能为估计值，count_is_estimate 标明）。"
        ),
        responses={
            200: ClaimSerializer(many=True),
            400: ValidationErrorSerializer,
            401: UNAUTHENTICATED,
        },
    )
    def get(self, request: Request) -> Response:
        filterset = DjangoFilterBackend().get_filterset(
            request, self.get_queryset(), self
        )
        assert filterset is not None  # filterset_class is set
        if not filterset.is_valid():
            raise translate_validation(filterset.errors)
        user = signed_in_user(request)
        listed = listing.list_page(
            user,
            filterset.qs,
            filterset.form.cleaned_data,
            cursor=request.query_params.get("cursor"),
            page=request.query_params.get("page"),
        )
        page = listed.rows
        ids = [c.pk for c in page]
        data = claim_list_rows(
            page,
            allowed_actions=actions_for_many(user, page),
            warnings=warnings_for_claims(ids),
            policy_entry_ids=policy_entry_ids(ids),
        )
        return Response(
            {
                "count": listed.count,
                "count_is_estimate": listed.count_is_estimate,
                "next": _link(request, listed.next),
                "previous": _link(request, listed.previous),
                "results": data,
            }
        )

    @extend_schema(
        tags=[TAG],
        summary="录入申报（草稿）",
        description=(
            "县(市)经办人为本单位录入申报，保存为草稿（status 为 draft）并附当前判定；"
            "不论判定是否符合条件都可保存，提交时才要求符合条件。unit 默认为经办人本单位。"
            "status、核定金额、created_by 等字段不可写入（忽略）。"
        ),
        request=ClaimInputSerializer,
        responses={
            201: ClaimSerializer,
            400: BAD_BODY,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
        },
    )
    def post(self, request: Request) -> Response:
        body = ClaimInputSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        claim = services.claim_create(
            data=body.claim_input(signed_in_user(request)),
            actor=signed_in_user(request),
        )
        return render_claim(request, claim.pk, code=status.HTTP_201_CREATED)


class ClaimCheckApi(APIView):
    @extend_schema(
        tags=[TAG],
        summary="试算（不保存）",
        description=(
            "按申报内容和当前数据库中的人员记录、政策标准判定，不保存任何内容。"
            "结束日期早于开始日期不报 400，而在判定中列为 invalid_dates。"
        ),
        request=ClaimInputSerializer,
        responses={
            200: DecisionSerializer,
            400: ValidationErrorSerializer,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
        },
    )
    def post(self, request: Request) -> Response:
        body = ClaimInputSerializer(
            data=request.data, context={"request": request, "dry_run": True}
        )
        body.is_valid(raise_exception=True)
        data = body.claim_input(signed_in_user(request))
        decision = services.claim_check(data=data, actor=signed_in_user(request))
        warned = WarnedDecision(decision, services.input_warnings(data))
        return Response(DecisionSerializer(warned).data)


class ClaimDetailApi(APIView):
    @extend_schema(
        tags=[TAG],
        summary="申报详情",
        description=SCOPE,
        responses={200: ClaimSerializer, 401: UNAUTHENTICATED, 404: NOT_FOUND},
    )
    def get(self, request: Request, pk: int) -> Response:
        claim = claim_for(signed_in_user(request), pk)
        return Response(ClaimSerializer(claim, context={"request": request}).data)

    @extend_schema(
        tags=[TAG],
        summary="修改申报（全部字段）",
        description=(
            "经办人修改本单位草稿或已退回的申报，重新判定。unit 默认为经办人本单位。"
        ),
        request=ClaimInputSerializer,
        responses={
            200: ClaimSerializer,
            400: BAD_BODY,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: CONFLICT,
        },
    )
    def put(self, request: Request, pk: int) -> Response:
        return self._update(request, pk, partial=False)

    @extend_schema(
        tags=[TAG],
        summary="修改申报（部分字段）",
        description="经办人修改本单位草稿或已退回的申报；未给出的字段保持不变。",
        request=ClaimInputSerializer,
        responses={
            200: ClaimSerializer,
            400: BAD_BODY,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: CONFLICT,
        },
    )
    def patch(self, request: Request, pk: int) -> Response:
        return self._update(request, pk, partial=True)

    @extend_schema(
        tags=[TAG],
        summary="删除草稿",
        description=(
            "经办人删除本单位的草稿（删除草稿）：此后列表、详情和统计中不再出现，"
            "操作记录保留备查。非草稿返回 409（invalid_transition）。"
        ),
        responses={
            204: None,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: CONFLICT,
        },
    )
    def delete(self, request: Request, pk: int) -> Response:
        services.claim_delete(claim_id=pk, actor=signed_in_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _update(self, request: Request, pk: int, *, partial: bool) -> Response:
        claim = claim_for(signed_in_user(request), pk)
        body = ClaimInputSerializer(
            claim, data=request.data, partial=partial, context={"request": request}
        )
        body.is_valid(raise_exception=True)
        services.claim_update(
            claim_id=claim.pk,
            data=body.claim_input(signed_in_user(request)),
            actor=signed_in_user(request),
        )
        return render_claim(request, claim.pk)


class ClaimEventListApi(APIView):
    @extend_schema(
        tags=[TAG],
        summary="申报操作记录（审计轨迹）",
        description=SCOPE,
        responses={
            200: ClaimEventSerializer(many=True),
            401: UNAUTHENTICATED,
            404: NOT_FOUND,
        },
    )
    def get(self, request: Request, pk: int) -> Response:
        events = claim_events(signed_in_user(request), pk)
        return Response(ClaimEventSerializer(events, many=True).data)


# --- Transitions ----------------------------------------------------------------------
class ClaimTransitionApi(APIView):
    """POST to move a claim: parse the (optional) reason, call the service, render."""

    reason_serializer: ClassVar[type[Serializer] | None] = None

    @staticmethod
    def move(*, claim_id: int, actor: User, reason: str) -> Any:
        raise NotImplementedError

    def post(self, request: Request, pk: int) -> Response:
        reason = ""
        if self.reason_serializer is not None:
            body = self.reason_serializer(data=request.data)
            body.is_valid(raise_exception=True)
            reason = body.validated_data["reason"]
        self.move(claim_id=pk, actor=signed_in_user(request), reason=reason)
        return render_claim(request, pk)


def transition_schema(
    summary: str,
    description: str,
    *,
    body: type[Serializer] | None,
    conflict: OpenApiResponse = CONFLICT,
) -> Callable[[Any], Any]:
    responses: dict[int, Any] = {
        200: ClaimSerializer,
        401: UNAUTHENTICATED,
        403: FORBIDDEN,
        404: NOT_FOUND,
        409: conflict,
    }
    if body is not None:
        responses[400] = ValidationErrorSerializer
    return extend_schema(
        tags=[TAG],
        summary=summary,
        description=description,
        request=body,
        responses=responses,
    )


class ClaimSubmitApi(ClaimTransitionApi):
    @staticmethod
    def move(*, claim_id: int, actor: User, reason: str) -> Claim:
        return services.claim_submit(claim_id=claim_id, actor=actor)

    @transition_schema(
        "提交申报",
        "经办人提交本单位的草稿或已退回的申报；提交时重新判定，不符合条件返回 409，"
        "code 为 not_eligible，decision 为判定结果（含 violations）。",
        body=None,
        conflict=OpenApiResponse(
            NotEligibleSerializer,
            description="不符合条件（not_eligible，附 decision）或状态不允许",
        ),
    )
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)


class ClaimWithdrawApi(ClaimTransitionApi):
    reason_serializer = ReasonSerializer

    @staticmethod
    def move(*, claim_id: int, actor: User, reason: str) -> Claim:
        return services.claim_withdraw(claim_id=claim_id, actor=actor, reason=reason)

    @transition_schema(
        "撤回申报",
        "经办人在审核前撤回本单位的申报（草稿、已提交或已退回）。",
        body=ReasonSerializer,
    )
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)


# --- Evidence (issue 16) ------------------------------------------------------------------
DOCUMENT_REFUSED = OpenApiResponse(
    ErrorSerializer,
    description="文件未被接收：不是PDF、JPEG或PNG（按内容识别）、图片像素过多、"
    "PDF含有脚本、启动动作或嵌入文件等（code 为 document_refused），"
    "或类别无效（字段错误）",
)


class ClaimDocumentsApi(APIView):
    @extend_schema(
        tags=[TAG],
        summary="上传申报的证明材料",
        description="经办人为本单位处于草稿、已退回或已提交状态的申报上传材料"
        "（multipart：kind、file）。只接收PDF、JPEG、PNG（按文件内容识别，与文件名"
        "无关），不超过10 MB（超过返回 413）；图片重新编码去除元数据；含脚本、"
        "启动动作或嵌入文件的PDF被拒绝。文件的SHA-256写入该申报的审计链"
        "（attach_document）。已核准、已驳回、已撤回的申报不能再上传（409）。",
        request={"multipart/form-data": DocumentUploadSerializer},
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
        # kind and the file (400), so a refusal for the claim is never hidden behind
        # the body's; the serializer above documents the body.
        body = request.data if isinstance(request.data, Mapping) else {}
        document = services.claim_attach_document(
            claim_id=pk,
            kind=body.get("kind"),
            upload=body.get("file"),
            actor=signed_in_user(request),
        )
        return Response(DocumentSerializer(document).data, status=201)


class DocumentDownloadApi(APIView):
    # no HEAD: Django answers it with ``get``, which records a download no one read
    # (and a spot check counts a download as the reviewer's look at the file)
    http_method_names = ["get", "options"]

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # A client asking for the file's type still gets its errors as JSON.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        tags=[TAG],
        summary="下载证明材料",
        description="按申报的查看范围下载材料（其他单位的材料与不存在的一样返回 "
        "404）；每次下载都记录下载人、角色、时间和来源地址。文件从不通过公开地址提供。",
        responses={
            **{
                (200, media): OpenApiResponse(
                    OpenApiTypes.BINARY, description="文件本身"
                )
                for media in ("application/pdf", "image/jpeg", "image/png")
            },
            (401, "application/json"): UNAUTHENTICATED,
            (404, "application/json"): OpenApiResponse(
                ErrorSerializer, description="材料不存在或无权查看，或文件已不在存储中"
            ),
        },
    )
    def get(self, request: Request, pk: int) -> FileResponse:
        document, handle = services.document_download(
            document_id=pk,
            actor=signed_in_user(request),
            address=client_address(request),
        )
        response = FileResponse(
            handle,
            as_attachment=True,
            filename=f"材料{document.pk}-{document.get_kind_display()}.{document.extension}",
            content_type=document.content_type,
        )
        response["Cache-Control"] = "private, no-store"
        response["X-Content-Type-Options"] = "nosniff"
        return response
