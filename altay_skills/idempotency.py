"""Safe retries of API writes: the ``Idempotency-Key`` header (issue 21).

The app runs on two hosts behind the proxy. When a host dies mid-request the client gets
a 502 or 503 and cannot know whether its write committed. A script that sends
``Idempotency-Key: <key>`` with a write (POST, PUT, PATCH, DELETE under ``/api/``) may
send it again, with the same key, and the write takes effect once:

- The first request's work and the record of its answer (``IdempotentRequest``: the
  user, the key, the method, the path, the SHA-256 of the body, the status and the JSON
  body of the answer) commit in ONE transaction, opened here around everything below
  this middleware. The services' own ``transaction.atomic()`` blocks become savepoints
  of it, and ``transaction.on_commit`` work (the outbox) runs after it commits. So the
  work never commits without its answer being recorded: there is no moment between
  the two where a crash could leave the work done and the key unknown.
- A retry with the same key and the same method, path and body gets the stored status
  and body again, with ``Idempotent-Replayed: true``, and does nothing.
- The same key with another method, path or body: 422 ``idempotency_key_reused``.
- A key that is not 1–100 visible ASCII characters (``!`` to ``~``; no space, no
  control character): 400 ``invalid_idempotency_key``, and nothing runs.
- Only a 2xx answer is kept. Any other answer releases the key (its row is deleted in
  the same transaction), so a corrected retry runs again; whatever the request did
  besides commits as it would have without the header.
- Two requests with one key at once: the second's insert of the key waits on the
  first's uncommitted row (the unique index on user and key; PostgreSQL makes the
  insert wait for the transaction that holds the conflicting row, SQLite for its one
  writer). When the first commits, the second finds its answer and replays it; when the
  first gave a non-2xx answer or failed, its row is gone and the second runs. On
  PostgreSQL the wait is at most ``IDEMPOTENCY_WAIT_SECONDS`` (30 by default, below
  gunicorn's timeout): past it — the first is slow, or its host died and left its
  transaction open — the second answers 409 ``request_in_progress`` with Retry-After,
  as it does should a committed row have no answer or vanish in between.
- Keys are kept ``IDEMPOTENCY_KEY_HOURS`` (24 by default): ``purge_expired`` (beat,
  ``altay_skills.tasks.purge_idempotency_keys``) deletes older rows, after which the
  key may be used again.

Whose key it is. A key is its user's own: two users may pick the same one. The
principal is resolved here, before DRF authenticates inside the view, by the API's own
authentication classes (``REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"]``: the
``Authorization: Token …`` of ``accounts.authentication`` first, then the session user
with DRF's CSRF check), so this layer sees the user the view will see and the core
imports nothing of the apps (the layering contract of pyproject.toml). The token
lives in ``accounts.tokens``, not ``rest_framework.authtoken``.

Anonymous requests ignore the header. A key must be scoped to someone: shared among
all anonymous callers, one visitor's key could replay another visitor's answer (a
public objection's reference, a confirmation's result). And refusing instead would
answer 400 where the view answers 401 for credentials it refuses (a token expired or
ended at sign-out), hiding the error the client must act on. So a request without a
principal the API accepts runs exactly as without the header: its 401, 403 or 2xx
comes from the view. The header is documented only on the operations that take a
signed-in user (``altay_skills.openapi``).

Views whose answer must never be kept set ``idempotency_exempt = True`` and ignore the
header too: ``POST /api/auth/token/`` (a token is shown once and only its digest is
stored) and ``POST /api/trainees/{id}/id-number/`` (every reveal of a full ID number is
counted and recorded; a replay would show the number again without either).

The database out of reach: the view's own failure is answered by the API's handler (the
Chinese 503 of ``altay_skills.middleware``), and the transaction opened here rolls back
with it, key included. A failure of this layer's own queries, or of the commit, answers
the same 503, never a 500: nothing was saved, or, if the commit's answer was lost, the
retry with the key finds out.

Left as it is: an evidence upload stores its file before its transaction
(``claims.services``); if this layer's transaction then rolls back (its answer could
not be stored), the file stays without a record, as it would after a crash.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import IO, Any, BinaryIO, cast

from django.conf import settings
from django.db import (
    DatabaseError,
    IntegrityError,
    OperationalError,
    connection,
    transaction,
)
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve
from django.utils import timezone

from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.settings import api_settings

from altay_skills import middleware
from altay_skills.models import IdempotentRequest

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
_META_KEY = "HTTP_IDEMPOTENCY_KEY"
MAX_KEY_LENGTH = 100
#: Visible ASCII, ``!`` to ``~``: no space, no control character, nothing else.
KEY = re.compile(rf"[\x21-\x7e]{{1,{MAX_KEY_LENGTH}}}")
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: The class attribute of a view whose answers are never kept (see the docstring).
EXEMPT_ATTRIBUTE = "idempotency_exempt"
_CHUNK = 64 * 1024
#: PostgreSQL's SQLSTATE for a lock not granted within ``lock_timeout``.
LOCK_NOT_AVAILABLE = "55P03"

MALFORMED_MESSAGE = (
    f"Idempotency-Key（幂等键）格式无效：应为1至{MAX_KEY_LENGTH}个可见ASCII字符"
    "（字母、数字或符号，不含空格和控制字符）；请求未被处理"
)
REUSED_MESSAGE = (
    "该幂等键已用于另一个请求（请求方法、路径或请求内容不同），本次请求未被处理；"
    "新的请求请使用新的幂等键"
)
IN_PROGRESS_MESSAGE = "使用该幂等键的请求正在处理中，请稍后用同一幂等键重试"
RETRY_AFTER = "1"  # seconds


def key_hours() -> int:
    return int(getattr(settings, "IDEMPOTENCY_KEY_HOURS", 24))


def wait_seconds() -> int:
    return int(getattr(settings, "IDEMPOTENCY_WAIT_SECONDS", 30))


def purge_expired() -> int:
    """Delete the keys older than ``IDEMPOTENCY_KEY_HOURS``; how many."""
    cutoff = timezone.now() - timedelta(hours=key_hours())
    deleted, _ = IdempotentRequest.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def _refusal(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(
        {"code": code, "message": message},
        status=status,
        json_dumps_params={"ensure_ascii": False},
    )


# --- The request -----------------------------------------------------------------------------
def exempt(request: HttpRequest) -> bool:
    """Whether the route's view keeps no answers (or there is no view to run). The
    route is noted on the request, so that the request's log line and metrics name
    it also when this layer answers in the view's place (a replay, a refusal)."""
    try:
        match = resolve(request.path_info, getattr(request, "urlconf", None))
    except Resolver404:
        return True
    request.resolver_match = match
    view_class = getattr(match.func, "view_class", None)
    return bool(getattr(view_class, EXEMPT_ATTRIBUTE, False))


def body_sha256(request: HttpRequest) -> tuple[str, IO[bytes] | None]:
    """The SHA-256 of the body, and the spooled copy read in its place if any.

    A body Django keeps in memory is hashed as ``request.body``. An evidence upload (up
    to 10 MB, more than ``DATA_UPLOAD_MAX_MEMORY_SIZE``) is read once into a spooled
    file while it is hashed, and the parsers then read that file, as they would have
    read the socket."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is None or declared <= limit:
        return hashlib.sha256(request.body).hexdigest(), None
    digest = hashlib.sha256()
    spool = tempfile.SpooledTemporaryFile(max_size=limit)  # noqa: SIM115  # closed by the caller
    while chunk := request.read(_CHUNK):
        digest.update(chunk)
        spool.write(chunk)
    spool.seek(0)
    request._stream = cast(BinaryIO, spool)  # what request.read() reads from now
    request._read_started = False  # type: ignore[attr-defined]  # WSGIRequest has it
    return digest.hexdigest(), spool


def principal(request: HttpRequest) -> Any | None:
    """The user the API will see for this request, or None (anonymous, or credentials
    the view will refuse: it answers them as without the header)."""
    classes: list[Any] = list(api_settings.DEFAULT_AUTHENTICATION_CLASSES)
    authenticators = [auth() for auth in classes]
    before = request.__dict__.get("user")
    try:
        user = Request(request, authenticators=authenticators).user
    except APIException:  # a token refused, a session without its CSRF token
        return None
    finally:
        # DRF sets the request's user as it authenticates; the view does it again
        if before is None:
            request.__dict__.pop("user", None)
        else:
            request.user = before
    return user if getattr(user, "is_authenticated", False) else None


# --- The answer ------------------------------------------------------------------------------
def keepable(response: HttpResponse) -> bool:
    """A 2xx answer whose body is JSON (or empty): the answers a replay can give."""
    if response.status_code // 100 != 2 or response.streaming:
        return False
    if not response.content:
        return True
    return str(response.get("Content-Type", "")).startswith("application/json")


def answer_stored(row: IdempotentRequest, response: HttpResponse) -> None:
    """Record the answer on the key's row, in the transaction of the work."""
    row.status_code = response.status_code
    row.response_body = json.loads(response.content) if response.content else None
    row.save(update_fields=["status_code", "response_body"])


def replayed(row: IdempotentRequest) -> HttpResponse:
    """The stored answer again, as DRF rendered it (compact JSON, UTF-8)."""
    if row.response_body is None:
        response = HttpResponse(status=row.status_code)
        del response["Content-Type"]  # DRF sends none with an empty body
    else:
        content = json.dumps(
            row.response_body, ensure_ascii=False, separators=(",", ":")
        )
        response = HttpResponse(
            content.encode(), status=row.status_code, content_type="application/json"
        )
    response[REPLAYED_HEADER] = "true"
    return response


def _key_taken(
    user: Any, key: str, request: HttpRequest, digest: str
) -> tuple[IdempotentRequest | None, IdempotentRequest | None]:
    """Insert the key (the row this request answers on), or find the earlier
    request's row: ``(ours, None)`` or ``(None, earlier)``; ``(None, None)`` when the
    earlier row vanished between the conflict and the read."""
    try:
        with transaction.atomic(), _lock_wait_bounded():
            row = IdempotentRequest.objects.create(
                user=user,
                key=key,
                method=request.method or "",
                path=request.get_full_path(),
                body_sha256=digest,
            )
        return row, None
    except IntegrityError:  # waited for the holder of the key; it committed
        return None, IdempotentRequest.objects.filter(user=user, key=key).first()
    except OperationalError as exc:
        if getattr(exc.__cause__, "pgcode", None) != LOCK_NOT_AVAILABLE:
            raise
        return None, None  # the holder is still at it (or its host is gone): 409


@contextmanager
def _lock_wait_bounded() -> Iterator[None]:
    """On PostgreSQL, the insert of the key waits at most ``IDEMPOTENCY_WAIT_SECONDS``
    for a request holding it: a host that died mid-request can leave its transaction
    open until TCP notices (hours, without ``idle_in_transaction_session_timeout``),
    and a retry must answer before the proxy gives up on it. The bound is set for the
    transaction and put back after the insert: the work itself waits as before."""
    if connection.vendor != "postgresql":
        yield  # SQLite: one writer, and its own busy timeout
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('lock_timeout')")
        (before,) = cursor.fetchone()
        bound = f"{max(wait_seconds() * 1000, 1)}ms"  # 0 would mean "no bound"
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [bound])
        yield
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [before])


def _answer_to_a_retry(
    earlier: IdempotentRequest | None, request: HttpRequest, digest: str
) -> HttpResponse:
    if earlier is None or earlier.status_code is None:
        response = _refusal(409, "request_in_progress", IN_PROGRESS_MESSAGE)
        response["Retry-After"] = RETRY_AFTER
        return response
    same = (earlier.method, earlier.path, earlier.body_sha256) == (
        request.method,
        request.get_full_path(),
        digest,
    )
    if not same:
        return _refusal(422, "idempotency_key_reused", REUSED_MESSAGE)
    logger.info("idempotent replay of %s %s", request.method, request.path)
    return replayed(earlier)


class IdempotencyMiddleware:
    """After ``AuthenticationMiddleware`` (the session user) and before everything that
    runs the view, so that the transaction opened here holds all of its work."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.META.get(_META_KEY)
        if (
            key is None
            or request.method not in WRITE_METHODS
            or not request.path.startswith("/api/")
            or exempt(request)
        ):
            return self.get_response(request)
        spool: IO[bytes] | None = None
        try:
            digest, spool = body_sha256(request)
            user = principal(request)
            if user is None:
                return self.get_response(request)
            if not KEY.fullmatch(key):
                return _refusal(400, "invalid_idempotency_key", MALFORMED_MESSAGE)
            return self._once(request, user, key, digest)
        except middleware.DATABASE_ERRORS as exc:
            middleware.database_unavailable_logged(request, exc)
            return middleware.api_unavailable()
        finally:
            if spool is not None:
                spool.close()

    def _once(
        self, request: HttpRequest, user: Any, key: str, digest: str
    ) -> HttpResponse:
        try:
            with transaction.atomic():
                row, earlier = _key_taken(user, key, request, digest)
                if row is None:
                    return _answer_to_a_retry(earlier, request, digest)
                response = self.get_response(request)
                if connection.needs_rollback:
                    # the work failed inside (the database dropped): it rolls back,
                    # and the key with it
                    return response
                if keepable(response):
                    answer_stored(row, response)
                else:
                    row.delete()  # a non-2xx answer releases the key
            return response
        except DatabaseError as exc:
            # storing the answer, or the commit, failed: the work rolled back with it
            middleware.database_unavailable_logged(request, exc)
            return middleware.api_unavailable()
