"""The county quarterly report over the REST API (五(一) 按季汇总, 随机抽查).

Validate the body, call one service of ``claims.services`` (which checks the role, the
unit and the report's state), render the report re-read through the user's scope
(``reports_visible_to``: a report the user may not see is a 404, like a missing one).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet, Sum

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.apis import signed_in_user
from accounts.models import User
from altay_skills.api import ErrorSerializer, ValidationErrorSerializer
from altay_skills.errors import NotFound
from altay_skills.permissions import require
from claims.apis import ClaimTransitionApi, render_claim, transition_schema
from claims.models import Claim
from claims.permissions import actions_for_many
from claims.selectors import claims_visible_to
from claims.serializers import (
    ApproveSerializer,
    ClaimSerializer,
    RequiredReasonSerializer,
)
from claims.warnings import warnings_for_claims
from quarters import services
from quarters.models import QuarterlyReport, ReportStatus, SpotCheck
from quarters.permissions import can_read_objections
from quarters.selectors import (
    objections_visible_to,
    report_claims,
    report_figures,
    reports_visible_to,
)
from quarters.serializers import (
    BulkApproveSerializer,
    ObjectionFindingSerializer,
    ObjectionSerializer,
    ReportBuildSerializer,
    ReportDetailSerializer,
    ReportFilterSerializer,
    ReportSerializer,
    SpotCheckDrawResultSerializer,
    SpotCheckDrawSerializer,
    SpotCheckRecordedSerializer,
    SpotCheckRecordSerializer,
)

TAG = "reports"
SCOPE = (
    "经办人只能看到本单位的报表；地区审核人、财政和督查可查看全部单位的报表；"
    "管理员不接触报表（列表为空，单条为 404）。无权查看的报表与不存在的一样返回 404。"
)
UNAUTHENTICATED = OpenApiResponse(ErrorSerializer, description="未登录")
FORBIDDEN = OpenApiResponse(ErrorSerializer, description="角色不允许此操作")
NOT_FOUND = OpenApiResponse(ErrorSerializer, description="报表不存在或无权查看")
BAD_BODY = OpenApiResponse(
    ValidationErrorSerializer, description="输入有误，未保存任何内容"
)


def _reports(user: User) -> QuerySet[QuarterlyReport]:
    """The user's reports, with what a draft's count and total are computed from."""
    return (
        reports_visible_to(user)
        .select_related("built_by", "submitted_by", "spot_checked_by", "closed_by")
        .annotate(attached_count=Count("claims"), attached_total=Sum("claims__amount"))
    )


def _report_claims(report: QuarterlyReport) -> list[dict[str, Any]]:
    """The report's claims (``report_claims``) in the API's compact shape."""
    return [
        {
            "id": row.claim.pk,
            "status": row.claim.status,
            "trainee_name": row.claim.trainee.name,
            "trainee_id_number_masked": row.claim.trainee.id_number_masked,
            "program": row.claim.program_id,
            "program_name": row.claim.program.name,
            "fund": row.claim.fund,
            "amount": row.amount,
            "advance": row.advance,
            "approved_amount": row.claim.approved_amount,
            "sampled": row.check is not None,
            "spot_check": row.check,
        }
        for row in report_claims(report)
    ]


def _report_for(user: User, report_id: int) -> QuarterlyReport:
    try:
        return _reports(user).get(pk=report_id)
    except (QuarterlyReport.DoesNotExist, ValueError, TypeError, OverflowError):
        raise NotFound("未找到该报表") from None


def _render(
    request: Request, report_id: int, *, code: int = status.HTTP_200_OK
) -> Response:
    """The report as the user now sees it, with its figures and claims."""
    report = _report_for(signed_in_user(request), report_id)
    context = {"figures": report_figures(report), "claims": _report_claims(report)}
    return Response(ReportDetailSerializer(report, context=context).data, status=code)


class ReportListCreateApi(GenericAPIView):
    serializer_class = ReportSerializer

    def get_queryset(self) -> QuerySet[QuarterlyReport]:
        return _reports(signed_in_user(self.request))

    @extend_schema(
        tags=[TAG],
        summary="季度报表列表",
        description=f"{SCOPE}可按季度（如 2020Q1）、单位和状态筛选。分页返回。",
        parameters=[ReportFilterSerializer],
        responses={
            200: ReportSerializer(many=True),
            400: ValidationErrorSerializer,
            401: UNAUTHENTICATED,
        },
    )
    def get(self, request: Request) -> Response:
        query = ReportFilterSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        reports = self.get_queryset().order_by("-quarter", "unit__sort_order", "pk")
        filters = {
            "quarter": "quarter",
            "unit": "unit_id",
            "status": "status",
        }
        for name, lookup in filters.items():
            if name in query.validated_data:
                reports = reports.filter(**{lookup: query.validated_data[name]})
        page = self.paginate_queryset(reports)
        return self.get_paginated_response(ReportSerializer(page, many=True).data)

    @extend_schema(
        tags=[TAG],
        summary="编制（或刷新）本单位季度报表",
        description=(
            "县(市)经办人用本单位已提交、尚未列入报表、培训结束日期在该季度末之前的申报"
            "编制季度报表草稿。新建返回 201；本季度已有草稿时把新提交的申报加入并返回 200。"
            "已报送的报表不能再编制（409，code 为 report_frozen）；尚未开始的季度返回 400"
            "（code 为 invalid_quarter）。"
        ),
        request=ReportBuildSerializer,
        responses={
            201: ReportDetailSerializer,
            200: OpenApiResponse(
                ReportDetailSerializer, description="已有草稿，已刷新"
            ),
            400: BAD_BODY,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            409: OpenApiResponse(ErrorSerializer, description="本季度报表已报送"),
        },
    )
    def post(self, request: Request) -> Response:
        body = ReportBuildSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = signed_in_user(request)
        quarter = body.validated_data["quarter"]
        existed = (
            reports_visible_to(user)
            .filter(unit_id=user.unit_id, quarter=quarter, status=ReportStatus.DRAFT)
            .exists()
        )
        report = services.report_build(
            unit_id=user.unit_id or "", quarter=quarter, actor=user
        )
        code = status.HTTP_200_OK if existed else status.HTTP_201_CREATED
        return _render(request, report.pk, code=code)


class ReportDetailApi(APIView):
    @extend_schema(
        tags=[TAG],
        summary="季度报表详情",
        description=(
            f"{SCOPE}figures 为按资金渠道和项目的培训、合格、就业人数及金额；claims 为"
            "报表中的申报（已报送的报表为报送时冻结的清单和金额）及抽查情况。"
        ),
        responses={
            200: ReportDetailSerializer,
            401: UNAUTHENTICATED,
            404: NOT_FOUND,
        },
    )
    def get(self, request: Request, pk: int) -> Response:
        return _render(request, pk)


def _action_schema(summary: str, description: str, **extra: Any) -> Any:
    responses: dict[Any, Any] = {
        200: ReportDetailSerializer,
        401: UNAUTHENTICATED,
        403: FORBIDDEN,
        404: NOT_FOUND,
        409: OpenApiResponse(ErrorSerializer, description="报表当前状态不允许此操作"),
    }
    responses.update(extra.pop("responses", {}))
    return extend_schema(
        tags=[TAG],
        summary=summary,
        description=description,
        request=None,
        responses=responses,
        **extra,
    )


class ReportSubmitApi(APIView):
    @_action_schema(
        "报送季度报表",
        "经办人报送本单位的报表草稿：申报清单、笔数和控制总额冻结，报送地区审核。"
        "报表为空时 400（code 为 report_empty）；已报送时 409（report_frozen）；"
        "其中有申报状态已变化时 409（report_changed）。",
        responses={400: ErrorSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        report = services.report_submit(report_id=pk, actor=signed_in_user(request))
        return _render(request, report.pk)


class ReportDiscardApi(APIView):
    @_action_schema(
        "作废报表草稿",
        "经办人作废本单位的报表草稿，其中的申报回到未列入报表的状态；已报送的报表不能"
        "作废（409，code 为 report_frozen）。",
    )
    def post(self, request: Request, pk: int) -> Response:
        report = services.report_discard(report_id=pk, actor=signed_in_user(request))
        return _render(request, report.pk)


class ReportCloseApi(APIView):
    @_action_schema(
        "审结季度报表",
        "地区审核人审结已报送的报表：须已抽查（否则 409 spot_checks_missing），"
        "报表中每笔申报都已审核（否则 409 claims_undecided）。",
    )
    def post(self, request: Request, pk: int) -> Response:
        report = services.report_close(report_id=pk, actor=signed_in_user(request))
        return _render(request, report.pk)


def _sample(report_id: int, user: User) -> dict[str, Any]:
    report = _report_for(user, report_id)
    checks = list(
        SpotCheck.objects.filter(report=report)
        .select_related("checked_by")
        .order_by("claim_id")
    )
    return {
        "report": report.pk,
        "seed": report.spot_check_seed,
        "share": report.spot_check_share,
        "drawn_by": report.spot_checked_by.username if report.spot_checked_by else None,
        "drawn_at": report.spot_checked_at,
        "claims": [c.claim_id for c in checks],
        "spot_checks": checks,
    }


class ReportSpotChecksApi(APIView):
    @extend_schema(
        tags=[TAG],
        summary="报表的随机抽查",
        description=f"{SCOPE}尚未抽样时 seed 为空、claims 为空列表。",
        responses={
            200: SpotCheckDrawResultSerializer,
            401: UNAUTHENTICATED,
            404: NOT_FOUND,
        },
    )
    def get(self, request: Request, pk: int) -> Response:
        data = _sample(pk, signed_in_user(request))
        return Response(SpotCheckDrawResultSerializer(data).data)

    @extend_schema(
        tags=[TAG],
        summary="随机抽查（抽样）",
        description=(
            "地区审核人按比例（省略时为系统默认比例）从已报送的报表中随机抽取申报核对"
            "材料，至少1笔；种子记录在报表上，据此可复现抽样。每张报表只抽一次"
            "（再抽 409，code 为 spot_checks_drawn）。编制或报送该报表的人不能抽查（403）。"
        ),
        request=SpotCheckDrawSerializer,
        responses={
            201: SpotCheckDrawResultSerializer,
            400: BAD_BODY,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: OpenApiResponse(ErrorSerializer, description="已抽样或报表未报送"),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        body = SpotCheckDrawSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = signed_in_user(request)
        services.report_draw_spot_checks(
            report_id=pk, actor=user, share=body.validated_data["share"]
        )
        data = _sample(pk, user)
        return Response(
            SpotCheckDrawResultSerializer(data).data, status=status.HTTP_201_CREATED
        )


class SpotCheckRecordApi(APIView):
    @extend_schema(
        tags=[TAG],
        summary="登记抽查结果",
        description=(
            "地区审核人登记被抽查申报的材料核对结果，只登记一次（再次登记 409，code 为"
            " spot_check_recorded）；材料不符须填写说明（缺少时 400，code 为"
            " reason_required）。报表审结后不能再改（409）。录入、修改、提交或报送该申报，"
            "或编制、报送其所在报表的人不能登记（403）。documents 列出核对过的该申报证明材料 id"
            "（不属于该申报的 id 返回 400，code 为 invalid_document），其 id 与"
            " SHA-256 一并记入审计链。材料相符须至少列出一份（400，code 为"
            " nothing_examined；没有任何材料的申报只能登记材料不符）；所列每份材料须由"
            "登记人先经 GET /api/documents/{id}/ 打开过（400，code 为 not_opened）。"
        ),
        request=SpotCheckRecordSerializer,
        responses={
            200: SpotCheckRecordedSerializer,
            400: BAD_BODY,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: OpenApiResponse(ErrorSerializer, description="抽查不存在"),
            409: OpenApiResponse(ErrorSerializer, description="报表已审结或已登记"),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        body = SpotCheckRecordSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        check = services.spot_check_record(
            spot_check_id=pk,
            actor=signed_in_user(request),
            result=body.validated_data["result"],
            note=body.validated_data["note"],
            documents=body.validated_data["documents"],
        )
        check = SpotCheck.objects.select_related("checked_by").get(pk=check.pk)
        return Response(SpotCheckRecordedSerializer(check).data)


class ClaimApproveBulkApi(APIView):
    @extend_schema(
        tags=["claims"],
        summary="批量核准申报",
        description=(
            "地区审核人一次核准所选申报：全部核准，或一笔也不核准（任何一笔不能核准时"
            "返回该笔的错误，message 以“申报#id：”开头，其余不变）。不能核准本人录入、"
            "修改、提交或报送的申报，或本人编制、报送的报表中的申报（403）；抽查结果为"
            "材料不符的申报不能批量核准（409 spot_check_inconsistent），须逐笔填写理由；"
            "报表尚未随机抽查的，一笔也不能核准（409 spot_checks_not_drawn）。"
            "所选申报中有提示（decision.warnings，如培训时间重叠、证书编号重复）的，"
            "须在 warnings_confirmed 中列出全部这些申报的 id，否则一笔也不核准，返回 409"
            "（warnings_unconfirmed），detail 为 [{claim, warnings}] 清单。"
        ),
        request=BulkApproveSerializer,
        responses={
            200: ClaimSerializer(many=True),
            400: BAD_BODY,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: OpenApiResponse(ErrorSerializer, description="某笔申报不存在"),
            409: OpenApiResponse(
                ErrorSerializer,
                description="某笔申报状态不能核准，或有提示的申报未确认"
                "（warnings_unconfirmed）",
            ),
        },
    )
    def post(self, request: Request) -> Response:
        body = BulkApproveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = signed_in_user(request)
        approved = services.claims_approve_bulk(
            claim_ids=body.validated_data["claims"],
            actor=user,
            budget_reason=body.validated_data.get("budget_reason", ""),
            warnings_confirmed=body.validated_data["warnings_confirmed"],
        )
        claims = list(
            claims_visible_to(user)
            .filter(pk__in=[c.pk for c in approved])
            .select_related("reviewed_by")
            .prefetch_related("policy_entries")
            .order_by("pk")
        )
        context = {
            "request": request,
            "allowed_actions": actions_for_many(user, claims),
            "warnings": warnings_for_claims([c.pk for c in claims]),
        }
        return Response(ClaimSerializer(claims, many=True, context=context).data)


# --- The reviewer's decision on one claim (URLs under /api/claims/) -----------------
class ClaimApproveApi(ClaimTransitionApi):
    reason_serializer = ApproveSerializer

    @staticmethod
    def move(*, claim_id: int, actor: User, reason: str) -> Claim:
        return services.claim_approve(claim_id=claim_id, actor=actor, reason=reason)

    @transition_schema(
        "核准申报",
        "地区审核人核准已提交的申报，核准金额为判定金额；不能审核本人录入的申报"
        "（经办与审核分离，403）。所在报表须先随机抽查，否则返回 409"
        "（spot_checks_not_drawn），被抽中的须先登记核对结果（spot_check_pending）。"
        "核准后将超出资金预算时返回 409（over_budget），"
        "须填写 budget_override_reason 说明理由（七(五)）；抽查结果为材料不符的申报"
        "返回 409（spot_check_inconsistent），可驳回或退回，确需核准的须填写"
        " spot_check_override_reason。reason 只是审核意见，不能代替这两项理由。"
        "录入、修改、提交或报送该申报，或编制、报送其所在报表的人不能审核它（403）。",
        body=ApproveSerializer,
    )
    def post(self, request: Request, pk: int) -> Response:
        body = ApproveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.claim_approve(
            claim_id=pk,
            actor=signed_in_user(request),
            reason=body.validated_data["reason"],
            budget_reason=body.validated_data["budget_override_reason"],
            spot_check_reason=body.validated_data["spot_check_override_reason"],
        )
        return render_claim(request, pk)


class ClaimRejectApi(ClaimTransitionApi):
    reason_serializer = RequiredReasonSerializer

    @staticmethod
    def move(*, claim_id: int, actor: User, reason: str) -> Claim:
        return services.claim_reject(claim_id=claim_id, actor=actor, reason=reason)

    @transition_schema(
        "驳回申报",
        "地区审核人驳回已提交的申报；须填写理由（缺少时 400，code 为 reason_required）。",
        body=RequiredReasonSerializer,
    )
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)


class ClaimReturnApi(ClaimTransitionApi):
    reason_serializer = RequiredReasonSerializer

    @staticmethod
    def move(*, claim_id: int, actor: User, reason: str) -> Claim:
        return services.claim_return(claim_id=claim_id, actor=actor, reason=reason)

    @transition_schema(
        "退回申报",
        "地区审核人退回已提交的申报供经办人修改后重新提交；须填写理由"
        "（缺少时 400，code 为 reason_required）。",
        body=RequiredReasonSerializer,
    )
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)


# --- Objections to the public notice (公示, issue 17) -----------------------------------------
class ObjectionListApi(APIView):
    @extend_schema(
        tags=[TAG],
        summary="公示异议及核查结论",
        description=(
            "公示期间收到的异议、核查结论和核查人。经办人看本单位的；地区审核人、财政和"
            "督查看全部单位的。可按 status（open、upheld、dismissed）筛选。"
        ),
        responses={
            200: ObjectionSerializer(many=True),
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
        },
    )
    def get(self, request: Request) -> Response:
        user = signed_in_user(request)
        require(can_read_objections(user))
        objections = objections_visible_to(user)
        wanted = request.query_params.get("status", "")
        if wanted in ("open", "upheld", "dismissed"):
            objections = objections.filter(status=wanted)
        return Response(ObjectionSerializer(objections[:500], many=True).data)


class ObjectionFindingApi(APIView):
    @extend_schema(
        tags=[TAG],
        summary="登记异议核查结论",
        description=(
            "本单位经办人或地区审核人登记公示异议的核查结论：outcome 为 upheld（异议成立）"
            "或 dismissed（异议不成立），reason 必填。异议成立且申报仍待审核时，申报按"
            " claim_action 退回经办人（return，默认）或驳回（reject），理由为核查结论；"
            "已核准的申报则不能拨付余额（409 objection_upheld）。已登记过的异议 409"
            "（objection_decided）。"
        ),
        request=ObjectionFindingSerializer,
        responses={
            200: ObjectionSerializer,
            400: BAD_BODY,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: OpenApiResponse(ErrorSerializer, description="异议不存在或无权查看"),
            409: OpenApiResponse(ErrorSerializer, description="已登记核查结论"),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        body = ObjectionFindingSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = signed_in_user(request)
        objection = services.objection_find(
            objection_id=pk,
            outcome=body.validated_data["outcome"],
            reason=body.validated_data["reason"],
            claim_action=body.validated_data["claim_action"],
            actor=user,
        )
        objection = objections_visible_to(user).get(pk=objection.pk)
        return Response(ObjectionSerializer(objection).data)
