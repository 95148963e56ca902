"""The quarter's money over the API: rollups, payments, recoveries.

Bodies are parsed and checked for shape here; every rule (who pays what, when, how
much) is decided by ``finance.services``. Money is a string of yuan to the fen.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils import timezone

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from altay_skills.api import RecordField
from altay_skills.plain_text import multi_line_text, single_line_text
from claims.models import Claim, ClaimStatus, Payee
from claims.serializers import money
from finance import rules
from finance.ledger import money_from
from finance.models import (
    BankTemplate,
    ClassAdvance,
    LedgerKind,
    Payment,
    PaymentBatch,
    PaymentKind,
    PaymentStatus,
    Recovery,
    Rollup,
    RollupLine,
    RollupStatus,
)
from finance.services import payment_state
from programs.models import fund_label
from quarters.serializers import QuarterField

PAYMENT_STATES = list(rules.PAYMENT_STATES.items())


def big_money(**kwargs: Any) -> serializers.DecimalField:
    """Totals of a rollup (the models hold 14 digits there)."""
    return serializers.DecimalField(max_digits=14, decimal_places=2, **kwargs)


# --- Rollups ---------------------------------------------------------------------------
class RollupRequestSerializer(serializers.Serializer):
    quarter = QuarterField()


class RollupTotalsSerializer(serializers.Serializer):
    trained = serializers.IntegerField(help_text="培训人数")
    passed = serializers.IntegerField(help_text="合格人数")
    employed = serializers.IntegerField(help_text="就业人数")
    approved = big_money(help_text="核准金额")
    advance = big_money(help_text="先行拨付")
    balance = big_money(help_text="待拨余额")
    recovery = big_money(
        help_text="应追回（先行拨付高于核准金额的部分）", required=False
    )
    lines = serializers.IntegerField(help_text="明细行数")


class RollupLineSerializer(serializers.ModelSerializer):
    unit_name = serializers.CharField(source="unit.name", read_only=True)
    program_name = serializers.CharField(source="program.name", read_only=True)
    fund_label = serializers.SerializerMethodField()

    class Meta:
        model = RollupLine
        fields = [
            "unit",
            "unit_name",
            "program",
            "program_name",
            "fund",
            "fund_label",
            "trained",
            "passed",
            "employed",
            "approved",
            "advance",
            "balance",
            "recovery",
        ]
        read_only_fields = fields

    def get_fund_label(self, line: RollupLine) -> str:
        return fund_label(line.fund, blank="")


class PaymentSummarySerializer(serializers.Serializer):
    claims = serializers.IntegerField(help_text="应拨付的申报笔数")
    due = big_money(help_text="应拨付总额（核准金额）")
    paid = big_money(help_text="已拨付")
    outstanding = big_money(help_text="未拨付")


class RollupSerializer(serializers.ModelSerializer):
    """A rollup as a list shows it: where it stands and, once ready, its totals."""

    status = serializers.ChoiceField(choices=RollupStatus.choices, read_only=True)
    requested_by = serializers.CharField(source="requested_by.username", read_only=True)
    totals = serializers.SerializerMethodField()

    class Meta:
        model = Rollup
        fields = [
            "id",
            "quarter",
            "status",
            "progress",
            "attempts",
            "requested_by",
            "requested_at",
            "started_at",
            "finished_at",
            "checksum",
            "totals",
        ]
        read_only_fields = fields

    @extend_schema_field(RollupTotalsSerializer(allow_null=True))
    def get_totals(self, rollup: Rollup) -> dict[str, Any] | None:
        if rollup.status != RollupStatus.READY:
            return None
        return RollupTotalsSerializer(rollup.totals).data


class RollupDetailSerializer(RollupSerializer):
    """A rollup with its lines, the workbook's digest and what has been paid.

    Pass ``context={"show_error": bool, "lines": [...], "payments": {...} | None}``.
    """

    error = serializers.SerializerMethodField()
    lines = serializers.SerializerMethodField()
    payments = serializers.SerializerMethodField()
    workbook_url = serializers.SerializerMethodField()

    class Meta(RollupSerializer.Meta):
        fields = [
            *RollupSerializer.Meta.fields,
            "error",
            "workbook_sha256",
            "workbook_url",
            "lines",
            "payments",
        ]
        read_only_fields = fields

    @extend_schema_field(
        serializers.CharField(
            allow_null=True, help_text="失败原因（仅地区审核人和督查可见）"
        )
    )
    def get_error(self, rollup: Rollup) -> str | None:
        return rollup.error if self.context.get("show_error") else None

    @extend_schema_field(RollupLineSerializer(many=True))
    def get_lines(self, rollup: Rollup) -> Any:
        return RollupLineSerializer(self.context.get("lines", []), many=True).data

    @extend_schema_field(PaymentSummarySerializer(allow_null=True))
    def get_payments(self, rollup: Rollup) -> dict[str, Any] | None:
        summary = self.context.get("payments")
        return None if summary is None else PaymentSummarySerializer(summary).data

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_workbook_url(self, rollup: Rollup) -> str | None:
        if rollup.status != RollupStatus.READY:
            return None
        return f"/api/rollups/{rollup.pk}/xlsx/"


# --- Payments ----------------------------------------------------------------------------
class PaymentInputSerializer(serializers.Serializer):
    claim = RecordField(queryset=Claim.objects.all(), help_text="申报 id")
    kind = serializers.ChoiceField(
        choices=PaymentKind.choices,
        help_text="advance（先行拨付）或 balance（余额拨付）",
    )
    amount = money(
        min_value=Decimal("0.01"), help_text="拨付金额，须等于应拨金额（元，两位小数）"
    )
    paid_on = serializers.DateField(
        help_text="拨付日期：不早于培训结束日期，不晚于今天"
    )
    status = serializers.ChoiceField(
        choices=PaymentStatus.choices, help_text="paid（已拨付）或 failed（拨付失败）"
    )
    reference = serializers.CharField(
        max_length=60,
        allow_blank=True,
        default="",
        validators=[single_line_text],
        help_text="凭证号",
    )
    failure_reason = serializers.CharField(
        max_length=2000,
        allow_blank=True,
        default="",
        validators=[multi_line_text],
        help_text="失败原因（status 为 failed 时必填）",
    )
    reissue_of = RecordField(
        queryset=Payment.objects.all(),
        allow_null=True,
        required=False,
        default=None,
        help_text="重新拨付时：原失败拨付记录的 id",
    )

    def validate_paid_on(self, value: Any) -> Any:
        if value > timezone.localdate():
            raise serializers.ValidationError(
                "拨付日期不能晚于今天", code="invalid_dates"
            )
        return value


class PaymentFilterSerializer(serializers.Serializer):
    claim = serializers.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1, help_text="申报 id"
    )
    rollup = serializers.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1, help_text="汇总 id"
    )
    status = serializers.ChoiceField(choices=PaymentStatus.choices, required=False)
    kind = serializers.ChoiceField(choices=PaymentKind.choices, required=False)


class PaymentSerializer(serializers.ModelSerializer):
    unit = serializers.CharField(source="claim.unit_id", read_only=True)
    unit_name = serializers.CharField(source="claim.unit.name", read_only=True)
    trainee_name = serializers.CharField(source="claim.trainee.name", read_only=True)
    trainee_id_number_masked = serializers.CharField(
        source="claim.trainee.id_number_masked", read_only=True
    )
    kind = serializers.ChoiceField(choices=PaymentKind.choices, read_only=True)
    status = serializers.ChoiceField(choices=PaymentStatus.choices, read_only=True)
    reissued_by = serializers.SerializerMethodField()
    recorded_by = serializers.CharField(source="recorded_by.username", read_only=True)
    claim_payment_state = serializers.SerializerMethodField()

    class Meta:
        model = Payment
        fields = [
            "id",
            "claim",
            "unit",
            "unit_name",
            "trainee_name",
            "trainee_id_number_masked",
            "rollup",
            "kind",
            "amount",
            "status",
            "paid_on",
            "reference",
            "failure_reason",
            "reissue_of",
            "reissued_by",
            "recorded_by",
            "recorded_at",
            "claim_payment_state",
        ]
        read_only_fields = fields

    @extend_schema_field(
        serializers.IntegerField(allow_null=True, help_text="重新拨付本笔失败的记录")
    )
    def get_reissued_by(self, payment: Payment) -> int | None:
        reissue = getattr(payment, "reissued_by", None)
        return reissue.pk if reissue is not None else None

    @extend_schema_field(
        serializers.ChoiceField(choices=PAYMENT_STATES, help_text="该申报的拨付情况")
    )
    def get_claim_payment_state(self, payment: Payment) -> str:
        if hasattr(payment, "owed"):  # the claim's ledger sums, read with the list
            return rules.payment_state_of(
                money_from(payment), approved=payment.claim.status == "approved"
            )
        return payment_state(payment.claim)


class ClaimMoneySerializer(serializers.Serializer):
    """A claim's figures from its ledger (finance.rules.ClaimMoney)."""

    owed = serializers.CharField(help_text="应付（核准金额；未决申报为已先行拨付额度）")
    paid = serializers.CharField(help_text="已拨付（含先行拨付与余额）")
    advance = serializers.CharField(help_text="先行拨付（扣除应追回后）")
    balance = serializers.CharField(help_text="余额（应付减先行拨付）")
    due = serializers.CharField(help_text="尚待拨付")
    failed = serializers.CharField(help_text="拨付失败且未重新拨付")
    recovery = serializers.CharField(help_text="应追回（累计）")
    recovered = serializers.CharField(help_text="已追回")
    to_recover = serializers.CharField(help_text="尚待追回")


class LedgerEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=LedgerKind.choices)
    part = serializers.CharField(help_text="advance、balance 或空")
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    payment = serializers.IntegerField(source="payment_id", allow_null=True)
    recovery = serializers.IntegerField(source="recovery_id", allow_null=True)
    at = serializers.DateTimeField(source="event.at")
    actor = serializers.CharField(source="event.actor.username")
    note = serializers.CharField(source="event.reason")


class ClaimPaymentsSerializer(serializers.Serializer):
    claim = serializers.IntegerField()
    money = ClaimMoneySerializer(help_text="由资金账目得出的各项金额")
    ledger = LedgerEntrySerializer(many=True, help_text="资金账目（只增不改）")
    payment_state = serializers.ChoiceField(
        choices=PAYMENT_STATES,
        help_text="paid、partly_paid、failed、unpaid、recovering 或 recovered",
    )
    payments = PaymentSerializer(many=True)


class AdvanceSerializer(serializers.ModelSerializer):
    """A claim whose advance (五(二)) may be paid now."""

    claim = serializers.IntegerField(source="pk", read_only=True)
    unit_name = serializers.CharField(source="unit.name", read_only=True)
    quarter = serializers.CharField(source="report.quarter", read_only=True)
    status = serializers.ChoiceField(choices=ClaimStatus.choices, read_only=True)
    payee = serializers.ChoiceField(choices=Payee.choices, read_only=True)
    trainee_name = serializers.CharField(source="trainee.name", read_only=True)
    trainee_id_number_masked = serializers.CharField(
        source="trainee.id_number_masked", read_only=True
    )
    institution_name = serializers.CharField(source="institution.name", read_only=True)
    credit_code = serializers.CharField(
        source="institution.credit_code", read_only=True
    )
    program_name = serializers.CharField(source="program.name", read_only=True)

    class Meta:
        model = Claim
        fields = [
            "claim",
            "unit",
            "unit_name",
            "quarter",
            "status",
            "payee",
            "trainee_name",
            "trainee_id_number_masked",
            "institution_name",
            "credit_code",
            "program",
            "program_name",
            "fund",
            "amount",
            "advance",
        ]
        read_only_fields = fields


class RecoveryFilterSerializer(serializers.Serializer):
    settled = serializers.BooleanField(
        required=False,
        default=False,
        help_text="true 时同时列出已追回的和已冲抵的；默认只列待追回的",
    )


class RecoverySerializer(serializers.ModelSerializer):
    unit = serializers.CharField(source="claim.unit_id", read_only=True)
    unit_name = serializers.CharField(source="claim.unit.name", read_only=True)
    trainee_name = serializers.CharField(source="claim.trainee.name", read_only=True)
    trainee_id_number_masked = serializers.CharField(
        source="claim.trainee.id_number_masked", read_only=True
    )
    institution_name = serializers.CharField(
        source="claim.institution.name", read_only=True
    )
    settled = serializers.SerializerMethodField()
    netted = serializers.SerializerMethodField()
    settled_by = serializers.CharField(
        source="settled_by.username", allow_null=True, default=None, read_only=True
    )

    class Meta:
        model = Recovery
        fields = [
            "id",
            "claim",
            "unit",
            "unit_name",
            "trainee_name",
            "trainee_id_number_masked",
            "institution_name",
            "amount",
            "reason",
            "created_at",
            "settled",
            "settled_at",
            "settled_by",
            "settlement_reference",
            "netted",
            "netted_at",
        ]
        read_only_fields = fields

    def get_settled(self, recovery: Recovery) -> bool:
        return recovery.settled_at is not None

    def get_netted(self, recovery: Recovery) -> bool:
        """Cancelled, not chased: the claim came to be owed it again."""
        return recovery.netted_at is not None


class RecoverySettleSerializer(serializers.Serializer):
    reference = serializers.CharField(
        max_length=60,
        allow_blank=True,
        default="",
        validators=[single_line_text],
        help_text="追回凭证号",
    )


# --- A training class's advance (issue 16) --------------------------------------------------
class ClassAdvanceInputSerializer(serializers.Serializer):
    paid_on = serializers.DateField(
        required=False,
        default=None,
        allow_null=True,
        help_text="拨付日期：不早于开班日期，不晚于今天；不填为今天",
    )
    reference = serializers.CharField(
        max_length=60,
        allow_blank=True,
        default="",
        validators=[single_line_text],
        help_text="凭证号",
    )
    amount = money(
        min_value=Decimal("0.01"),
        required=False,
        default=None,
        allow_null=True,
        help_text="拨付金额（元，两位小数）：填写时须等于应拨金额（核对用）",
    )


class ClassAdvanceSerializer(serializers.ModelSerializer):
    training_class = serializers.IntegerField(
        source="training_class_id", read_only=True, help_text="培训班 id"
    )
    institution = serializers.IntegerField(
        source="training_class.institution_id",
        read_only=True,
        help_text="收款的培训机构 id",
    )
    institution_name = serializers.CharField(
        source="training_class.institution.name", read_only=True
    )
    ratio = serializers.DecimalField(
        max_digits=5, decimal_places=4, read_only=True, help_text="先行拨付比例"
    )
    expected_total = big_money(
        read_only=True, help_text="名单预计补贴总额（各人预审核定金额之和）"
    )
    amount = big_money(read_only=True, help_text="先行拨付金额")
    recorded_by = serializers.CharField(
        source="recorded_by.username", read_only=True, help_text="登记人"
    )

    class Meta:
        model = ClassAdvance
        fields = [
            "id",
            "training_class",
            "institution",
            "institution_name",
            "ratio",
            "expected_total",
            "amount",
            "paid_on",
            "reference",
            "recorded_by",
            "recorded_at",
            "allocated_at",
        ]
        read_only_fields = fields


# --- The bank loop (issue 18) -----------------------------------------------------------------
class BankTemplateSerializer(serializers.ModelSerializer):
    """A bank template as the API names it: ``{"id", "name", "format", "encoding"}``."""

    class Meta:
        model = BankTemplate
        fields = ["id", "name", "format", "encoding"]
        read_only_fields = fields


class PaymentBatchInputSerializer(serializers.Serializer):
    rollup = serializers.IntegerField(min_value=1, help_text="已生成的地区汇总 id")
    kind = serializers.ChoiceField(
        choices=PaymentKind.choices,
        help_text="advance（先行拨付）或 balance（余额拨付）",
    )
    bank_template = serializers.IntegerField(
        min_value=1, help_text="代发银行模板 id（GET /api/bank-templates/）"
    )


class PaymentBatchSerializer(serializers.ModelSerializer):
    """A batch built: ``{"id", "count", "total", "sha256"}``."""

    class Meta:
        model = PaymentBatch
        fields = ["id", "count", "total", "sha256"]
        read_only_fields = fields


class PaymentBatchStateSerializer(serializers.ModelSerializer):
    class Meta:
        model = PaymentBatch
        fields = ["id", "status", "count", "total", "sha256", "sent_at"]
        read_only_fields = fields


class PaymentBatchSentSerializer(serializers.Serializer):
    already_at_bank = serializers.BooleanField(
        required=False,
        default=False,
        help_text="文件已交给银行：批次生成后有变化（batch_stale）时仍标记已报送，"
        "按银行回盘登记",
    )


class PaymentResultInputSerializer(serializers.Serializer):
    file = serializers.FileField(
        allow_empty_file=True, help_text="银行回盘文件（按批次模板配置的回盘模板读取）"
    )


class PaymentResultSerializer(serializers.Serializer):
    paid = serializers.IntegerField(help_text="登记为已拨付的笔数")
    failed = serializers.IntegerField(help_text="登记为拨付失败的笔数")
    unmatched = serializers.ListField(
        child=serializers.CharField(), help_text="不对应的回盘行（登记成功时为空）"
    )
    total_paid = serializers.DecimalField(
        max_digits=14, decimal_places=2, help_text="已拨付金额合计（元）"
    )
