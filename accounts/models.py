"""The staff user: a role and, for county clerks, the unit they work for."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from simple_history.models import HistoricalRecords


class Role(models.TextChoices):
    COUNTY_CLERK = "county_clerk", _("县(市)经办人")
    PREFECTURE_REVIEWER = "prefecture_reviewer", _("地区审核人")
    FINANCE_OFFICER = "finance_officer", _("财政")
    AUDITOR = "auditor", _("督查")
    ADMINISTRATOR = "administrator", _("系统管理员")


class User(AbstractUser):
    role = models.CharField(_("角色"), max_length=30, choices=Role.choices)
    unit = models.ForeignKey(
        "programs.Unit",
        verbose_name=_("所属单位"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
    )
    history = HistoricalRecords(excluded_fields=["password", "last_login"])

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")
        constraints = [
            models.CheckConstraint(
                condition=~Q(role="county_clerk") | Q(unit__isnull=False),
                name="user_clerk_has_unit",
                violation_error_message=_("县(市)经办人必须选择所属单位"),
            ),
        ]

    def __str__(self) -> str:
        label = self.get_full_name() or self.username
        return f"{label}（{self.get_role_display()}）" if self.role else label

    # Role predicates: one place answers "is this person a …".
    @property
    def is_clerk(self) -> bool:
        return self.role == Role.COUNTY_CLERK

    @property
    def is_reviewer(self) -> bool:
        return self.role == Role.PREFECTURE_REVIEWER

    @property
    def is_finance(self) -> bool:
        return self.role == Role.FINANCE_OFFICER

    @property
    def is_auditor(self) -> bool:
        return self.role == Role.AUDITOR

    @property
    def is_administrator(self) -> bool:
        return self.role == Role.ADMINISTRATOR or self.is_superuser

    @property
    def sees_all_units(self) -> bool:
        """Whether the claim list offers a choice of unit: to anyone but a county clerk,
        who is held to their own. It grants nothing: which claims a role reads is
        ``claims.selectors.unit_scoped``'s to say (the reviewer, finance and the auditor
        every unit's; the administrator none)."""
        return not self.is_clerk
