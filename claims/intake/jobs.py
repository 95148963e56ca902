"""The check off the web workers: an upload becomes an ``ImportJob`` run by a Celery
task, whose progress the clerk's page polls (issue 14, item 4).

``import_start`` (the web request) does only what is cheap and must come first: who may
import, the archive's defences (``inspect_archive`` reads the zip directory and the
prologs, about a millisecond), the upload kept under ``MEDIA_ROOT/imports/`` (mode 600)
and the job written — at most one queued or running per clerk, a database constraint, so
a second upload is a clear 409. The task is queued once the job commits; the request
answers at once. ``import_job_run`` (the task's body) reads and judges the sheet, as
``import_check`` always did, reporting progress on the job, and keeps the result for the
save; a refusal of the file becomes the job's message. Without a broker (``make run``,
the tests) Celery runs eagerly: the task runs in the request, as before.

A job whose task was lost (a broker restarted without its queue) would hold its clerk's
slot: after ``STALE_AFTER`` it no longer does (``import_start``, and the beat task
``purge_expired_imports`` marks it failed). Every staging file, job and row reference
(``references``) expires after ``PAYLOAD_TTL`` and is deleted by beat
(``import_purge_expired``); none is served or resolved after.
"""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from django.db import IntegrityError, transaction
from django.utils import timezone

from celery.exceptions import SoftTimeLimitExceeded

from accounts.models import User
from altay_skills.errors import Conflict, NotFound
from claims.intake.archive import inspect_archive
from claims.intake.errors import ImportRefused
from claims.intake.judge import check_sheet
from claims.intake.references import (
    issue_references,
    purge_expired_references,
    restore_id_numbers,
)
from claims.intake.sheet import read_sheet
from claims.intake.staging import (
    PAYLOAD_TTL,
    payload_of,
    payload_path,
    purge_expired_files,
    require_clerk,
    write_payload,
)
from claims.models import IMPORT_JOB_ACTIVE, ImportJob, ImportJobStatus

logger = logging.getLogger(__name__)

#: The registered name of ``claims.tasks.check_import``: services queue it by name and
#: never import the tasks module, which sits above them.
CHECK_IMPORT_TASK = "claims.tasks.check_import"
#: A queued or running job older than this no longer holds its clerk's slot.
STALE_AFTER = timedelta(minutes=10)
#: The task's limits (seconds): the caps keep a check to seconds, these bound the rest.
SOFT_TIME_LIMIT = 180
TIME_LIMIT = 240
UPLOAD_SUFFIX = ".upload"
_NOT_FOUND = "未找到该导入记录（可能已保存或已过期），请重新上传"


def upload_path(token: str) -> Path:
    return payload_path(token, UPLOAD_SUFFIX)


def _keep_upload(token: str, data: bytes) -> None:
    path = upload_path(token)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=UPLOAD_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _release_stale(actor: User) -> None:
    ImportJob.objects.filter(
        user=actor,
        status__in=IMPORT_JOB_ACTIVE,
        created_at__lt=timezone.now() - STALE_AFTER,
    ).update(
        status=ImportJobStatus.FAILED,
        message="检查超时未完成，请重新上传",
        finished_at=timezone.now(),
    )


def _busy(actor: User) -> Conflict:
    running = (
        ImportJob.objects.filter(user=actor, status__in=IMPORT_JOB_ACTIVE)
        .values_list("filename", flat=True)
        .first()
    )
    what = f"文件“{running}”" if running else "上一个文件"
    return Conflict(
        "import_running",
        f"您上传的{what}正在检查，请等检查完成后再上传下一个文件（每人同时只能检查一个文件）",
    )


def import_start(*, data: bytes, filename: str, actor: User) -> ImportJob:
    """Defend the upload, keep it and queue its check; answers at once.

    Raises ``ImportRefused`` (400) for a file refused before parsing and ``Conflict``
    (409, ``import_running``) while another file of the clerk is being checked.
    """
    require_clerk(actor)
    inspect_archive(data)
    _release_stale(actor)
    if ImportJob.objects.filter(user=actor, status__in=IMPORT_JOB_ACTIVE).exists():
        raise _busy(actor)
    token = secrets.token_urlsafe(32)
    _keep_upload(token, data)
    try:
        with transaction.atomic():
            job = ImportJob.objects.create(
                token=token,
                user=actor,
                unit_id=str(actor.unit_id),
                filename=Path(filename or "").name[:200],
            )
            transaction.on_commit(lambda: _enqueue(job.pk))
    except IntegrityError:  # another upload of the clerk's won the race
        upload_path(token).unlink(missing_ok=True)
        raise _busy(actor) from None
    return job


def _enqueue(job_id: int) -> None:
    """Queue with a bounded wait (``altay_skills.outbox.send``); if the broker is down
    the job fails at once with a message, so the clerk is never left waiting."""
    from altay_skills.outbox import send

    if error := send(CHECK_IMPORT_TASK, {"job_id": job_id}):
        logger.warning("import job %s: broker unavailable (%s)", job_id, error[:200])
        job = ImportJob.objects.filter(pk=job_id).first()
        if job is not None:
            _finish(job, message="后台检查服务暂时不可用，请稍后重新上传")


def _finish(job: ImportJob, *, message: str = "") -> None:
    """Ready (no message) or failed; the upload itself is deleted either way."""
    ImportJob.objects.filter(pk=job.pk, status__in=IMPORT_JOB_ACTIVE).update(
        status=ImportJobStatus.FAILED if message else ImportJobStatus.READY,
        progress=100 if not message else job.progress,
        message=message,
        finished_at=timezone.now(),
    )
    upload_path(job.token).unlink(missing_ok=True)


class _Reporter:
    """Writes the job's progress at most every half second (one UPDATE each)."""

    def __init__(self, job: ImportJob) -> None:
        self.job = job
        self.last = 0.0

    def set(
        self, percent: int, rows: int | None = None, *, force: bool = False
    ) -> None:
        now = time.monotonic()
        if not force and now - self.last < 0.5:
            return
        self.last = now
        changes: dict[str, int] = {"progress": min(percent, 99)}
        if rows is not None:
            changes["rows_read"] = rows
        ImportJob.objects.filter(pk=self.job.pk, status=ImportJobStatus.RUNNING).update(
            **changes
        )

    def reading(self, walked: int, in_sheet: int) -> None:
        share = walked / in_sheet if in_sheet else 0.0
        self.set(10 + int(60 * min(share, 1.0)), walked)


def import_job_run(*, job_id: int) -> ImportJob | None:
    """The task's body: read, judge and keep the uploaded file of ``job_id``.

    Idempotent: a job already finished is left alone; a job whose worker died halfway
    (the message is redelivered) runs again from its upload.
    """
    job = ImportJob.objects.select_related("user").filter(pk=job_id).first()
    if job is None or not job.active:
        return job
    ImportJob.objects.filter(pk=job.pk, status__in=IMPORT_JOB_ACTIVE).update(
        status=ImportJobStatus.RUNNING, started_at=timezone.now(), progress=5
    )
    job.status = ImportJobStatus.RUNNING
    report = _Reporter(job)
    try:
        try:
            data = upload_path(job.token).read_bytes()
        except OSError:
            _finish(job, message="上传的文件已不在服务器上（可能已过期），请重新上传")
            return job
        inspect_archive(data)
        sheet = read_sheet(data, progress=report.reading)
        report.set(70, len(sheet.rows), force=True)
        restore_id_numbers(sheet, job.user)
        results = check_sheet(sheet, job.user)
        report.set(95, force=True)
        references = issue_references(sheet, job.user)
        payload = payload_of(job.user, job.filename, sheet, results, references)
        write_payload(payload_path(job.token), payload)
    except ImportRefused as refused:
        _finish(job, message=refused.message)
    except SoftTimeLimitExceeded:
        _finish(job, message="文件检查超时，请减少行数、删除无关内容后重新上传")
    except Exception:
        logger.exception("import job %s: the check failed", job.pk)
        _finish(job, message="检查时出现错误，请重新上传；如反复出现请联系管理员")
    else:
        _finish(job)
    job.refresh_from_db()
    return job


def import_job(*, token: str, actor: User) -> ImportJob:
    """The clerk's own job under ``token``, unexpired; 404 for anyone else's."""
    require_clerk(actor)
    payload_path(token)  # a malformed token is a 404, as for the staging files
    job = ImportJob.objects.filter(
        token=token, user=actor, unit_id=actor.unit_id
    ).first()
    if job is None:
        raise NotFound(_NOT_FOUND)
    if timezone.now() - job.created_at > PAYLOAD_TTL:
        raise NotFound("该导入记录已超过1小时，已失效，请重新上传")
    return job


def import_purge_expired() -> int:
    """Beat: delete every staging file, job and row reference past ``PAYLOAD_TTL``
    (they hold full ID numbers, for the save and the corrected copy), and free the
    slots of jobs whose task was lost. Returns the number of files deleted."""
    now = timezone.now()
    ImportJob.objects.filter(
        status__in=IMPORT_JOB_ACTIVE, created_at__lt=now - STALE_AFTER
    ).update(
        status=ImportJobStatus.FAILED,
        message="检查超时未完成，请重新上传",
        finished_at=now,
    )
    ImportJob.objects.filter(created_at__lt=now - PAYLOAD_TTL).delete()
    purge_expired_references()
    return purge_expired_files()
