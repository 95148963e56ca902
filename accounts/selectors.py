"""Reads of the role changes: every one, for the administrators and the auditor."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from django.db.models import QuerySet

from accounts.models import Role, RoleChange, RoleChangeStatus, User
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


def role_labels_at(acts: Sequence[tuple[User, datetime]]) -> list[str]:
    """The role each user held when they acted, as its label: a trail shows a clerk's
    edit as a clerk's even after the clerk became a reviewer (issue 12 — a role change
    rewrites no history). Read from the confirmed role changes after each act (one
    query for the whole trail); without one, the user's role now."""
    changes: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
    for user_id, confirmed_at, from_role in (
        RoleChange.objects.filter(
            user_id__in={user.pk for user, _ in acts},
            status=RoleChangeStatus.CONFIRMED,
        )
        .order_by("confirmed_at", "pk")
        .values_list("user_id", "confirmed_at", "from_role")
    ):
        if confirmed_at is not None:  # always, by the table's check constraint
            changes[user_id].append((confirmed_at, from_role))
    labels = dict(Role.choices)
    roles = []
    for user, at in acts:
        later = [role for confirmed_at, role in changes[user.pk] if confirmed_at > at]
        role = later[0] if later else user.role
        roles.append(str(labels.get(role, role)))
    return roles
