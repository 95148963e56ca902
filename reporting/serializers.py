"""Read-only answers over the API: notices and the public side."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from quarters.serializers import QuarterField

PAYMENT_STATES = [
    ("paid", "已拨付"),
    ("partly_paid", "部分拨付"),
    ("failed", "拨付失败"),
    ("unpaid", "未拨付"),
]


def big_money(**kwargs: Any) -> serializers.DecimalField:
    """Totals of a rollup (the models hold 14 digits there)."""
    return serializers.DecimalField(max_digits=14, decimal_places=2, **kwargs)


# --- Notices -------------------------------------------------------------------------------
class NotificationSerializer(serializers.Serializer):
    text = serializers.CharField()
    link = serializers.CharField(allow_blank=True, help_text="相关页面（浏览器）")
    level = serializers.CharField(
        help_text="info、success、warning、danger 或 secondary"
    )


# --- The public side (no personal data) -------------------------------------------------------
class DisclosureQuerySerializer(serializers.Serializer):
    quarter = QuarterField(required=False)


class DisclosureRowSerializer(serializers.Serializer):
    unit = serializers.CharField(help_text="单位名称")
    quarter = serializers.CharField()
    program = serializers.CharField(help_text="项目（序号和名称）")
    fund = serializers.CharField(help_text="资金渠道")
    person_times = serializers.IntegerField(help_text="补贴人次")
    amount = big_money(help_text="补贴金额")


class DisclosureUnitSerializer(serializers.Serializer):
    unit = serializers.CharField(help_text="单位名称")
    person_times = serializers.IntegerField()
    amount = big_money()


class DisclosureSerializer(serializers.Serializer):
    quarter = serializers.CharField(allow_null=True, help_text="所筛选的季度")
    quarters = serializers.ListField(
        child=serializers.CharField(), help_text="已公开的季度"
    )
    rows = DisclosureRowSerializer(many=True)
    by_unit = DisclosureUnitSerializer(many=True)
    person_times = serializers.IntegerField(help_text="合计人次")
    amount = big_money(help_text="合计金额")


class CatalogueEntrySerializer(serializers.Serializer):
    number = serializers.IntegerField(help_text="项目序号")
    name = serializers.CharField()
    section = serializers.CharField()
    fund = serializers.CharField(help_text="资金渠道")
    caps = serializers.ListField(
        child=serializers.CharField(), help_text="现行补贴标准"
    )
    basis = serializers.CharField(help_text="补贴依据")


class PublicInstitutionSerializer(serializers.Serializer):
    """Public registration data only: name, kind, where, credit code."""

    name = serializers.CharField()
    kind = serializers.CharField()
    kind_label = serializers.CharField(source="get_kind_display")
    unit = serializers.CharField(source="unit_id", help_text="所在单位代码")
    unit_name = serializers.CharField(source="unit.name")
    credit_code = serializers.CharField(help_text="统一社会信用代码")
