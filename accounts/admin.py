"""Staff users in the admin: Django's user admin plus the role and the unit."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from simple_history.admin import SimpleHistoryAdmin

from accounts.models import Role, User
from programs.admin import AdministratorAccessMixin

ROLE_UNIT_HELP = _("县(市)经办人须选择所属单位；其他角色可不填。")


def _check_role_unit(form: forms.ModelForm) -> None:
    cleaned = form.cleaned_data
    if cleaned.get("role") == Role.COUNTY_CLERK and not cleaned.get("unit"):
        form.add_error("unit", _("县(市)经办人须选择所属单位。"))


class StaffUserCreationForm(AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("username",)

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        _check_role_unit(self)
        return cleaned


class StaffUserChangeForm(UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"  # as Django's own UserChangeForm

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        _check_role_unit(self)
        return cleaned


#: Only a superuser hands out superuser status or raw Django permissions.
SUPERUSER_ONLY_FIELDS = ("is_superuser", "groups", "user_permissions")


@admin.register(User)
class UserAdmin(AdministratorAccessMixin, SimpleHistoryAdmin, DjangoUserAdmin):
    form = StaffUserChangeForm
    add_form = StaffUserCreationForm
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("个人信息"), {"fields": ("first_name", "last_name", "email")}),
        (
            _("角色与单位"),
            {"fields": ("role", "unit"), "description": ROLE_UNIT_HELP},
        ),
        (
            _("权限"),
            {
                "fields": (
                    "is_active",
                    "is_staff",
                    "is_superuser",
                    "groups",
                    "user_permissions",
                ),
                "description": _(
                    "“职员状态”决定能否登录本管理后台（仅系统管理员需要）。"
                ),
            },
        ),
        (_("重要日期"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "usable_password", "password1", "password2"),
            },
        ),
        (
            _("角色与单位"),
            {
                "classes": ("wide",),
                "fields": ("first_name", "role", "unit"),
                "description": ROLE_UNIT_HELP,
            },
        ),
    )
    list_display = (
        "username",
        "first_name",
        "role",
        "unit",
        "is_active",
        "is_staff",
        "is_superuser",
        "last_login",
    )
    list_filter = ("role", "unit", "is_active", "is_staff", "is_superuser")
    search_fields = ("username", "first_name", "last_name", "email")
    list_select_related = ("unit",)
    ordering = ("username",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = tuple(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            readonly += tuple(f for f in SUPERUSER_ONLY_FIELDS if f not in readonly)
        return readonly

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A 系统管理员 who is not a superuser cannot take over a superuser's account.
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)
