"""Claims and their audit trail, read-only in the admin.

A claim changes only through ``claims.services``, which judges it and writes the audit
event in the same transaction; the admin therefore never adds, changes or deletes one.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from claims import workflow
from claims.models import Claim, ClaimEvent
from programs.admin import AdministratorAccessMixin


class ReadOnlyAdminMixin:
    """No add, change or delete for anyone, superusers included."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _status_label(value: str) -> str:
    return workflow.STATUS_LABELS.get(value, value) if value else "—"


class EventLabelsMixin:
    """The action and statuses of an event in words."""

    @admin.display(description=_("操作"))
    def action_display(self, obj: ClaimEvent) -> str:
        return workflow.ACTION_LABELS.get(obj.action, obj.action)

    @admin.display(description=_("原状态"))
    def from_display(self, obj: ClaimEvent) -> str:
        return _status_label(obj.from_status)

    @admin.display(description=_("新状态"))
    def to_display(self, obj: ClaimEvent) -> str:
        return _status_label(obj.to_status)


class ClaimEventInline(EventLabelsMixin, ReadOnlyAdminMixin, admin.TabularInline):
    model = ClaimEvent
    extra = 0
    can_delete = False
    fields = ("at", "actor", "action_display", "from_display", "to_display", "reason")
    readonly_fields = fields
    ordering = ("at", "id")
    verbose_name_plural = _("审核记录")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return AdministratorAccessMixin.is_role_administrator(
            request
        ) or super().has_view_permission(request, obj)


CLAIM_FIELDSETS: tuple[tuple[Any, Any], ...] = (
    (
        _("申报"),
        {
            "fields": (
                "id",
                "status",
                "unit",
                "trainee_display",
                "program",
                "trade",
                "level",
                "institution",
                "employer",
            )
        },
    ),
    (
        _("培训"),
        {
            "fields": (
                "training_start",
                "training_end",
                "project_based",
                "work_in_lieu_months",
                "passed",
                "certificate_number",
                "employment",
            )
        },
    ),
    (
        _("金额与判定"),
        {
            "fields": (
                "amount_requested",
                "eligible",
                "cap",
                "amount",
                "advance",
                "approved_amount",
                "fund",
                "payee",
                "violations_display",
                "explanation_display",
                "policy_entries",
                "decided_on",
            )
        },
    ),
    (
        _("经办与审核"),
        {
            "fields": (
                "created_by",
                "created_at",
                "submitted_at",
                "reviewed_by",
                "reviewed_at",
                "updated_at",
                "limit_year",
                "limit_slot",
            )
        },
    ),
)


@admin.register(Claim)
class ClaimAdmin(ReadOnlyAdminMixin, AdministratorAccessMixin):
    list_display = (
        "id",
        "trainee_display",
        "program",
        "unit",
        "status",
        "amount",
        "created_by",
        "training_end",
    )
    list_display_links = ("id", "trainee_display")
    list_filter = ("status", "program", "unit", "eligible")
    search_fields = ("=id", "=trainee__id_number", "trainee__name")
    search_help_text = _("输入申报编号、完整的18位身份证号码或姓名。")
    list_select_related = ("trainee", "program", "unit", "created_by")
    date_hierarchy = "training_end"
    fieldsets = CLAIM_FIELDSETS
    readonly_fields = tuple(
        f for _title, opts in CLAIM_FIELDSETS for f in opts["fields"]
    )
    inlines = (ClaimEventInline,)

    @admin.display(description=_("培训人员"), ordering="trainee__name")
    def trainee_display(self, obj: Claim) -> str:
        return str(obj.trainee)  # name with the masked ID number

    @admin.display(description=_("不符合项"))
    def violations_display(self, obj: Claim) -> SafeString | str:
        if not obj.violations:
            return "—"
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li>[{}] {}（{}）</li>",
                (
                    (v.get("code", ""), v.get("message", ""), v.get("clause", ""))
                    for v in obj.violations
                ),
            ),
        )

    @admin.display(description=_("核定说明"))
    def explanation_display(self, obj: Claim) -> SafeString | str:
        if not obj.explanation:
            return "—"
        return format_html(
            "<ol>{}</ol>",
            format_html_join("", "<li>{}</li>", ((line,) for line in obj.explanation)),
        )


@admin.register(ClaimEvent)
class ClaimEventAdmin(EventLabelsMixin, ReadOnlyAdminMixin, AdministratorAccessMixin):
    list_display = (
        "at",
        "claim",
        "actor",
        "action_display",
        "from_display",
        "to_display",
        "reason",
    )
    list_filter = ("action", "to_status")
    search_fields = ("=claim__id", "actor__username", "reason")
    list_select_related = ("claim", "actor")
    date_hierarchy = "at"
    fields = (
        "claim",
        "actor",
        "at",
        "action",
        "from_status",
        "to_status",
        "reason",
        "changes",
    )
    readonly_fields = fields
