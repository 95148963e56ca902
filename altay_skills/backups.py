"""Backup and restore: the database and the stored files in one ``.tar.gz``.

``python manage.py backup --output PATH.tar.gz`` writes an archive with

- ``database.pgdump`` — ``pg_dump --format=custom`` of the configured PostgreSQL database,
  or ``database.sqlite3`` — a consistent copy made with SQLite's online backup API;
- ``media/…`` — every file under ``MEDIA_ROOT`` (the rollup workbooks in ``rollups/``,
  the import staging files in ``imports/``), except half-written ``*.partial`` files;
- ``manifest.json`` — when and from what it was made, the Django migrations applied per
  app, the row counts of the key tables and the approved total, and the SHA-256 and size
  of every other member.

The database is dumped before the files are read. A workbook is written (renamed into
place) before the row that names it is committed, so every workbook a dumped rollup
names is in the archive. On PostgreSQL the manifest's counts are read in the very
snapshot ``pg_dump`` dumps (``pg_export_snapshot`` + ``--snapshot``), so they agree exactly.

``python manage.py restore PATH.tar.gz [--force]`` checks every member against the
manifest *before* it touches anything, refuses a database that already has tables unless
``--force``, restores the database (PostgreSQL: ``pg_restore --clean --if-exists
--no-owner --single-transaction``, all or nothing; SQLite: the file is replaced), then the
files, and finally compares the restored row counts with the manifest.

The archive holds personal data (ID numbers): it is created readable by its owner only.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess  # nosec B404
import tarfile
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import IO, Any

import django
from django.apps import apps
from django.conf import settings
from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.postgresql.client import DatabaseClient as PostgresClient
from django.db.backends.sqlite3._functions import register as register_functions
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder
from django.db.models import Model, Sum
from django.utils import timezone

ARCHIVE_FORMAT = 1
MANIFEST = "manifest.json"
PG_DUMP = "database.pgdump"
SQLITE_COPY = "database.sqlite3"
MEDIA = "media"
#: Tables whose row counts go into the manifest and are compared after a restore.
KEY_MODELS = (
    "accounts.User",
    "programs.Unit",
    "programs.Institution",
    "trainees.Trainee",
    "claims.Claim",
    "claims.ClaimEvent",
    "classes.TrainingClass",
    "classes.ClassEvent",
    "quarters.QuarterlyReport",
    "quarters.SpotCheck",
    "finance.Rollup",
    "finance.RollupLine",
    "finance.Payment",
    "finance.Recovery",
)
#: Labels of the key tables in a manifest written before issue 11 moved their models
#: (the tables kept their names, so the counts compare as they are).
FORMER_LABELS = {
    "claims.QuarterlyReport": "quarters.QuarterlyReport",
    "claims.SpotCheck": "quarters.SpotCheck",
    "reporting.Rollup": "finance.Rollup",
    "reporting.RollupLine": "finance.RollupLine",
    "reporting.Payment": "finance.Payment",
    "reporting.Recovery": "finance.Recovery",
}
_CHUNK = 1024 * 1024

Log = Callable[[str], None]


class BackupError(Exception):
    """A backup or restore that cannot go on; nothing further has been changed."""


@dataclass
class RestoreResult:
    manifest: dict[str, Any]
    media_files: int
    counts: dict[str, int | None]
    pending_migrations: list[str] = field(default_factory=list)


# --- Backup ---------------------------------------------------------------------------------
def create_backup(
    output: Path | str,
    *,
    alias: str = "default",
    media_root: Path | str | None = None,
    log: Log = lambda message: None,
) -> dict[str, Any]:
    """Write the archive to ``output`` (via a temporary name) and return its manifest."""
    output = Path(output).resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    media = Path(media_root if media_root is not None else settings.MEDIA_ROOT)
    engine = _engine(alias)
    partial = output.with_name(f".{output.name}.{os.getpid()}.partial")
    with tempfile.TemporaryDirectory(prefix=".backup-", dir=output.parent) as staging:
        if engine == "postgresql":
            dump = Path(staging) / PG_DUMP
            facts = _dump_postgres(alias, dump, log)
        else:
            dump = Path(staging) / SQLITE_COPY
            facts = _copy_sqlite(alias, dump, log)
        manifest: dict[str, Any] = {
            "format": ARCHIVE_FORMAT,
            "created_at": timezone.now().isoformat(),
            "engine": engine,
            "database": str(connections[alias].settings_dict["NAME"]),
            "django": django.get_version(),
            **facts,
            "members": {},
        }
        try:
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with (
                os.fdopen(fd, "wb") as raw,
                tarfile.open(fileobj=raw, mode="w:gz") as tar,
            ):
                manifest["members"][dump.name] = _add_file(tar, dump, dump.name)
                count = 0
                for path, name in _media_files(media):
                    manifest["members"][name] = _add_file(tar, path, name)
                    count += 1
                log(f"media: {count} files from {media}")
                body = json.dumps(manifest, ensure_ascii=False, indent=2).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mtime, info.mode = len(body), _now_epoch(), 0o600
                tar.addfile(info, io.BytesIO(body))
            os.replace(partial, output)
        finally:
            partial.unlink(missing_ok=True)
    log(f"written {output} ({output.stat().st_size} bytes)")
    return manifest


def _dump_postgres(alias: str, target: Path, log: Log) -> dict[str, Any]:
    """pg_dump in the snapshot of a read-only transaction that also reads the facts."""
    pg_dump = _binary("pg_dump")
    connection = _idle_connection(alias)
    with transaction.atomic(using=alias), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SELECT pg_export_snapshot()")
        snapshot = cursor.fetchone()[0]
        facts = _facts(alias)
        _run(
            [
                pg_dump,
                "--format=custom",
                f"--snapshot={snapshot}",
                f"--file={target}",
                f"--dbname={_conninfo(connection.settings_dict)}",
            ],
            env=_pg_env(connection.settings_dict),
        )
    log(f"database: pg_dump of {connection.settings_dict['NAME']}")
    return facts


def _copy_sqlite(alias: str, target: Path, log: Log) -> dict[str, Any]:
    """SQLite's online backup API, in the read transaction that also reads the facts.

    A *read* transaction, begun by hand (``BEGIN DEFERRED``): ``transaction.atomic``
    begins SQLite's transactions IMMEDIATE (the settings' ``transaction_mode``, so that
    two writers queue rather than fail), and a connection holding the write lock gets
    SQLITE_LOCKED from every backup step — Python's ``backup`` retries that for ever
    (``make backup`` under ``make run`` hung)."""
    connection = _idle_connection(alias)
    connection.ensure_connection()
    raw = connection.connection
    raw.execute("BEGIN DEFERRED")  # type: ignore[union-attr]
    try:
        facts = _facts(alias)
        copy = sqlite3.connect(target)
        try:
            raw.backup(copy)  # type: ignore[union-attr]
        finally:
            copy.close()
    finally:
        raw.execute("ROLLBACK")  # type: ignore[union-attr]  # it wrote nothing
    log(f"database: SQLite copy of {connection.settings_dict['NAME']}")
    return facts


def _idle_connection(alias: str) -> BaseDatabaseWrapper:
    connection = connections[alias]
    if connection.in_atomic_block:
        raise BackupError("a backup cannot be taken inside another transaction")
    return connection


def _facts(alias: str) -> dict[str, Any]:
    """Migrations applied per app, key table counts and the approved total."""
    connection = connections[alias]
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
    migrations: dict[str, list[str]] = {}
    if MigrationRecorder.Migration._meta.db_table in tables:
        for app, name in (
            MigrationRecorder.Migration.objects.using(alias)
            .order_by("app", "id")
            .values_list("app", "name")
        ):
            migrations.setdefault(app, []).append(name)
    counts: dict[str, int | None] = {}
    for label in KEY_MODELS:
        model = _model(label)
        if model is None or model._meta.db_table not in tables:
            counts[label] = None
        else:
            counts[label] = model._base_manager.using(alias).count()
    approved = None
    claim = _model("claims.Claim")
    if claim is not None and claim._meta.db_table in tables:
        total = claim._base_manager.using(alias).aggregate(t=Sum("approved_amount"))[
            "t"
        ]
        approved = str(Decimal(str(total or 0)).quantize(Decimal("0.01")))
    return {
        "migrations": migrations,
        "counts": counts,
        "claims_approved_amount": approved,
    }


def _model(label: str) -> type[Model] | None:
    try:
        return apps.get_model(label)
    except LookupError:
        return None


def _media_files(media: Path) -> Iterator[tuple[Path, str]]:
    if not media.is_dir():
        return
    for path in sorted(media.rglob("*")):
        if path.is_symlink() or not path.is_file() or path.name.endswith(".partial"):
            continue
        yield path, str(PurePosixPath(MEDIA, *path.relative_to(media).parts))


class _HashingReader:
    def __init__(self, file: IO[bytes]) -> None:
        self.file, self.sha256, self.size = file, hashlib.sha256(), 0

    def read(self, size: int = -1) -> bytes:
        chunk = self.file.read(size)
        self.sha256.update(chunk)
        self.size += len(chunk)
        return chunk


def _add_file(tar: tarfile.TarFile, path: Path, name: str) -> dict[str, Any]:
    with path.open("rb") as file:
        info = tar.gettarinfo(fileobj=file, arcname=name)
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        info.mode = 0o600
        reader = _HashingReader(file)
        tar.addfile(info, reader)  # type: ignore[arg-type]
    if reader.size != info.size:
        raise BackupError(f"{path} changed while it was being archived")
    return {"sha256": reader.sha256.hexdigest(), "size": reader.size}


# --- Restore --------------------------------------------------------------------------------
def read_archive(archive: Path | str, staging: Path) -> dict[str, Any]:
    """Unpack into ``staging`` and check every member against the manifest."""
    archive = Path(archive)
    if not archive.is_file():
        raise BackupError(f"no such archive: {archive}")
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            members = tar.getmembers()
            names = [m.name for m in members if not m.isdir()]
            for member in members:
                _check_member(member)
            if MANIFEST not in names:
                raise BackupError("the archive has no manifest.json")
            manifest_file = tar.extractfile(MANIFEST)
            if manifest_file is None:
                raise BackupError("manifest.json is not a regular file")
            manifest = json.loads(manifest_file.read().decode("utf-8"))
            if manifest.get("format") != ARCHIVE_FORMAT:
                raise BackupError(f"unknown archive format {manifest.get('format')!r}")
            listed = set(manifest.get("members", {}))
            present = set(names) - {MANIFEST}
            if listed != present:
                raise BackupError(
                    "the archive does not match its manifest: "
                    f"missing {sorted(listed - present)}, unlisted {sorted(present - listed)}"
                )
            _unpack(tar, members, staging)
    except (tarfile.TarError, EOFError, OSError, json.JSONDecodeError) as exc:
        raise BackupError(f"cannot read {archive}: {exc}") from exc
    for name, expected in manifest["members"].items():
        digest, size = _sha256(staging / name)
        if digest != expected["sha256"] or size != expected["size"]:
            raise BackupError(f"{name}: SHA-256 does not match the manifest")
    return manifest


def _unpack(
    tar: tarfile.TarFile, members: list[tarfile.TarInfo], staging: Path
) -> None:
    """The checked members' contents written under ``staging`` — folders and regular
    files only, no mode, owner or link carried over: what ``extractall(filter="data")``
    gives, by hand, because Debian 12's python3.11 (3.11.2) predates extraction filters
    (3.11.4) and refused the restore (found by deploy/rehearse.sh)."""
    for member in members:
        target = staging / member.name
        if member.isdir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        source = tar.extractfile(member)
        if source is None:
            raise BackupError(f"{member.name} is not a regular file")
        target.parent.mkdir(parents=True, exist_ok=True)
        with source, target.open("wb") as out:
            shutil.copyfileobj(source, out)


def _check_member(member: tarfile.TarInfo) -> None:
    path = PurePosixPath(member.name)
    if (
        path.is_absolute()
        or ".." in path.parts
        or not (member.isfile() or member.isdir())
        or not (
            member.name in (MANIFEST, PG_DUMP, SQLITE_COPY)
            or (path.parts[0] == MEDIA and len(path.parts) > 1)
        )
    ):
        raise BackupError(f"unexpected member in the archive: {member.name!r}")


def restore_backup(
    archive: Path | str,
    *,
    force: bool = False,
    alias: str = "default",
    media_root: Path | str | None = None,
    log: Log = lambda message: None,
) -> RestoreResult:
    media = Path(media_root if media_root is not None else settings.MEDIA_ROOT)
    engine = _engine(alias)
    with tempfile.TemporaryDirectory(prefix=".restore-") as tmp:
        staging = Path(tmp)
        manifest = read_archive(archive, staging)
        log(
            f"archive of {manifest['created_at']} ({manifest['engine']}), "
            f"{len(manifest['members'])} members, SHA-256 verified"
        )
        if manifest["engine"] != engine:
            raise BackupError(
                f"the archive is a {manifest['engine']} backup; the configured "
                f"database is {engine}"
            )
        if not force and not database_is_empty(alias):
            raise BackupError(
                f"the database {connections[alias].settings_dict['NAME']} is not empty; "
                "restore into an empty database, or pass --force to overwrite it"
            )
        if engine == "postgresql":
            _restore_postgres(alias, staging / PG_DUMP)
        else:
            _restore_sqlite(alias, staging / SQLITE_COPY)
        log(f"database restored into {connections[alias].settings_dict['NAME']}")
        restored = _restore_media(manifest, staging, media)
        log(f"media: {restored} files into {media}")
    counts = database_counts(alias)
    wrong = {
        label: (expected, counts.get(FORMER_LABELS.get(label, label)))
        for label, expected in manifest["counts"].items()
        if counts.get(FORMER_LABELS.get(label, label)) != expected
    }
    if wrong:
        raise BackupError(f"restored row counts differ from the manifest: {wrong}")
    return RestoreResult(manifest, restored, counts, _pending_migrations(alias))


def database_is_empty(alias: str = "default") -> bool:
    """No table at all (a fresh ``createdb`` or a new SQLite file)."""
    connection = connections[alias]
    with connection.cursor() as cursor:
        return not connection.introspection.table_names(cursor)


def database_counts(alias: str = "default") -> dict[str, int | None]:
    counts: dict[str, int | None] = _facts(alias)["counts"]
    return counts


def _restore_postgres(alias: str, dump: Path) -> None:
    pg_restore = _binary("pg_restore")
    connections.close_all()
    settings_dict = connections[alias].settings_dict
    _run(
        [
            pg_restore,
            "--clean",
            "--if-exists",
            "--no-owner",
            # the grants are the application role's of this server: db_roles sets them
            "--no-privileges",
            "--single-transaction",
            f"--dbname={_conninfo(settings_dict)}",
            str(dump),
        ],
        env=_pg_env(settings_dict),
    )


def _restore_sqlite(alias: str, copy: Path) -> None:
    name = str(connections[alias].settings_dict["NAME"])
    if name == ":memory:" or "mode=memory" in name:
        raise BackupError("cannot restore into an in-memory SQLite database")
    check = sqlite3.connect(copy)
    try:
        register_functions(check)  # its CHECK constraints call Django's SQL functions
        if check.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise BackupError(
                "the SQLite copy in the archive fails its integrity check"
            )
    finally:
        check.close()
    connections.close_all()
    target = Path(name)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.restore")
    shutil.copyfile(copy, temporary)
    os.chmod(temporary, 0o600)
    # A stale journal of the old file would be replayed into the new one: remove it.
    for suffix in ("-wal", "-shm", "-journal"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    os.replace(temporary, target)


def _restore_media(manifest: dict[str, Any], staging: Path, media: Path) -> int:
    restored = 0
    for name, expected in manifest["members"].items():
        parts = PurePosixPath(name).parts
        if parts[0] != MEDIA:
            continue
        target = media.joinpath(*parts[1:])
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{os.getpid()}.partial")
        shutil.copyfile(staging / name, temporary)
        os.replace(temporary, target)
        if _sha256(target)[0] != expected["sha256"]:
            raise BackupError(f"{target}: SHA-256 differs after the copy")
        restored += 1
    return restored


def _pending_migrations(alias: str) -> list[str]:
    executor = MigrationExecutor(connections[alias])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _ in plan]


# --- Helpers --------------------------------------------------------------------------------
def _engine(alias: str) -> str:
    vendor = connections[alias].vendor
    if vendor not in ("postgresql", "sqlite"):
        raise BackupError(f"backups support PostgreSQL and SQLite, not {vendor}")
    return vendor


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} is not installed (apt-get install postgresql-client)"
        )
    return found


def _conninfo(settings_dict: dict[str, Any]) -> str:
    """A libpq conninfo naming only the database (host, user, password go by env)."""
    name = str(settings_dict["NAME"]).replace("\\", "\\\\").replace("'", "\\'")
    return f"dbname='{name}'"


def _pg_env(settings_dict: dict[str, Any]) -> dict[str, str]:
    """The password and TLS options travel in the environment, never on a command line."""
    _, extra = PostgresClient.settings_to_cmd_args_env(settings_dict, [])
    env = {**os.environ, **(extra or {})}
    for key, variable in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER")):
        if settings_dict.get(key):
            env[variable] = str(settings_dict[key])
    return env


def _run(command: Sequence[str], *, env: dict[str, str]) -> None:
    # A fixed binary found on PATH and an argument list, no shell.
    result = subprocess.run(  # noqa: S603  # nosec B603
        list(command), env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise BackupError(
            f"{Path(command[0]).name} failed ({result.returncode}): {result.stderr.strip()}"
        )


def _sha256(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _now_epoch() -> int:
    return int(timezone.now().timestamp())
