"""The county quarterly report over the API: the bodies sent, and the report sent back.

Bodies are only parsed and checked for shape here (a quarter such as ``2020Q1``, a
share between 0 and 1, a list of ids); who may build, submit, sample or close, and
when, is decided by ``claims.services`` — the same functions the browser calls.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from altay_skills.api import RecordField
from altay_skills.periods import QUARTER_MESSAGE, quarter_bounds
from altay_skills.plain_text import multi_line_text, single_line_text
from claims.models import ClaimStatus
from claims.serializers import money
from programs.models import fund_label
from quarters.models import (
    ObjectionStatus,
    QuarterlyReport,
    ReportStatus,
    SpotCheck,
    SpotCheckResult,
)

#: The largest id a database integer column holds: anything above is no record.
MAX_ID = 2**63 - 1
#: A selection approved in one request; a report is at most a few hundred claims.
MAX_BULK = 1000


class QuarterField(serializers.CharField):
    """A quarter as the notice counts them: ``2020Q1`` (case and spaces forgiven)."""

    default_error_messages = {"invalid_quarter": QUARTER_MESSAGE}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 10)
        kwargs.setdefault("help_text", "季度，如 2020Q1")
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data).strip().upper()
        if quarter_bounds(value) is None:
            self.fail("invalid_quarter")
        return value


# --- Bodies and queries ------------------------------------------------------------------
class ReportBuildSerializer(serializers.Serializer):
    quarter = QuarterField()


class ReportFilterSerializer(serializers.Serializer):
    quarter = QuarterField(required=False)
    unit = serializers.CharField(
        required=False, max_length=6, help_text="单位代码，如 654301"
    )
    status = serializers.ChoiceField(
        choices=ReportStatus.choices, required=False, help_text="报表状态"
    )


class SpotCheckDrawSerializer(serializers.Serializer):
    share = serializers.DecimalField(
        max_digits=5,
        decimal_places=4,
        min_value=Decimal("0.0001"),
        max_value=Decimal("1"),
        required=False,
        allow_null=True,
        default=None,
        help_text="抽查比例（大于0、不超过1），如 0.10；省略时用系统默认比例",
    )


class SpotCheckRecordSerializer(serializers.Serializer):
    result = serializers.ChoiceField(
        choices=[
            (SpotCheckResult.CONSISTENT.value, SpotCheckResult.CONSISTENT.label),
            (SpotCheckResult.INCONSISTENT.value, SpotCheckResult.INCONSISTENT.label),
        ],
        help_text="consistent（材料相符）或 inconsistent（材料不符）",
    )
    note = serializers.CharField(
        max_length=2000,
        allow_blank=True,
        allow_null=True,
        default="",
        validators=[multi_line_text],
        help_text="核对说明；材料不符时必填",
    )

    documents = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        default=list,
        max_length=200,
        help_text="核对过的该申报证明材料 id（选填，issue 16）",
    )

    def validate_note(self, value: str | None) -> str:
        return (value or "").strip()


class BulkApproveSerializer(serializers.Serializer):
    claims = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        min_length=1,
        max_length=MAX_BULK,
        help_text="要核准的申报 id",
    )
    budget_reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=500,
        validators=[multi_line_text],
        help_text="核准后将超出资金预算时须说明的理由（七(五)），会被记录",
    )
    warnings_confirmed = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        default=list,
        max_length=MAX_BULK,
        help_text="已逐笔核实其提示（warnings）的申报 id：所选申报中有提示的，"
        "须全部列在这里才核准，否则返回 409 warnings_unconfirmed 及其清单",
    )


# --- What comes back --------------------------------------------------------------------
class FigureSerializer(serializers.Serializer):
    """One line of a report's figures: per fund and program (五(一))."""

    fund = serializers.CharField(allow_null=True, help_text="资金渠道代码")
    fund_label = serializers.SerializerMethodField()
    program = serializers.IntegerField(source="program_id", help_text="项目序号")
    program_name = serializers.CharField(source="program__name")
    trained = serializers.IntegerField(help_text="培训人数")
    passed = serializers.IntegerField(help_text="合格人数")
    employed = serializers.IntegerField(help_text="就业人数（含自主创业、灵活就业）")
    requested = money(help_text="申请金额")
    amount = money(help_text="核定金额")
    advance = money(help_text="可先行拨付金额")

    def get_fund_label(self, row: dict[str, Any]) -> str:
        return fund_label(row.get("fund"), blank="")


class ReportSpotCheckSerializer(serializers.ModelSerializer):
    checked_by = serializers.CharField(
        source="checked_by.username", allow_null=True, default=None, read_only=True
    )
    result = serializers.ChoiceField(choices=SpotCheckResult.choices, read_only=True)

    class Meta:
        model = SpotCheck
        fields = ["id", "report", "claim", "result", "note", "checked_by", "checked_at"]
        read_only_fields = fields


class SpotCheckRecordedSerializer(ReportSpotCheckSerializer):
    """A spot check as recorded, with the evidence documents examined (issue 16)."""

    documents_examined: serializers.Field = RecordField(many=True, read_only=True)

    class Meta(ReportSpotCheckSerializer.Meta):
        fields = [*ReportSpotCheckSerializer.Meta.fields, "documents_examined"]
        read_only_fields = fields


class ReportClaimSerializer(serializers.Serializer):
    """A claim of a report, compact: a submitted report shows its frozen amounts."""

    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=ClaimStatus.choices)
    trainee_name = serializers.CharField()
    trainee_id_number_masked = serializers.CharField()
    program = serializers.IntegerField()
    program_name = serializers.CharField()
    fund = serializers.CharField(allow_null=True)
    amount = money(help_text="核定金额（已报送的报表为报送时冻结的金额）")
    advance = money()
    approved_amount = money(allow_null=True)
    sampled = serializers.BooleanField(help_text="是否被随机抽查")
    spot_check = ReportSpotCheckSerializer(allow_null=True)


class ReportSerializer(serializers.ModelSerializer):
    """A report as a list shows it. ``claim_count`` and ``control_total`` are frozen on
    submission; for a draft they count the claims now attached."""

    unit_name = serializers.CharField(source="unit.name", read_only=True)
    status = serializers.ChoiceField(choices=ReportStatus.choices, read_only=True)
    claim_count = serializers.SerializerMethodField()
    control_total = serializers.SerializerMethodField()
    built_by = serializers.CharField(source="built_by.username", read_only=True)
    submitted_by = serializers.CharField(
        source="submitted_by.username", allow_null=True, default=None, read_only=True
    )
    spot_checked_by = serializers.CharField(
        source="spot_checked_by.username",
        allow_null=True,
        default=None,
        read_only=True,
    )
    closed_by = serializers.CharField(
        source="closed_by.username", allow_null=True, default=None, read_only=True
    )

    class Meta:
        model = QuarterlyReport
        fields = [
            "id",
            "unit",
            "unit_name",
            "quarter",
            "status",
            "claim_count",
            "control_total",
            "built_by",
            "built_at",
            "submitted_by",
            "submitted_at",
            "spot_check_share",
            "spot_check_seed",
            "spot_checked_by",
            "spot_checked_at",
            "closed_by",
            "closed_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_claim_count(self, report: QuarterlyReport) -> int | None:
        if report.status == ReportStatus.DRAFT:
            return int(getattr(report, "attached_count", 0) or 0)
        return report.claim_count

    @extend_schema_field(money(allow_null=True))
    def get_control_total(self, report: QuarterlyReport) -> str | None:
        if report.status == ReportStatus.DRAFT:
            total = getattr(report, "attached_total", None) or Decimal("0")
            return money().to_representation(total)
        if report.control_total is None:
            return None
        return money().to_representation(report.control_total)


class ReportDetailSerializer(ReportSerializer):
    """A report with its figures (per fund and program) and its claims.

    Pass ``context={"figures": [...], "claims": [...]}`` (rows already read).
    """

    figures = serializers.SerializerMethodField()
    claims = serializers.SerializerMethodField()

    class Meta(ReportSerializer.Meta):
        fields = [*ReportSerializer.Meta.fields, "figures", "claims"]
        read_only_fields = fields

    @extend_schema_field(FigureSerializer(many=True))
    def get_figures(self, report: QuarterlyReport) -> Any:
        return FigureSerializer(self.context["figures"], many=True).data

    @extend_schema_field(ReportClaimSerializer(many=True))
    def get_claims(self, report: QuarterlyReport) -> Any:
        return ReportClaimSerializer(self.context["claims"], many=True).data


class SpotCheckDrawResultSerializer(serializers.Serializer):
    """The sample of a report: the seed that reproduces it and the claims drawn."""

    report = serializers.IntegerField()
    seed = serializers.CharField(help_text="抽样种子（可据此复现抽样）")
    share = serializers.DecimalField(max_digits=5, decimal_places=4, allow_null=True)
    drawn_by = serializers.CharField(allow_null=True)
    drawn_at = serializers.DateTimeField(allow_null=True)
    claims = serializers.ListField(
        child=serializers.IntegerField(), help_text="被抽查的申报 id"
    )
    spot_checks = ReportSpotCheckSerializer(many=True)


# --- Public notice and objections (公示, issue 17) -------------------------------------------
class PublicNoticeQuerySerializer(serializers.Serializer):
    unit = serializers.CharField(
        required=False, allow_blank=True, max_length=6, help_text="单位代码，如 654301"
    )
    quarter = QuarterField(required=False, allow_blank=True)

    def validate_unit(self, value: str) -> str:
        value = value.strip()
        if value and not (value.isascii() and value.isdigit() and len(value) == 6):
            raise serializers.ValidationError("单位代码应为6位数字，如 654301")
        return value


class PublicLineSerializer(serializers.Serializer):
    line = serializers.IntegerField(help_text="公示明细编号（提出异议时填写）")
    name_masked = serializers.CharField(
        source="name", help_text="姓名（中间隐去，如 张*三）"
    )
    id_number_masked = serializers.CharField(
        source="id_number", help_text="身份证号码（仅显示前6位和后4位）"
    )
    institution_name = serializers.CharField(source="institution")
    program = serializers.CharField()
    trade_name = serializers.CharField(source="trade")
    level_name = serializers.CharField(source="level")
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    objections_open = serializers.IntegerField(help_text="待核查的异议数")


class PublicNoticeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    unit = serializers.CharField()
    unit_name = serializers.CharField()
    quarter = serializers.CharField()
    opened_on = serializers.DateField(help_text="公示开始日期")
    last_day = serializers.DateField(help_text="公示最后一天")
    is_open = serializers.BooleanField(help_text="是否在公示期内")
    working_days = serializers.IntegerField(help_text="公示期（工作日）")
    calendar_covered = serializers.BooleanField(
        help_text="节假日历是否覆盖公示期（否：按周一至周五计算）"
    )
    line_count = serializers.IntegerField()
    total = serializers.DecimalField(max_digits=14, decimal_places=2)
    lines = PublicLineSerializer(many=True)


class ChallengeSerializer(serializers.Serializer):
    key = serializers.CharField(max_length=40, help_text="验证码的 key")
    answer = serializers.CharField(max_length=20, help_text="图中的字符")


class ChallengeIssuedSerializer(serializers.Serializer):
    key = serializers.CharField()
    image_url = serializers.CharField()


class ObjectionLodgeSerializer(serializers.Serializer):
    notice = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    line = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    text = serializers.CharField(
        max_length=500, validators=[multi_line_text], help_text="哪里不对（必填）"
    )
    contact = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        default="",
        validators=[single_line_text],
        help_text="联系方式（选填）",
    )
    challenge = ChallengeSerializer(help_text="验证码：key 与图中的字符")


class ObjectionLodgedSerializer(serializers.Serializer):
    reference = serializers.CharField(help_text="查询码：凭此查询核查结果")


class ObjectionOutcomeSerializer(serializers.Serializer):
    reference = serializers.CharField()
    quarter = serializers.CharField(source="notice.quarter")
    unit_name = serializers.CharField(source="notice.unit.name")
    line = serializers.IntegerField(source="line_id")
    lodged_at = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=ObjectionStatus.choices)
    status_label = serializers.CharField(source="get_status_display")
    finding = serializers.CharField()
    decided_at = serializers.DateTimeField(allow_null=True)


class ObjectionFindingSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(
        choices=["upheld", "dismissed"],
        error_messages={
            "invalid_choice": "核查结论应为 upheld（异议成立）或 dismissed（异议不成立）"
        },
    )
    reason = serializers.CharField(
        max_length=500, validators=[multi_line_text], help_text="核查结论的理由（必填）"
    )
    claim_action = serializers.ChoiceField(
        choices=["return", "reject"],
        required=False,
        default="return",
        help_text="异议成立时对仍待审核的申报：return 退回经办人（默认）或 reject 驳回",
    )


class ObjectionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    notice = serializers.IntegerField(source="notice_id")
    unit = serializers.CharField(source="notice.unit_id")
    quarter = serializers.CharField(source="notice.quarter")
    claim = serializers.IntegerField(source="claim_id")
    line = serializers.IntegerField(source="line_id")
    text = serializers.CharField()
    contact = serializers.CharField()
    lodged_at = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=ObjectionStatus.choices)
    finding = serializers.CharField()
    claim_action = serializers.ChoiceField(choices=["", "return", "reject"])
    decided_by = serializers.CharField(source="decided_by.username", allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
