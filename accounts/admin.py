"""Staff users in the admin: Django's user admin plus the role and the unit, shown but
never edited here (issue 12, 3): a role or unit changes only through a role change that
one administrator proposes and a second confirms (``accounts.services``); nobody edits
their own role, unit, staff or superuser status or permissions. The role changes are
listed read-only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from simple_history.admin import SimpleHistoryAdmin

from accounts.admin_access import AdministratorAccessMixin
from accounts.models import Role, RoleChange, User

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


#: Never edited on a user's change page, by anyone (superusers included): a role or unit
#: changes only through a ``RoleChange`` that one administrator proposes and a second
#: confirms; superuser and staff status and raw Django permissions are the operator's
#: (``create_staff_user`` when setting up a system).
PROTECTED_FIELDS = (
    "role",
    "unit",
    "is_superuser",
    "is_staff",
    "groups",
    "user_permissions",
)
#: Stored values the change page keeps, whatever a request sends (a crafted POST or a
#: history "revert" that would restore an old role).
_KEPT_ON_CHANGE = ("role", "unit_id", "is_superuser", "is_staff")


def _role_change_help(user: User | None) -> str:
    propose = reverse("role_change_propose")
    if user is not None:
        propose += f"?user={user.pk}"
    return format_html(
        '{} <a href="{}">{}</a> · <a href="{}">{}</a>',
        _(
            "角色和单位不能在此直接修改：须由一位系统管理员提议、另一位系统管理员"
            "确认后生效，任何人不能变更本人的角色或单位。"
        ),
        propose,
        _("提议变更角色"),
        reverse("role_change_list"),
        _("角色变更记录"),
    )


@admin.register(User)
class UserAdmin(AdministratorAccessMixin, SimpleHistoryAdmin, DjangoUserAdmin):
    form = StaffUserChangeForm
    add_form = StaffUserCreationForm
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("个人信息"), {"fields": ("first_name", "last_name", "email")}),
        (_("角色与单位"), {"fields": ("role", "unit")}),
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
                    "“职员状态”决定能否登录本管理后台（仅系统管理员需要），随角色变更"
                    "自动设置；超级用户和权限只能由运维人员在初始化系统时设置。"
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

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            if request.user.is_superuser:
                return self.add_fieldsets  # setting up a system
            # A new user starts without a role: it is proposed and confirmed as any
            # other change, so no administrator hands out a role alone.
            account, _names = self.add_fieldsets
            names = (
                _("姓名"),
                {
                    "classes": ("wide",),
                    "fields": ("first_name",),
                    "description": format_html(
                        "{}<br>{}",
                        _("新用户创建后没有角色，不能查看任何申报。"),
                        _role_change_help(None),
                    ),
                },
            )
            return (account, names)
        fieldsets = list(super().get_fieldsets(request, obj))
        return [
            (title, {**options, "description": _role_change_help(obj)})
            if options.get("fields") == ("role", "unit")
            else (title, options)
            for title, options in fieldsets
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = tuple(super().get_readonly_fields(request, obj))
        if obj is None:
            return readonly
        readonly += tuple(f for f in PROTECTED_FIELDS if f not in readonly)
        if obj.pk == request.user.pk:
            readonly += ("is_active",)  # nor lock or unlock oneself
        return readonly

    def save_model(
        self, request: HttpRequest, obj: Any, form: Any, change: bool
    ) -> None:
        if not change:  # staff status follows the role, as create_staff_user sets it
            obj.is_staff = obj.role == Role.ADMINISTRATOR
        else:
            stored = User.objects.get(pk=obj.pk)
            for field in _KEPT_ON_CHANGE:
                setattr(obj, field, getattr(stored, field))
            if obj.pk == request.user.pk:
                obj.is_active = stored.is_active
        super().save_model(request, obj, form, change)

    def history_form_view(
        self,
        request: HttpRequest,
        object_id: str,
        version_id: str,
        extra_context: Any = None,
    ) -> Any:
        # simple_history's "revert" saves an old row whole, its role and unit included:
        # a user's history is read here, never restored.
        if request.method == "POST":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)

    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> Any:
        # Setting another user's password lets the administrator sign in as them and
        # do their duty (a reviewer's approval, finance's payment): only a superuser
        # setting up the system may; everyone else changes their own password on the
        # site's own page (/accounts/password/change/).
        if not request.user.is_superuser:
            raise PermissionDenied
        return super().user_change_password(request, id, form_url)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A 系统管理员 who is not a superuser cannot take over a superuser's account.
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)


class NoWritesMixin:
    """Never added, changed or deleted here, by anyone (superusers included)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(RoleChange)
class RoleChangeAdmin(NoWritesMixin, AdministratorAccessMixin):
    """The role changes, read-only: they are proposed, confirmed and cancelled on the
    role-change page, through ``accounts.services`` (never here)."""

    list_display = (
        "proposed_at",
        "user",
        "from_role",
        "from_unit",
        "to_role",
        "to_unit",
        "status",
        "proposed_by",
        "confirmed_by",
        "confirmed_at",
    )
    list_filter = ("status", "to_role")
    list_select_related = (
        "user",
        "from_unit",
        "to_unit",
        "proposed_by",
        "confirmed_by",
    )
    search_fields = ("user__username", "reason")
    fields = (
        "user",
        "from_role",
        "from_unit",
        "to_role",
        "to_unit",
        "reason",
        "status",
        "proposed_by",
        "proposed_at",
        "confirmed_by",
        "confirmed_at",
        "cancelled_by",
        "cancelled_at",
    )
    readonly_fields = fields
