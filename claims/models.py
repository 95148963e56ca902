"""Claims and their audit trail."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connections, models, router, transaction
from django.db.models import Count, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, ExtractYear, Trim, TruncMonth, Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from altay_skills import lock_objects
from claims import workflow
from claims.rules import COUNTING_STATUSES, PROGRAMS_OUTSIDE_LIMITS


class Employment(models.TextChoices):
    EMPLOYED = "employed", _("就业")
    SELF_EMPLOYED = "self_employed", _("自主创业")
    FLEXIBLE = "flexible", _("灵活就业")
    NONE = "none", _("未就业")


class ClaimStatus(models.TextChoices):
    DRAFT = workflow.DRAFT, _("草稿")
    SUBMITTED = workflow.SUBMITTED, _("已提交")
    APPROVED = workflow.APPROVED, _("已核准")
    REJECTED = workflow.REJECTED, _("已驳回")
    RETURNED = workflow.RETURNED, _("已退回")
    WITHDRAWN = workflow.WITHDRAWN, _("已撤回")
    DELETED = workflow.DELETED, _("已删除")


class ClaimAction(models.TextChoices):
    """What a ``ClaimEvent`` records. Labels from ``workflow.ACTION_LABELS``, their one
    source (a test keeps the two sets of values equal)."""

    CREATE = "create", workflow.ACTION_LABELS["create"]
    EDIT = "edit", workflow.ACTION_LABELS["edit"]
    SUBMIT = "submit", workflow.ACTION_LABELS["submit"]
    WITHDRAW = "withdraw", workflow.ACTION_LABELS["withdraw"]
    DELETE = "delete", workflow.ACTION_LABELS["delete"]
    APPROVE = "approve", workflow.ACTION_LABELS["approve"]
    REJECT = "reject", workflow.ACTION_LABELS["reject"]
    RETURN = "return", workflow.ACTION_LABELS["return"]
    REPORT = "report", workflow.ACTION_LABELS["report"]
    SPOT_CHECK = "spot_check", workflow.ACTION_LABELS["spot_check"]
    ATTACH_DOCUMENT = "attach_document", workflow.ACTION_LABELS["attach_document"]
    OWED = "owed", workflow.ACTION_LABELS["owed"]
    PAID = "paid", workflow.ACTION_LABELS["paid"]
    FAILED = "failed", workflow.ACTION_LABELS["failed"]
    RECOVERY = "recovery", workflow.ACTION_LABELS["recovery"]
    RECOVERED = "recovered", workflow.ACTION_LABELS["recovered"]
    NETTED = "netted", workflow.ACTION_LABELS["netted"]


class Payee(models.TextChoices):
    INSTITUTION = "institution", _("培训机构/企业")
    TRAINEE = "trainee", _("培训人员")
    FAMILY = "family", _("学生家庭")


#: 五(二) 每人每年享受职业培训补贴次数不超过3次: the yearly limit, in slots — the one number
#: the code holds for it. A counted live claim holds one of slots 1..LIMIT_SLOTS for
#: (trainee, year of training end): the unique index below makes one more live claim in
#: a year impossible even for a raw INSERT; the service picks the slot under the
#: trainee's row lock; refusals say this number (never a typed one).
#:
#: Why a constant and not the slots derived from the dated policy term ``annual_limit``
#: (programs' reference data, which ``claims.rules`` judges by and a person's history
#: shows): the limit must hold in the database, under concurrent requests and raw
#: writes, and a constraint holds a literal fixed by its migration — a policy row
#: cannot size it. Slots derived from the row would leave the constraint a second
#: number all the same, and a row above it would end in an IntegrityError instead of a
#: refusal. So the number lives here; the policy term must say the same, which
#: ``tests/claims/test_yearly_limit.py`` checks. Changing the limit is a migration of
#: ``claim_limit_slot_in_range`` and a new dated policy entry, together.
LIMIT_SLOTS = 3

MONEY: dict[str, Any] = {"max_digits": 12, "decimal_places": 2}
COUNTING = sorted(COUNTING_STATUSES)  # a stable order for migrations


class KeptClaims(models.Manager["Claim"]):
    """Every claim but the drafts their clerks deleted (删除草稿, issue 15): a deleted
    draft's row and trail stay for the audit (the trail cannot be deleted, migration
    0006), and no page, list, count, anomaly or report sees it. ``Claim.all_rows``
    reads them too (the audit's checks)."""

    def get_queryset(self) -> models.QuerySet[Claim]:
        return super().get_queryset().exclude(status=workflow.DELETED)

    def bulk_create(
        self, objs: Iterable[Claim], *args: Any, **kwargs: Any
    ) -> list[Claim]:
        """The spreadsheet import's claims, counted into the summaries in the same
        transaction (``bulk_create`` calls no ``save``)."""
        using = kwargs.get("using") or router.db_for_write(Claim)
        with transaction.atomic(using=using, savepoint=False):
            created = super().bulk_create(objs, *args, **kwargs)
            summaries_apply([(c.summary_entry(), 1) for c in created], using=using)
            backlog_record(
                [(backlog_entry_of(c.summarised()), 1) for c in created], using=using
            )
        for claim in created:
            claim._summary_was = tuple(claim.summarised().values())
        return created


# --- Claim summaries (issue 20) ----------------------------------------------------------
#: A summary row's key: (month of training end, unit, program, fund ("" for none),
#: status, level code ("" for none)); its figures: (claims, passed, employed, requested,
#: approved_amount, amount, paid). ``None``: the claim is in no summary (a deleted draft).
SummaryKey = tuple[date, str, int, str, str, str]
SummaryFigures = tuple[int, int, int, Decimal, Decimal, Decimal, Decimal]
SummaryEntry = tuple[SummaryKey, SummaryFigures] | None
#: The claim's fields a summary row reads: a save that writes none of them moves nothing.
SUMMARY_FIELDS = frozenset(
    {
        "training_end",
        "unit",
        "unit_id",
        "program",
        "program_id",
        "fund",
        "status",
        "level",
        "level_id",
        "passed",
        "employment",
        "amount_requested",
        "approved_amount",
        "amount",
        "paid",
        # the backlog's (``BacklogEntry``)
        "report",
        "report_id",
        "submitted_at",
    }
)
_SUMMARY_ATTNAMES = (
    "training_end",
    "unit_id",
    "program_id",
    "fund",
    "status",
    "level_id",
    "passed",
    "employment",
    "amount_requested",
    "approved_amount",
    "amount",
    "paid",
    "report_id",
    "submitted_at",
)
_UNKNOWN: Any = object()  # the stored entry was not loaded (deferred fields)
_SUMMARY_COLUMNS = ("month", "unit_id", "program_id", "fund", "status", "level")
_SUMMARY_SUMS = (
    "claims",
    "passed",
    "employed",
    "requested",
    "approved",
    "amount",
    "paid",
)


def summary_entry_of(values: dict[str, Any]) -> SummaryEntry:
    """The summary row a claim with these field values counts in, and what it adds. A
    deleted draft counts nowhere — but money paid on it (a class's advance share, to be
    recovered) stays paid: its row carries that and nothing else."""
    paid = Decimal(values["paid"] or 0)
    deleted = values["status"] == workflow.DELETED
    if deleted and not paid:
        return None
    end: date = values["training_end"]
    key: SummaryKey = (
        end.replace(day=1),
        values["unit_id"],
        int(values["program_id"]),
        values["fund"] or "",
        values["status"],
        values["level_id"] or "",
    )
    if deleted:
        return key, (0, 0, 0, Decimal(0), Decimal(0), Decimal(0), paid)
    figures: SummaryFigures = (
        1,
        1 if values["passed"] else 0,
        0 if values["employment"] == Employment.NONE else 1,
        Decimal(values["amount_requested"] or 0),
        Decimal(values["approved_amount"] or 0),
        Decimal(values["amount"] or 0),
        paid,
    )
    return key, figures


def summary_lock_order(key: SummaryKey) -> tuple[Any, ...]:
    """The one order in which every transaction writes (and so locks) summary rows:
    the claim's place — month, unit, program, fund, level — then the status. Two
    transactions that take rows in one order never wait for each other in a circle
    (``altay_skills/lock_objects.py``, 6a)."""
    month, unit, program, fund, status, level = key
    return (month, unit, program, fund, level, status)


def claim_summary_place(claim: Claim) -> tuple[Any, ...]:
    """A claim's summary rows' place in ``summary_lock_order`` (its status aside): a
    change of several claims makes its changes in this order (a bulk approval)."""
    return (
        claim.training_end.replace(day=1),
        claim.unit_id,
        int(claim.program_id),
        claim.fund or "",
        claim.level_id or "",
    )


def _upsert_sql(rows: int) -> str:
    """``INSERT … VALUES (…) × rows ON CONFLICT (key) DO UPDATE SET sum = sum + new``:
    the names are this module's constants, every value a parameter."""
    table = ClaimSummary._meta.db_table
    columns = ", ".join((*_SUMMARY_COLUMNS, *_SUMMARY_SUMS))
    one = "(" + ", ".join(["%s"] * (len(_SUMMARY_COLUMNS) + len(_SUMMARY_SUMS))) + ")"
    values = ", ".join([one] * rows)
    key = ", ".join(_SUMMARY_COLUMNS)
    add = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in _SUMMARY_SUMS)
    return f"INSERT INTO {table} ({columns}) VALUES {values} ON CONFLICT ({key}) DO UPDATE SET {add}"  # noqa: S608, E501  # nosec B608: names from the model, values as %s parameters


def summaries_apply(
    changes: Sequence[tuple[SummaryEntry, int]], *, using: str = "default"
) -> None:
    """Add each entry (sign +1) or take it away (−1) in one UPSERT (``INSERT … ON
    CONFLICT DO UPDATE SET n = n + excluded.n``): concurrent transitions add to the
    row instead of overwriting each other. The rows are written in
    ``summary_lock_order``, so two transactions moving claims between the same rows
    lock them in the same order (``altay_skills/lock_objects.py``, 6a) and never
    deadlock on them. Call it inside the transaction that changes the claims."""
    totals: dict[SummaryKey, list[Any]] = {}
    for entry, sign in changes:
        if entry is None:
            continue
        key, figures = entry
        row = totals.setdefault(key, [0, 0, 0, *[Decimal(0)] * 4])
        value: Any  # a count or a sum (int or Decimal)
        for i, value in enumerate(figures):
            row[i] += sign * value
    rows = [
        (*key, *figures)
        for key, figures in sorted(
            totals.items(), key=lambda item: summary_lock_order(item[0])
        )
        if any(figures)
    ]
    if not rows:
        return
    sql = _upsert_sql(len(rows))
    with connections[using].cursor() as cursor:
        cursor.execute(sql, [value for row in rows for value in row])


class Claim(models.Model):
    trainee = models.ForeignKey(
        "trainees.Trainee",
        verbose_name=_("培训人员"),
        on_delete=models.PROTECT,
        related_name="claims",
    )
    program = models.ForeignKey(
        "programs.Program",
        verbose_name=_("项目"),
        on_delete=models.PROTECT,
        related_name="claims",
    )
    trade = models.ForeignKey(
        "programs.Trade",
        verbose_name=_("职业(工种)"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="claims",
    )
    level = models.ForeignKey(
        "programs.Level",
        verbose_name=_("等级"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="claims",
    )
    institution = models.ForeignKey(
        "programs.Institution",
        verbose_name=_("培训机构/企业"),
        on_delete=models.PROTECT,
        related_name="claims",
    )
    employer = models.ForeignKey(
        "programs.Institution",
        verbose_name=_("用人单位"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="employer_claims",
    )
    unit = models.ForeignKey(
        "programs.Unit",
        verbose_name=_("申报单位"),
        on_delete=models.PROTECT,
        related_name="claims",
    )
    training_start = models.DateField(_("培训开始日期"))
    training_end = models.DateField(_("培训结束日期"))
    project_based = models.BooleanField(_("项目制培训"), default=False)
    work_in_lieu_months = models.PositiveSmallIntegerField(_("以工代训月数"), default=0)
    #: 三(一)1 针对一年内新招用员工: the date the enterprise hired the trainee.
    hire_date = models.DateField(_("入职（录用）日期"), null=True, blank=True)
    passed = models.BooleanField(_("培训合格"), default=False)
    certificate_number = models.CharField(_("证书编号"), max_length=50, blank=True)
    employment = models.CharField(
        _("就业情况"),
        max_length=20,
        choices=Employment.choices,
        default=Employment.NONE,
    )
    amount_requested = models.DecimalField(_("申请金额"), **MONEY)

    # The decision the claim was last judged under (at save, and frozen at submission).
    eligible = models.BooleanField(_("符合条件"), default=False)
    cap = models.DecimalField(_("补贴上限"), null=True, blank=True, **MONEY)
    amount = models.DecimalField(_("核定金额"), default=Decimal("0.00"), **MONEY)
    advance = models.DecimalField(_("可先行拨付"), default=Decimal("0.00"), **MONEY)
    fund = models.CharField(_("资金渠道"), max_length=30, blank=True, null=True)
    payee = models.CharField(
        _("收款方"), max_length=20, choices=Payee.choices, default=Payee.TRAINEE
    )
    violations = models.JSONField(_("不符合项"), default=list, blank=True)
    explanation = models.JSONField(_("核定说明"), default=list, blank=True)
    policy_entries = models.ManyToManyField(
        "programs.PolicyEntry",
        verbose_name=_("适用政策标准"),
        blank=True,
        related_name="claims",
    )
    decided_on = models.DateField(_("判定日期"), null=True, blank=True)

    status = models.CharField(
        _("状态"),
        max_length=20,
        choices=ClaimStatus.choices,
        default=ClaimStatus.DRAFT,
        editable=False,
    )
    limit_year = models.PositiveSmallIntegerField(
        _("计次年度"), null=True, blank=True, editable=False
    )
    limit_slot = models.PositiveSmallIntegerField(
        _("计次序号"), null=True, blank=True, editable=False
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("经办人"),
        on_delete=models.PROTECT,
        related_name="claims_created",
        editable=False,
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    submitted_at = models.DateTimeField(
        _("提交时间"), null=True, blank=True, editable=False
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("审核人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="claims_reviewed",
        editable=False,
    )
    reviewed_at = models.DateTimeField(
        _("审核时间"), null=True, blank=True, editable=False
    )
    approved_amount = models.DecimalField(
        _("核准金额"), null=True, blank=True, editable=False, **MONEY
    )
    #: the payments recorded as paid on the claim (``finance.models.Payment``), summed:
    #: kept by ``finance.services`` in each payment's transaction, so that the claim's
    #: summary row carries what was paid on it (issue 20: the dashboards read no
    #: payments). ``manage.py rebuild_summaries`` recomputes it from the payments.
    paid = models.DecimalField(
        _("已拨付金额"),
        default=Decimal("0.00"),
        db_default=Decimal("0.00"),
        editable=False,
        **MONEY,
    )
    report = models.ForeignKey(
        "quarters.QuarterlyReport",
        verbose_name=_("所在季度报表"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="claims",
        editable=False,
    )

    #: the default manager: deleted drafts are left out everywhere
    objects = KeptClaims()
    all_rows: models.Manager[Claim] = models.Manager()  # the audit's checks

    class Meta:
        verbose_name = _("补贴申报")
        verbose_name_plural = _("补贴申报")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["unit", "status"], name="claim_unit_status"),
            # The dashboards' work lists (issue 20), read from the index alone (small:
            # only the claims waiting): a unit's drafts and returned claims
            # (reporting.dashboards.awaiting_action: counted, and the returned ones
            # oldest first, in the index's order) and the claims awaiting the
            # prefecture's decision by age (backlog).
            models.Index(
                fields=["unit", "status", "reviewed_at", "id", "eligible"],
                condition=Q(status__in=[workflow.DRAFT, workflow.RETURNED]),
                name="claim_unit_waiting",
            ),
            models.Index(
                fields=["report", "unit", "submitted_at", "amount"],
                condition=Q(status=workflow.SUBMITTED),
                name="claim_awaiting_decision",
            ),
            models.Index(fields=["trainee", "status"], name="claim_trainee_status"),
            models.Index(fields=["training_end"], name="claim_training_end"),
            # The claim list, newest first (claims/views.py claim_list): a clerk's unit,
            # every unit, and the review queue by status read one page off an index
            # instead of sorting the unit's claims (docs/performance.md, query plans).
            # training_end rides along so that a quarter filter is checked in the
            # index: without it the planner walks the newest claims back to an old
            # quarter through the heap (5.7 s on a million claims instead of 30 ms).
            models.Index(
                fields=["unit", "-created_at", "-id", "training_end"],
                name="claim_unit_newest_end",
            ),
            models.Index(
                fields=["-created_at", "-id", "training_end"], name="claim_newest_end"
            ),
            models.Index(
                fields=["status", "-created_at", "-id"], name="claim_status_newest"
            ),
            # A unit's claims of a quarter (the list's quarter filter, the report build).
            models.Index(
                fields=["unit", "training_end"], name="claim_unit_training_end"
            ),
            # The rollup: the approved claims of a quarter's reports.
            models.Index(fields=["report", "status"], name="claim_report_status"),
            # One certificate on several claims (reporting/notices.py on submit,
            # reporting/anomalies.py): compared trimmed and upper-cased.
            models.Index(
                Upper(Trim("certificate_number")), name="claim_certificate_key"
            ),
        ]
        constraints = [
            # Money is never negative, and never above its cap.
            models.CheckConstraint(
                condition=Q(amount_requested__gte=0)
                & Q(amount__gte=0)
                & Q(advance__gte=0),
                name="claim_amounts_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(cap__isnull=True)
                | (Q(cap__gte=0) & Q(amount__lte=F("cap"))),
                name="claim_amount_within_cap",
            ),
            models.CheckConstraint(
                condition=Q(advance__lte=F("amount")),
                name="claim_advance_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(approved_amount__isnull=True)
                | (Q(approved_amount__gte=0) & Q(approved_amount__lte=F("amount"))),
                name="claim_approved_within_amount",
            ),
            # Nothing leaves draft without an eligible decision within its cap.
            models.CheckConstraint(
                condition=Q(status="draft")
                | Q(status="withdrawn")
                | Q(status="deleted")
                | (Q(cap__isnull=False) & Q(amount_requested__lte=F("cap"))),
                name="claim_submitted_within_cap",
            ),
            models.CheckConstraint(
                condition=Q(training_end__gte=F("training_start")),
                name="claim_dates_ordered",
            ),
            # 五(二) 同一职业同一等级不可重复享受: one live claim per person, trade and level.
            models.UniqueConstraint(
                fields=["trainee", "trade", "level"],
                condition=Q(
                    status__in=COUNTING, trade__isnull=False, level__isnull=False
                ),
                name="claim_one_live_per_trade_level",
            ),
            # 五(二) the yearly limit: a counted live claim holds one of LIMIT_SLOTS slots.
            models.UniqueConstraint(
                fields=["trainee", "limit_year", "limit_slot"],
                condition=Q(status__in=COUNTING),
                name="claim_one_live_per_limit_slot",
            ),
            # LIMIT_SLOTS goes into the migration as a literal (a constraint cannot
            # read a setting or a policy row); its one source is LIMIT_SLOTS above.
            models.CheckConstraint(
                condition=Q(limit_slot__isnull=True)
                | (
                    Q(limit_slot__gte=1)
                    & Q(limit_slot__lte=LIMIT_SLOTS)
                    & Q(limit_year=ExtractYear("training_end"))
                ),
                name="claim_limit_slot_in_range",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=COUNTING)
                | Q(program_id__in=sorted(PROGRAMS_OUTSIDE_LIMITS))
                | Q(limit_slot__isnull=False),
                name="claim_live_holds_limit_slot",
            ),
            # Maker-checker: whoever entered a claim never reviews it.
            models.CheckConstraint(
                condition=Q(reviewed_by__isnull=True) | ~Q(reviewed_by=F("created_by")),
                name="claim_maker_is_not_checker",
            ),
            models.CheckConstraint(
                condition=Q(work_in_lieu_months__gte=0),
                name="claim_months_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"申报#{self.pk}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save, and move the claim between the summaries (``ClaimSummary``) and in or
        out of the backlog (``BacklogEntry``) in the same transaction: out of where it
        counted as loaded, into where it counts now."""
        fields = kwargs.get("update_fields")
        if fields is not None and not SUMMARY_FIELDS & set(fields):
            super().save(*args, **kwargs)
            return
        using = kwargs.get("using") or router.db_for_write(Claim, instance=self)
        with transaction.atomic(using=using, savepoint=False):
            was = None if self._state.adding else self._summarised_was(using)
            super().save(*args, **kwargs)
            now = self.summarised()
            if fields is not None and was is not None:
                # only the fields written are stored anew: the rest stays as it was,
                # whatever this object holds unsaved
                written = {
                    getattr(Claim._meta.get_field(f), "attname", f) for f in fields
                }
                now = {f: now[f] if f in written else was[f] for f in _SUMMARY_ATTNAMES}
            entry_was = summary_entry_of(was) if was else None
            entry_now = summary_entry_of(now)
            if entry_now != entry_was:
                summaries_apply([(entry_was, -1), (entry_now, 1)], using=using)
            waiting_was = backlog_entry_of(was) if was else None
            waiting_now = backlog_entry_of(now)
            if waiting_now != waiting_was:
                backlog_record([(waiting_was, -1), (waiting_now, 1)], using=using)
        self._summary_was = tuple(now.values())

    def _summarised_was(self, using: str) -> dict[str, Any] | None:
        """The summarised fields as loaded (``from_db``) or last saved; read from the
        database when they were not loaded (deferred). None: no stored row."""
        was = self._summary_was
        if isinstance(was, tuple) and _UNKNOWN not in was:
            return dict(zip(_SUMMARY_ATTNAMES, was, strict=True))
        return (
            Claim.all_rows.using(using)
            .filter(pk=self.pk)
            .values(*_SUMMARY_ATTNAMES)
            .first()
        )

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        using = kwargs.get("using") or router.db_for_write(Claim, instance=self)
        with transaction.atomic(using=using, savepoint=False):
            stored = (
                Claim.all_rows.using(using)
                .filter(pk=self.pk)
                .values(*_SUMMARY_ATTNAMES)
                .first()
            )
            result = super().delete(*args, **kwargs)
            if stored:
                summaries_apply([(summary_entry_of(stored), -1)], using=using)
                backlog_record([(backlog_entry_of(stored), -1)], using=using)
        return result

    #: the summarised fields as loaded or last saved (a tuple in ``_SUMMARY_ATTNAMES``
    #: order), or ``_UNKNOWN``
    _summary_was: Any = _UNKNOWN

    @classmethod
    def from_db(  # type: ignore[override]  # the stubs type it for Model, not Self
        cls, db: str | None, field_names: Any, values: Any
    ) -> Claim:
        """Keep the summarised fields as loaded (a tuple: cheap for the lists that load
        thousands of claims and save none); the entries are worked out only on save."""
        claim = super().from_db(db, field_names, values)
        claim.remember_loaded()
        return claim

    def remember_loaded(self) -> None:
        """Keep the summarised fields as just read from the database (``from_db``, and
        ``claims.selectors.read_listed``, which makes the list's claims itself)."""
        loaded = self.__dict__
        self._summary_was = tuple(loaded.get(f, _UNKNOWN) for f in _SUMMARY_ATTNAMES)

    def refresh_from_db(self, *args: Any, **kwargs: Any) -> None:
        """Reread, and forget the summarised fields as loaded before: the next save
        reads what is stored (another transaction may have moved the claim)."""
        super().refresh_from_db(*args, **kwargs)
        self._summary_was = _UNKNOWN

    def summarised(self) -> dict[str, Any]:
        """The fields the summaries and the backlog read, as they are now."""
        return {f: getattr(self, f) for f in _SUMMARY_ATTNAMES}

    def summary_entry(self) -> SummaryEntry:
        return summary_entry_of(self.summarised())


class ClaimEvent(models.Model):
    """One line of a claim's audit trail, written in the same transaction as the change."""

    claim = models.ForeignKey(
        Claim, verbose_name=_("申报"), on_delete=models.PROTECT, related_name="events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    # set before insert (not auto_now_add) so the hash covers it; see claims/audit.py
    at = models.DateTimeField(
        _("时间"), default=timezone.now, editable=False, db_index=True
    )
    action = models.CharField(_("操作"), max_length=20, choices=ClaimAction.choices)
    from_status = models.CharField(_("原状态"), max_length=20, blank=True)
    to_status = models.CharField(_("新状态"), max_length=20)
    reason = models.TextField(_("理由"), blank=True)
    changes = models.JSONField(_("变更内容"), default=dict, blank=True)
    #: hash chain, one per claim (claims/audit.py); checked by ``manage.py verify_audit``
    prev_hash = models.CharField(
        _("前一记录哈希"), max_length=64, blank=True, editable=False
    )
    hash = models.CharField(_("记录哈希"), max_length=64, editable=False)

    class Meta:
        verbose_name = _("申报记录")
        verbose_name_plural = _("申报记录")
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["hash"], name="claimevent_hash_unique"),
            models.UniqueConstraint(
                fields=["claim", "prev_hash"], name="claimevent_chain_no_fork"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.claim_id} {self.action} {self.from_status}→{self.to_status}"


class ImportJobStatus(models.TextChoices):
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("检查中")
    READY = "ready", _("已完成")
    FAILED = "failed", _("未通过")


#: The statuses of a check still under way: at most one such job per clerk.
IMPORT_JOB_ACTIVE = (ImportJobStatus.QUEUED, ImportJobStatus.RUNNING)


class ImportJob(models.Model):
    """The check of one uploaded spreadsheet, run by a Celery task off the web workers
    (issue 14, item 4); its ``token`` names the staging files under
    ``MEDIA_ROOT/imports/``. At most one queued or running job per clerk: a database
    constraint, so two uploads racing each other cannot both start."""

    token = models.CharField(_("标识"), max_length=64, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("经办人"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    unit = models.ForeignKey(
        "programs.Unit",
        verbose_name=_("单位"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    filename = models.CharField(_("文件名"), max_length=200, blank=True)
    status = models.CharField(
        _("状态"),
        max_length=10,
        choices=ImportJobStatus.choices,
        default=ImportJobStatus.QUEUED,
    )
    progress = models.PositiveSmallIntegerField(_("进度（%）"), default=0)
    rows_read = models.PositiveIntegerField(_("已读取行数"), default=0)
    message = models.TextField(_("未通过原因"), blank=True)
    created_at = models.DateTimeField(_("上传时间"), default=timezone.now)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("导入检查")
        verbose_name_plural = _("导入检查")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(status__in=["queued", "running"]),
                name="import_job_one_active_per_user",
            ),
            models.CheckConstraint(
                condition=Q(progress__lte=100), name="import_job_progress_percent"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.filename or self.token[:8]} {self.status}"

    @property
    def active(self) -> bool:
        return self.status in IMPORT_JOB_ACTIVE


class ImportRowReference(models.Model):
    """The 参考码 of one row of a checked import file (issue 15, item 2).

    The result copy masks every ID number (issue 14, item 2); its 参考码 column lets a
    corrected copy be uploaded again without retyping them: the reference resolves to
    the row's number for the same clerk and unit until the staging files expire
    (``claims.intake.references``). Kept here, not in the staging file, because that
    file is deleted when the passing rows are saved, and the refused rows come back
    after. The reference itself is never stored (only its SHA-256), and the number is
    sealed under it: this table alone gives neither."""

    digest = models.CharField(
        _("参考码摘要"), max_length=64, unique=True, editable=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("经办人"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    unit = models.ForeignKey(
        "programs.Unit",
        verbose_name=_("单位"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    row = models.PositiveIntegerField(_("原文件行号"))
    sealed_id_number = models.CharField(
        _("加封的身份证号码"), max_length=36, editable=False
    )
    created_at = models.DateTimeField(
        _("检查时间"), default=timezone.now, db_index=True
    )

    class Meta:
        verbose_name = _("导入行参考码")
        verbose_name_plural = _("导入行参考码")

    def __str__(self) -> str:
        return f"{self.user_id} 第{self.row}行"


class DocumentKind(models.TextChoices):
    """What a document is evidence of (issue 16; api-contract.md names the values)."""

    ROSTER = "roster", _("花名册")
    ATTENDANCE = "attendance", _("签到表")
    CERTIFICATE = "certificate", _("证书")
    EMPLOYMENT = "employment", _("劳动合同或就业证明")
    ID_CARD = "id_card", _("身份证复印件")
    OTHER = "other", _("其他")


class RecordIsFinal(Exception):
    """An attempt to rewrite or delete a document's record or a download's."""


class _FinalQuerySet(models.QuerySet[Any]):
    def update(self, **kwargs: object) -> int:
        raise RecordIsFinal("材料记录不能修改")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise RecordIsFinal("材料记录不能删除")


class Document(models.Model):
    """One evidence file (issue 16): checked and stored by ``claims.evidence``, its
    SHA-256 a link of the claim's hash chain (the ``attach_document`` event). Kept for
    good: a document is never replaced or deleted — a corrected copy is another
    document. ``unit`` is the scope (``claims.selectors.documents_visible_to``): the
    unit of the claim it belongs to."""

    unit = models.ForeignKey(
        "programs.Unit",
        verbose_name=_("单位"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    claim = models.ForeignKey(
        Claim,
        verbose_name=_("申报"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="documents",
    )
    kind = models.CharField(_("材料类别"), max_length=20, choices=DocumentKind.choices)
    content_type = models.CharField(_("文件类型"), max_length=40)
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    size = models.PositiveIntegerField(_("大小（字节）"))
    #: the storage's name of the file: random, never the uploader's file name
    stored_as = models.CharField(_("存储名"), max_length=200, unique=True)
    original_name = models.CharField(_("原文件名"), max_length=200, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("上传人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("上传时间"), default=timezone.now)

    objects = _FinalQuerySet.as_manager()

    class Meta:
        verbose_name = _("证明材料")
        verbose_name_plural = _("证明材料")
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return f"材料#{self.pk} {self.kind}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise RecordIsFinal("材料记录不能修改")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise RecordIsFinal("材料记录不能删除")

    @property
    def extension(self) -> str:
        return self.stored_as.rsplit(".", 1)[-1]

    @property
    def type_label(self) -> str:
        """The file's type in the page's words (its MIME type is English)."""
        return TYPE_LABELS.get(self.content_type, "文件")


#: What a person reads for each type ``claims.evidence`` accepts.
TYPE_LABELS = {
    "application/pdf": "PDF文件",
    "image/png": "PNG图片",
    "image/jpeg": "JPEG图片",
}


class DocumentDownload(models.Model):
    """One download of a document: who, in which role, when, from where. Append-only
    like ``IdNumberReveal``; written by ``claims.services.document_download`` before
    the file is sent."""

    document = models.ForeignKey(
        Document,
        verbose_name=_("材料"),
        on_delete=models.PROTECT,
        related_name="downloads",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("下载人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_role = models.CharField(_("下载时角色"), max_length=30)
    at = models.DateTimeField(_("下载时间"), default=timezone.now, db_index=True)
    address = models.GenericIPAddressField(_("来源地址"), null=True, blank=True)

    objects = _FinalQuerySet.as_manager()

    class Meta:
        verbose_name = _("材料下载记录")
        verbose_name_plural = _("材料下载记录")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.actor_id} → 材料#{self.document_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise RecordIsFinal("材料下载记录不能修改")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise RecordIsFinal("材料下载记录不能删除")


class ClaimSummary(models.Model):
    """Counts and sums of the claims per month of training end × unit × program ×
    fund × status × level (issue 20), kept by ``Claim.save``/``bulk_create``/``delete``
    in the transaction that changes the claims (``summaries_apply``): the dashboards
    and the November review read these instead of scanning a year of claims.
    ``manage.py rebuild_summaries`` recomputes them from the claims and says whether
    they differed. Deleted drafts count nowhere. A row may fall to zero claims (every
    claim moved on): readers skip such groups."""

    month = models.DateField(_("培训结束月份"))
    unit = models.ForeignKey(
        "programs.Unit",
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
    )
    program = models.ForeignKey(
        "programs.Program",
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
    )
    fund = models.CharField(_("资金渠道"), max_length=30, blank=True, default="")
    status = models.CharField(_("状态"), max_length=20)
    level = models.CharField(_("等级（空为无）"), max_length=30, blank=True, default="")
    claims = models.IntegerField(_("申报数"), default=0)
    passed = models.IntegerField(_("合格数"), default=0)
    employed = models.IntegerField(_("就业数"), default=0)
    requested = models.DecimalField(
        _("申请金额"), max_digits=16, decimal_places=2, default=Decimal("0.00")
    )
    approved = models.DecimalField(
        _("核准金额"), max_digits=16, decimal_places=2, default=Decimal("0.00")
    )
    amount = models.DecimalField(
        _("核定金额"), max_digits=16, decimal_places=2, default=Decimal("0.00")
    )
    #: the payments recorded as paid on the row's claims (``Claim.paid``), whatever
    #: their status: an advance on a claim later rejected stays in its rejected row
    paid = models.DecimalField(
        _("已拨付金额"),
        max_digits=16,
        decimal_places=2,
        default=Decimal("0.00"),
        db_default=Decimal("0.00"),
    )

    class Meta:
        verbose_name = _("申报汇总")
        verbose_name_plural = _("申报汇总")
        constraints = [
            models.UniqueConstraint(
                fields=["month", "unit", "program", "fund", "status", "level"],
                name="claim_summary_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.unit_id} {self.program_id} {self.status}"


# --- The backlog: claims waiting for the prefecture's decision (issue 20) ----------------
#: The day a submitted claim without its moment (old data) counts on: the oldest band.
NO_DAY = date(1970, 1, 1)
#: (report, unit, local day of submission)
BacklogKey = tuple[int, str, date]
WaitingEntry = tuple[BacklogKey, Decimal] | None


class BacklogEntry(models.Model):
    """What waits for the prefecture's decision (the dashboards' backlog, issue 20):
    a claim submitted and in a quarterly report counts +1 (and its decided amount)
    here when it gets there and −1 when it leaves — decided, withdrawn, out of a
    discarded report — written by ``Claim.save``/``delete`` and the report's moves
    (``backlog_moved``) in the transaction that moves it. The backlog reads the rows of
    the submitted reports (a report's status is read, not copied: its submission and
    return move no row). Rows are only ever inserted, never updated, so two
    transactions never wait for each other on them (the summaries' rows are updated
    in place and need ``summary_lock_order``); ``backlog_compact`` folds a report's rows
    into one per unit and day (at submission, and by the beat every ten minutes), so a
    read is a few rows per day of a quarter, not a row per claim."""

    report = models.ForeignKey(
        "quarters.QuarterlyReport",
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
    )
    unit = models.ForeignKey(
        "programs.Unit",
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
    )
    day = models.DateField(_("提交日期"))
    claims = models.IntegerField(_("申报数"))
    amount = models.DecimalField(_("核定金额"), max_digits=16, decimal_places=2)

    class Meta:
        verbose_name = _("待审核积压")
        verbose_name_plural = _("待审核积压")

    def __str__(self) -> str:
        return f"{self.report_id} {self.unit_id} {self.day} {self.claims:+d}"


def backlog_entry_of(values: dict[str, Any]) -> WaitingEntry:
    """Where a claim with these values waits, and its decided amount; None when it
    waits nowhere (not submitted, or in no report). The day is the local date of
    submission: the backlog's bands are whole local days."""
    if values["status"] != workflow.SUBMITTED or values["report_id"] is None:
        return None
    moment = values["submitted_at"]
    day = (
        NO_DAY
        if moment is None
        else timezone.localtime(moment, timezone.get_default_timezone()).date()
    )
    return (values["report_id"], values["unit_id"], day), Decimal(values["amount"] or 0)


def backlog_record(
    changes: Sequence[tuple[WaitingEntry, int]], *, using: str = "default"
) -> None:
    """Insert the changes (+1 in, −1 out), one row per key that moved."""
    totals: dict[BacklogKey, list[Any]] = {}
    for entry, sign in changes:
        if entry is None:
            continue
        key, amount = entry
        row = totals.setdefault(key, [0, Decimal(0)])
        row[0] += sign
        row[1] += sign * amount
    rows = [
        BacklogEntry(report_id=k[0], unit_id=k[1], day=k[2], claims=n, amount=a)
        for k, (n, a) in sorted(totals.items())
        if n or a
    ]
    if rows:
        BacklogEntry.objects.using(using).bulk_create(rows)


def backlog_moved(claim_ids: Sequence[int], sign: int, using: str = "default") -> None:
    """Count the claims in (+1) or out (−1) where they wait now: for a report's
    moves that update the claims without saving them (built, discarded) — call it
    after setting their report when they go in, before taking it away when out."""
    rows = (
        Claim.all_rows.using(using)
        .filter(pk__in=list(claim_ids))
        .values(*_SUMMARY_ATTNAMES)
    )
    backlog_record([(backlog_entry_of(r), sign) for r in rows], using=using)


def backlog_fresh(using: str = "default") -> dict[BacklogKey, tuple[int, Decimal]]:
    """What the backlog rows must add up to, from the claims themselves."""
    fresh: dict[BacklogKey, list[Any]] = {}
    for values in (
        Claim.all_rows.using(using)
        .filter(status=workflow.SUBMITTED, report__isnull=False)
        .values(*_SUMMARY_ATTNAMES)
    ):
        entry = backlog_entry_of(values)
        assert entry is not None  # the filter is the condition
        row = fresh.setdefault(entry[0], [0, Decimal(0)])
        row[0] += 1
        row[1] += entry[1]
    return {k: (n, _fen(a)) for k, (n, a) in fresh.items()}


def backlog_stored(using: str = "default") -> dict[BacklogKey, tuple[int, Decimal]]:
    """The backlog rows added up per key (keys at nothing left out)."""
    return {
        (r["report_id"], r["unit_id"], r["day"]): (r["n"], _fen(r["a"]))
        for r in BacklogEntry.objects.using(using)
        .values("report_id", "unit_id", "day")
        .annotate(n=Sum("claims"), a=Sum("amount"))
        .order_by()
        if r["n"] or r["a"]
    }


def backlog_compact(report_id: int, *, using: str = "default") -> int:
    """Fold a report's backlog rows into one per unit and day (none where nothing
    waits) and say how many rows it removed. Only the rows read here are replaced: a
    row a decision inserts meanwhile is left as it is, so nothing is counted twice or
    lost; a second compaction running at once finds the rows locked and then gone."""
    with transaction.atomic(using=using):
        rows = list(
            lock_objects.lock_backlog_entries(report_id, using=using).values_list(
                "pk", "unit_id", "day", "claims", "amount"
            )
        )
        if len(rows) <= 1:
            return 0
        totals: dict[tuple[str, date], list[Any]] = {}
        for _, unit, day, n, amount in rows:
            row = totals.setdefault((unit, day), [0, Decimal(0)])
            row[0] += n
            row[1] += amount
        BacklogEntry.objects.using(using).filter(pk__in=[r[0] for r in rows]).delete()
        kept = [
            BacklogEntry(report_id=report_id, unit_id=u, day=d, claims=n, amount=a)
            for (u, d), (n, a) in sorted(totals.items())
            if n or a
        ]
        BacklogEntry.objects.using(using).bulk_create(kept)
        return len(rows) - len(kept)


#: the reverse relation of ``finance.models.Payment.claim`` and the status of a payment
#: that was paid (``finance.models.PaymentStatus.PAID``; finance sits above claims)
PAYMENTS = "payments"
PAID = "paid"


def _by_summary_key(claims: QuerySet[Claim]) -> Any:
    """The claims as the values of their summary key (``_summary_key`` reads a row)."""
    return claims.annotate(
        k_month=TruncMonth("training_end"),
        k_fund=Coalesce("fund", Value("")),
        k_level=Coalesce("level_id", Value("")),
    ).values("k_month", "unit_id", "program_id", "k_fund", "status", "k_level")


def _summary_key(r: dict[str, Any]) -> SummaryKey:
    return (
        r["k_month"],
        r["unit_id"],
        r["program_id"],
        r["k_fund"],
        r["status"],
        r["k_level"],
    )


def summaries_fresh(using: str = "default") -> dict[SummaryKey, SummaryFigures]:
    """Every summary figure aggregated afresh over the claims (deleted drafts aside),
    what was paid from the payments themselves: what the kept rows must equal."""
    kept = Claim.all_rows.using(using).exclude(status=workflow.DELETED)
    rows = (
        _by_summary_key(kept)
        .annotate(
            n=Count("id"),
            n_passed=Count("id", filter=Q(passed=True)),
            n_employed=Count("id", filter=~Q(employment=Employment.NONE)),
            s_requested=Sum("amount_requested"),
            s_approved=Sum("approved_amount"),
            s_amount=Sum("amount"),
        )
        .order_by()
    )
    paid = {  # deleted drafts included: what was paid on them stays paid
        _summary_key(r): _fen(r["s_paid"])
        for r in _by_summary_key(
            Claim.all_rows.using(using).filter(**{f"{PAYMENTS}__status": PAID})
        )
        .annotate(s_paid=Sum(f"{PAYMENTS}__amount"))
        .order_by()
    }
    fresh: dict[SummaryKey, SummaryFigures] = {
        _summary_key(r): (
            r["n"],
            r["n_passed"],
            r["n_employed"],
            _fen(r["s_requested"]),
            _fen(r["s_approved"]),
            _fen(r["s_amount"]),
            paid.pop(_summary_key(r), _fen(None)),
        )
        for r in rows
    }
    zero = _fen(None)
    for key, amount in paid.items():  # a deleted draft's row: only what was paid
        fresh[key] = (0, 0, 0, zero, zero, zero, amount)
    return fresh


def claims_paid_refresh(using: str = "default") -> int:
    """Set each claim's ``paid`` to the sum of its payments recorded as paid, in two
    statements (portable: PostgreSQL, SQLite ≥ 3.33), and say how many claims it
    changed (0: every claim carried what was paid on it)."""
    claims = Claim._meta.db_table
    payments = Claim._meta.get_field(PAYMENTS).related_model._meta.db_table  # type: ignore[union-attr]
    paid_sums = (
        f"SELECT claim_id, SUM(amount) AS total FROM {payments} "  # noqa: S608  # nosec B608: table names from the models
        "WHERE status = %s GROUP BY claim_id"
    )
    with connections[using].cursor() as cursor:
        cursor.execute(
            # rounded to the fen: SQLite sums decimals as floating point
            f"UPDATE {claims} SET paid = ROUND(p.total, 2) FROM ({paid_sums}) AS p "  # noqa: S608  # nosec B608: table names from the models, values as parameters
            f"WHERE {claims}.id = p.claim_id AND {claims}.paid <> ROUND(p.total, 2)",
            [PAID],
        )
        changed = cursor.rowcount
        cursor.execute(
            f"UPDATE {claims} SET paid = 0 WHERE paid <> 0 AND NOT EXISTS "  # noqa: S608  # nosec B608: table names from the models, values as parameters
            f"(SELECT 1 FROM {payments} p WHERE p.claim_id = {claims}.id "
            "AND p.status = %s)",
            [PAID],
        )
        return changed + cursor.rowcount


def summaries_stored(using: str = "default") -> dict[SummaryKey, SummaryFigures]:
    """The kept summary rows (those fallen to nothing left out)."""
    return {
        (r[0], r[1], r[2], r[3], r[4], r[5]): (
            r[6],
            r[7],
            r[8],
            _fen(r[9]),
            _fen(r[10]),
            _fen(r[11]),
            _fen(r[12]),
        )
        for r in ClaimSummary.objects.using(using).values_list(
            *_SUMMARY_COLUMNS, *_SUMMARY_SUMS
        )
        if any(r[6:])
    }


def _fen(value: Decimal | None) -> Decimal:
    return Decimal(value or 0).quantize(Decimal("0.01"))


# --- Trainee confirmation (issue 17) ------------------------------------------------------
class ConfirmationStatus(models.TextChoices):
    PENDING = "pending", _("未答复")
    CONFIRMED = "confirmed", _("本人确认参加")
    DISPUTED = "disputed", _("本人否认参加")


class TraineeConfirmation(models.Model):
    """The trainee's "was this you?" for one claim (a class's roster line reaches it
    through the claim its completion created). The code itself is not stored: it is
    derived from ``nonce`` with the server's key (``claims.confirmation_codes``), and
    the lookup goes by ``code_digest``, so a copy of the database yields no code and
    the table cannot be walked."""

    claim = models.OneToOneField(
        Claim,
        verbose_name=_("申报"),
        on_delete=models.PROTECT,
        related_name="confirmation",
    )
    nonce = models.CharField(_("随机数"), max_length=32, editable=False)
    code_digest = models.CharField(
        _("确认码摘要"), max_length=64, unique=True, editable=False
    )
    #: attended hours as the class recorded them (None for a claim entered by hand)
    hours_attended = models.DecimalField(
        _("出勤学时"), max_digits=6, decimal_places=1, null=True, blank=True
    )
    status = models.CharField(
        _("确认状态"),
        max_length=20,
        choices=ConfirmationStatus.choices,
        default=ConfirmationStatus.PENDING,
        db_index=True,
    )
    created_at = models.DateTimeField(_("生成时间"), default=timezone.now)
    answered_at = models.DateTimeField(_("答复时间"), null=True, blank=True)
    failed_attempts = models.PositiveSmallIntegerField(_("验证失败次数"), default=0)
    locked_until = models.DateTimeField(_("锁定至"), null=True, blank=True)
    sms_sent_at = models.DateTimeField(_("短信发送时间"), null=True, blank=True)
    sms_reference = models.CharField(_("短信网关编号"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("培训人员确认")
        verbose_name_plural = _("培训人员确认")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status=ConfirmationStatus.PENDING)
                | Q(answered_at__isnull=False),
                name="confirmation_answer_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"确认#{self.pk}（申报#{self.claim_id}）"


class GrievanceOutcome(models.TextChoices):
    UPHELD = "upheld", _("属实（本人未参加）")
    DISMISSED = "dismissed", _("不属实（已核实本人参加）")


class GrievanceCause(models.TextChoices):
    DISPUTED = "disputed", _("本人答复没有参加此培训")
    LOCKED = "locked", _("身份证号码后四位多次核对失败，确认码被锁定")


class TraineeGrievance(models.Model):
    """Opened when the trainee answers "not me" — or when wrong last fours lock the
    code (whoever holds it could otherwise keep the trainee from saying "not me"):
    holds the claim's balance (and the remaining payments of its class) until the
    unit records a finding."""

    confirmation = models.OneToOneField(
        TraineeConfirmation,
        verbose_name=_("培训人员确认"),
        on_delete=models.PROTECT,
        related_name="grievance",
    )
    claim = models.ForeignKey(
        Claim,
        verbose_name=_("申报"),
        on_delete=models.PROTECT,
        related_name="grievances",
    )
    opened_at = models.DateTimeField(_("提出时间"), default=timezone.now)
    cause = models.CharField(
        _("申诉原因"),
        max_length=20,
        choices=GrievanceCause.choices,
        default=GrievanceCause.DISPUTED,
    )
    due_on = models.DateField(_("核查期限"))
    outcome = models.CharField(
        _("核查结论"), max_length=20, choices=GrievanceOutcome.choices, blank=True
    )
    finding = models.TextField(_("核查情况"), blank=True)
    found_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("核查人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    found_at = models.DateTimeField(_("核查时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("培训人员申诉")
        verbose_name_plural = _("培训人员申诉")
        ordering = ["due_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(outcome="", found_by__isnull=True, found_at__isnull=True)
                    | (
                        ~Q(outcome="")
                        & Q(found_by__isnull=False, found_at__isnull=False)
                    )
                ),
                name="grievance_finding_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"申诉#{self.pk}（申报#{self.claim_id}）"

    @property
    def is_open(self) -> bool:
        return not self.outcome


class ConfirmationEvent(models.Model):
    """The trail of a confirmation: issued, answered (no user: the trainee, with the
    address masked), a grievance's finding (the user who recorded it)."""

    confirmation = models.ForeignKey(
        TraineeConfirmation,
        verbose_name=_("培训人员确认"),
        on_delete=models.PROTECT,
        related_name="events",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)
    action = models.CharField(_("操作"), max_length=30)
    reason = models.TextField(_("理由"), blank=True)
    changes = models.JSONField(_("内容"), default=dict, blank=True)

    class Meta:
        verbose_name = _("确认记录")
        verbose_name_plural = _("确认记录")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.confirmation_id}:{self.action}"
