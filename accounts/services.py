"""Changing a user's role or unit: one administrator proposes, a second confirms.

Nobody changes their own role, unit or permissions (issue 12, 3). A proposal records
who, when, from and to; it takes effect only when another administrator, who is
neither the proposer nor the user concerned, confirms it. Each service runs in one
transaction that first locks the user's row (``altay_skills.lock_objects``), so two
administrators confirming at once, or a proposal racing a confirmation, are serialised.

``create_staff_user`` stays the operator's tool for setting up a new system.
"""

from __future__ import annotations

import logging
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.db import transaction
from django.utils import timezone

from accounts.models import Role, RoleChange, RoleChangeStatus, User
from accounts.permissions import (
    can_cancel_role_change,
    can_confirm_role_change,
    can_propose_role_change,
)
from accounts.tokens import tokens_revoke
from altay_skills.errors import Conflict, DomainError, NotFound, PermissionDenied
from altay_skills.lock_objects import lock_user
from altay_skills.plain_text import checked_reason

logger = logging.getLogger(__name__)

#: Session engines whose sessions are rows this service can find and end.
_DATABASE_SESSION_ENGINES = {
    "django.contrib.sessions.backends.db",
    "django.contrib.sessions.backends.cached_db",
}


def role_change_propose(
    *,
    actor: User,
    user_id: int,
    role: str,
    unit_code: str | None,
    reason: str,
) -> RoleChange:
    """Propose that ``user_id`` gets ``role`` (and the unit ``unit_code``, required for
    a county clerk). Nothing changes for the user until a second administrator confirms.
    """
    reason = checked_reason(reason, missing="请填写变更理由")
    if role not in Role.values:
        raise DomainError("invalid", "角色无效")
    if role == Role.INSTITUTION_STAFF:
        # A role change carries a unit, not an institution: the operator binds a
        # person to an institution (create_staff_user --institution), recorded there.
        raise DomainError(
            "institution_required",
            "培训机构人员须绑定培训机构，请由运维人员用 create_staff_user --institution 设置",
        )
    with transaction.atomic():
        target = _locked_user(user_id)
        if target is None:
            raise NotFound("未找到该用户")
        allowed, why = can_propose_role_change(actor, target)
        if not allowed:
            raise PermissionDenied(why)
        unit = _unit(unit_code)
        if role == Role.COUNTY_CLERK and unit is None:
            raise DomainError("unit_required", "县(市)经办人必须选择所属单位")
        if role == target.role and (unit.pk if unit else None) == target.unit_id:
            raise DomainError("no_change", "提议的角色和单位与该用户现在的相同")
        if RoleChange.objects.filter(
            user=target, status=RoleChangeStatus.PROPOSED
        ).exists():
            raise Conflict(
                "role_change_open",
                "该用户已有待确认的角色变更，请先确认或取消",
            )
        change = RoleChange.objects.create(
            user=target,
            from_role=target.role,
            from_unit_id=target.unit_id,
            to_role=role,
            to_unit=unit,
            reason=reason,
            proposed_by=actor,
        )
    logger.info(
        "role change %s proposed by user %s for user %s", change.pk, actor.pk, target.pk
    )
    return change


def role_change_confirm(*, actor: User, change_id: int) -> RoleChange:
    """Confirm a proposal: the user's role and unit change now (staff status follows the
    administrator role, as ``create_staff_user`` sets it), and their API token and
    signed-in sessions end, so they sign in again under the new role."""
    with transaction.atomic():
        user, change = _locked(change_id)
        allowed, why = can_confirm_role_change(actor, change)
        if not allowed:
            raise PermissionDenied(why)
        _still_open(change)
        if (user.role, user.unit_id) != (change.from_role, change.from_unit_id):
            raise Conflict(
                "role_change_stale",
                "提议之后该用户的角色或单位已有变化，请取消后重新提议",
            )
        user.role = change.to_role
        user.unit_id = change.to_unit_id
        user.institution = None  # only institution staff are bound to one
        if not user.is_superuser:
            user.is_staff = change.to_role == Role.ADMINISTRATOR
        user._history_user = actor  # type: ignore[attr-defined]  # simple_history
        user.save(update_fields=["role", "unit", "institution", "is_staff"])
        change.status = RoleChangeStatus.CONFIRMED
        change.confirmed_by = actor
        change.confirmed_at = timezone.now()
        change.save(update_fields=["status", "confirmed_by", "confirmed_at"])
        tokens_revoke(user=user)
        _end_sessions_of(user)
    logger.info("role change %s confirmed by user %s", change.pk, actor.pk)
    return change


def role_change_cancel(*, actor: User, change_id: int) -> RoleChange:
    """Close a proposal without effect (the proposer may withdraw their own)."""
    with transaction.atomic():
        _user, change = _locked(change_id)
        allowed, why = can_cancel_role_change(actor, change)
        if not allowed:
            raise PermissionDenied(why)
        _still_open(change)
        change.status = RoleChangeStatus.CANCELLED
        change.cancelled_by = actor
        change.cancelled_at = timezone.now()
        change.save(update_fields=["status", "cancelled_by", "cancelled_at"])
    logger.info("role change %s cancelled by user %s", change.pk, actor.pk)
    return change


def _unit(code: str | None) -> Any:
    """The unit of that code, or None for no code. (The catalogue comes after accounts
    in the layers: its model is reached through the foreign key, not imported.)"""
    code = (code or "").strip()
    if not code:
        return None
    units = User._meta.get_field("unit").related_model._default_manager
    unit = units.filter(code=code).first()
    if unit is None:
        raise DomainError("invalid", f"单位代码无效：{code}")
    return unit


def _locked_user(user_id: Any) -> User | None:
    """The user, read once their row is locked (``lock_objects``: the user's row)."""
    try:
        lock_user(user_id)
        return User.objects.filter(pk=user_id).first()
    except (ValueError, TypeError):
        return None


def _locked(change_id: Any) -> tuple[User, RoleChange]:
    """The change and its user, read under the user's row lock. Every service here
    takes that lock before it reads or writes a change of the user, so the change read
    after it is the one the previous holder committed."""
    try:
        user_id = (
            RoleChange.objects.filter(pk=change_id)
            .values_list("user_id", flat=True)
            .first()
        )
    except (ValueError, TypeError):
        user_id = None
    user = _locked_user(user_id) if user_id is not None else None
    if user is None:
        raise NotFound("未找到该角色变更")
    change = RoleChange.objects.get(pk=change_id)
    change.user = user
    return user, change


def _still_open(change: RoleChange) -> None:
    if change.status != RoleChangeStatus.PROPOSED:
        raise Conflict(
            "role_change_closed",
            f"该角色变更已{change.get_status_display()}，不能再确认或取消",
        )


def _end_sessions_of(user: User) -> None:
    """End every signed-in session of ``user`` (database-backed sessions only; with
    another engine the sessions simply expire, SESSION_COOKIE_AGE)."""
    if settings.SESSION_ENGINE not in _DATABASE_SESSION_ENGINES:
        return
    from django.contrib.sessions.models import Session

    store = import_module(settings.SESSION_ENGINE).SessionStore
    live = Session.objects.filter(expire_date__gt=timezone.now())
    for session in live.iterator():
        if session.get_decoded().get(SESSION_KEY) == str(user.pk):
            store(session_key=session.session_key).delete()
