"""Sign-in and password forms (Django's own, with the labels and widgets of this site),
and the proposal of a change of a user's role or unit."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm

from accounts.models import Role, User
from altay_skills.plain_text import multi_line_text, stated_reason


class LoginForm(AuthenticationForm):
    """Django's form (its zh-hans messages) with labels and autocomplete hints."""

    username = forms.CharField(
        label="用户名",
        max_length=150,
        widget=forms.TextInput(
            attrs={
                "autofocus": True,
                "autocomplete": "username",
                "autocapitalize": "none",
            }
        ),
    )
    password = forms.CharField(
        label="密码",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class ChangePasswordForm(PasswordChangeForm):
    """Django's password change with the autocomplete hints browsers and managers use."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["old_password"].widget.attrs.update(
            {"autocomplete": "current-password", "autofocus": True}
        )
        for name in ("new_password1", "new_password2"):
            self.fields[name].widget.attrs["autocomplete"] = "new-password"


class RoleChangeProposalForm(forms.Form):
    """Proposing a user's new role and unit; a second administrator confirms it."""

    user = forms.ModelChoiceField(
        label="用户",
        queryset=User.objects.none(),
        empty_label="请选择用户",
        error_messages={"required": "请选择用户", "invalid_choice": "请选择用户"},
    )
    role = forms.ChoiceField(label="新角色", choices=Role.choices)
    unit = forms.ModelChoiceField(
        label="新单位",
        queryset=User._meta.get_field("unit").related_model._default_manager.none(),
        required=False,
        empty_label="（无）",
        help_text="县(市)经办人必须选择所属单位；其他角色可不填。",
    )
    reason = forms.CharField(
        label="理由",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        validators=[multi_line_text],
        error_messages={"required": "请填写变更理由"},
    )

    def __init__(self, *args: Any, candidates: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = candidates  # type: ignore[attr-defined]
        units = User._meta.get_field("unit").related_model._default_manager
        self.fields["unit"].queryset = units.order_by(  # type: ignore[attr-defined]
            "sort_order", "code"
        )

    def clean_reason(self) -> str:
        return stated_reason(self.cleaned_data["reason"], missing="请填写变更理由")
