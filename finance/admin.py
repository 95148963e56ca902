"""The bank templates in the admin (issue 18): reference data an administrator
defines — a bank's file layout, not money. Nothing else of ``finance`` is registered:
batches, payments and accounts change only through ``finance.payouts``."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from accounts.admin_access import AdministratorAccessMixin
from altay_skills.plain_text import single_line_text
from finance.bank_rules import BANKS
from finance.models import BankTemplate

#: The values a line of a bank file may carry, by purpose.
BATCH_FIELDS = {"seq", "reference", "account", "holder", "amount", "bank", "purpose"}
RESULT_FIELDS = {
    "reference",
    "account",
    "holder",
    "amount",
    "status",
    "bank_date",
    "bank_reference",
    "reason",
}
SUMMARY_NAMES = {"count", "total", "date", "batch"}
_PLACEHOLDER = re.compile(r"\{(\w+)(?::[^}]*)?\}")


class BankTemplateForm(forms.ModelForm):
    class Meta:
        model = BankTemplate
        fields = [
            "name",
            "purpose",
            "bank",
            "format",
            "encoding",
            "delimiter",
            "fields",
            "header",
            "trailer",
            "column_titles",
            "date_format",
            "amount_unit",
            "paid_values",
            "failed_values",
            "result_template",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].validators.append(single_line_text)
        self.fields["bank"] = forms.ChoiceField(
            label="代发银行",
            choices=[(code, rule.name) for code, rule in BANKS.items()],
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        allowed = RESULT_FIELDS if data.get("purpose") == "result" else BATCH_FIELDS
        columns = data.get("fields")
        if not isinstance(columns, list) or not columns:
            raise ValidationError({"fields": "字段须为非空列表"})
        for column in columns:
            if not isinstance(column, dict) or column.get("name") not in allowed:
                raise ValidationError(
                    {"fields": f"字段名须为以下之一：{'、'.join(sorted(allowed))}"}
                )
            width = column.get("width", 0)
            if not isinstance(width, int) or width < 0:
                raise ValidationError({"fields": "宽度须为非负整数（字节）"})
            if data.get("format") == "fixed" and width <= 0:
                raise ValidationError({"fields": "定长文本的每个字段须有宽度"})
            if column.get("align", "left") not in ("left", "right"):
                raise ValidationError({"fields": "对齐方式须为 left 或 right"})
            if len(str(column.get("pad", " "))) != 1:
                raise ValidationError({"fields": "填充字符须为一个字符"})
        for name in ("header", "trailer"):
            for used in _PLACEHOLDER.findall(data.get(name) or ""):
                if used not in SUMMARY_NAMES:
                    raise ValidationError(
                        {name: "只能使用 {count}、{total}、{date}、{batch}"}
                    )
        paid = data.get("paid_values")
        if not isinstance(paid, list) or not all(isinstance(v, str) for v in paid):
            raise ValidationError({"paid_values": '须为文本列表，如 ["成功"]'})
        if data.get("purpose") == "result" and not paid:
            raise ValidationError({"paid_values": "回盘模板须填写表示成功的状态值"})
        failed = data.get("failed_values")
        if not isinstance(failed, list) or not all(isinstance(v, str) for v in failed):
            raise ValidationError({"failed_values": '须为文本列表，如 ["失败"]'})
        if data.get("purpose") == "result" and not failed:
            # a status neither paid nor failed (处理中) is refused, never counted failed
            raise ValidationError({"failed_values": "回盘模板须填写表示失败的状态值"})
        if set(paid or []) & set(failed):
            raise ValidationError({"failed_values": "同一状态值不能同时表示成功和失败"})
        return data


@admin.register(BankTemplate)
class BankTemplateAdmin(AdministratorAccessMixin):
    form = BankTemplateForm
    list_display = ("name", "purpose", "bank_name", "format", "encoding", "amount_unit")
    list_filter = ("purpose", "format", "encoding")
    search_fields = ("name",)

    @admin.display(description="代发银行")
    def bank_name(self, obj: BankTemplate) -> str:
        rule = BANKS.get(obj.bank)
        return rule.name if rule else obj.bank

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False  # a batch keeps its template (PROTECT); never removed
