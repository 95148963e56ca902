"""Training classes (培训班, issue 16): filed before they start, a roster of registered
people, sessions with attendance, completion that creates the class's claims."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from classes import rules


class ClassStatus(models.TextChoices):
    DRAFT = rules.DRAFT, rules.STATUS_LABELS[rules.DRAFT]
    FILED = rules.FILED, rules.STATUS_LABELS[rules.FILED]
    ACCEPTED = rules.ACCEPTED, rules.STATUS_LABELS[rules.ACCEPTED]
    RETURNED = rules.RETURNED, rules.STATUS_LABELS[rules.RETURNED]
    RUNNING = rules.RUNNING, rules.STATUS_LABELS[rules.RUNNING]
    COMPLETED = rules.COMPLETED, rules.STATUS_LABELS[rules.COMPLETED]
    CANCELLED = rules.CANCELLED, rules.STATUS_LABELS[rules.CANCELLED]


class ClassAction(models.TextChoices):
    CREATE = "create", rules.ACTION_LABELS["create"]
    ROSTER = "roster", rules.ACTION_LABELS["roster"]
    AMEND = "amend", rules.ACTION_LABELS["amend"]
    FILE = "file", rules.ACTION_LABELS["file"]
    ACCEPT = "accept", rules.ACTION_LABELS["accept"]
    RETURN = "return", rules.ACTION_LABELS["return"]
    START = "start", rules.ACTION_LABELS["start"]
    SESSION = "session", rules.ACTION_LABELS["session"]
    COMPLETE = "complete", rules.ACTION_LABELS["complete"]
    CANCEL = "cancel", rules.ACTION_LABELS["cancel"]
    ATTACH_DOCUMENT = "attach_document", rules.ACTION_LABELS["attach_document"]
    #: finance paid the class's advance (``finance.services.class_advance_pay``)
    ADVANCE = "advance", rules.ACTION_LABELS["advance"]


HOURS: dict[str, Any] = {"max_digits": 6, "decimal_places": 1}


class TrainingClass(models.Model):
    institution = models.ForeignKey(
        "programs.Institution",
        verbose_name=_("培训机构"),
        on_delete=models.PROTECT,
        related_name="training_classes",
    )
    program = models.ForeignKey(
        "programs.Program",
        verbose_name=_("项目"),
        on_delete=models.PROTECT,
        related_name="training_classes",
    )
    trade = models.ForeignKey(
        "programs.Trade",
        verbose_name=_("职业(工种)"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="training_classes",
    )
    level = models.ForeignKey(
        "programs.Level",
        verbose_name=_("等级"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="training_classes",
    )
    unit = models.ForeignKey(
        "programs.Unit",
        verbose_name=_("备案单位"),
        on_delete=models.PROTECT,
        related_name="training_classes",
    )
    project_based = models.BooleanField(_("项目制培训"), default=False)
    planned_start = models.DateField(_("计划开班日期"))
    planned_end = models.DateField(_("计划结业日期"))
    hours = models.DecimalField(
        _("计划学时"), validators=[MinValueValidator(Decimal("0.5"))], **HOURS
    )
    location = models.CharField(_("培训地点"), max_length=200)
    teachers = models.JSONField(_("授课教师"), default=list, blank=True)
    status = models.CharField(
        _("状态"),
        max_length=20,
        choices=ClassStatus.choices,
        default=ClassStatus.DRAFT,
        editable=False,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("起草人"),
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(_("起草时间"), auto_now_add=True)
    filed_at = models.DateTimeField(_("报备时间"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("备案人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    accepted_at = models.DateTimeField(_("备案时间"), null=True, blank=True)
    return_reason = models.TextField(_("退回理由"), blank=True)
    started_at = models.DateTimeField(_("开班时间"), null=True, blank=True)
    #: the day it started as the services' calendar counts it (``services.today``):
    #: no session is dated before it
    started_on = models.DateField(_("开班日期"), null=True, blank=True, editable=False)
    completed_at = models.DateTimeField(_("结业时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("培训班")
        verbose_name_plural = _("培训班")
        ordering = ["-planned_start", "-id"]
        indexes = [
            models.Index(fields=["unit", "status"], name="class_unit_status"),
            models.Index(fields=["institution"], name="class_institution"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(planned_end__gte=F("planned_start")),
                name="class_dates_ordered",
            ),
            models.CheckConstraint(
                condition=Q(hours__gt=0), name="class_hours_positive"
            ),
            # Maker-checker: whoever drafted a class never accepts its filing.
            models.CheckConstraint(
                condition=Q(accepted_by__isnull=True) | ~Q(accepted_by=F("created_by")),
                name="class_drafter_is_not_acceptor",
                violation_error_message=_("起草培训班的人不能为其备案"),
            ),
        ]

    def __str__(self) -> str:
        return f"培训班#{self.pk}"


class RosterLine(models.Model):
    """One person on a class's roster. A removed line stays (``removed_at``) for the
    audit; at most one live line per person and class. Completion writes the person's
    result and the claim it created."""

    training_class = models.ForeignKey(
        TrainingClass,
        verbose_name=_("培训班"),
        on_delete=models.PROTECT,
        related_name="roster",
    )
    trainee = models.ForeignKey(
        "trainees.Trainee",
        verbose_name=_("培训人员"),
        on_delete=models.PROTECT,
        related_name="roster_lines",
    )
    added_at = models.DateTimeField(_("加入时间"), default=timezone.now)
    removed_at = models.DateTimeField(_("移出时间"), null=True, blank=True)
    #: the pre-check: the decision the person's claim would get if the class completed
    #: as planned, when the line was last set (``classes.services.roster_precheck``)
    precheck = models.JSONField(_("预审结果"), default=dict, blank=True)
    passed = models.BooleanField(_("培训合格"), null=True, blank=True)
    certificate_number = models.CharField(_("证书编号"), max_length=50, blank=True)
    level_achieved = models.ForeignKey(
        "programs.Level",
        verbose_name=_("取得等级"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    employment = models.CharField(_("就业情况"), max_length=20, blank=True)
    claim = models.OneToOneField(
        "claims.Claim",
        verbose_name=_("补贴申报"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="roster_line",
    )

    class Meta:
        verbose_name = _("培训班名单")
        verbose_name_plural = _("培训班名单")
        ordering = ["training_class_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["training_class", "trainee"],
                condition=Q(removed_at__isnull=True),
                name="rosterline_one_live_per_person",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.training_class_id}:{self.trainee_id}"


class ClassSession(models.Model):
    """One session (课次) of a class: its date, its hours and who was present."""

    training_class = models.ForeignKey(
        TrainingClass,
        verbose_name=_("培训班"),
        on_delete=models.PROTECT,
        related_name="sessions",
    )
    date = models.DateField(_("日期"))
    hours = models.DecimalField(
        _("学时"), validators=[MinValueValidator(Decimal("0.5"))], **HOURS
    )
    present = models.ManyToManyField(
        "trainees.Trainee",
        verbose_name=_("出勤人员"),
        blank=True,
        related_name="+",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("记录人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("记录时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("课次")
        verbose_name_plural = _("课次")
        ordering = ["training_class_id", "date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(hours__gt=0), name="classsession_hours_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.training_class_id} {self.date}"


class ClassDocument(models.Model):
    """A class's evidence document (issue 16): the ``claims.Document`` (checked and
    stored by ``claims.evidence``, its unit the class's, no claim) tied to its class
    and, for a sign-in sheet, to the session it records. Its SHA-256 is a link of the
    class's hash chain (the ``attach_document`` event)."""

    training_class = models.ForeignKey(
        TrainingClass,
        verbose_name=_("培训班"),
        on_delete=models.PROTECT,
        related_name="documents",
    )
    document = models.OneToOneField(
        "claims.Document",
        verbose_name=_("材料"),
        on_delete=models.PROTECT,
        related_name="class_link",
    )
    session = models.ForeignKey(
        ClassSession,
        verbose_name=_("课次"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="documents",
    )

    class Meta:
        verbose_name = _("培训班材料")
        verbose_name_plural = _("培训班材料")
        ordering = ["training_class_id", "id"]

    def __str__(self) -> str:
        return f"{self.training_class_id}:{self.document_id}"


class ClassEvent(models.Model):
    """One line of a class's trail, hash-chained like a report's
    (``classes.events``); append-only on PostgreSQL (a trigger, migration 0001)."""

    training_class = models.ForeignKey(
        TrainingClass,
        verbose_name=_("培训班"),
        on_delete=models.PROTECT,
        related_name="events",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    at = models.DateTimeField(_("时间"), default=timezone.now, editable=False)
    action = models.CharField(_("操作"), max_length=20, choices=ClassAction.choices)
    from_status = models.CharField(_("原状态"), max_length=20, blank=True)
    to_status = models.CharField(_("新状态"), max_length=20)
    reason = models.TextField(_("理由"), blank=True)
    changes = models.JSONField(_("变更内容"), default=dict, blank=True)
    prev_hash = models.CharField(
        _("前一记录哈希"), max_length=64, blank=True, editable=False
    )
    hash = models.CharField(_("记录哈希"), max_length=64, editable=False)

    class Meta:
        verbose_name = _("培训班记录")
        verbose_name_plural = _("培训班记录")
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["hash"], name="classevent_hash_unique"),
            models.UniqueConstraint(
                fields=["training_class", "prev_hash"],
                name="classevent_chain_no_fork",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.training_class_id} {self.action}"
