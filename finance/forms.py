"""Forms of the quarter's money pages. They parse the shape of the input (a date, an
amount in yuan, a choice); whether a payment may be recorded is ``reporting.services``'s
business — the same functions the REST API calls."""

from __future__ import annotations

from django import forms

from altay_skills.plain_text import multi_line_text, single_line_text
from finance.models import PaymentKind, PaymentStatus

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def error_text(form: forms.Form) -> str:
    """A form's problems as one Chinese sentence for the page's message."""
    parts = []
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        parts.append(f"{label or name}：{'；'.join(str(e) for e in errors)}")
    return "登记未保存。" + "；".join(parts)


class PaymentForm(forms.Form):
    """One payment, or one failed attempt, on one claim (``payment_record``)."""

    claim = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    kind = forms.ChoiceField(label="类别", choices=PaymentKind.choices)
    amount = forms.DecimalField(
        label="金额（元）", max_digits=14, decimal_places=2, min_value=0
    )
    paid_on = forms.DateField(label="拨付日期", widget=DATE_WIDGET)
    status = forms.ChoiceField(label="结果", choices=PaymentStatus.choices)
    reference = forms.CharField(
        label="凭证号", max_length=60, required=False, validators=[single_line_text]
    )
    failure_reason = forms.CharField(
        label="失败原因", max_length=500, required=False, validators=[multi_line_text]
    )
    reissue_of = forms.IntegerField(
        min_value=1, required=False, widget=forms.HiddenInput
    )

    def error_text(self) -> str:
        return error_text(self)


class RecoverySettleForm(forms.Form):
    reference = forms.CharField(
        label="追回凭证号",
        max_length=60,
        required=False,
        validators=[single_line_text],
    )


class RollupRequestForm(forms.Form):
    quarter = forms.CharField(label="季度", max_length=10)

    def clean_quarter(self) -> str:
        return self.cleaned_data["quarter"].strip().upper()


class ClassAdvanceForm(forms.Form):
    """A training class's advance (``class_advance_pay``): the amount shown is checked
    against the amount due."""

    amount = forms.DecimalField(
        label="金额（元）", max_digits=14, decimal_places=2, min_value=0
    )
    paid_on = forms.DateField(label="拨付日期", widget=DATE_WIDGET)
    reference = forms.CharField(
        label="凭证号", max_length=60, required=False, validators=[single_line_text]
    )

    def error_text(self) -> str:
        return error_text(self)
