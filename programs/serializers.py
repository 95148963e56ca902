"""The catalogue as the API shows it, and the body of a new institution."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from altay_skills.api import ReasonBody, RecordField, reason_field
from altay_skills.plain_text import single_line_text
from programs.credit_codes import InvalidCreditCode, validate_credit_code
from programs.models import (
    Institution,
    InstitutionKind,
    Level,
    PolicyEntry,
    PolicyKind,
    Program,
    Trade,
    Unit,
)


class UnitSerializer(serializers.ModelSerializer):
    class Meta:
        model = Unit
        fields = ["code", "name", "is_prefecture", "has_national_code"]


class ProgramSerializer(serializers.ModelSerializer):
    fund_label = serializers.SerializerMethodField(help_text="资金渠道名称")

    class Meta:
        model = Program
        fields = [
            "number",
            "name",
            "section",
            "fund",
            "fund_label",
            "claimable",
            "subsidy_basis",
            "lead_units",
            "responsible_units",
        ]

    def get_fund_label(self, program: Program) -> str:
        return str(program.get_fund_display()) if program.fund else ""


class TradeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Trade
        fields = [
            "code",
            "name",
            "name_en",
            "edition",
            "highest_rank",
            "lowest_rank",
            "active",
        ]


class LevelSerializer(serializers.ModelSerializer):
    class Meta:
        model = Level
        fields = ["code", "name", "rank"]


class InstitutionSerializer(serializers.ModelSerializer):
    unit_name = serializers.CharField(source="unit.name", read_only=True)

    class Meta:
        model = Institution
        fields = [
            "id",
            "name",
            "kind",
            "credit_code",
            "unit",
            "unit_name",
            "certified_difficult",
            "insured",
            "admitted",
            "admission_status",
            "admitted_at",
            "created_at",
        ]
        read_only_fields = fields

    admission_status = serializers.SerializerMethodField(
        help_text="七(三) 培训评价机构目录：已认定 / 待认定（经办人登记后须经管理员认定）"
    )

    def get_admission_status(self, obj: Institution) -> str:
        return "已认定" if obj.admitted else "待认定"


class InstitutionFilterSerializer(serializers.Serializer):
    unit = serializers.CharField(
        required=False, max_length=6, help_text="所在单位代码，如 654301"
    )
    kind = serializers.ChoiceField(
        choices=InstitutionKind.choices, required=False, help_text="机构类型"
    )
    admitted = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="true：已列入培训机构目录；false：待认定",
    )


class InstitutionAdmitSerializer(ReasonBody):
    """The body of ``POST /api/institutions/{id}/admit/``."""

    missing = "请填写认定依据（如认定文件文号）"
    reason = reason_field("认定依据（必填，如认定文件文号），记入机构的认定记录")


class InstitutionCreateSerializer(serializers.Serializer):
    """The body of ``POST /api/institutions/``; ``unit`` defaults to a clerk's own."""

    name = serializers.CharField(max_length=100, validators=[single_line_text])
    kind = serializers.ChoiceField(choices=InstitutionKind.choices)
    credit_code = serializers.CharField(help_text="18位统一社会信用代码")
    unit = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Unit.objects.all(),
        required=False,
        help_text="所在单位代码；经办人可省略（默认本单位）",
    )
    certified_difficult = serializers.BooleanField(
        default=False, help_text="县(市)政府认定的困难企业（仅管理员可设置）"
    )
    insured = serializers.BooleanField(
        default=False,
        help_text="参保企业（依法参加失业保险；认定时由管理员核实）",
    )

    def validate_credit_code(self, value: str) -> str:
        try:
            return validate_credit_code(value)
        except InvalidCreditCode as exc:
            raise serializers.ValidationError(
                exc.message, code="invalid_credit_code"
            ) from None

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "unit" not in attrs:
            actor = self.context["request"].user
            if not actor.unit_id:
                raise serializers.ValidationError(
                    {"unit": "请填写所在单位代码"}, code="required"
                )
            attrs["unit"] = actor.unit
        return attrs


class PolicyEntrySerializer(serializers.ModelSerializer):
    """A dated policy entry as ``GET /api/policy-entries/`` lists it."""

    kind_label = serializers.CharField(source="get_kind_display", read_only=True)

    class Meta:
        model = PolicyEntry
        fields = [
            "id",
            "program",
            "level",
            "unit",
            "kind",
            "kind_label",
            "amount",
            "ratio",
            "quantity",
            "effective_from",
            "effective_to",
            "clause",
            "source_document",
            "is_demo",
            "note",
        ]
        read_only_fields = fields


class PolicyEntryCreateSerializer(serializers.Serializer):
    """The body of ``POST /api/policy-entries/`` (api-contract.md "policy-entries")."""

    program = RecordField(
        queryset=Program.objects.all(),
        allow_null=True,
        required=False,
        default=None,
        help_text="项目序号；留空表示适用于所有项目",
    )
    level = RecordField(
        queryset=Level.objects.all(),
        allow_null=True,
        required=False,
        default=None,
        help_text="等级代码；留空表示不分等级",
    )
    unit = RecordField(
        queryset=Unit.objects.all(),
        allow_null=True,
        required=False,
        default=None,
        help_text="单位代码；留空表示全地区适用（项目制上浮须填写作出决定的县(市)）",
    )
    kind = serializers.ChoiceField(choices=PolicyKind.choices)
    amount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0"),
        allow_null=True,
        required=False,
        default=None,
        help_text="金额（元）：cap、work_in_lieu_monthly",
    )
    ratio = serializers.DecimalField(
        max_digits=5,
        decimal_places=4,
        allow_null=True,
        required=False,
        default=None,
        help_text="比例：project_uplift（0<比例≤0.5）、advance_ratio",
    )
    quantity = serializers.IntegerField(
        min_value=0,
        max_value=32767,
        allow_null=True,
        required=False,
        default=None,
        help_text="数量：月数、次数、起始月份等",
    )
    effective_from = serializers.DateField()
    effective_to = serializers.DateField(
        allow_null=True, required=False, default=None, help_text="含当日；留空表示长期"
    )
    clause = serializers.CharField(max_length=50, validators=[single_line_text])
    source_document = serializers.CharField(
        max_length=100, validators=[single_line_text], help_text="依据文件文号"
    )
    note = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=1000
    )
