"""Who may do what with a training class: ``can_<verb>(user, cls) -> Permission``.

The drafting side is the class's institution (its own staff, ``institution_staff``) or
the clerk of the class's unit; the deciding side is that unit's clerks, and never the
person who drafted the class (maker-checker, also a database constraint). The services
raise with these answers and the API lists exactly the actions they allow
(``actions_for``). Whether the user may see the class at all is the selectors' scope
(another unit's class is a 404 before any of this is asked).
"""

from __future__ import annotations

from accounts.models import User
from altay_skills.permissions import ALLOWED, Permission, conflict, deny
from classes import rules
from classes.models import ClassAction, ClassEvent, TrainingClass

#: What the drafting side writes: whoever wrote any of it for a class never accepts
#: that class's filing (经办与审核分离, as for a claim: issue 12).
DRAFTING_ACTIONS = (
    ClassAction.CREATE,
    ClassAction.ROSTER,
    ClassAction.AMEND,
    ClassAction.FILE,
)


def _signed_in(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active)


def _status_label(cls: TrainingClass) -> str:
    return rules.STATUS_LABELS.get(cls.status, cls.status)


def _moves(cls: TrainingClass, action: str) -> Permission:
    if rules.next_status(cls.status, action) is None:
        label = rules.ACTION_LABELS[action]
        return conflict(
            "invalid_transition", f"“{_status_label(cls)}”状态的培训班不能{label}"
        )
    return ALLOWED


def _drafting_side(user: User, cls: TrainingClass | None = None) -> Permission:
    """The institution's own staff (their institution's classes) or a county clerk
    (their unit's classes)."""
    if not _signed_in(user):
        return deny("请先登录")
    if user.is_institution_staff:
        if cls is not None and cls.institution_id != user.institution_id:
            return deny("培训机构人员只能办理本机构的培训班")
        return ALLOWED
    if user.is_clerk:
        if cls is not None and cls.unit_id != user.unit_id:
            return deny("经办人只能办理本单位的培训班")
        return ALLOWED
    return deny("只有培训机构人员和县(市)经办人可以起草和报备培训班")


def _unit_clerk(user: User, cls: TrainingClass | None, what: str) -> Permission:
    if not _signed_in(user) or not user.is_clerk:
        return deny(f"只有培训班所在单位的经办人可以{what}")
    if cls is not None and cls.unit_id != user.unit_id:
        return deny(f"只有培训班所在单位的经办人可以{what}")
    return ALLOWED


def can_list(user: User) -> Permission:
    """Open the class pages: the roles that see classes (``classes_visible_to``)."""
    if not _signed_in(user):
        return deny("请先登录")
    if (
        user.is_clerk
        or user.is_institution_staff
        or user.is_reviewer
        or user.is_finance
        or user.is_auditor
    ):
        return ALLOWED
    return deny("您的角色不能查看培训班")


def can_create(
    user: User, *, unit_id: str | None = None, institution_id: int | None = None
) -> Permission:
    """Draft a class: institution staff for their own institution; a clerk for their
    own unit."""
    side = _drafting_side(user)
    if not side:
        return side
    if user.is_institution_staff and institution_id not in (None, user.institution_id):
        return deny("培训机构人员只能为本机构起草培训班")
    if user.is_clerk and unit_id not in (None, user.unit_id):
        return deny("经办人只能为本单位起草培训班")
    return ALLOWED


def can_set_roster(user: User, cls: TrainingClass) -> Permission:
    """Set the roster of a draft or returned class, or amend an accepted one before it
    starts (the amendment is audited)."""
    side = _drafting_side(user, cls)
    if not side:
        return side
    if cls.status not in rules.ROSTER_OPEN | rules.ROSTER_AMENDABLE:
        return conflict(
            "roster_frozen", f"“{_status_label(cls)}”状态的培训班名单不能修改"
        )
    return ALLOWED


def can_file(user: User, cls: TrainingClass) -> Permission:
    return _drafting_side(user, cls) and _moves(cls, "file")


def can_accept(user: User, cls: TrainingClass) -> Permission:
    """Accept the filing (备案): a clerk of the class's unit who did not draft it."""
    clerk = _unit_clerk(user, cls, "为培训班备案")
    if not clerk:
        return clerk
    if cls.created_by_id == user.pk or _drafted_by(user, cls):
        return deny(
            "起草、编排名单或报送备案的人不能为该培训班备案，须由本单位另一位经办人办理"
        )
    return _moves(cls, "accept")


def _drafted_by(user: User, cls: TrainingClass) -> bool:
    """Whether ``user`` set the class's roster or filed it (its trail says)."""
    return ClassEvent.objects.filter(
        training_class_id=cls.pk, actor_id=user.pk, action__in=DRAFTING_ACTIONS
    ).exists()


def can_return(user: User, cls: TrainingClass) -> Permission:
    clerk = _unit_clerk(user, cls, "退回培训班")
    if not clerk:
        return clerk
    return _moves(cls, "return")


def can_start(user: User, cls: TrainingClass) -> Permission:
    return _drafting_side(user, cls) and _moves(cls, "start")


def can_record_session(user: User, cls: TrainingClass) -> Permission:
    side = _drafting_side(user, cls)
    if not side:
        return side
    if cls.status != rules.RUNNING:
        return conflict(
            "class_not_running", f"“{_status_label(cls)}”状态的培训班不能记录课时"
        )
    return ALLOWED


def can_complete(user: User, cls: TrainingClass) -> Permission:
    """Enter the results and create the claims: the unit's clerk (claims are entered by
    the clerk of the unit, ``claims.permissions.can_create``)."""
    clerk = _unit_clerk(user, cls, "办理培训班结业并生成申报")
    if not clerk:
        return clerk
    return _moves(cls, "complete")


def can_cancel(user: User, cls: TrainingClass) -> Permission:
    """Cancel a class before it runs: its drafting side or the unit's clerk."""
    side = _drafting_side(user, cls)
    if not side:
        return side
    return _moves(cls, "cancel")


def can_attach_document(user: User, cls: TrainingClass) -> Permission:
    """Upload a class's evidence (roster, sign-in sheet, certificate, ...): its
    drafting side (the institution's staff, the unit's clerks) while the class is not
    cancelled — a completed class still takes its certificates."""
    side = _drafting_side(user, cls)
    if not side:
        return side
    if cls.status == rules.CANCELLED:
        return conflict("invalid_transition", "已取消的培训班不能再上传材料")
    return ALLOWED


CHECKS = {
    "roster": can_set_roster,
    "file": can_file,
    "accept": can_accept,
    "return": can_return,
    "start": can_start,
    "sessions": can_record_session,
    "complete": can_complete,
    "cancel": can_cancel,
    "documents": can_attach_document,
}


def actions_for(user: User, cls: TrainingClass) -> list[str]:
    """What this user may do next with this class: the API's ``allowed_actions``."""
    return [name for name, check in CHECKS.items() if check(user, cls)]
