"""The real-name registry in the admin: ID numbers shown masked only (lists and the
change page; the full number is typed once, on adding a person), and the record of
full-number views, read-only."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from claims.admin import ReadOnlyAdminMixin
from programs.admin import AdministratorAccessMixin
from trainees.id_numbers import normalize
from trainees.models import Group, IdNumberReveal, Trainee

_ID_NUMBER_LIKE = re.compile(r"[0-9]{17}[0-9Xx]", re.ASCII)


class TraineeForm(forms.ModelForm):
    groups = forms.MultipleChoiceField(
        label=_("人员类别"),
        choices=Group.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Trainee
        fields = (
            "id_number",
            "name",
            "household",
            "groups",
            "phone",
            "registered_by_unit",
        )

    def clean_id_number(self) -> str:
        return normalize(self.cleaned_data.get("id_number") or "")

    def clean_groups(self) -> list[str]:
        chosen = set(self.cleaned_data.get("groups") or [])
        return [g for g in Group.values if g in chosen]


@admin.register(Trainee)
class TraineeAdmin(AdministratorAccessMixin):
    form = TraineeForm
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
    fieldsets = (
        (
            _("实名信息"),
            {
                "fields": ("id_number", "name", "birth_date", "sex"),
                "description": _("出生日期和性别由身份证号码自动得出。"),
            },
        ),
        (_("类别与联系方式"), {"fields": ("household", "groups", "phone")}),
        (_("登记"), {"fields": ("registered_by_unit", "created_at", "updated_at")}),
    )

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return self.fieldsets
        # A stored number is never changed nor shown whole here (least privilege).
        (title, options), *rest = self.fieldsets
        fields = tuple(
            "id_number_masked" if f == "id_number" else f for f in options["fields"]
        )
        return ((title, {**options, "fields": fields}), *rest)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly: tuple[str, ...] = ("birth_date", "sex", "created_at", "updated_at")
        if obj is not None:
            readonly = ("id_number_masked", *readonly)
        return readonly

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
class IdNumberRevealAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
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
