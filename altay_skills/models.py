"""The core's own tables: the outbox (work queued with the change that asks for it) and
the answers kept for retried API writes (``Idempotency-Key``)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class OutboxStatus(models.TextChoices):
    PENDING = "pending", _("待执行")
    DONE = "done", _("已执行")


class OutboxMessage(models.Model):
    """A task to run, written in the same transaction as the change that asks for it.

    Published to the broker on commit; if the broker is down the row stays ``pending``
    and ``reporting.outbox.dispatch_pending`` (beat, ``manage.py dispatch_outbox``)
    publishes it again. The task marks it ``done`` in the transaction of its work, so a
    message delivered twice does its work once.
    """

    task = models.CharField(_("任务"), max_length=200)
    kwargs = models.JSONField(_("参数"), default=dict, blank=True)
    status = models.CharField(
        _("状态"),
        max_length=10,
        choices=OutboxStatus.choices,
        default=OutboxStatus.PENDING,
    )
    created_at = models.DateTimeField(_("写入时间"), auto_now_add=True)
    attempts = models.PositiveIntegerField(_("发送次数"), default=0)
    last_attempt_at = models.DateTimeField(_("最近发送"), null=True, blank=True)
    published_at = models.DateTimeField(_("最近发送成功"), null=True, blank=True)
    error = models.TextField(_("最近发送错误"), blank=True)
    done_at = models.DateTimeField(_("执行完成"), null=True, blank=True)

    class Meta:
        db_table = "reporting_outboxmessage"  # kept from before the move (issue 11)
        verbose_name = _("待发任务")
        verbose_name_plural = _("待发任务")
        ordering = ["id"]
        indexes = [
            models.Index(fields=["status", "created_at"], name="outbox_status_created")
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="pending") | Q(done_at__isnull=False),
                name="outbox_done_has_time",
            )
        ]

    def __str__(self) -> str:
        return f"{self.task} #{self.pk} {self.status}"


class IdempotentRequest(models.Model):
    """The answer to an API write sent with an ``Idempotency-Key`` (issue 21).

    Written by ``altay_skills.idempotency`` in the transaction of the write itself, so
    the work and the record of its answer commit together or not at all; a retry with
    the same key gets the stored answer again. A key is its user's own (unique per
    user). ``status_code`` is empty only while the request runs, inside its own
    transaction: no other connection ever sees it so. Rows older than
    ``IDEMPOTENCY_KEY_HOURS`` are deleted (``altay_skills.tasks``, beat).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("用户"),
        # the unique (user, key) index serves every lookup by user
        db_index=False,
    )
    key = models.CharField(_("幂等键"), max_length=100)
    method = models.CharField(_("请求方法"), max_length=10)
    path = models.TextField(_("请求路径"))
    body_sha256 = models.CharField(_("请求内容SHA-256"), max_length=64)
    status_code = models.PositiveSmallIntegerField(
        _("应答状态码"), null=True, blank=True
    )
    response_body = models.JSONField(_("应答内容"), null=True, blank=True)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("幂等请求")
        verbose_name_plural = _("幂等请求")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "key"], name="idempotent_request_user_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({self.key})"
