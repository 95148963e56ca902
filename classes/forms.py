"""The forms of the class pages: they parse what was typed into the services' inputs
(``ClassInput``, trainee ids, ``ClassResult``); the services judge."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from accounts.models import User
from altay_skills.errors import DomainError
from altay_skills.plain_text import multi_line_text, single_line_text
from claims.forms import (
    DATE_WIDGET,
    institution_choices,
    level_choices,
    program_choices,
    trade_choices,
)
from claims.models import Employment
from claims.validators import training_date
from classes.services import ClassInput
from programs.models import Unit


class ClassForm(forms.Form):
    """A class as drafted: the institution's staff draft for their institution (and
    choose the unit they file with), a clerk for their unit (and choose the
    institution)."""

    institution = forms.TypedChoiceField(label="培训机构", coerce=int, required=False)
    unit = forms.ChoiceField(label="备案单位（县市）", required=False)
    program = forms.TypedChoiceField(label="补贴项目", coerce=int)
    trade = forms.ChoiceField(label="职业(工种)", required=False)
    level = forms.ChoiceField(label="职业技能等级", required=False)
    project_based = forms.BooleanField(
        label="项目制培训",
        required=False,
        help_text="政府以项目形式向培训机构购买的培训。",
    )
    planned_start = forms.DateField(
        label="计划开班日期", widget=DATE_WIDGET, validators=[training_date]
    )
    planned_end = forms.DateField(
        label="计划结业日期", widget=DATE_WIDGET, validators=[training_date]
    )
    hours = forms.DecimalField(
        label="计划学时",
        max_digits=6,
        decimal_places=1,
        min_value=Decimal("0.5"),
        widget=forms.NumberInput(attrs={"step": "0.5", "min": "0.5"}),
    )
    location = forms.CharField(
        label="培训地点", max_length=200, validators=[single_line_text]
    )
    teachers = forms.CharField(
        label="授课教师",
        max_length=500,
        required=False,
        validators=[single_line_text],
        help_text="多名教师用逗号或顿号分隔。",
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        fields = self.fields
        fields["program"].choices = program_choices()  # type: ignore[attr-defined]
        fields["trade"].choices = trade_choices()  # type: ignore[attr-defined]
        fields["level"].choices = level_choices()  # type: ignore[attr-defined]
        if user.is_institution_staff:
            del fields["institution"]
            fields["unit"].required = True
            fields["unit"].choices = [("", "请选择备案单位")] + [  # type: ignore[attr-defined]
                (u.code, u.name) for u in Unit.objects.order_by("sort_order", "code")
            ]
        else:
            del fields["unit"]
            fields["institution"].required = True
            fields["institution"].choices = institution_choices(  # type: ignore[attr-defined]
                user.unit_id, empty="请选择培训机构"
            )

        for name, field in fields.items():
            css = {
                "checkbox": "form-check-input",
                "select": "form-select",
            }.get(getattr(field.widget, "input_type", ""), "form-control")
            field.widget.attrs.setdefault("class", css)
            field.widget.attrs.setdefault("data-testid", f"class-{name}")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("planned_start"), cleaned.get("planned_end")
        if start and end and end < start:
            self.add_error("planned_end", "计划结业日期不能早于开班日期")
        return cleaned

    def class_input(self) -> ClassInput:
        v = self.cleaned_data
        user = self.user
        teachers = [
            t.strip()
            for t in str(v.get("teachers") or "").replace("、", ",").split(",")
            if t.strip()
        ]
        institution = (
            user.institution_id if user.is_institution_staff else v["institution"]
        )
        unit = v["unit"] if user.is_institution_staff else user.unit_id
        if institution is None or not unit:
            raise DomainError("invalid_reference", "请选择培训机构和备案单位")
        return ClassInput(
            institution_id=institution,
            program_id=v["program"],
            unit_id=unit,
            planned_start=v["planned_start"],
            planned_end=v["planned_end"],
            hours=v["hours"],
            location=v["location"],
            trade_id=v.get("trade") or None,
            level_id=v.get("level") or None,
            project_based=bool(v.get("project_based")),
            teachers=teachers[:20],
        )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label="理由",
        max_length=2000,
        validators=[multi_line_text],
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class SessionForm(forms.Form):
    date = forms.DateField(label="上课日期", widget=DATE_WIDGET)
    hours = forms.DecimalField(
        label="学时",
        max_digits=6,
        decimal_places=1,
        min_value=Decimal("0.5"),
        max_value=Decimal(24),
        widget=forms.NumberInput(attrs={"step": "0.5", "min": "0.5", "max": "24"}),
    )


EMPLOYMENT_CHOICES = Employment.choices


class ImportForm(forms.Form):
    sheet = forms.FileField(label="结业结果表（.xlsx）")
