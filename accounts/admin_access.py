"""Who may use the Django admin, shared by every app's admin: the administrator role
maintains reference data and users (least privilege: no claims, reports or money are
registered in the admin at all)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from accounts.models import Role


class AdministratorAccessMixin(admin.ModelAdmin):
    """A staff user whose role is 系统管理员 maintains the catalogue without being
    granted each Django model permission; everyone else goes by Django permissions.
    """

    @staticmethod
    def is_role_administrator(request: HttpRequest) -> bool:
        user = request.user
        return bool(
            user.is_active
            and user.is_staff
            and getattr(user, "role", "") == Role.ADMINISTRATOR
        )

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.is_role_administrator(request) or super().has_module_permission(
            request
        )

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.is_role_administrator(request) or super().has_view_permission(
            request, obj
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self.is_role_administrator(request) or super().has_add_permission(
            request
        )

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.is_role_administrator(request) or super().has_change_permission(
            request, obj
        )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.is_role_administrator(request) or super().has_delete_permission(
            request, obj
        )
