"""Who may change a registered person's facts (name, household, groups, phone, unit).

``(allowed, reason)``, as every ``can_*`` of this project: the service raises
``PermissionDenied`` with the reason, and the pages offer the edit only when allowed.
"""

from __future__ import annotations

from accounts.models import User
from trainees.models import Trainee


def can_change_trainee_facts(user: User, trainee: Trainee) -> tuple[bool, str]:
    """A county clerk of the person's own unit (the unit that registered them, or that
    the prefecture has since assigned), or a prefecture reviewer. Never the
    administrator, who keeps reference data and handles no person (least privilege),
    nor finance or the auditor, who read what others recorded."""
    if not user.is_authenticated or not user.is_active:
        return False, "请先登录"
    if user.is_reviewer:
        return True, ""
    if user.is_clerk:
        if trainee.registered_by_unit_id and trainee.registered_by_unit_id == (
            user.unit_id
        ):
            return True, ""
        return False, "只能修改本单位登记人员的信息"
    return False, "只有本单位县(市)经办人或地区审核人可以修改培训人员信息"
