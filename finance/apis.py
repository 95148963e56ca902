"""The quarter's money over the REST API: the rollup, its workbook, payments, advances
and recoveries.

Validate, call a service or selector of ``finance``, render. Who may see a rollup is
``rollups_visible_to``; who may pay or settle is checked by the services; the finance
lists are read by finance and the auditor (and payments also by the reviewer).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.db.models import QuerySet
from django.http import FileResponse, HttpResponse

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.apis import signed_in_user
from altay_skills.api import ErrorSerializer, ValidationErrorSerializer
from altay_skills.errors import Conflict, DomainError
from altay_skills.permissions import require
from claims.selectors import claim_for
from finance import payouts, selectors, services
from finance.ledger import money_of, money_sums
from finance.models import (
    BankTemplate,
    Payment,
    PaymentBatch,
    Recovery,
    Rollup,
    RollupStatus,
    TemplatePurpose,
)
from finance.permissions import (
    can_list_bank_templates,
    can_manage_batches,
    can_read_batches,
    can_read_finance,
    can_read_payments,
    can_read_rollup_error,
    can_record_payment,
)
from finance.rules import payment_state_of
from finance.serializers import (
    AdvanceSerializer,
    BankTemplateSerializer,
    ClaimPaymentsSerializer,
    ClassAdvanceInputSerializer,
    ClassAdvanceSerializer,
    PaymentBatchInputSerializer,
    PaymentBatchSentSerializer,
    PaymentBatchSerializer,
    PaymentBatchStateSerializer,
    PaymentFilterSerializer,
    PaymentInputSerializer,
    PaymentResultInputSerializer,
    PaymentResultSerializer,
    PaymentSerializer,
    RecoveryFilterSerializer,
    RecoverySerializer,
    RecoverySettleSerializer,
    RollupDetailSerializer,
    RollupRequestSerializer,
    RollupSerializer,
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


# --- Rollups ---------------------------------------------------------------------------------
ROLLUPS = "rollups"
ROLLUP_SCOPE = "地区审核人、财政和督查可查看；经办人和管理员的列表为空，单条为 404。"


def _render_rollup(
    request: Request, rollup_id: int, *, code: int = status.HTTP_200_OK
) -> Response:
    user = signed_in_user(request)
    rollup = selectors.rollup_for(user, rollup_id)
    ready = rollup.status == RollupStatus.READY
    context = {
        "show_error": bool(can_read_rollup_error(user)),
        "lines": (
            rollup.lines.select_related("unit", "program").order_by(
                "unit__sort_order", "unit_id", "program_id", "fund"
            )
            if ready
            else []
        ),
        "payments": selectors.payment_summary(rollup) if ready else None,
    }
    return Response(RollupDetailSerializer(rollup, context=context).data, status=code)


class RollupListCreateApi(GenericAPIView):
    serializer_class = RollupSerializer

    def get_queryset(self) -> QuerySet[Rollup]:
        return selectors.rollups_visible_to(signed_in_user(self.request))

    @extend_schema(
        tags=[ROLLUPS],
        summary="地区汇总列表",
        description=f"{ROLLUP_SCOPE}分页返回，新季度在前。",
        responses={200: RollupSerializer(many=True), 401: UNAUTHENTICATED},
    )
    def get(self, request: Request) -> Response:
        rollups = (
            self.get_queryset().select_related("requested_by").order_by("-quarter")
        )
        page = self.paginate_queryset(rollups)
        return self.get_paginated_response(RollupSerializer(page, many=True).data)

    @extend_schema(
        tags=[ROLLUPS],
        summary="将季度汇总报送财政（排队生成）",
        description=(
            "地区审核人在本季度报表全部审结后发起汇总：后台任务（Celery）从已审结报表中"
            "已核准的申报汇总生成各单位×项目×资金渠道的汇总表和拨付工作簿。返回 202 和"
            "汇总记录（status 为 queued），之后用 GET /api/rollups/{id}/ 查询进度，"
            "status 变为 ready 后可下载工作簿。本季度汇总已生成时返回 200 和已生成的汇总"
            "（汇总一经生成不再改变）；生成失败的汇总再次发起时重新排队。"
            "还有报表未审结时 409（reports_under_review），没有已审结的报表时 409"
            "（no_closed_reports）。"
        ),
        request=RollupRequestSerializer,
        responses={
            202: RollupDetailSerializer,
            200: OpenApiResponse(RollupDetailSerializer, description="汇总已生成"),
            400: BAD_BODY,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            409: OpenApiResponse(ErrorSerializer, description="本季度报表尚未全部审结"),
        },
    )
    def post(self, request: Request) -> Response:
        body = RollupRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        rollup = services.rollup_request(
            quarter=body.validated_data["quarter"], actor=signed_in_user(request)
        )
        # ``rollup`` is as the request found it; the task may already have run.
        already = rollup.status == RollupStatus.READY
        code = status.HTTP_200_OK if already else status.HTTP_202_ACCEPTED
        return _render_rollup(request, rollup.pk, code=code)


class RollupDetailApi(APIView):
    @extend_schema(
        tags=[ROLLUPS],
        summary="地区汇总详情（进度与结果）",
        description=(
            f"{ROLLUP_SCOPE}status 为 queued、running、ready 或 failed，progress 为百分比。"
            "ready 时给出合计（totals）、校验码（checksum）、工作簿摘要、各单位×项目×"
            "资金渠道明细（lines）和拨付进度（payments）；未生成时这些为 null 或空。"
            "失败原因（error）只向地区审核人和督查显示。"
        ),
        responses={
            200: RollupDetailSerializer,
            401: UNAUTHENTICATED,
            404: ROLLUP_NOT_FOUND,
        },
    )
    def get(self, request: Request, pk: int) -> Response:
        return _render_rollup(request, pk)


def _workbook_file(rollup: Rollup) -> Path:
    """The rollup's workbook under MEDIA_ROOT, exactly as it was built, or a 409."""
    if rollup.status != RollupStatus.READY:
        raise Conflict("rollup_not_ready", "汇总尚未生成，请稍后再下载")
    media = Path(settings.MEDIA_ROOT).resolve()
    path = (media / rollup.workbook).resolve()
    if not rollup.workbook or not path.is_relative_to(media) or not path.is_file():
        raise Conflict("workbook_missing", "工作簿文件不存在，请联系系统管理员")
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    if digest.hexdigest() != rollup.workbook_sha256:
        raise Conflict(
            "workbook_mismatch", "工作簿文件与生成时的摘要不一致，请联系系统管理员"
        )
    return path


def _attachment(filename: str, fallback: str) -> str:
    """RFC 6266 / RFC 5987: an ASCII name for old clients, the Chinese one beside it."""
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"


class RollupWorkbookApi(APIView):
    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # A client asking for the spreadsheet type still gets its errors as JSON.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        tags=[ROLLUPS],
        summary="下载拨付工作簿（xlsx）",
        description=(
            "财政、地区审核人和督查下载汇总的补贴资金拨付表（openpyxl 生成）：汇总表、"
            "各资金渠道明细表（个人身份证号码脱敏）和抽查表。文件与生成时的摘要"
            "（workbook_sha256）一致才会发出。汇总未生成时 409（rollup_not_ready）。"
        ),
        responses={
            (200, XLSX): OpenApiResponse(OpenApiTypes.BINARY, description="工作簿"),
            (401, "application/json"): UNAUTHENTICATED,
            (404, "application/json"): ROLLUP_NOT_FOUND,
            (409, "application/json"): OpenApiResponse(
                ErrorSerializer, description="汇总尚未生成，或工作簿文件不可用"
            ),
        },
    )
    def get(self, request: Request, pk: int) -> FileResponse:
        rollup = selectors.rollup_for(signed_in_user(request), pk)
        path = _workbook_file(rollup)
        response = FileResponse(path.open("rb"), content_type=XLSX)
        response["Content-Disposition"] = _attachment(
            f"阿勒泰地区补贴拨付表-{rollup.quarter}.xlsx",
            f"altay-disbursement-{rollup.quarter}.xlsx",
        )
        response["X-Workbook-SHA256"] = rollup.workbook_sha256
        response["X-Rollup-Checksum"] = rollup.checksum
        response["Cache-Control"] = "private, no-store"
        return response


# --- Payments ------------------------------------------------------------------------------
PAYMENTS = "payments"


def _payments() -> QuerySet[Payment]:
    """Payments with their claim's ledger sums (``claim_payment_state`` reads them)."""
    return (
        Payment.objects.select_related(
            "claim", "claim__unit", "claim__trainee", "recorded_by", "reissued_by"
        )
        .annotate(**money_sums("claim__ledger__"))
        .order_by("-recorded_at", "-id")
    )


class PaymentListCreateApi(GenericAPIView):
    serializer_class = PaymentSerializer

    def get_queryset(self) -> QuerySet[Payment]:
        return _payments()

    @extend_schema(
        tags=[PAYMENTS],
        summary="拨付记录列表",
        description=(
            "财政、督查和地区审核人可查看；可按申报、汇总、结果和类别筛选。"
            "claim_payment_state 为该申报的拨付情况（paid、partly_paid、failed、unpaid）。"
            "分页返回。"
        ),
        parameters=[PaymentFilterSerializer],
        responses={
            200: PaymentSerializer(many=True),
            400: BAD_QUERY,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
        },
    )
    def get(self, request: Request) -> Response:
        require(can_read_payments(signed_in_user(request)))
        query = PaymentFilterSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        payments = self.get_queryset()
        for name in ("claim", "rollup"):
            if name in query.validated_data:
                payments = payments.filter(**{f"{name}_id": query.validated_data[name]})
        for name in ("status", "kind"):
            if name in query.validated_data:
                payments = payments.filter(**{name: query.validated_data[name]})
        page = self.paginate_queryset(payments)
        return self.get_paginated_response(PaymentSerializer(page, many=True).data)

    @extend_schema(
        tags=[PAYMENTS],
        summary="登记拨付（或拨付失败）",
        description=(
            "财政登记一笔拨付：advance 为先行拨付（申报列入已报送的季度报表后），balance "
            "为余额拨付（汇总生成后，核准金额减已先行拨付）。金额须等于应拨金额（否则 400，"
            "code 为 amount_mismatch）；同一申报同一类别不能拨付两次（409，code 为 "
            "already_paid）。拨付失败须填写原因；失败的可用 reissue_of 指明原记录重新拨付。"
            "拨付日期晚于今天时 400（invalid_dates）。"
        ),
        request=PaymentInputSerializer,
        responses={
            201: PaymentSerializer,
            400: BAD_BODY,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            409: OpenApiResponse(
                ErrorSerializer, description="已拨付，或申报尚不能拨付（not_payable）"
            ),
        },
    )
    def post(self, request: Request) -> Response:
        # Before the body is read: its references must not tell others what exists.
        require(can_record_payment(signed_in_user(request)))
        body = PaymentInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        payment = services.payment_record(
            claim_id=data["claim"].pk,
            kind=data["kind"],
            amount=data["amount"],
            paid_on=data["paid_on"],
            status=data["status"],
            actor=signed_in_user(request),
            reference=data["reference"],
            failure_reason=data["failure_reason"],
            reissue_of_id=data["reissue_of"].pk if data["reissue_of"] else None,
        )
        return Response(
            PaymentSerializer(_payments().get(pk=payment.pk)).data,
            status=status.HTTP_201_CREATED,
        )


class ClaimPaymentsApi(APIView):
    @extend_schema(
        tags=[PAYMENTS],
        summary="一笔申报的拨付情况",
        description=(
            "能查看该申报的用户（经办人限本单位）可查看其拨付记录、拨付情况"
            "（paid、partly_paid、failed、unpaid、recovering、recovered），以及由资金账目"
            "得出的应付、已拨付、先行拨付、余额、应追回等金额（money）和账目本身（ledger）。"
        ),
        responses={
            200: ClaimPaymentsSerializer,
            401: UNAUTHENTICATED,
            404: OpenApiResponse(ErrorSerializer, description="申报不存在或无权查看"),
        },
    )
    def get(self, request: Request, pk: int) -> Response:
        claim = claim_for(signed_in_user(request), pk)
        payments = list(_payments().filter(claim=claim))
        money = money_of(claim.pk)
        data = {
            "claim": claim.pk,
            "payment_state": payment_state_of(
                money, approved=claim.status == "approved"
            ),
            "money": money.as_dict(),
            "ledger": claim.ledger.select_related("event", "event__actor"),
            "payments": payments,
        }
        return Response(ClaimPaymentsSerializer(data).data)


class AdvanceListApi(GenericAPIView):
    serializer_class = AdvanceSerializer

    def get_queryset(self) -> QuerySet[Any]:
        return (
            selectors.advances_payable()
            .select_related("report")
            .order_by("unit__sort_order", "unit_id", "pk")
        )

    @extend_schema(
        tags=[PAYMENTS],
        summary="待先行拨付的申报",
        description=(
            "财政和督查可查看：已列入报送的季度报表、可先行拨付（五(二)）且尚未拨付先行款"
            "的申报。个人身份证号码脱敏。分页返回。"
        ),
        responses={
            200: AdvanceSerializer(many=True),
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
        },
    )
    def get(self, request: Request) -> Response:
        require(can_read_finance(signed_in_user(request)))
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(AdvanceSerializer(page, many=True).data)


def _recoveries() -> QuerySet[Recovery]:
    return Recovery.objects.select_related(
        "claim",
        "claim__unit",
        "claim__institution",
        "claim__trainee",
        "settled_by",
    ).order_by("settled_at", "-created_at", "-id")


class RecoveryListApi(GenericAPIView):
    serializer_class = RecoverySerializer

    def get_queryset(self) -> QuerySet[Recovery]:
        return _recoveries()

    @extend_schema(
        tags=[PAYMENTS],
        summary="应追回款列表",
        description=(
            "财政和督查可查看：先行拨付后被驳回的申报应追回的款项。默认只列待追回的；"
            "settled=true 时同时列出已追回的和已冲抵的（netted：申报重新核准后"
            "应付金额已覆盖已拨付金额，原应追回款冲抵，无需追回）。分页返回。"
        ),
        parameters=[RecoveryFilterSerializer],
        responses={
            200: RecoverySerializer(many=True),
            400: BAD_QUERY,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
        },
    )
    def get(self, request: Request) -> Response:
        require(can_read_finance(signed_in_user(request)))
        query = RecoveryFilterSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        if query.validated_data["settled"]:
            recoveries = self.get_queryset()
        else:
            recoveries = selectors.open_recoveries().order_by("-created_at", "-id")
        page = self.paginate_queryset(recoveries)
        return self.get_paginated_response(RecoverySerializer(page, many=True).data)


class RecoverySettleApi(APIView):
    @extend_schema(
        tags=[PAYMENTS],
        summary="登记追回",
        description=(
            "财政登记应追回款已追回；已登记的再登记 409（already_settled），"
            "已冲抵的 409（recovery_netted）。"
        ),
        request=RecoverySettleSerializer,
        responses={
            200: RecoverySerializer,
            400: BAD_BODY,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: OpenApiResponse(ErrorSerializer, description="应追回款不存在"),
            409: OpenApiResponse(ErrorSerializer, description="已登记追回或已冲抵"),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        body = RecoverySettleSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        recovery = services.recovery_settle(
            recovery_id=pk,
            actor=signed_in_user(request),
            reference=body.validated_data["reference"],
        )
        return Response(RecoverySerializer(_recoveries().get(pk=recovery.pk)).data)


# --- A training class's advance (issue 16) --------------------------------------------------
class ClassAdvanceApi(APIView):
    @extend_schema(
        tags=[PAYMENTS],
        summary="培训班先行拨付（项目制培训，五(二)）",
        description=(
            "财政向项目制培训班的培训机构先行拨付：培训班已备案并已开班（running）后，"
            "按培训结束日期有效的先行拨付比例（40%）乘以名单预计补贴总额（各人预审"
            "核定金额之和，预审不通过的人员不计）拨付一次，记入培训班的审计链。"
            "结业生成申报时按各人预计金额分摊到各申报的资金账目（精确到分，尾差记在"
            "预计金额最大的第一人），未结业、不合格或申报不符合条件人员的分摊额即时"
            "转为应追回款。非项目制培训班 409（not_project_based），未开班 409"
            "（class_not_running），已拨付 409（already_paid），金额与应拨金额不一致 400"
            "（amount_mismatch），拨付日期早于开班日期或晚于今天 400（invalid_dates）。"
        ),
        request=ClassAdvanceInputSerializer,
        responses={
            201: ClassAdvanceSerializer,
            400: BAD_BODY,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: OpenApiResponse(ErrorSerializer, description="培训班不存在"),
            409: OpenApiResponse(
                ErrorSerializer,
                description="非项目制、尚未开班、已拨付或没有可拨付的金额",
            ),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        # Before the body is read: whether a class exists is not told to others.
        require(can_record_payment(signed_in_user(request)))
        body = ClassAdvanceInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        advance = services.class_advance_pay(
            class_id=pk,
            actor=signed_in_user(request),
            paid_on=data["paid_on"],
            reference=data["reference"],
            amount=data["amount"],
        )
        advance = selectors.class_advances_paid().get(pk=advance.pk)
        return Response(
            ClassAdvanceSerializer(advance).data, status=status.HTTP_201_CREATED
        )


# --- The bank loop (issue 18) -----------------------------------------------------------------
BATCHES = "代发批次与回盘"
BATCH_NOT_FOUND = OpenApiResponse(ErrorSerializer, description="代发批次不存在")


class BankTemplateListApi(APIView):
    @extend_schema(
        tags=[BATCHES],
        summary="银行文件模板列表",
        description="财政和管理员可查看代发银行模板（管理员在后台维护）：CSV、XLSX或"
        "定长文本，UTF-8或GBK编码。只列代发模板；回盘模板随代发模板配置。",
        responses={
            200: BankTemplateSerializer(many=True),
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
        },
    )
    def get(self, request: Request) -> Response:
        require(can_list_bank_templates(signed_in_user(request)))
        templates = BankTemplate.objects.filter(purpose=TemplatePurpose.BATCH).order_by(
            "name"
        )
        return Response(BankTemplateSerializer(templates, many=True).data)


class PaymentBatchCreateApi(APIView):
    @extend_schema(
        tags=[BATCHES],
        summary="生成代发批次",
        description=(
            "财政从已生成的地区汇总生成一个代发批次：该类别（advance 先行拨付、balance "
            "余额拨付）所有应拨、未拨付、不在其他未结批次中且有收款账户的款项，按所选"
            "银行模板写成银行文件，记录文件的SHA-256、笔数和总金额。上次拨付失败的款项"
            "须在收款账户更正（两人确认）后才重新列入，并关联失败记录。汇总未生成 409"
            "（rollup_not_ready），没有可列入的款项 409（nothing_payable），同时生成时"
            "款项已被另一批次列入 409（already_in_batch）。"
        ),
        request=PaymentBatchInputSerializer,
        responses={
            201: PaymentBatchSerializer,
            400: BAD_BODY,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: ROLLUP_NOT_FOUND,
            409: OpenApiResponse(ErrorSerializer, description="状态冲突"),
        },
    )
    def post(self, request: Request) -> Response:
        actor = signed_in_user(request)
        require(can_manage_batches(actor))
        body = PaymentBatchInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        batch = payouts.batch_build(
            rollup_id=body.validated_data["rollup"],
            kind=body.validated_data["kind"],
            template_id=body.validated_data["bank_template"],
            actor=actor,
        )
        return Response(PaymentBatchSerializer(batch).data, status=201)


def _batch_for(request: Request, pk: int) -> PaymentBatch:
    require(can_read_batches(signed_in_user(request)))
    return selectors.batch_for(pk)


class PaymentBatchFileApi(APIView):
    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # A client asking for the file's type still gets its errors as JSON.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        tags=[BATCHES],
        summary="下载代发批次的银行文件",
        description="财政和督查下载批次文件：与生成时逐字节相同（响应头 X-Content-SHA256 "
        "为其摘要）。",
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: BATCH_NOT_FOUND,
        },
    )
    def get(self, request: Request, pk: int) -> Any:
        batch = _batch_for(request, pk)
        content = bytes(batch.content)
        response = HttpResponse(content, content_type="application/octet-stream")
        response["Content-Disposition"] = _attachment(
            batch.filename, f"batch-{batch.pk}.{batch.filename.rsplit('.', 1)[-1]}"
        )
        response["X-Content-SHA256"] = batch.sha256
        return response


class PaymentBatchSentApi(APIView):
    @extend_schema(
        tags=[BATCHES],
        summary="标记代发批次已报送银行",
        description="财政将已生成的批次标记为已报送银行；此后不能作废。已报送、已回盘"
        "或已作废的批次 409（batch_not_built）；批次中有本人录入、提交、报送或审核的申报"
        " 403。逐笔重新核对：生成后有变化（培训人员表示未参加、公示异议、已另行拨付、"
        "收款账户已变更等）409（batch_stale，detail.changed 逐笔说明），文件尚未交给银行的"
        "应作废后重新生成；文件已交给银行的，以 already_at_bank=true 再次提交即标记已报送，"
        "按银行回盘登记。",
        request=PaymentBatchSentSerializer,
        responses={
            200: PaymentBatchStateSerializer,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: BATCH_NOT_FOUND,
            409: OpenApiResponse(ErrorSerializer, description="批次状态不允许"),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        body = PaymentBatchSentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        batch = payouts.batch_mark_sent(
            batch_id=pk,
            actor=signed_in_user(request),
            already_at_bank=body.validated_data["already_at_bank"],
        )
        return Response(PaymentBatchStateSerializer(batch).data)


class PaymentBatchResultApi(APIView):
    @extend_schema(
        tags=[BATCHES],
        summary="上传银行回盘文件",
        description=(
            "财政上传银行的回盘文件（multipart：file），按回盘模板读取，逐行按业务编号"
            "（无编号时按账号加金额）对应到批次明细，在一个事务中登记：成功的按银行入账"
            "日期和流水号登记拨付，失败的登记失败原因。有不对应的行、重复回复的行、合计"
            "不符，或入账日期早于批次生成日期、晚于今天时全部列出（detail.unmatched），"
            "不登记任何一笔，409（result_unmatched）。同一文件再次上传不改变任何内容，"
            "返回第一次登记的结果。批次中有本人录入、提交、报送或审核的申报 403。批次未"
            "报送 409（batch_not_sent），已作废 409（batch_cancelled）。"
        ),
        request={"multipart/form-data": PaymentResultInputSerializer},
        responses={
            200: PaymentResultSerializer,
            400: BAD_BODY,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: BATCH_NOT_FOUND,
            409: OpenApiResponse(
                ErrorSerializer, description="回盘与批次不符或状态冲突"
            ),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        actor = signed_in_user(request)
        require(can_manage_batches(actor))
        upload = request.data.get("file") if hasattr(request.data, "get") else None
        if upload is None or not hasattr(upload, "read"):
            raise DomainError(
                "invalid_file", "请以 multipart 字段 file 上传银行回盘文件"
            )
        outcome = payouts.batch_result_record(
            batch_id=pk, content=upload.read(), actor=actor
        )
        return Response(
            PaymentResultSerializer(
                {
                    "paid": outcome.paid,
                    "failed": outcome.failed,
                    "unmatched": outcome.unmatched,
                    "total_paid": outcome.total_paid,
                }
            ).data
        )
