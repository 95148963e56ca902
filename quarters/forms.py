"""The objection form of the public notice page (公示, issue 17): what is wrong, an
optional contact, and the challenge (django-simple-captcha, drawn on this server)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from captcha.fields import CaptchaField, CaptchaTextInput

from altay_skills.plain_text import multi_line_text, single_line_text
from quarters.throttles import CHALLENGE_FAILED


class ChallengeInput(CaptchaTextInput):
    """The challenge's picture with an alternative text in the visitor's language
    (the package's own says "captcha")."""

    template_name = "quarters/captcha_widget.html"

    def get_context(self, name: str, value: Any, attrs: Any) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        context["alt"] = _("验证码图片：请输入图中的字符")
        return context


class ObjectionForm(forms.Form):
    text = forms.CharField(
        label=_("哪里不对"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 4, "class": "form-control"}),
        validators=[multi_line_text],
        error_messages={"required": _("请填写异议内容（哪里不对）")},
    )
    contact = forms.CharField(
        label=_("联系方式（选填）"),
        max_length=100,
        required=False,
        validators=[single_line_text],
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )
    challenge = CaptchaField(
        label=_("验证码"),
        widget=ChallengeInput(),
        error_messages={
            "invalid": CHALLENGE_FAILED,
            "required": _("请输入图中的字符"),
        },
    )


class ObjectionFindingForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("核查结论"),
        # nothing chosen until the finder chooses: 异议成立 + 退回 was pre-selected, a
        # ruling one click away from a slip (the review of session 25)
        choices=[
            ("", _("请选择核查结论")),
            ("upheld", _("异议成立")),
            ("dismissed", _("异议不成立")),
        ],
        widget=forms.Select(
            attrs={"class": "form-select form-select-sm", "aria-label": "核查结论"}
        ),
    )
    claim_action = forms.ChoiceField(
        label=_("异议成立时对申报的处理"),
        choices=[("return", _("退回经办人")), ("reject", _("驳回"))],
        required=False,
        widget=forms.Select(
            attrs={
                "class": "form-select form-select-sm",
                "aria-label": "异议成立时对申报的处理",
            }
        ),
    )
    reason = forms.CharField(
        label=_("理由"),
        max_length=500,
        widget=forms.Textarea(
            attrs={
                "rows": 2,
                "class": "form-control form-control-sm",
                "placeholder": "核查情况和理由（必填）",
                "aria-label": "核查情况和理由",
            }
        ),
        validators=[multi_line_text],
    )
