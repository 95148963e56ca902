"""The quarter: a unit's report to the prefecture, its frozen list, the spot checks,
and the budgets the reviewer's approvals are held against (五(一), 七(五)).

The tables keep the names they had in ``claims`` and ``reporting`` before issue 11 moved
the models here, so an existing database migrates without copying a row.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from simple_history.models import HistoricalRecords

from programs.models import Fund

MONEY: dict[str, Any] = {"max_digits": 12, "decimal_places": 2}  # as a claim's amounts
BUDGET_MONEY: dict[str, Any] = {
    "max_digits": 14,
    "decimal_places": 2,
}  # a fund's yearly sums
TRAIL_LENGTH = 20  # events of a report shown on its page


class ReportStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    SUBMITTED = "submitted", _("已报送")
    CLOSED = "closed", _("已审结")
    DISCARDED = "discarded", _("已作废")


class QuarterlyReport(models.Model):
    """A unit's quarterly report to the prefecture (按季汇总, 五(一)).

    Built as a draft from the unit's submitted claims not yet reported; on submission its
    claim list, count and control total are frozen (``ReportItem``) and it goes to the
    prefecture, whose reviewer decides each claim and then closes it.
    """

    unit = models.ForeignKey(
        "programs.Unit",
        verbose_name=_("单位"),
        on_delete=models.PROTECT,
        related_name="reports",
    )
    quarter = models.CharField(_("季度"), max_length=6, help_text=_("如 2020Q1"))
    status = models.CharField(
        _("状态"),
        max_length=20,
        choices=ReportStatus.choices,
        default=ReportStatus.DRAFT,
        editable=False,
    )
    built_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("编制人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    built_at = models.DateTimeField(_("编制时间"), auto_now_add=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("报送人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    submitted_at = models.DateTimeField(_("报送时间"), null=True, blank=True)
    claim_count = models.PositiveIntegerField(_("申报笔数"), null=True, blank=True)
    control_total = models.DecimalField(_("控制总额"), null=True, blank=True, **MONEY)
    spot_check_share = models.DecimalField(
        _("抽查比例"), max_digits=5, decimal_places=4, null=True, blank=True
    )
    spot_check_seed = models.CharField(_("抽样种子"), max_length=64, blank=True)
    spot_checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("抽查人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    spot_checked_at = models.DateTimeField(_("抽查时间"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("审结人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    closed_at = models.DateTimeField(_("审结时间"), null=True, blank=True)

    class Meta:
        db_table = "claims_quarterlyreport"  # kept from before the move (issue 11)
        verbose_name = _("季度报表")
        verbose_name_plural = _("季度报表")
        ordering = ["-quarter", "unit_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "quarter"],
                condition=~Q(status="discarded"),
                name="report_one_live_per_unit_quarter",
                violation_error_message=_("该单位本季度已有报表"),
            ),
            models.CheckConstraint(
                condition=Q(quarter__regex=r"^[0-9]{4}Q[1-4]$"),
                name="report_quarter_format",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "discarded"])
                | (Q(claim_count__isnull=False) & Q(control_total__isnull=False)),
                name="report_frozen_when_submitted",
            ),
            models.CheckConstraint(
                condition=Q(control_total__isnull=True) | Q(control_total__gte=0),
                name="report_control_total_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.quarter}"

    @property
    def is_draft(self) -> bool:
        return self.status == ReportStatus.DRAFT

    @cached_property
    def trail(self) -> list[ReportEvent]:
        """The latest ``TRAIL_LENGTH`` events of the report, oldest first, with who
        acted: the short trail of its page (one query, read once per page)."""
        latest = self.events.select_related("actor").order_by("-at", "-id")
        return list(reversed(latest[:TRAIL_LENGTH]))


class ReportItem(models.Model):
    """A claim as it stood when its report was submitted: the frozen list."""

    report = models.ForeignKey(
        QuarterlyReport,
        verbose_name=_("报表"),
        on_delete=models.PROTECT,
        related_name="items",
    )
    claim = models.ForeignKey(
        "claims.Claim",
        verbose_name=_("申报"),
        on_delete=models.PROTECT,
        related_name="report_items",
    )
    amount = models.DecimalField(_("核定金额"), **MONEY)
    advance = models.DecimalField(_("可先行拨付"), **MONEY)
    fund = models.CharField(_("资金渠道"), max_length=30, blank=True, null=True)
    program = models.ForeignKey(
        "programs.Program",
        verbose_name=_("项目"),
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        db_table = "claims_reportitem"  # kept from before the move (issue 11)
        verbose_name = _("报表明细")
        verbose_name_plural = _("报表明细")
        ordering = ["report_id", "claim_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["report", "claim"], name="report_item_once"
            ),
            models.CheckConstraint(
                condition=Q(amount__gte=0) & Q(advance__gte=0),
                name="report_item_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.report} · {self.claim_id}"


class SpotCheckResult(models.TextChoices):
    PENDING = "pending", _("待核对")
    CONSISTENT = "consistent", _("材料相符")
    INCONSISTENT = "inconsistent", _("材料不符")


class SpotCheck(models.Model):
    """A claim drawn for document checking (随机抽查, 五(一))."""

    report = models.ForeignKey(
        QuarterlyReport,
        verbose_name=_("报表"),
        on_delete=models.PROTECT,
        related_name="spot_checks",
    )
    claim = models.ForeignKey(
        "claims.Claim",
        verbose_name=_("申报"),
        on_delete=models.PROTECT,
        related_name="spot_checks",
    )
    result = models.CharField(
        _("核对结果"),
        max_length=20,
        choices=SpotCheckResult.choices,
        default=SpotCheckResult.PENDING,
    )
    note = models.TextField(_("核对说明"), blank=True)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("核对人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    checked_at = models.DateTimeField(_("核对时间"), null=True, blank=True)
    #: the claim's evidence documents the reviewer examined for this record (issue
    #: 16); their ids and SHA-256 also go into the claim's and the report's trails
    documents_examined = models.ManyToManyField(
        "claims.Document",
        verbose_name=_("已核对材料"),
        blank=True,
        related_name="spot_checks",
    )

    class Meta:
        db_table = "claims_spotcheck"  # kept from before the move (issue 11)
        verbose_name = _("抽查")
        verbose_name_plural = _("抽查")
        ordering = ["report_id", "claim_id"]
        constraints = [
            models.UniqueConstraint(fields=["report", "claim"], name="spot_check_once"),
        ]

    def __str__(self) -> str:
        return f"抽查 {self.report} · {self.claim_id}"

    @property
    def left_report(self) -> bool:
        """Still pending in a report its claim was returned from: it is no longer
        recorded there, nor counted as waiting (``quarters.selectors.report_claims``
        and the pages set ``claim``, so that this reads no row)."""
        return (
            self.result == SpotCheckResult.PENDING
            and self.claim.report_id != self.report_id
        )


class ReportAction(models.TextChoices):
    BUILD = "build", _("编制")
    SUBMIT = "submit", _("报送")
    DISCARD = "discard", _("作废")
    DRAW_SPOT_CHECKS = "draw_spot_checks", _("随机抽查")
    RECORD_SPOT_CHECK = "record_spot_check", _("登记抽查结果")
    CLOSE = "close", _("审结")
    OBJECTION_FINDING = "objection_finding", _("登记异议核查结论")


class ReportEvent(models.Model):
    """One line of a report's trail, written in the same transaction as the action
    (``quarters.events``). Append-only like a claim's: hash-chained per report, and on
    PostgreSQL a trigger refuses every UPDATE and DELETE (migration 0002)."""

    report = models.ForeignKey(
        QuarterlyReport,
        verbose_name=_("报表"),
        on_delete=models.PROTECT,
        related_name="events",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    # set before insert (not auto_now_add) so the hash covers it
    at = models.DateTimeField(_("时间"), editable=False, db_index=True)
    action = models.CharField(_("操作"), max_length=20, choices=ReportAction.choices)
    reason = models.TextField(_("说明"), blank=True)
    #: what moved: e.g. {"claims_in": [ids]}, {"claims_out": [ids]}, the sample drawn
    changes = models.JSONField(_("变更内容"), default=dict, blank=True)
    prev_hash = models.CharField(
        _("前一记录哈希"), max_length=64, blank=True, editable=False
    )
    hash = models.CharField(_("记录哈希"), max_length=64, editable=False)

    class Meta:
        verbose_name = _("报表记录")
        verbose_name_plural = _("报表记录")
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["hash"], name="reportevent_hash_unique"),
            models.UniqueConstraint(
                fields=["report", "prev_hash"], name="reportevent_chain_no_fork"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.report_id} {self.action}"

    @property
    def summary(self) -> str:
        """What moved, in a few words, for the report's page."""
        changes = self.changes or {}
        if "claims_in" in changes:
            return f"列入{len(changes['claims_in'])}笔申报"
        if "claims_out" in changes:
            return f"移出{len(changes['claims_out'])}笔申报"
        if "claim_count" in changes:
            return (
                f"冻结{changes['claim_count']}笔，控制总额{changes['control_total']}元"
            )
        if "seed" in changes:
            return f"抽取{len(changes.get('claims', []))}笔申报核对材料"
        if "objection" in changes:
            label = ObjectionStatus(changes["outcome"]).label
            return f"申报#{changes.get('claim')}的异议{changes['objection']}：{label}"
        if "result" in changes:
            label = SpotCheckResult(changes["result"]).label
            return f"申报#{changes.get('claim')}：{label}"
        return ""


# --- Budgets (七(五): goals and budget execution watched together) --------------------------
class FundBudget(models.Model):
    """A fund's budget for one unit and year, entered by finance (七(五)).

    The year is the calendar year in which the training ended, as for the yearly limit
    (五(二)). No row for a unit, year and fund means no limit has been set. Every change
    is kept by ``history`` (who, when, the amount before and after).
    """

    unit = models.ForeignKey(
        "programs.Unit",
        verbose_name=_("单位"),
        on_delete=models.PROTECT,
        related_name="fund_budgets",
    )
    year = models.PositiveSmallIntegerField(_("年度"))
    fund = models.CharField(_("资金渠道"), max_length=30, choices=Fund.choices)
    amount = models.DecimalField(_("预算金额"), **BUDGET_MONEY)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("录入人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    entered_at = models.DateTimeField(_("录入时间"))
    note = models.CharField(_("备注"), max_length=200, blank=True)
    history = HistoricalRecords(table_name="reporting_historicalfundbudget")

    class Meta:
        db_table = "reporting_fundbudget"  # kept from before the move (issue 11)
        verbose_name = _("资金预算")
        verbose_name_plural = _("资金预算")
        ordering = ["-year", "unit__sort_order", "unit_id", "fund"]
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "year", "fund"],
                name="fund_budget_once",
                violation_error_message=_("该单位该年度该资金渠道已有预算"),
            ),
            models.CheckConstraint(
                condition=Q(amount__gte=0), name="fund_budget_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(year__gte=2000) & Q(year__lte=2100),
                name="fund_budget_year_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.year} {self.fund} {self.amount}"


class BudgetOverride(models.Model):
    """A claim approved past its fund's budget, and the reviewer's stated reason."""

    claim = models.ForeignKey(
        "claims.Claim",
        verbose_name=_("申报"),
        on_delete=models.PROTECT,
        related_name="budget_overrides",
    )
    unit = models.ForeignKey(
        "programs.Unit",
        verbose_name=_("单位"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    year = models.PositiveSmallIntegerField(_("年度"))
    fund = models.CharField(_("资金渠道"), max_length=30, choices=Fund.choices)
    budget = models.DecimalField(_("预算金额"), **BUDGET_MONEY)
    approved_after = models.DecimalField(_("核准后累计"), **BUDGET_MONEY)
    reason = models.TextField(_("超预算理由"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("核准人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        db_table = "reporting_budgetoverride"  # kept from before the move (issue 11)
        verbose_name = _("超预算核准")
        verbose_name_plural = _("超预算核准")
        ordering = ["-at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(reason=""), name="budget_override_has_reason"
            ),
            models.CheckConstraint(
                condition=Q(approved_after__gt=F("budget")),
                name="budget_override_past_budget",
            ),
        ]

    def __str__(self) -> str:
        return f"超预算 {self.claim_id} {self.unit_id} {self.year} {self.fund}"


# --- Public notice (公示, issue 17) ---------------------------------------------------------
class PublicNotice(models.Model):
    """A submitted report's claims on public notice for a number of working days (a
    dated policy term, ``notice_working_days``), counted on the Chinese calendar of
    public holidays and adjusted working days (``quarters.notices``).

    Open while today is before ``closes_on``; a claim's balance is not paid before then
    (``notice_open``)."""

    report = models.OneToOneField(
        QuarterlyReport,
        verbose_name=_("报表"),
        on_delete=models.PROTECT,
        related_name="notice",
    )
    unit = models.ForeignKey(
        "programs.Unit",
        verbose_name=_("单位"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    quarter = models.CharField(_("季度"), max_length=6)
    opened_on = models.DateField(_("公示开始日期"))
    closes_on = models.DateField(
        _("公示结束日期"), help_text=_("当日起公示结束（不含当日）")
    )
    working_days = models.PositiveSmallIntegerField(_("公示期（工作日）"))
    policy_entry = models.ForeignKey(
        "programs.PolicyEntry",
        verbose_name=_("依据的政策标准"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    #: False when the calendar package had no data for a year the notice spans: those
    #: days were counted Monday to Friday (README: "公示").
    calendar_covered = models.BooleanField(_("节假日历已覆盖"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("公示")
        verbose_name_plural = _("公示")
        ordering = ["-quarter", "unit_id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(closes_on__gte=F("opened_on")),
                name="notice_closes_after_opening",
            ),
        ]

    def __str__(self) -> str:
        return f"公示 {self.unit_id} {self.quarter}"

    def is_open_on(self, day: date) -> bool:
        return self.opened_on <= day < self.closes_on


class ObjectionStatus(models.TextChoices):
    OPEN = "open", _("待核查")
    UPHELD = "upheld", _("异议成立")
    DISMISSED = "dismissed", _("异议不成立")


class Objection(models.Model):
    """An objection to one line of a public notice, lodged by anyone (signed in or
    not), answered by the unit's clerk or the reviewer with a finding. The lodger looks
    the outcome up with ``reference``. No address or other trace of the lodger is kept
    beyond the contact they chose to give."""

    notice = models.ForeignKey(
        PublicNotice,
        verbose_name=_("公示"),
        on_delete=models.PROTECT,
        related_name="objections",
    )
    line = models.ForeignKey(
        ReportItem,
        verbose_name=_("公示明细"),
        on_delete=models.PROTECT,
        related_name="objections",
    )
    claim = models.ForeignKey(
        "claims.Claim",
        verbose_name=_("申报"),
        on_delete=models.PROTECT,
        related_name="objections",
    )
    reference = models.CharField(_("查询码"), max_length=16, unique=True)
    text = models.TextField(_("异议内容"))
    contact = models.CharField(_("联系方式"), max_length=100, blank=True)
    lodged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("提出人（已登录）"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    lodged_at = models.DateTimeField(_("提出时间"))
    status = models.CharField(
        _("状态"),
        max_length=20,
        choices=ObjectionStatus.choices,
        default=ObjectionStatus.OPEN,
    )
    finding = models.TextField(_("核查结论"), blank=True)
    #: what an upheld finding did to the claim: "reject", "return" or "" (the claim
    #: was no longer awaiting a decision)
    claim_action = models.CharField(_("对申报的处理"), max_length=10, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("核查人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("核查时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("异议")
        verbose_name_plural = _("异议")
        ordering = ["-lodged_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(status="open") & Q(decided_by__isnull=True))
                | (~Q(status="open") & Q(decided_by__isnull=False) & ~Q(finding="")),
                name="objection_finding_when_decided",
            ),
        ]

    def __str__(self) -> str:
        return f"异议 {self.reference}"
