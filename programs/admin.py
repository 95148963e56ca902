"""The administrator's catalogue: units, programs, levels, trades, institutions, policy.

Programs, trades, institutions and policy entries keep their history (simple_history),
so every change of a figure can be traced. Policy entries that a claim was judged by are
never deleted and their figures never rewritten: the administrator closes such an entry
with a 失效日期 and adds a new one (a change of policy never rewrites the past).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Count, Field, Max, Model, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from simple_history.admin import SimpleHistoryAdmin

from accounts.admin_access import AdministratorAccessMixin
from altay_skills.errors import DomainError
from altay_skills.plain_text import multi_line_text, single_line_text
from programs.credit_codes import InvalidCreditCode, validate_credit_code
from programs.models import (
    Institution,
    InstitutionKind,
    Level,
    PolicyEntry,
    Program,
    Trade,
    Unit,
)
from programs.services import (
    ADMISSION_COLUMNS,
    QUALIFYING_FIELDS,
    institution_admit,
    institution_change,
)


class CodeReadonlyOnChangeMixin(admin.ModelAdmin):
    """The primary-key code is typed once; changing it would copy the row instead."""

    code_field = "code"

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = tuple(super().get_readonly_fields(request, obj))
        if obj is not None and self.code_field not in readonly:
            readonly = (self.code_field, *readonly)
        return readonly


# --- Units and levels ---------------------------------------------------------
@admin.register(Unit)
class UnitAdmin(CodeReadonlyOnChangeMixin, AdministratorAccessMixin):
    list_display = ("code", "name", "is_prefecture", "has_national_code", "sort_order")
    list_display_links = ("code", "name")
    list_filter = ("is_prefecture", "has_national_code")
    search_fields = ("code", "name")
    ordering = ("sort_order", "code")


@admin.register(Level)
class LevelAdmin(CodeReadonlyOnChangeMixin, AdministratorAccessMixin):
    list_display = ("code", "name", "rank", "sort_order")
    list_display_links = ("code", "name")
    search_fields = ("code", "name")
    ordering = ("sort_order",)


# --- Programs -----------------------------------------------------------------
class PolicyEntryInline(admin.TabularInline):
    """The program's dated figures, read-only here: edit them under 政策标准."""

    model = PolicyEntry
    extra = 0
    can_delete = False
    show_change_link = True
    fields = (
        "level",
        "kind",
        "amount",
        "ratio",
        "quantity",
        "effective_from",
        "effective_to",
        "clause",
        "source_document",
        "is_demo",
    )
    readonly_fields = fields
    verbose_name = _("政策标准")
    verbose_name_plural = _("本项目的政策标准（在“政策标准”中维护）")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return AdministratorAccessMixin.is_role_administrator(
            request
        ) or super().has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Program)
class ProgramAdmin(
    CodeReadonlyOnChangeMixin, AdministratorAccessMixin, SimpleHistoryAdmin
):
    code_field = "number"
    list_display = ("number", "section", "name", "fund", "claimable")
    list_display_links = ("number", "name")
    list_filter = ("section", "fund", "claimable")
    search_fields = ("name", "subsidy_basis", "lead_units", "responsible_units")
    ordering = ("number",)
    fieldsets = (
        (None, {"fields": ("number", "section", "name", "fund", "claimable")}),
        # read on the public and trainee pages (issue 17, docs/translations.md)
        (_("公开页面的译名"), {"fields": ("name_ug", "name_kk_arab")}),
        (_("补贴依据"), {"fields": ("subsidy_basis",)}),
        (_("牵头单位与责任单位"), {"fields": ("lead_units", "responsible_units")}),
    )
    inlines = (PolicyEntryInline,)


# --- Trades -------------------------------------------------------------------
@admin.register(Trade)
class TradeAdmin(
    CodeReadonlyOnChangeMixin, AdministratorAccessMixin, SimpleHistoryAdmin
):
    # the English name stays in the form and the search, not in the Chinese list
    list_display = (
        "code",
        "name",
        "edition",
        "lowest_rank",
        "highest_rank",
        "notice_item_20",
        "active",
    )
    list_display_links = ("code", "name")
    list_filter = ("edition", "notice_item_20", "active")
    search_fields = ("code", "name", "name_en")
    ordering = ("code",)


# --- Institutions -------------------------------------------------------------
class InstitutionForm(forms.ModelForm):
    class Meta:
        model = Institution
        fields = QUALIFYING_FIELDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].validators.append(single_line_text)

    def clean_credit_code(self) -> str:
        raw = self.cleaned_data.get("credit_code") or ""
        try:
            return validate_credit_code(raw)
        except InvalidCreditCode as exc:
            raise forms.ValidationError(
                exc.message, code="invalid_credit_code"
            ) from exc

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if (
            cleaned.get("certified_difficult")
            and cleaned.get("kind") != InstitutionKind.ENTERPRISE
        ):
            self.add_error(
                "certified_difficult",
                _("只有企业可以被认定为困难企业，请先将类型设为“企业”。"),
            )
        if cleaned.get("insured") and cleaned.get("kind") != InstitutionKind.ENTERPRISE:
            self.add_error("insured", _("只有企业可以登记为参保企业。"))
        return cleaned


class InstitutionAdmitForm(forms.Form):
    """Why the selected providers are admitted to the catalogue (the action's page)."""

    reason = forms.CharField(
        label=_("认定依据"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        validators=[multi_line_text],
        help_text=_("如认定文件文号或会议纪要，记入每个机构的认定记录。"),
        error_messages={"required": _("请填写认定依据（如认定文件文号）")},
    )

    def clean_reason(self) -> str:
        return self.cleaned_data["reason"].strip()


#: Set by ``programs.services`` only: the admin shows them and never writes them, not
#: even through a history "revert" of an older version of the row.
ADMISSION_FIELDS = ADMISSION_COLUMNS


@admin.register(Institution)
class InstitutionAdmin(AdministratorAccessMixin, SimpleHistoryAdmin):
    """A provider added here is a proposal like a clerk's (待认定); the action
    "认定列入培训机构目录" admits the selected ones through ``institution_admit``
    (another administrator than the one who proposed it, with the grounds)."""

    form = InstitutionForm
    list_display = (*QUALIFYING_FIELDS, "admission_status", "proposed_by")
    list_filter = ("admitted", "kind", "unit", "certified_difficult", "insured")
    search_fields = ("name", "=credit_code")
    list_select_related = ("unit", "proposed_by")
    readonly_fields = (*ADMISSION_FIELDS, "created_at")
    fieldsets = (
        (None, {"fields": ("name", "kind", "credit_code", "unit")}),
        (_("资格"), {"fields": ("certified_difficult", "insured")}),
        (
            _("培训评价机构目录（七(三)）"),
            {
                "fields": ADMISSION_FIELDS,
                "description": _(
                    "新登记的机构为“待认定”：不公开，以其为培训机构的申报不能提交。"
                    "请在列表中勾选后使用“认定列入培训机构目录”操作（须由登记人以外的"
                    "管理员认定）。"
                ),
            },
        ),
        (_("记录"), {"fields": ("created_at",)}),
    )
    actions = ["admit_selected"]

    @admin.display(description=_("目录"), ordering="admitted")
    def admission_status(self, obj: Institution) -> str:
        return str(_("已认定")) if obj.admitted else str(_("待认定"))

    def save_model(
        self, request: HttpRequest, obj: Any, form: Any, change: bool
    ) -> None:
        if not change:
            obj.admitted = False
            obj.proposed_by = request.user
            obj.admitted_by = obj.admitted_at = None
            obj.admission_reason = ""
            super().save_model(request, obj, form, change)
            return
        changed = institution_change(institution=obj, actor=request.user)  # type: ignore[arg-type]
        if changed:
            names = "、".join(
                str(getattr(Institution._meta.get_field(f), "verbose_name", f))
                for f in changed
            )
            self.message_user(
                request,
                _(
                    "修改了认定所依据的信息（%(names)s），该机构已退回“待认定”，"
                    "须由其他管理员重新认定后方可作为申报依据"
                )
                % {"names": names},
                messages.WARNING,
            )

    @admin.action(description=_("认定列入培训机构目录（七(三)）"))
    def admit_selected(
        self, request: HttpRequest, queryset: QuerySet[Institution]
    ) -> TemplateResponse | None:
        form = InstitutionAdmitForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            admitted, refused = [], []
            for institution in queryset.order_by("pk"):
                try:
                    institution_admit(
                        institution_id=institution.pk,
                        actor=request.user,  # type: ignore[arg-type]
                        reason=form.cleaned_data["reason"],
                    )
                    admitted.append(institution.name)
                except DomainError as exc:
                    refused.append(f"{institution.name}：{exc.message}")
            if admitted:
                self.message_user(
                    request,
                    _("已认定列入培训机构目录：%(names)s")
                    % {"names": "、".join(admitted)},
                    messages.SUCCESS,
                )
            for line in refused:
                self.message_user(request, line, messages.WARNING)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("认定列入培训机构目录"),
            "opts": self.model._meta,
            "institutions": queryset.select_related("unit", "proposed_by"),
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(
            request, "admin/programs/institution/admit.html", context
        )


# --- Policy entries -----------------------------------------------------------
#: What a claim was judged by: never rewritten once a claim used the entry.
LOCKED_WHEN_USED = (
    "program",
    "level",
    "unit",
    "kind",
    "amount",
    "ratio",
    "quantity",
    "effective_from",
)

POLICY_HELP = _(
    "政策标准按生效期管理：调整标准时，请为旧标准填写“失效日期”（含当日），再新增一条"
    "自次日起生效的新标准，不要修改或删除旧标准。已被补贴申报引用的标准不能删除，"
    "其项目、等级、类别、数值和生效日期也不能修改；失效日期不能早于引用它的申报中"
    "最晚的培训结束日期。“单位”留空表示全地区适用，填写单位的标准优先于同类的"
    "全地区标准。阿行办发〔2019〕50号的标准适用于2019—2021年结束的培训；此后须录入"
    "后续政策文件的“政策执行期”及其标准。"
)


def _used_by_claims(entry: PolicyEntry | None) -> bool:
    return bool(entry is not None and entry.pk and entry.claims.exists())


def _plain(value: object) -> object:
    return value.pk if isinstance(value, Model) else value


class PolicyEntryForm(forms.ModelForm):
    class Meta:
        model = PolicyEntry
        fields = (
            "program",
            "level",
            "unit",
            "kind",
            "amount",
            "ratio",
            "quantity",
            "effective_from",
            "effective_to",
            "clause",
            "source_document",
            "is_demo",
            "note",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("clause", "source_document"):
            self.fields[name].validators.append(single_line_text)
        self.fields["note"].validators.append(multi_line_text)

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        stored = (
            PolicyEntry.objects.filter(pk=self.instance.pk).first()
            if self.instance.pk
            else None
        )
        if stored is None or not _used_by_claims(stored):
            return cleaned
        # Guards the change form and simple_history's "revert" alike.
        for name in LOCKED_WHEN_USED:
            field = PolicyEntry._meta.get_field(name)
            if not isinstance(field, Field):
                continue
            new = (
                _plain(cleaned[name])
                if name in cleaned
                else getattr(self.instance, field.attname)
            )
            if new != getattr(stored, field.attname):
                raise forms.ValidationError(
                    _(
                        "该标准已被补贴申报引用，不能修改“%(field)s”：请填写失效日期并新增一条标准。"
                    )
                    % {"field": field.verbose_name},
                    code="policy_entry_used",
                )
        effective_to = cleaned.get("effective_to", self.instance.effective_to)
        latest = stored.claims.aggregate(latest=Max("training_end"))["latest"]
        if effective_to is not None and latest is not None and effective_to < latest:
            self.add_error(
                "effective_to",
                _(
                    "已有申报按此标准核定（最晚培训结束日期 %(day)s），"
                    "失效日期不能早于该日。"
                )
                % {"day": latest.isoformat()},
            )
        return cleaned


@admin.register(PolicyEntry)
class PolicyEntryAdmin(AdministratorAccessMixin, SimpleHistoryAdmin):
    form = PolicyEntryForm
    list_display = (
        "program",
        "level",
        "unit",
        "kind",
        "value_display",
        "effective_from",
        "effective_to",
        "clause",
        "source_document",
        "is_demo",
        "claim_count",
    )
    list_display_links = ("program", "kind", "value_display")
    list_filter = ("kind", "program", "unit", "is_demo")
    search_fields = ("clause", "source_document", "note")
    list_select_related = ("program", "level", "unit")
    date_hierarchy = "effective_from"
    fieldsets = (
        (
            _("适用范围"),
            {
                "fields": ("program", "level", "unit", "kind"),
                "description": POLICY_HELP,
            },
        ),
        (
            _("数值（按类别只填一项）"),
            {
                "fields": ("amount", "ratio", "quantity"),
                "description": _(
                    "补贴上限、以工代训每月上限填“金额”；项目制上浮、先行拨付填“比例”"
                    "（0.40 表示 40%）；以工代训最长月数、每年次数上限、各起始月份填"
                    "“数量”；政策执行期不填数值（其生效期即执行期）。项目制上浮是县(市)"
                    "的决定：须填写单位，比例不超过0.5。"
                ),
            },
        ),
        (_("生效期"), {"fields": ("effective_from", "effective_to", "claim_count")}),
        (_("依据"), {"fields": ("clause", "source_document", "is_demo", "note")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[PolicyEntry]:
        return super().get_queryset(request).annotate(claim_total=Count("claims"))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = (*super().get_readonly_fields(request, obj), "claim_count")
        if _used_by_claims(obj):
            readonly += tuple(f for f in LOCKED_WHEN_USED if f not in readonly)
        return readonly

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A many-to-many link does not PROTECT: refuse here, per entry (the bulk
        # "delete selected" action asks this for every entry it would delete).
        if _used_by_claims(obj):
            return False
        return super().has_delete_permission(request, obj)

    @admin.display(description=_("数值"))
    def value_display(self, obj: PolicyEntry) -> str:
        value = obj.value
        return "—" if value is None else str(value)

    @admin.display(description=_("引用申报数"), ordering="claim_total")
    def claim_count(self, obj: PolicyEntry) -> int:
        return getattr(obj, "claim_total", 0)
