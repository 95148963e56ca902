"""Who may propose, confirm or cancel a change of a user's role or unit.

Each predicate answers ``(allowed, reason)``: the services raise ``PermissionDenied``
with the reason, and the pages ask the same function which buttons to offer, so nothing
is offered that would be refused. Nobody changes their own role or unit; a change is
proposed by one administrator and takes effect only when a second one confirms it.
"""

from __future__ import annotations

from accounts.models import RoleChange, User

ALLOWED = (True, "")


def _signed_in(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active)


def can_propose_role_change(user: User, target: User | None = None) -> tuple[bool, str]:
    """Whether ``user`` may propose a change for ``target`` (or, without a target,
    propose changes at all: the page's question)."""
    if not _signed_in(user):
        return False, "请先登录"
    if not user.is_administrator:
        return False, "只有系统管理员可以提议变更用户的角色或单位"
    if target is None:
        return ALLOWED
    if target.pk == user.pk:
        return False, "不能变更本人的角色或单位，须由另一位系统管理员提议"
    if target.is_superuser and not user.is_superuser:
        return False, "不能变更超级用户的角色或单位"
    return ALLOWED


def can_confirm_role_change(user: User, change: RoleChange) -> tuple[bool, str]:
    if not _signed_in(user):
        return False, "请先登录"
    if not user.is_administrator:
        return False, "只有系统管理员可以确认角色变更"
    if change.user_id == user.pk:
        return False, "不能确认本人的角色变更"
    if change.proposed_by_id == user.pk:
        return False, "不能确认本人提议的角色变更，须由另一位系统管理员确认"
    if change.user.is_superuser and not user.is_superuser:
        return False, "不能变更超级用户的角色或单位"
    return ALLOWED


def can_cancel_role_change(user: User, change: RoleChange) -> tuple[bool, str]:
    """Any other administrator, the proposer included; never the user concerned (who
    would otherwise undo their own demotion)."""
    if not _signed_in(user):
        return False, "请先登录"
    if not user.is_administrator:
        return False, "只有系统管理员可以取消角色变更"
    if change.user_id == user.pk:
        return False, "不能取消本人的角色变更"
    return ALLOWED


def can_read_role_changes(user: User) -> tuple[bool, str]:
    """The list of every role change: the administrators who run it and the auditor
    who checks it."""
    if not _signed_in(user):
        return False, "请先登录"
    if user.is_administrator or user.is_auditor:
        return ALLOWED
    return False, "只有系统管理员和督查可以查看角色变更记录"
