"""The staff user: a role and, for county clerks, the unit they work for."""

from __future__ import annotations

from typing import Any

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
    #: Issue 16: a training institution's own staff, bound to one institution; they
    #: draft and file its classes and see nothing else.
    INSTITUTION_STAFF = "institution_staff", _("培训机构人员")


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
    institution = models.ForeignKey(
        "programs.Institution",
        verbose_name=_("所属培训机构"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="staff",
        help_text=_("仅培训机构人员：只能看到和办理本机构的培训班"),
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
            models.CheckConstraint(
                condition=(
                    Q(role="institution_staff", institution__isnull=False)
                    | (~Q(role="institution_staff") & Q(institution__isnull=True))
                ),
                name="user_institution_only_for_staff",
                violation_error_message=_(
                    "培训机构人员必须选择所属培训机构，其他角色不能绑定培训机构"
                ),
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
    def is_institution_staff(self) -> bool:
        return self.role == Role.INSTITUTION_STAFF

    @property
    def sees_all_units(self) -> bool:
        """Whether the claim list offers a choice of unit: to anyone but a county clerk,
        who is held to their own. It grants nothing: which claims a role reads is
        ``claims.selectors.unit_scoped``'s to say (the reviewer, finance and the auditor
        every unit's; the administrator none)."""
        return not self.is_clerk and not self.is_institution_staff


class RoleChangeStatus(models.TextChoices):
    PROPOSED = "proposed", _("待确认")
    CONFIRMED = "confirmed", _("已生效")
    CANCELLED = "cancelled", _("已取消")


class RoleChangeIsFinal(Exception):
    """An attempt to rewrite or delete the record of a role change."""


class _RoleChangeQuerySet(models.QuerySet["RoleChange"]):
    def update(self, **kwargs: object) -> int:
        raise RoleChangeIsFinal("角色变更记录不能批量修改")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise RoleChangeIsFinal("角色变更记录不能删除")


#: What confirming or cancelling may write on a proposed change; nothing else ever
#: changes once a row is stored (the PostgreSQL trigger of migration 0004 agrees).
ROLE_CHANGE_DECISION_FIELDS = frozenset(
    {"status", "confirmed_by", "confirmed_at", "cancelled_by", "cancelled_at"}
)


class RoleChange(models.Model):
    """A change of a user's role or unit: proposed by one administrator, in force only
    once a second one confirms it (``accounts.services``). Who, when, from and to are
    kept for the auditor. Append-only in style: a row is written once and then only
    closed, once (confirmed or cancelled); it is never deleted. The database refuses a
    proposer, a confirmer or a target that is the same person.
    """

    user = models.ForeignKey(
        User,
        verbose_name=_("用户"),
        on_delete=models.PROTECT,
        related_name="role_changes",
    )
    from_role = models.CharField(
        _("原角色"), max_length=30, choices=Role.choices, blank=True
    )
    to_role = models.CharField(_("新角色"), max_length=30, choices=Role.choices)
    from_unit = models.ForeignKey(
        "programs.Unit",
        verbose_name=_("原单位"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    to_unit = models.ForeignKey(
        "programs.Unit",
        verbose_name=_("新单位"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reason = models.TextField(_("理由"))
    status = models.CharField(
        _("状态"),
        max_length=10,
        choices=RoleChangeStatus.choices,
        default=RoleChangeStatus.PROPOSED,
    )
    proposed_by = models.ForeignKey(
        User,
        verbose_name=_("提议人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    proposed_at = models.DateTimeField(_("提议时间"), auto_now_add=True, db_index=True)
    confirmed_by = models.ForeignKey(
        User,
        verbose_name=_("确认人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    confirmed_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    cancelled_by = models.ForeignKey(
        User,
        verbose_name=_("取消人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    cancelled_at = models.DateTimeField(_("取消时间"), null=True, blank=True)

    objects = _RoleChangeQuerySet.as_manager()

    class Meta:
        verbose_name = _("角色变更")
        verbose_name_plural = _("角色变更")
        ordering = ["-proposed_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(proposed_by=models.F("user")),
                name="rolechange_not_proposed_by_user",
                violation_error_message=_("不能提议变更本人的角色或单位"),
            ),
            models.CheckConstraint(
                condition=Q(confirmed_by__isnull=True)
                | ~Q(confirmed_by=models.F("proposed_by")),
                name="rolechange_confirmer_not_proposer",
                violation_error_message=_("提议人不能确认本人提议的角色变更"),
            ),
            models.CheckConstraint(
                condition=Q(confirmed_by__isnull=True)
                | ~Q(confirmed_by=models.F("user")),
                name="rolechange_confirmer_not_user",
                violation_error_message=_("不能确认本人的角色变更"),
            ),
            models.CheckConstraint(
                condition=~Q(reason=""),
                name="rolechange_reason_required",
                violation_error_message=_("请填写变更理由"),
            ),
            models.CheckConstraint(
                condition=~Q(to_role="county_clerk") | Q(to_unit__isnull=False),
                name="rolechange_clerk_has_unit",
                violation_error_message=_("县(市)经办人必须选择所属单位"),
            ),
            models.CheckConstraint(
                condition=(
                    Q(
                        status="proposed",
                        confirmed_by__isnull=True,
                        confirmed_at__isnull=True,
                        cancelled_by__isnull=True,
                        cancelled_at__isnull=True,
                    )
                    | Q(
                        status="confirmed",
                        confirmed_by__isnull=False,
                        confirmed_at__isnull=False,
                        cancelled_by__isnull=True,
                        cancelled_at__isnull=True,
                    )
                    | Q(
                        status="cancelled",
                        confirmed_by__isnull=True,
                        confirmed_at__isnull=True,
                        cancelled_by__isnull=False,
                        cancelled_at__isnull=False,
                    )
                ),
                name="rolechange_status_matches_decision",
                violation_error_message=_("角色变更的状态与确认或取消记录不符"),
            ),
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(status="proposed"),
                name="rolechange_one_open_per_user",
                violation_error_message=_("该用户已有待确认的角色变更"),
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.user} → {self.get_to_role_display()} ({self.get_status_display()})"
        )

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            fields = kwargs.get("update_fields")
            if fields is None or not set(fields) <= ROLE_CHANGE_DECISION_FIELDS:
                raise RoleChangeIsFinal("角色变更记录只能确认或取消，不能修改")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise RoleChangeIsFinal("角色变更记录不能删除")


class ApiToken(models.Model):
    """A script's API token (``POST /api/auth/token/``), stored only as its SHA-256
    digest: the key is shown once, when issued, and can never be read back here or in
    the admin. It ends at ``expires_at``, and with any change of the user's password,
    role, unit or active status (``fingerprint``, ``accounts.tokens``)."""

    user = models.ForeignKey(
        User,
        verbose_name=_("用户"),
        on_delete=models.CASCADE,
        related_name="api_tokens",
    )
    digest = models.CharField(_("令牌摘要"), max_length=64, unique=True)
    fingerprint = models.CharField(_("账户指纹"), max_length=64)
    created_at = models.DateTimeField(_("签发时间"), auto_now_add=True)
    expires_at = models.DateTimeField(_("到期时间"), db_index=True)

    class Meta:
        verbose_name = _("API 令牌")
        verbose_name_plural = _("API 令牌")

    def __str__(self) -> str:
        return f"{self.user_id} · {self.created_at:%Y-%m-%d %H:%M}"
