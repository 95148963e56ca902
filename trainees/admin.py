"""The real-name registry in the admin, read-only for everyone (superusers included):
a person is registered by ``trainee_register`` and their facts change only through
``trainee_update_facts``, which checks who may and records why (issue 12, 3); nothing
here bypasses either. ID numbers are shown masked only; the records of full-number
views and of changes of facts are listed, read-only."""

from __future__ import annotations

import re
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts.admin_access import AdministratorAccessMixin
from trainees.id_numbers import normalize
from trainees.models import IdNumberReveal, Trainee, TraineeFactChange

_ID_NUMBER_LIKE = re.compile(r"[0-9]{17}[0-9Xx]", re.ASCII)


class NoWritesMixin:
    """Never added, changed or deleted here, by anyone (superusers included)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Trainee)
class TraineeAdmin(NoWritesMixin, AdministratorAccessMixin):
    list_display = (
        "id_number_masked",
        "name",
        "sex",
        "birth_date",
        "household",
        "groups_display",
        "registered_by_unit",
        "created_at",
    )
    list_display_links = ("id_number_masked", "name")
    list_filter = ("household", "sex", "registered_by_unit")
    # The full number is searched exactly, never by fragment.
    search_fields = ("=id_number", "name")
    search_help_text = _("输入完整的18位身份证号码，或姓名。")
    list_select_related = ("registered_by_unit",)
    # The number is never shown whole here (least privilege).
    fieldsets = (
        (
            _("实名信息"),
            {
                "fields": ("id_number_masked", "name", "birth_date", "sex"),
                "description": _(
                    "出生日期和性别由身份证号码自动得出。培训人员信息只能由本单位"
                    "县(市)经办人或地区审核人在培训人员页面修改（须填写理由并留痕）。"
                ),
            },
        ),
        (_("类别与联系方式"), {"fields": ("household", "groups_display", "phone")}),
        (_("登记"), {"fields": ("registered_by_unit", "created_at", "updated_at")}),
    )
    readonly_fields = (
        "id_number_masked",
        "name",
        "birth_date",
        "sex",
        "household",
        "groups_display",
        "phone",
        "registered_by_unit",
        "created_at",
        "updated_at",
    )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Trainee], search_term: str
    ) -> tuple[QuerySet[Trainee], bool]:
        term = search_term.strip()
        if _ID_NUMBER_LIKE.fullmatch(term):
            search_term = normalize(term)
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description=_("身份证号码"))
    def id_number_masked(self, obj: Trainee) -> str:
        return obj.id_number_masked

    @admin.display(description=_("人员类别"))
    def groups_display(self, obj: Trainee) -> str:
        return "、".join(obj.group_labels()) or "—"


@admin.register(IdNumberReveal)
class IdNumberRevealAdmin(NoWritesMixin, admin.ModelAdmin):
    """Who saw which full ID number, when, why, from where: never added, changed or
    deleted here (the rows are written by ``id_number_reveal`` only)."""

    list_display = ("at", "actor", "actor_role", "trainee", "reason", "channel")
    list_filter = ("channel", "actor_role")
    list_select_related = ("actor", "trainee")
    fields = (
        "at",
        "actor",
        "actor_role",
        "trainee",
        "reason",
        "channel",
        "source",
        "address",
    )
    readonly_fields = fields


@admin.register(TraineeFactChange)
class TraineeFactChangeAdmin(NoWritesMixin, admin.ModelAdmin):
    """Every change of a person's facts (written by ``trainee_update_facts`` only); as
    the reveals, for superusers, the auditor reads them on the person's page."""

    list_display = ("at", "actor", "actor_role", "trainee", "fields_changed", "reason")
    list_filter = ("actor_role",)
    list_select_related = ("actor", "trainee")
    fields = ("at", "actor", "actor_role", "trainee", "reason", "changes")
    readonly_fields = fields

    @admin.display(description=_("修改的字段"))
    def fields_changed(self, obj: TraineeFactChange) -> str:
        return "、".join(obj.changes) if isinstance(obj.changes, dict) else "—"
