"""The domain error type: what a service refuses, with a stable code and a Chinese message.

Views turn it into a message on the page, the API into JSON with the same code, so a clerk
and a county script see the same reason.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refusal the user can act on (a 4xx), never a bug."""

    status_code = 400

    def __init__(self, code: str, message: str, *, detail: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.detail = detail


class NotFound(DomainError):
    """Missing, or not the user's to see: both answer the same (404)."""

    status_code = 404

    def __init__(self, message: str = "未找到该记录") -> None:
        super().__init__("not_found", message)


class PermissionDenied(DomainError):
    status_code = 403

    def __init__(self, message: str = "您没有执行此操作的权限") -> None:
        super().__init__("permission_denied", message)


class Conflict(DomainError):
    """The request is well formed but the state of the record forbids it."""

    status_code = 409
