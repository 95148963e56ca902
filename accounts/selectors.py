"""Reads of the role changes: every one, for the administrators and the auditor."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import RoleChange, RoleChangeStatus, User
from accounts.permissions import can_read_role_changes


def role_changes_visible_to(
    user: User, *, status: str | None = None
) -> QuerySet[RoleChange]:
    """Every role change (newest first) for those who may read them; none otherwise."""
    if not can_read_role_changes(user)[0]:
        return RoleChange.objects.none()
    changes = RoleChange.objects.select_related(
        "user",
        "from_unit",
        "to_unit",
        "proposed_by",
        "confirmed_by",
        "cancelled_by",
    ).order_by("-proposed_at", "-id")
    if status in RoleChangeStatus.values:
        changes = changes.filter(status=status)
    return changes


def role_change_candidates(user: User) -> QuerySet[User]:
    """The users ``user`` may propose a change for: anyone else, superusers only by a
    superuser (the service asks ``can_propose_role_change`` again)."""
    users = User.objects.exclude(pk=user.pk).order_by("username")
    if not user.is_superuser:
        users = users.exclude(is_superuser=True)
    return users
