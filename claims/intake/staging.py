"""The staging store: a checked file kept between the check and the save.

``import_check`` defends, reads and judges an upload and keeps the parsed sheet and the
results in a file under ``MEDIA_ROOT/imports/``, keyed by a random token, bound to the
clerk and their unit, for one hour (``PAYLOAD_TTL``); ``import_batch`` reads it back.
A file past its hour is never served (``read_payload``) and is deleted by beat
(``purge_expired_files``, through ``claims.tasks.purge_expired_imports``).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from accounts.models import User
from altay_skills.errors import NotFound, PermissionDenied
from claims.intake.archive import inspect_archive
from claims.intake.judge import RowResult, check_sheet
from claims.intake.references import issue_references, restore_id_numbers
from claims.intake.retention import PAYLOAD_TTL
from claims.intake.sheet import SheetData, SheetRow, read_sheet

_TOKEN = re.compile(r"[A-Za-z0-9_-]{32,64}", re.ASCII)


def _store_dir() -> Path:
    path = Path(settings.MEDIA_ROOT) / "imports"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def payload_path(token: str, suffix: str = ".json") -> Path:
    if not _TOKEN.fullmatch(token or ""):
        raise NotFound("未找到该导入记录（可能已过期），请重新上传")
    return _store_dir() / f"{token}{suffix}"


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$d": value.isoformat()}
    if isinstance(value, clock_time):
        return {"$t": value.isoformat()}
    if isinstance(value, timedelta):
        return str(value)
    if isinstance(value, Decimal):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "$dt" in value:
            return datetime.fromisoformat(value["$dt"])
        if "$d" in value:
            return date.fromisoformat(value["$d"])
        if "$t" in value:
            return clock_time.fromisoformat(value["$t"])
    return value


def _sheet_to_json(sheet: SheetData) -> dict[str, Any]:
    return {
        "title": sheet.title,
        "header_row": sheet.header_row,
        "headers": sheet.headers,
        "columns": sheet.columns,
        "rows": [
            {"n": r.number, "k": r.kind, "v": [_encode(v) for v in r.values]}
            for r in sheet.rows
        ],
    }


def sheet_from_json(data: dict[str, Any]) -> SheetData:
    return SheetData(
        title=data["title"],
        header_row=data["header_row"],
        headers=data["headers"],
        columns=data["columns"],
        rows=[
            SheetRow(r["n"], [_decode(v) for v in r["v"]], r["k"]) for r in data["rows"]
        ],
    )


def write_payload(path: Path, payload: dict[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            # dumps, not dump: dump streams through the pure-Python encoder (1.9 s
            # for 5,000 rows), dumps runs the C one
            out.write(json.dumps(payload, ensure_ascii=False))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def purge_expired_files() -> int:
    """Delete every staging file (checked sheets with full ID numbers, uploads, a
    writer's leftovers) older than ``PAYLOAD_TTL``; beat runs it (issue 14, item 2)."""
    limit = time.time() - PAYLOAD_TTL.total_seconds()
    deleted = 0
    for path in _store_dir().iterdir():
        try:
            if path.stat().st_mtime < limit:
                path.unlink(missing_ok=True)
                deleted += 1
        except OSError:
            continue
    return deleted


@dataclass(frozen=True)
class ImportBatch:
    """A checked file, as kept between the check and the save."""

    token: str
    filename: str
    created_at: float
    sheet: SheetData
    results: list[RowResult]
    #: row number → its 参考码 in the result copy (``references``)
    references: dict[int, str] = field(default_factory=dict)

    @property
    def passing(self) -> list[RowResult]:
        return [r for r in self.results if r.ok]

    @property
    def failing(self) -> list[RowResult]:
        return [r for r in self.results if not r.ok]

    @property
    def expires_at(self) -> datetime:
        created = datetime.fromtimestamp(
            self.created_at, tz=timezone.get_current_timezone()
        )
        return created + PAYLOAD_TTL


def payload_of(
    actor: User,
    filename: str,
    sheet: SheetData,
    results: Sequence[RowResult],
    references: dict[int, str] | None = None,
) -> dict[str, Any]:
    return {
        "version": 1,
        "user_id": actor.pk,
        "unit_id": actor.unit_id,
        "created_at": time.time(),
        "filename": filename,
        "sheet": _sheet_to_json(sheet),
        "results": [asdict(r) for r in results],
        "references": {str(row): ref for row, ref in (references or {}).items()},
    }


def read_payload(path: Path, actor: User) -> dict[str, Any]:
    try:
        with path.open(encoding="utf-8") as source:
            payload = json.load(source)
    except (OSError, ValueError):
        raise NotFound("未找到该导入记录（可能已保存或已过期），请重新上传") from None
    if payload.get("user_id") != actor.pk or payload.get("unit_id") != actor.unit_id:
        raise NotFound("未找到该导入记录（可能已保存或已过期），请重新上传")
    if time.time() - payload.get("created_at", 0) > PAYLOAD_TTL.total_seconds():
        path.unlink(missing_ok=True)
        raise NotFound("该导入记录已超过1小时，已失效，请重新上传")
    return payload


def _batch(token: str, payload: dict[str, Any]) -> ImportBatch:
    return ImportBatch(
        token=token,
        filename=payload.get("filename", ""),
        created_at=payload["created_at"],
        sheet=sheet_from_json(payload["sheet"]),
        results=[RowResult.from_dict(r) for r in payload["results"]],
        references={
            int(row): ref for row, ref in payload.get("references", {}).items()
        },
    )


def require_clerk(actor: User) -> None:
    if not actor.is_authenticated or not actor.is_clerk or not actor.unit_id:
        raise PermissionDenied("只有县(市)经办人可以批量导入申报")


def import_check(*, data: bytes, filename: str, actor: User) -> ImportBatch:
    """Defend, parse and judge an uploaded file; keep it for the save step.

    Raises ``ImportRefused`` (400) for a file refused as a whole; nothing is stored then.
    """
    require_clerk(actor)
    inspect_archive(data)
    sheet = read_sheet(data)
    restore_id_numbers(sheet, actor)
    results = check_sheet(sheet, actor)
    references = issue_references(sheet, actor)
    purge_expired_files()
    token = secrets.token_urlsafe(32)
    payload = payload_of(
        actor, Path(filename or "").name[:200], sheet, results, references
    )
    write_payload(payload_path(token), payload)
    return _batch(token, payload)


def import_batch(*, token: str, actor: User) -> ImportBatch:
    """The checked file of this clerk under ``token``; 404 for anyone else's."""
    require_clerk(actor)
    return _batch(token, read_payload(payload_path(token), actor))
