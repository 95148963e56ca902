"""Who may do what: the shape of the answer every app's ``permissions.py`` gives.

Each app answers ``can_<verb>(user, obj=None) -> Permission`` (Hypha's shape: allowed,
and the reason when not). A service asks the same function before it changes anything
and raises with its reason (``require``); a page, an API answer or a template asks it
which actions to offer, so nothing is offered that the service would refuse.

Without the object, a ``can_<verb>`` answers for the role alone (what a page checks
before it reads the body); with it, also for the object's state. A refusal of the role
is a 403 (``PermissionDenied``); a refusal of the state keeps the code and status the
service has always answered with (a 409 ``Conflict`` such as ``report_frozen``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from altay_skills.errors import Conflict, DomainError, NotFound, PermissionDenied


@dataclass(frozen=True)
class Permission:
    """Allowed, or refused with a reason the user can read (Chinese) and the code and
    HTTP status the refusal is answered with. Truthy exactly when allowed; unpacks as
    ``allowed, reason``."""

    allowed: bool
    reason: str = ""
    code: str = "permission_denied"
    status: int = 403

    def __bool__(self) -> bool:
        return self.allowed

    def __iter__(self) -> Iterator[bool | str]:
        yield self.allowed
        yield self.reason


ALLOWED = Permission(True)


def deny(reason: str) -> Permission:
    """Refused for who the user is (their role or unit): a 403."""
    return Permission(False, reason)


def conflict(code: str, reason: str) -> Permission:
    """Refused for the state of the record, not the user: a 409 with its code."""
    return Permission(False, reason, code, Conflict.status_code)


def require(permission: Permission) -> None:
    """Raise the refusal a service answers with; nothing when allowed."""
    if permission:
        return
    if permission.status == PermissionDenied.status_code:
        raise PermissionDenied(permission.reason)
    if permission.status == Conflict.status_code:
        raise Conflict(permission.code, permission.reason)
    raise DomainError(permission.code, permission.reason)


def shown_on_page(exc: DomainError) -> DomainError:
    """A refusal a page shows again, with its reason and status. A refusal of access —
    missing or not the user's (404), forbidden (403) — is raised on instead, for
    ``accounts.views.renders_domain_errors`` to answer with the 404 or 403 page."""
    if isinstance(exc, NotFound | PermissionDenied):
        raise exc
    return exc
