"""Notices the system raises for a role or a unit (read on the home pages)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Notice(models.Model):
    """A message raised by the system (e.g. by Celery beat) for a role or a unit."""

    role = models.CharField(_("角色"), max_length=30, blank=True)
    unit = models.ForeignKey(
        "programs.Unit",
        verbose_name=_("单位"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    kind = models.CharField(_("类别"), max_length=40)
    key = models.CharField(_("去重键"), max_length=100, unique=True)
    text = models.TextField(_("内容"))
    link = models.CharField(_("链接"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("系统通知")
        verbose_name_plural = _("系统通知")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.text[:40]


class AnomalySnapshot(models.Model):
    """The anomaly lists as last computed (``reporting.anomaly_snapshots``): one row,
    rewritten by the beat task; the page reads it instead of every claim."""

    computed_at = models.DateTimeField(_("计算时间"))
    took_ms = models.PositiveIntegerField(_("计算耗时（毫秒）"))
    content = models.JSONField(_("内容"))

    class Meta:
        verbose_name = _("异常线索快照")
        verbose_name_plural = _("异常线索快照")

    def __str__(self) -> str:
        return f"异常线索 {self.computed_at:%Y-%m-%d %H:%M}"
