"""Who may change the catalogue outside the admin: ``can_<verb>(user, obj) -> Permission``.

A county clerk proposes a training provider of their own unit; only an administrator
admits one to the catalogue of 七(三) (培训评价机构目录), and never one they proposed
themselves (one person does not both propose and admit).
"""

from __future__ import annotations

from accounts.models import User
from altay_skills.permissions import ALLOWED, Permission, conflict, deny
from programs.models import Institution


def can_propose_institution(user: User, unit_id: str | None = None) -> Permission:
    """A clerk, for their own unit; an administrator, for any unit."""
    if not user.is_authenticated or not (user.is_clerk or user.is_administrator):
        return deny("只有经办人或管理员可以登记培训机构")
    if user.is_clerk and unit_id is not None and unit_id != user.unit_id:
        return deny("经办人只能登记本单位的培训机构/企业")
    return ALLOWED


def can_admit_institution(
    user: User, institution: Institution | None = None
) -> Permission:
    """An administrator admits a proposed provider (七(三)), not one they proposed."""
    if not user.is_authenticated or not user.is_active or not user.is_administrator:
        return deny("只有系统管理员可以认定培训机构列入目录")
    if institution is None:
        return ALLOWED
    if institution.proposed_by_id is not None and institution.proposed_by_id == user.pk:
        return deny("不能认定本人登记的培训机构，须由另一位管理员认定")
    if institution.admitted:
        return conflict("already_admitted", "该机构已列入培训机构目录")
    return ALLOWED


def can_enter_policy(user: User) -> Permission:
    """An administrator enters the dated policy entries (caps, ratios, periods, a
    county's uplift decision); every signed-in user may read them."""
    if not user.is_authenticated or not user.is_active or not user.is_administrator:
        return deny("只有系统管理员可以录入政策标准")
    return ALLOWED
