"""The catalogue: units, the notice's 24 programs, levels, trades, institutions, policy."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from simple_history.models import HistoricalRecords

from altay_skills.plain_text import single_line_text
from programs.credit_codes import InvalidCreditCode, validate_credit_code


class Fund(models.TextChoices):
    """Where a program's money comes from (五(二) and each item of 三)."""

    SPECIAL = "special", _("职业技能提升行动专项资金")
    EMPLOYMENT = "employment", _("就业专项资金")
    UNEMPLOYMENT_INSURANCE = "unemployment_insurance", _("失业保险基金")
    POVERTY = "poverty", _("扶贫专项资金")
    ORIGINAL_CHANNEL = "original_channel", _("原渠道")


#: How the dashboards and budgets label a figure without a fund (an ineligible claim's).
UNFUNDED = "未定渠道"


def fund_label(fund: str | None, *, blank: str = "—") -> str:
    """A fund's name as printed; ``blank`` for a claim without one (an ineligible claim
    has no fund), and an unknown code as it is."""
    if fund in Fund.values:
        return str(Fund(fund).label)
    return fund or blank


#: The field holding a reference row's name in each visitor language (issue 17); a
#: blank one falls back to the Chinese ``name``.
NAME_FIELDS = {"ug": "name_ug", "kk-arab": "name_kk_arab"}


def name_field(language: str | None = None) -> str:
    """The name field to show in ``language`` (the active one by default)."""
    return NAME_FIELDS.get(language or get_language() or "", "name")


class LocalNames(models.Model):
    """A reference row's name in Uyghur and in Kazakh (Arabic script), shown on the
    public and trainee pages; kept beside the row (and maintained in the admin) like
    ``Trade.name_en``, not in the gettext catalogue: rows are data an administrator
    adds to, and a new row must be translatable without a release."""

    name_ug = models.CharField(
        _("名称（维吾尔文）"), max_length=150, blank=True, validators=[single_line_text]
    )
    name_kk_arab = models.CharField(
        _("名称（哈萨克文）"),
        max_length=150,
        blank=True,
        validators=[single_line_text],
    )

    name: str  # each table's own Chinese name field

    class Meta:
        abstract = True

    def local_name(self, language: str | None = None) -> str:
        """The name in ``language`` (the active one by default), else the Chinese."""
        field = name_field(language)
        return str(getattr(self, field) or self.name)


class Unit(LocalNames):
    """A county-level submitting unit (or the prefecture level itself)."""

    code = models.CharField(_("代码"), max_length=6, primary_key=True)
    name = models.CharField(_("名称"), max_length=50, unique=True)
    is_prefecture = models.BooleanField(_("地区本级"), default=False)
    has_national_code = models.BooleanField(
        _("国家行政区划代码"),
        default=True,
        help_text=_("喀纳斯景区无国家行政区划代码，系统使用 654399。"),
    )
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("单位")
        verbose_name_plural = _("单位")
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"


class Program(LocalNames):
    """One of the 24 numbered items of 三 and 四 of the notice."""

    number = models.PositiveSmallIntegerField(_("序号"), primary_key=True)
    section = models.CharField(_("章节"), max_length=20)
    name = models.CharField(_("名称"), max_length=100)
    fund = models.CharField(
        _("资金渠道"), max_length=30, choices=Fund.choices, blank=True, null=True
    )
    claimable = models.BooleanField(_("按人申报补贴"), default=False)
    subsidy_basis = models.TextField(_("补贴依据"), blank=True)
    lead_units = models.TextField(_("牵头单位"), blank=True)
    responsible_units = models.TextField(_("责任单位"), blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("项目")
        verbose_name_plural = _("项目")
        ordering = ["number"]
        constraints = [
            models.CheckConstraint(
                condition=Q(number__gte=1) & Q(number__lte=24),
                name="program_number_1_24",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number}. {self.name}"


class Level(LocalNames):
    """职业技能等级, or the two certificates that are not a level."""

    code = models.CharField(_("代码"), max_length=30, primary_key=True)
    name = models.CharField(_("名称"), max_length=30)
    rank = models.PositiveSmallIntegerField(
        _("级别"), null=True, blank=True, help_text=_("5=五级/初级工 … 1=一级/高级技师")
    )
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("等级")
        verbose_name_plural = _("等级")
        ordering = ["sort_order"]

    def __str__(self) -> str:
        return self.name


class Trade(LocalNames):
    """职业(工种) with its code in the national occupational classification."""

    code = models.CharField(_("职业编码"), max_length=20, primary_key=True)
    name = models.CharField(_("名称"), max_length=50)
    name_en = models.CharField(_("英文名称"), max_length=100, blank=True)
    edition = models.CharField(
        _("分类大典版本"),
        max_length=30,
        default="2022",
        help_text=_("编码所依据的《职业分类大典》版本；1999 版编码含义不同。"),
    )
    highest_rank = models.PositiveSmallIntegerField(
        _("最高等级"),
        null=True,
        blank=True,
        help_text=_("国家标准设定的最高等级（1=一级）"),
    )
    lowest_rank = models.PositiveSmallIntegerField(
        _("最低等级"),
        null=True,
        blank=True,
        help_text=_("国家标准设定的最低等级（5=五级）"),
    )
    notice_item_20 = models.BooleanField(_("通知第20条点名"), default=False)
    active = models.BooleanField(_("可申报"), default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("职业(工种)")
        verbose_name_plural = _("职业(工种)")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"


class InstitutionKind(models.TextChoices):
    ENTERPRISE = "enterprise", _("企业")
    VOCATIONAL_COLLEGE = "vocational_college", _("职业院校")
    TECHNICAL_SCHOOL = "technical_school", _("技工院校")
    TRAINING_INSTITUTION = "training_institution", _("职业培训机构")
    PUBLIC_TRAINING_BASE = "public_training_base", _("公共实训基地")
    #: 三(二)9 企业、农民专业合作社和扶贫车间等各类生产经营主体 … 开展以工代训.
    COOPERATIVE = "cooperative", _("农民专业合作社")
    POVERTY_WORKSHOP = "poverty_workshop", _("扶贫车间")


def _validate_credit_code(value: str) -> None:
    try:
        validate_credit_code(value)
    except InvalidCreditCode as exc:
        raise ValidationError(exc.message, code="invalid_credit_code") from exc


class Institution(models.Model):
    """A training provider or an enterprise (also the employer of 以工代训)."""

    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=30, choices=InstitutionKind.choices)
    credit_code = models.CharField(
        _("统一社会信用代码"),
        max_length=18,
        unique=True,
        validators=[_validate_credit_code],
    )
    unit = models.ForeignKey(
        Unit,
        verbose_name=_("所在单位"),
        on_delete=models.PROTECT,
        related_name="institutions",
    )
    certified_difficult = models.BooleanField(
        _("县(市)政府认定的困难企业"),
        default=False,
        help_text=_(
            "项目5（困难企业技能提升培训）仅适用于经县(市)人民政府认定的困难企业。"
        ),
    )
    #: 三(一)2 参保企业; 三(二)9 参保企业吸纳就业困难人员、零就业家庭成员 … 以工代训.
    insured = models.BooleanField(
        _("参保企业"),
        default=False,
        db_default=False,
        help_text=_(
            "依法参加失业保险的企业（项目2、以工代训吸纳就业困难人员须为参保企业）。"
        ),
    )
    #: 七(三) 培训评价机构目录: a clerk proposes a provider (待认定); an administrator
    #: admits it (``programs.services.institution_admit``). Only admitted providers are
    #: published, and a claim at one that is not is refused when submitted
    #: (``institution_not_admitted``). Rows that existed before proposals did were
    #: admitted; a new row starts as a proposal whoever creates it.
    admitted = models.BooleanField(_("列入培训机构目录"), default=False)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("登记人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    admitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("认定人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    admitted_at = models.DateTimeField(_("认定时间"), null=True, blank=True)
    admission_reason = models.TextField(
        _("认定依据"), blank=True, default="", db_default=""
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("培训机构/企业")
        verbose_name_plural = _("培训机构/企业")
        ordering = ["unit_id", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(certified_difficult=False) | Q(kind="enterprise"),
                name="institution_only_enterprise_certified_difficult",
                violation_error_message=_("只有企业可以被认定为困难企业"),
            ),
            models.CheckConstraint(
                condition=Q(admitted=True)
                | Q(admitted_by__isnull=True, admitted_at__isnull=True),
                name="institution_proposal_not_yet_admitted",
                violation_error_message=_("待认定的机构没有认定人和认定时间"),
            ),
            models.CheckConstraint(
                condition=Q(admitted_by__isnull=True)
                | Q(proposed_by__isnull=True)
                | ~Q(admitted_by=F("proposed_by")),
                name="institution_not_admitted_by_its_proposer",
                violation_error_message=_("登记人不能认定自己登记的机构"),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        self.credit_code = (self.credit_code or "").strip().upper()


class PolicyKind(models.TextChoices):
    CAP = "cap", _("补贴上限（元/人）")
    PROJECT_UPLIFT = "project_uplift", _("项目制上浮比例")
    WORK_IN_LIEU_MONTHLY = "work_in_lieu_monthly", _("以工代训每人每月上限（元）")
    WORK_IN_LIEU_MAX_MONTHS = "work_in_lieu_max_months", _("以工代训最长月数")
    ADVANCE_RATIO = "advance_ratio", _("先行拨付比例")
    ANNUAL_LIMIT = "annual_limit", _("每人每年补贴次数上限")
    #: The period a document's terms are in force (the notice: the plan for 2019—2021).
    PLAN_PERIOD = "plan_period", _("政策执行期")
    SCHOOL_GRANT_MAX_YEARS = "school_grant_max_years", _("技工教育补助最多学年数")
    SCHOOL_YEAR_START_MONTH = "school_year_start_month", _("学年起始月")
    WORK_YEAR_START_MONTH = "work_year_start_month", _("工作年度起始月（上年）")
    LIMIT_YEAR_START_MONTH = "limit_year_start_month", _("补贴次数年度起始月")
    NEW_HIRE_MAX_MONTHS = "new_hire_max_months", _("新录用员工入职月数上限")
    APPRENTICESHIP_MIN_MONTHS = "apprenticeship_min_months", _("新型学徒制最短月数")
    APPRENTICESHIP_MAX_MONTHS = "apprenticeship_max_months", _("新型学徒制最长月数")
    TOWN_WORK_MIN_MONTHS = "town_work_min_months", _("进城务工最短月数")
    #: How long a unit's claims stay on public notice (公示) once its quarterly report
    #: is submitted, in working days (issue 17; quarters.notices).
    NOTICE_WORKING_DAYS = "notice_working_days", _("公示期（工作日）")


#: Which value column each kind uses (None: the entry's period is its content).
AMOUNT_KINDS = ("cap", "work_in_lieu_monthly")
RATIO_KINDS = ("project_uplift", "advance_ratio")
QUANTITY_KINDS = (
    "work_in_lieu_max_months",
    "annual_limit",
    "school_grant_max_years",
    "school_year_start_month",
    "work_year_start_month",
    "limit_year_start_month",
    "new_hire_max_months",
    "apprenticeship_min_months",
    "apprenticeship_max_months",
    "town_work_min_months",
    "notice_working_days",
)
PERIOD_KINDS = ("plan_period",)
POLICY_VALUE_FIELD: dict[str, str | None] = {
    **dict.fromkeys(AMOUNT_KINDS, "amount"),
    **dict.fromkeys(RATIO_KINDS, "ratio"),
    **dict.fromkeys(QUANTITY_KINDS, "quantity"),
    **dict.fromkeys(PERIOD_KINDS, None),
}
#: 三(二)9 县级人社部门商同级财政部门将培训补贴标准最高再上浮50%: the uplift is a
#: county's decision, entered per unit, at most this ratio.
UPLIFT_MAX_RATIO = Decimal("0.5")


class PolicyEntry(models.Model):
    """A dated figure of the policy: a cap, a ratio or a count, and where it comes from.

    A claim is judged by the entries in force on its training end date, so a change of
    policy never rewrites the past: add a new entry and close the old one.
    """

    program = models.ForeignKey(
        Program,
        verbose_name=_("项目"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="policy_entries",
        help_text=_("留空表示适用于所有项目"),
    )
    level = models.ForeignKey(
        Level,
        verbose_name=_("等级"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        help_text=_("留空表示不分等级"),
    )
    unit = models.ForeignKey(
        Unit,
        verbose_name=_("单位"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="policy_entries",
        help_text=_(
            "留空表示全地区适用；填写单位的标准优先于同类的全地区标准"
            "（项目制上浮须为县(市)的决定）"
        ),
    )
    kind = models.CharField(_("类别"), max_length=30, choices=PolicyKind.choices)
    amount = models.DecimalField(
        _("金额（元）"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    ratio = models.DecimalField(
        _("比例"),
        max_digits=5,
        decimal_places=4,
        null=True,
        blank=True,
        help_text=_("如 0.40 表示 40%"),
    )
    quantity = models.PositiveSmallIntegerField(_("数量"), null=True, blank=True)
    effective_from = models.DateField(_("生效日期"))
    effective_to = models.DateField(
        _("失效日期"), null=True, blank=True, help_text=_("含当日；留空表示长期有效")
    )
    clause = models.CharField(_("条款"), max_length=50, help_text=_("如 三(一)3"))
    source_document = models.CharField(_("依据文件"), max_length=100)
    is_demo = models.BooleanField(
        _("演示数据"), default=False, help_text=_("仅供演示的示例标准，不是真实政策。")
    )
    note = models.TextField(_("备注"), blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("政策标准")
        verbose_name_plural = _("政策标准")
        ordering = ["program_id", "kind", "level__sort_order", "effective_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(effective_to__isnull=True)
                | Q(effective_to__gte=models.F("effective_from")),
                name="policy_entry_period_ordered",
            ),
            models.CheckConstraint(
                condition=(Q(amount__isnull=True) | Q(amount__gte=0))
                & (Q(ratio__isnull=True) | (Q(ratio__gte=0) & Q(ratio__lte=1))),
                name="policy_entry_values_non_negative",
            ),
            models.CheckConstraint(
                condition=(
                    Q(
                        kind__in=AMOUNT_KINDS,
                        amount__isnull=False,
                        ratio__isnull=True,
                        quantity__isnull=True,
                    )
                    | Q(
                        kind__in=RATIO_KINDS,
                        ratio__isnull=False,
                        amount__isnull=True,
                        quantity__isnull=True,
                    )
                    | Q(
                        kind__in=QUANTITY_KINDS,
                        quantity__isnull=False,
                        amount__isnull=True,
                        ratio__isnull=True,
                    )
                    | Q(
                        kind__in=PERIOD_KINDS,
                        quantity__isnull=True,
                        amount__isnull=True,
                        ratio__isnull=True,
                    )
                ),
                name="policy_entry_value_matches_kind",
            ),
            models.CheckConstraint(
                condition=~Q(kind="project_uplift")
                | Q(ratio__gt=0, ratio__lte=UPLIFT_MAX_RATIO),
                name="policy_entry_uplift_at_most_half",
                violation_error_message=_("项目制上浮比例须大于0且不超过50%"),
            ),
        ]

    def __str__(self) -> str:
        scope = f"项目{self.program_id}" if self.program_id else "全部项目"
        if self.level_id:
            scope += f"·{self.level}"
        return (
            f"{scope}·{self.get_kind_display()}={self.value}（{self.effective_from}起）"
        )

    @property
    def value(self) -> Decimal | int | None:
        field = POLICY_VALUE_FIELD[self.kind]
        return getattr(self, field) if field else None

    def in_force_on(self, day: date) -> bool:
        return self.effective_from <= day and (
            self.effective_to is None or day <= self.effective_to
        )

    def clean(self) -> None:
        field = POLICY_VALUE_FIELD.get(self.kind) if self.kind else None
        if field and getattr(self, field) is None:
            raise ValidationError({field: _("该类别须填写此项")})
        for other in ("amount", "ratio", "quantity"):
            if other != field and getattr(self, other) is not None:
                raise ValidationError({other: _("该类别不使用此项，请留空")})
        if self.effective_to and self.effective_to < self.effective_from:
            raise ValidationError({"effective_to": _("失效日期不能早于生效日期")})
        if self.kind == PolicyKind.PROJECT_UPLIFT:
            if not self.unit_id:
                raise ValidationError(
                    {
                        "unit": _(
                            "项目制上浮由县级人社部门商同级财政部门决定，须填写单位"
                        )
                    }
                )
            if self.ratio is not None and not 0 < self.ratio <= UPLIFT_MAX_RATIO:
                raise ValidationError({"ratio": _("上浮比例须大于0且不超过0.5（50%）")})
        overlapping = (
            PolicyEntry.objects.filter(
                # None matches NULL: an entry for every program, level or unit
                Q(program_id=self.program_id),
                Q(level_id=self.level_id),
                Q(unit_id=self.unit_id),
                kind=self.kind,
            )
            .exclude(pk=self.pk)
            .filter(
                Q(effective_to__isnull=True) | Q(effective_to__gte=self.effective_from)
            )
        )
        if self.effective_to:
            overlapping = overlapping.filter(effective_from__lte=self.effective_to)
        if overlapping.exists():
            raise ValidationError(
                _(
                    "与已有的同项目、同等级、同单位、同类别标准生效期重叠："
                    "请先为旧标准填写失效日期。"
                ),
                code="overlap",
            )
