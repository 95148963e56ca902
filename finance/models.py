"""The money: the prefecture's rollup of a quarter, what finance pays from it, and what
is to be recovered (五(一), 五(二)).

The tables keep the names they had in ``reporting`` before issue 11 moved the models
here, so an existing database migrates without copying a row.
"""

from __future__ import annotations

from typing import TypedDict

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class MoneyField(TypedDict):
    """A ``DecimalField``'s size for an amount in yuan (typed, so that ``**MONEY``
    names the two keyword arguments it fills)."""

    max_digits: int
    decimal_places: int


MONEY: MoneyField = {"max_digits": 14, "decimal_places": 2}


class RollupStatus(models.TextChoices):
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("生成中")
    READY = "ready", _("已生成")
    FAILED = "failed", _("失败")


class Rollup(models.Model):
    """The county-to-prefecture rollup of one quarter (五(一)), sent to finance.

    Built by a Celery task from SQL aggregates; once ``ready`` it is immutable: its lines,
    totals and checksum never change, and the workbook is rebuilt byte-for-byte from them.
    """

    quarter = models.CharField(_("季度"), max_length=6, unique=True)
    status = models.CharField(
        _("状态"),
        max_length=20,
        choices=RollupStatus.choices,
        default=RollupStatus.QUEUED,
    )
    progress = models.PositiveSmallIntegerField(_("进度（%）"), default=0)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("发起人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    requested_at = models.DateTimeField(_("发起时间"), auto_now_add=True)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("执行次数"), default=0)
    error = models.TextField(_("错误"), blank=True)
    checksum = models.CharField(_("校验码"), max_length=64, blank=True)
    totals = models.JSONField(_("合计"), default=dict, blank=True)
    workbook = models.CharField(_("工作簿文件"), max_length=200, blank=True)
    workbook_sha256 = models.CharField(_("工作簿摘要"), max_length=64, blank=True)

    class Meta:
        db_table = "reporting_rollup"  # kept from before the move (issue 11)
        verbose_name = _("地区汇总")
        verbose_name_plural = _("地区汇总")
        ordering = ["-quarter"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quarter__regex=r"^[0-9]{4}Q[1-4]$"),
                name="rollup_quarter_format",
            ),
            models.CheckConstraint(
                condition=~Q(status="ready") | ~Q(checksum=""),
                name="rollup_ready_has_checksum",
            ),
            models.CheckConstraint(
                condition=Q(progress__lte=100), name="rollup_progress_percent"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quarter} 汇总"


class RollupLine(models.Model):
    """unit × program × fund: trained, passed, employed, approved, advance, balance."""

    rollup = models.ForeignKey(
        Rollup, verbose_name=_("汇总"), on_delete=models.PROTECT, related_name="lines"
    )
    unit = models.ForeignKey(
        "programs.Unit",
        verbose_name=_("单位"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    program = models.ForeignKey(
        "programs.Program",
        verbose_name=_("项目"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    fund = models.CharField(_("资金渠道"), max_length=30)
    trained = models.PositiveIntegerField(_("培训人数"))
    passed = models.PositiveIntegerField(_("合格人数"))
    employed = models.PositiveIntegerField(_("就业人数"))
    approved = models.DecimalField(_("核准金额"), **MONEY)
    advance = models.DecimalField(_("先行拨付"), **MONEY)
    balance = models.DecimalField(_("待拨余额"), **MONEY)
    #: paid as advance beyond what the claims are owed, to be recovered (finance.ledger)
    recovery = models.DecimalField(_("应追回"), default=0, **MONEY)

    class Meta:
        db_table = "reporting_rollupline"  # kept from before the move (issue 11)
        verbose_name = _("汇总明细")
        verbose_name_plural = _("汇总明细")
        ordering = ["unit_id", "program_id", "fund"]
        constraints = [
            models.UniqueConstraint(
                fields=["rollup", "unit", "program", "fund"], name="rollup_line_once"
            ),
            models.CheckConstraint(
                condition=Q(approved__gte=0)
                & Q(advance__gte=0)
                & Q(balance__gte=0)
                & Q(balance=F("approved") - F("advance")),
                name="rollup_line_balanced",
            ),
            models.CheckConstraint(
                condition=Q(recovery__gte=0), name="rollup_line_recovery_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rollup} · {self.unit_id} · {self.program_id} · {self.fund}"


class PaymentKind(models.TextChoices):
    ADVANCE = "advance", _("先行拨付")
    BALANCE = "balance", _("余额拨付")


class PaymentStatus(models.TextChoices):
    PAID = "paid", _("已拨付")
    FAILED = "failed", _("拨付失败")


class Payment(models.Model):
    """What finance paid on a claim, or tried to. Nothing is ever paid twice."""

    claim = models.ForeignKey(
        "claims.Claim",
        verbose_name=_("申报"),
        on_delete=models.PROTECT,
        related_name="payments",
    )
    rollup = models.ForeignKey(
        Rollup,
        verbose_name=_("汇总"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payments",
    )
    kind = models.CharField(_("类别"), max_length=20, choices=PaymentKind.choices)
    amount = models.DecimalField(_("金额"), **MONEY)
    status = models.CharField(_("结果"), max_length=20, choices=PaymentStatus.choices)
    paid_on = models.DateField(_("拨付日期"))
    reference = models.CharField(_("凭证号"), max_length=60, blank=True)
    failure_reason = models.TextField(_("失败原因"), blank=True)
    #: the share of a training class's advance this payment carries (issue 16): paid
    #: to the institution when the class started, put on the claim at completion
    class_advance = models.ForeignKey(
        "finance.ClassAdvance",
        verbose_name=_("培训班先行拨付"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="shares",
    )
    reissue_of = models.OneToOneField(
        "self",
        verbose_name=_("重新拨付自"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reissued_by",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("登记人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    class Meta:
        db_table = "reporting_payment"  # kept from before the move (issue 11)
        verbose_name = _("拨付记录")
        verbose_name_plural = _("拨付记录")
        ordering = ["claim_id", "recorded_at", "id"]
        indexes = [
            # The failed payments finance must re-issue (finance.selectors
            # .failed_payments, on the finance dashboard), newest first: few, so a
            # small index instead of a scan of every payment (issue 20: 110 ms a
            # query at 1.8 million payments).
            models.Index(
                fields=["paid_on", "id"],
                condition=Q(status="failed"),
                name="payment_failed",
            )
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["claim", "kind"],
                condition=Q(status="paid"),
                name="payment_never_twice",
                violation_error_message=_("该笔款项已拨付，不能重复拨付"),
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_positive"),
            models.CheckConstraint(
                condition=~Q(status="failed") | ~Q(failure_reason=""),
                name="payment_failure_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.claim_id} {self.kind} {self.amount} {self.status}"


class Recovery(models.Model):
    """Money paid on a claim beyond what it is now owed (a withdrawal, a rejection, a
    lower amount, an approval below the advance): to be recovered, listed for finance
    until settled with a reference (五(二)). Opened by ``finance.ledger`` in the same
    transaction as the change that made it owed; a claim may owe more than one. An
    open one is netted (``netted_at``) instead when a later decision makes the claim
    owed it again: chasing it would only pay it out once more with the balance."""

    claim = models.ForeignKey(
        "claims.Claim",
        verbose_name=_("申报"),
        on_delete=models.PROTECT,
        related_name="recoveries",
    )
    amount = models.DecimalField(_("应追回金额"), **MONEY)
    reason = models.TextField(_("原因"))
    created_at = models.DateTimeField(_("产生时间"), auto_now_add=True)
    settled_at = models.DateTimeField(_("追回时间"), null=True, blank=True)
    settled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("登记人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    settlement_reference = models.CharField(_("追回凭证号"), max_length=60, blank=True)
    #: cancelled, not settled: the claim came to be owed again what it was to give back
    #: (a returned claim raised back and approved) — ``finance.ledger.recovery_net``
    netted_at = models.DateTimeField(_("冲抵时间"), null=True, blank=True)
    #: the netted recovery whose money the payee sent back all the same: this one is
    #: opened and settled at once with the bank's reference (``recovery_settle``), so
    #: what came back is owed again and paid out with the balance — once a netted one
    reopens = models.OneToOneField(
        "self",
        verbose_name=_("冲抵后仍退回的原应追回款"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reopened_by",
    )

    class Meta:
        db_table = "reporting_recovery"  # kept from before the move (issue 11)
        verbose_name = _("应追回款")
        verbose_name_plural = _("应追回款")
        ordering = ["settled_at", "-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="recovery_positive"),
            models.CheckConstraint(
                condition=Q(settled_at__isnull=True) | ~Q(settlement_reference=""),
                name="recovery_settled_has_reference",
                violation_error_message=_("登记追回须填写凭证号"),
            ),
            models.CheckConstraint(
                condition=Q(settled_at__isnull=True) | Q(netted_at__isnull=True),
                name="recovery_settled_or_netted",
                violation_error_message=_("应追回款不能既已追回又已冲抵"),
            ),
        ]

    def __str__(self) -> str:
        return f"追回 {self.claim_id} {self.amount}"


class ClassAdvance(models.Model):
    """The advance of a project-based training class (五(二) 培训机构开展项目制培训的，
    可先行拨付40%比例的培训补贴资金; issue 16): paid to the class's institution once
    the class is accepted and has started, ``ratio`` (the dated ``advance_ratio``) of
    the roster's expected total — each roster line's pre-check amount, nothing for a
    line the pre-check refuses. Paid once (one row per class, finance's
    ``class_advance_pay`` with the class's ``advance`` event); at the class's completion
    it is split over the claims created, each carrying its share in its ledger
    (``shares``: a ``Payment`` of kind ``advance`` per claim), and what a claim is not
    owed of its share is opened as a recovery at once."""

    training_class = models.OneToOneField(
        "classes.TrainingClass",
        verbose_name=_("培训班"),
        on_delete=models.PROTECT,
        related_name="advance",
    )
    ratio = models.DecimalField(_("先行拨付比例"), max_digits=5, decimal_places=4)
    expected_total = models.DecimalField(_("名单预计补贴总额"), **MONEY)
    amount = models.DecimalField(_("先行拨付金额"), **MONEY)
    #: trainee id → the pre-check amount counted for them, as paid on
    expected = models.JSONField(_("各人预计补贴"), default=dict)
    paid_on = models.DateField(_("拨付日期"))
    reference = models.CharField(_("凭证号"), max_length=60, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("登记人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    allocated_at = models.DateTimeField(_("分摊到申报时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("培训班先行拨付")
        verbose_name_plural = _("培训班先行拨付")
        ordering = ["-recorded_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="class_advance_positive"
            ),
            models.CheckConstraint(
                condition=Q(amount__lte=F("expected_total")),
                name="class_advance_within_total",
            ),
        ]

    def __str__(self) -> str:
        return f"培训班#{self.training_class_id} 先行拨付 {self.amount}"


class LedgerKind(models.TextChoices):
    """The lines of a claim's ledger; each is also the action of its chain event."""

    OWED = "owed", _("核定应付")
    PAID = "paid", _("拨付")
    FAILED = "failed", _("拨付失败")
    RECOVERY = "recovery", _("应追回")
    RECOVERED = "recovered", _("追回到账")
    NETTED = "netted", _("追回冲抵")  # an open recovery cancelled (recovery_net)


class LedgerEntry(models.Model):
    """One line of a claim's money ledger: the one source of what a claim is owed,
    was paid, failed to be paid and is to recover (``finance.rules.ClaimMoney``).

    ``owed`` lines are signed changes of the entitlement, written by decisions (an
    approval, a rejection, a withdrawal, a lower amount) and by the advance when it is
    paid; the others are positive and written by finance, but for ``recovery`` (opened
    by a decision) and ``netted`` (an open recovery cancelled because a later decision
    made the claim owed it again; it counts against ``recovery``). Every line is written with a
    ``ClaimEvent`` of the same action whose ``changes`` repeat it, so the line is a link
    of the claim's hash chain (``verify_audit`` compares the two); on PostgreSQL a
    trigger refuses every UPDATE and DELETE of this table.
    """

    claim = models.ForeignKey(
        "claims.Claim",
        verbose_name=_("申报"),
        on_delete=models.PROTECT,
        related_name="ledger",
    )
    event = models.OneToOneField(
        "claims.ClaimEvent",
        verbose_name=_("记录"),
        on_delete=models.PROTECT,
        related_name="ledger_entry",
    )
    kind = models.CharField(_("类别"), max_length=20, choices=LedgerKind.choices)
    part = models.CharField(
        _("款项"), max_length=20, choices=PaymentKind.choices, blank=True
    )
    amount = models.DecimalField(_("金额"), **MONEY)
    payment = models.OneToOneField(
        Payment,
        verbose_name=_("拨付记录"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger_entry",
    )
    recovery = models.ForeignKey(
        Recovery,
        verbose_name=_("应追回款"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger_entries",
    )

    class Meta:
        verbose_name = _("资金账目")
        verbose_name_plural = _("资金账目")
        ordering = ["claim_id", "id"]
        indexes = [models.Index(fields=["claim", "kind"], name="ledger_claim_kind")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(amount=0) & (Q(kind="owed") | Q(amount__gt=0)),
                name="ledger_amount_signed_by_kind",
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["paid", "failed"])
                | (Q(payment__isnull=False) & ~Q(part="")),
                name="ledger_payment_line_has_payment",
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["recovery", "recovered", "netted"])
                | Q(recovery__isnull=False),
                name="ledger_recovery_line_has_recovery",
            ),
            models.UniqueConstraint(
                fields=["recovery", "kind"],
                condition=Q(recovery__isnull=False),
                name="ledger_recovery_opened_and_settled_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.claim_id} {self.kind} {self.part} {self.amount}"


# --- The bank loop (issue 18) -----------------------------------------------------------------
class PayeeAccount(models.Model):
    """Where a payee is paid: a trainee's card (the 一卡通 or social-security card
    account) or an institution's settlement account. Written only by a confirmed
    ``PayeeAccountChange``; shown masked (last 4) to everyone but finance."""

    trainee = models.OneToOneField(
        "trainees.Trainee",
        verbose_name=_("培训人员"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payee_account",
    )
    institution = models.OneToOneField(
        "programs.Institution",
        verbose_name=_("培训机构/企业"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payee_account",
    )
    bank = models.CharField(_("开户银行"), max_length=20)
    number = models.CharField(_("银行账号"), max_length=32)
    holder = models.CharField(_("户名"), max_length=100)
    changed_at = models.DateTimeField(_("变更生效时间"))

    class Meta:
        verbose_name = _("收款账户")
        verbose_name_plural = _("收款账户")
        constraints = [
            models.CheckConstraint(
                condition=Q(trainee__isnull=True) ^ Q(institution__isnull=True),
                name="payee_account_one_owner",
            ),
            models.CheckConstraint(
                condition=Q(number__regex=r"^[0-9]{8,32}$"),
                name="payee_account_digits",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.holder} {self.masked}"

    @property
    def masked(self) -> str:
        return "****" + self.number[-4:]


class AccountChangeStatus(models.TextChoices):
    PROPOSED = "proposed", _("待财政确认")
    CONFIRMED = "confirmed", _("已确认")
    REFUSED = "refused", _("已退回")


class PayeeAccountChange(models.Model):
    """A new or changed account: entered by one person (the unit's clerk for a
    trainee), in force only once a second (finance) confirms it. The row is the
    audit: who, when, the old and new numbers masked (``old_masked``, ``new_masked``);
    the full new number is kept for finance to apply."""

    trainee = models.ForeignKey(
        "trainees.Trainee",
        verbose_name=_("培训人员"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    institution = models.ForeignKey(
        "programs.Institution",
        verbose_name=_("培训机构/企业"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    bank = models.CharField(_("开户银行"), max_length=20)
    number = models.CharField(_("银行账号"), max_length=32)
    holder = models.CharField(_("户名"), max_length=100)
    old_masked = models.CharField(_("原账号（遮蔽）"), max_length=40, blank=True)
    new_masked = models.CharField(_("新账号（遮蔽）"), max_length=40)
    reason = models.TextField(_("变更原因"), blank=True)
    document = models.ForeignKey(
        "claims.Document",
        verbose_name=_("本人签字的申请"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    status = models.CharField(
        _("状态"),
        max_length=20,
        choices=AccountChangeStatus.choices,
        default=AccountChangeStatus.PROPOSED,
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("录入人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    proposed_at = models.DateTimeField(_("录入时间"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("确认人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("确认时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("收款账户变更")
        verbose_name_plural = _("收款账户变更")
        ordering = ["-proposed_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(trainee__isnull=True) ^ Q(institution__isnull=True),
                name="payee_change_one_owner",
            ),
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("proposed_by")),
                name="payee_change_two_people",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.holder} {self.old_masked} → {self.new_masked}"


class TemplateFormat(models.TextChoices):
    CSV = "csv", _("CSV")
    XLSX = "xlsx", _("XLSX")
    FIXED = "fixed", _("定长文本")


class TemplateEncoding(models.TextChoices):
    UTF8 = "utf-8", _("UTF-8")
    GBK = "gbk", _("GBK")


class TemplatePurpose(models.TextChoices):
    BATCH = "batch", _("代发文件")
    RESULT = "result", _("回盘文件")


class BankTemplate(models.Model):
    """A bank's file layout, held as data (an administrator defines it).

    ``fields``: the columns in order, each ``{"name", "title", "width", "align",
    "pad"}`` — ``name`` one of the line's values (``seq``, ``reference``, ``account``,
    ``holder``, ``amount``, ``bank``, ``id_number_masked``, ``purpose``; in a result
    file also ``status``, ``bank_date``, ``bank_reference``, ``reason``), ``width`` the
    width in bytes of the encoding for fixed-width text. ``header``/``trailer``: a line
    with ``{count}``, ``{total}``, ``{date}``, ``{batch}`` filled in (empty: none).
    ``paid_values``: the status texts of a result line that mean paid;
    ``failed_values``: those that mean failed. A line with any other status (处理中, a
    typo) is neither: the file is refused, nothing recorded — a line counted failed
    while the bank still pays it would be paid twice."""

    name = models.CharField(_("名称"), max_length=100, unique=True)
    purpose = models.CharField(
        _("用途"),
        max_length=10,
        choices=TemplatePurpose.choices,
        default=TemplatePurpose.BATCH,
    )
    bank = models.CharField(_("代发银行"), max_length=20)
    format = models.CharField(_("格式"), max_length=10, choices=TemplateFormat.choices)
    encoding = models.CharField(
        _("编码"), max_length=10, choices=TemplateEncoding.choices
    )
    delimiter = models.CharField(_("分隔符"), max_length=3, default=",", blank=True)
    fields = models.JSONField(_("字段"), default=list)
    header = models.CharField(_("首行"), max_length=200, blank=True)
    trailer = models.CharField(_("尾行"), max_length=200, blank=True)
    column_titles = models.BooleanField(_("输出列标题"), default=False)
    date_format = models.CharField(_("日期格式"), max_length=20, default="%Y%m%d")
    amount_unit = models.CharField(
        _("金额单位"),
        max_length=10,
        choices=[("yuan", _("元（两位小数）")), ("fen", _("分（整数）"))],
        default="yuan",
    )
    paid_values = models.JSONField(_("表示成功的状态值"), default=list, blank=True)
    failed_values = models.JSONField(_("表示失败的状态值"), default=list, blank=True)
    result_template = models.ForeignKey(
        "self",
        verbose_name=_("回盘模板"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        limit_choices_to={"purpose": TemplatePurpose.RESULT},
    )

    class Meta:
        verbose_name = _("银行文件模板")
        verbose_name_plural = _("银行文件模板")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class BatchStatus(models.TextChoices):
    BUILT = "built", _("已生成")
    SENT = "sent", _("已报送银行")
    SETTLED = "settled", _("已回盘")
    CANCELLED = "cancelled", _("已作废")


class PaymentBatch(models.Model):
    """A file for the bank: a ready rollup's payable lines of one kind, in one bank
    template. The file's bytes are kept, so a download is byte for byte the file
    sent; its SHA-256, count and total are recorded with it."""

    rollup = models.ForeignKey(
        Rollup, verbose_name=_("汇总"), on_delete=models.PROTECT, related_name="batches"
    )
    kind = models.CharField(_("类别"), max_length=20, choices=PaymentKind.choices)
    template = models.ForeignKey(
        BankTemplate,
        verbose_name=_("银行模板"),
        on_delete=models.PROTECT,
        related_name="batches",
    )
    status = models.CharField(
        _("状态"), max_length=20, choices=BatchStatus.choices, default=BatchStatus.BUILT
    )
    count = models.PositiveIntegerField(_("笔数"))
    total = models.DecimalField(_("总金额"), **MONEY)
    sha256 = models.CharField(_("文件摘要"), max_length=64)
    content = models.BinaryField(_("文件内容"))
    filename = models.CharField(_("文件名"), max_length=120)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("生成人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("生成时间"), auto_now_add=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("报送人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    sent_at = models.DateTimeField(_("报送时间"), null=True, blank=True)
    #: What had changed since the batch was built when it was marked sent on the
    #: officer's word that the file was at the bank (``payouts.batch_mark_sent``).
    sent_changed = models.JSONField(_("报送时已有变化"), default=list, blank=True)
    cancelled_at = models.DateTimeField(_("作废时间"), null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("作废人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("代发批次")
        verbose_name_plural = _("代发批次")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(total__gte=0), name="batch_total"),
        ]

    def __str__(self) -> str:
        return f"批次#{self.pk} {self.rollup.quarter} {self.get_kind_display()}"


class BatchLineStatus(models.TextChoices):
    PENDING = "pending", _("待回盘")
    PAID = "paid", _("已拨付")
    FAILED = "failed", _("拨付失败")
    CANCELLED = "cancelled", _("已作废")


class PaymentBatchLine(models.Model):
    """One payment in a batch: the claim, what is paid, to which account (a snapshot
    as written in the file). ``open`` while the batch may still pay it: a line is in at
    most one open batch (the partial unique index ``batch_line_once_open``)."""

    batch = models.ForeignKey(
        PaymentBatch,
        verbose_name=_("批次"),
        on_delete=models.PROTECT,
        related_name="lines",
    )
    seq = models.PositiveIntegerField(_("序号"))
    claim = models.ForeignKey(
        "claims.Claim",
        verbose_name=_("申报"),
        on_delete=models.PROTECT,
        related_name="batch_lines",
    )
    kind = models.CharField(_("类别"), max_length=20, choices=PaymentKind.choices)
    amount = models.DecimalField(_("金额"), **MONEY)
    reference = models.CharField(_("业务编号"), max_length=40, unique=True)
    bank = models.CharField(_("开户银行"), max_length=20)
    account = models.CharField(_("银行账号"), max_length=32)
    holder = models.CharField(_("户名"), max_length=100)
    account_recent = models.BooleanField(_("账户近期变更"), default=False)
    reissue_of = models.ForeignKey(
        Payment,
        verbose_name=_("重新拨付自"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    open = models.BooleanField(_("未结"), default=True)
    status = models.CharField(
        _("结果"),
        max_length=20,
        choices=BatchLineStatus.choices,
        default=BatchLineStatus.PENDING,
    )
    payment = models.OneToOneField(
        Payment,
        verbose_name=_("拨付记录"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="batch_line",
    )

    class Meta:
        verbose_name = _("代发明细")
        verbose_name_plural = _("代发明细")
        ordering = ["batch_id", "seq"]
        constraints = [
            models.UniqueConstraint(
                fields=["claim", "kind"],
                condition=Q(open=True),
                name="batch_line_once_open",
                violation_error_message=_("该笔款项已在另一个未结批次中"),
            ),
            models.UniqueConstraint(fields=["batch", "seq"], name="batch_line_seq"),
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="batch_line_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.amount}"


class PaymentResult(models.Model):
    """A bank result file recorded against a batch: its bytes' SHA-256 is unique, so
    the same file uploaded twice records once."""

    batch = models.ForeignKey(
        PaymentBatch,
        verbose_name=_("批次"),
        on_delete=models.PROTECT,
        related_name="results",
    )
    sha256 = models.CharField(_("文件摘要"), max_length=64, unique=True)
    content = models.BinaryField(_("文件内容"))
    paid = models.PositiveIntegerField(_("成功笔数"))
    failed = models.PositiveIntegerField(_("失败笔数"))
    total_paid = models.DecimalField(_("成功金额"), **MONEY)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("上传人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("银行回盘")
        verbose_name_plural = _("银行回盘")
        ordering = ["-uploaded_at", "-id"]

    def __str__(self) -> str:
        return f"回盘 {self.batch_id} {self.sha256[:12]}"
