"""Backup and restore (issue 6, item 7): a quarter with its rollup and workbook is backed
up, restored into an empty database, and found there unchanged — the claims, their
totals, the rollup, every audit event and the workbook, byte for byte."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command, get_commands
from django.db import connection
from django.db.models import Sum

import pikepdf
import pytest
from PIL import Image

from altay_skills import backups
from claims import evidence
from claims import services as claim_services
from claims.models import Claim, ClaimEvent, Document
from finance import services as reporting
from finance.models import Rollup
from tests.factories import TraineeFactory
from tests.quarter_run import run_quarter

ROOT = Path(__file__).resolve().parent.parent
transactional = pytest.mark.django_db(transaction=True, serialized_rollback=True)
on_postgres = os.environ.get("DATABASE_URL", "").startswith("postgres")
requires_postgres = pytest.mark.skipif(
    not on_postgres,
    reason="pg_dump / pg_restore round trip: needs DATABASE_URL=postgres://… (CI sets it)",
)


def snapshot() -> dict[str, Any]:
    """What must survive: claims and their total, rollups, the audit trail, workbooks.

    Also run inside ``manage.py shell`` against the restored database.
    """
    events = hashlib.sha256()
    fields = [f.attname for f in ClaimEvent._meta.concrete_fields]
    for row in ClaimEvent.objects.order_by("id").values_list(*fields):
        events.update(json.dumps(row, default=str, sort_keys=True).encode() + b"\n")
    approved = Claim.objects.aggregate(t=Sum("approved_amount"))["t"] or 0
    media = Path(settings.MEDIA_ROOT)
    rollups = []
    for r in Rollup.objects.order_by("quarter"):
        workbook = media / r.workbook
        rollups.append(
            {
                "quarter": r.quarter,
                "status": r.status,
                "checksum": r.checksum,
                "totals": r.totals,
                "lines": r.lines.count(),
                "workbook": r.workbook,
                "workbook_sha256": r.workbook_sha256,
                "file_sha256": hashlib.sha256(workbook.read_bytes()).hexdigest()
                if workbook.is_file()
                else None,
            }
        )
    documents = [
        {
            "id": d.pk,
            "sha256": d.sha256,
            "stored_as": d.stored_as,
            "file_sha256": evidence.stored_sha256(d.stored_as),
        }
        for d in Document.objects.order_by("pk")
    ]
    return {
        "documents": documents,
        "claims": Claim.objects.count(),
        "claims_by_status": dict(
            sorted(
                (s, Claim.objects.filter(status=s).count())
                for s in Claim.objects.values_list("status", flat=True).distinct()
            )
        ),
        "approved_amount": str(Decimal(str(approved)).quantize(Decimal("0.01"))),
        "events": ClaimEvent.objects.count(),
        "events_sha256": events.hexdigest(),
        "rollups": rollups,
        "counts": backups.database_counts(),
    }


SNAPSHOT = (
    "import json; from tests.test_backup_restore import snapshot; "
    "print(json.dumps(snapshot(), sort_keys=True))"
)


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``manage.py`` in a fresh process, pointed at another database by ``env``."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "MEDIA_ROOT", "DEBUG"}
    }
    clean.update(env, DEBUG="1", DJANGO_SETTINGS_MODULE="altay_skills.settings")
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def restored_snapshot(**env: str) -> dict[str, Any]:
    result = manage("shell", "-c", SNAPSHOT, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def quarter_on_file(
    claim_input, reviewer, settings, tmp_path, django_capture_on_commit_callbacks
) -> Rollup:
    """A closed quarter, its rollup built with its workbook, another stored file, and
    a draft with two evidence documents (issue 16: stored under MEDIA_ROOT/documents/).
    """
    settings.MEDIA_ROOT = tmp_path / "media"
    quarter = run_quarter(claim_input, reviewer)
    clerk = quarter.approved[0].created_by
    draft = claim_services.claim_create(
        data=claim_input(
            trainee_id=TraineeFactory(groups=["poor_labour"]).pk,
            unit_id=clerk.unit_id,
            training_start=date(2020, 7, 1),
            training_end=date(2020, 7, 31),
        ),
        actor=clerk,
    )
    image = io.BytesIO()
    Image.new("RGB", (30, 20), (1, 2, 3)).save(image, format="PNG")
    pdf = io.BytesIO()
    with pikepdf.new() as blank:
        blank.add_blank_page()
        blank.save(pdf)
    for kind, name, body in (
        ("attendance", "签到表.png", image.getvalue()),
        ("roster", "花名册.pdf", pdf.getvalue()),
    ):
        claim_services.claim_attach_document(
            claim_id=draft.pk,
            kind=kind,
            upload=SimpleUploadedFile(name, body),
            actor=clerk,
        )
    with django_capture_on_commit_callbacks(execute=True):
        rollup = reporting.rollup_request(quarter="2020Q1", actor=reviewer)
    rollup.refresh_from_db()
    assert rollup.status == "ready" and rollup.workbook
    other = Path(settings.MEDIA_ROOT) / "imports" / "staged.bin"
    other.parent.mkdir(parents=True)
    other.write_bytes(os.urandom(2048))
    (Path(settings.MEDIA_ROOT) / "rollups" / "half.xlsx.1.partial").write_bytes(b"x")
    return rollup


def back_up(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    archive = tmp_path / "backup.tar.gz"
    call_command("backup", output=str(archive), verbosity=0)
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        names = set(tar.getnames())
    assert names == {"manifest.json", *manifest["members"]}
    assert oct(archive.stat().st_mode & 0o777) == "0o600"  # it holds personal data
    return archive, manifest


def check_manifest(manifest: dict[str, Any], rollup: Rollup) -> None:
    assert manifest["engine"] == connection.vendor
    assert manifest["created_at"]
    assert "0001_initial" in manifest["migrations"]["claims"][0]
    # the quarter's 8 claims and the draft holding the evidence documents
    assert manifest["counts"]["claims.Claim"] == Claim.objects.count() == 9
    for document in Document.objects.all():  # the documents are in the archive
        member = manifest["members"][f"media/{document.stored_as}"]
        assert member["sha256"] == document.sha256
    assert manifest["counts"]["claims.ClaimEvent"] == ClaimEvent.objects.count()
    workbook = f"media/{rollup.workbook}"
    assert manifest["members"][workbook]["sha256"] == rollup.workbook_sha256
    assert "media/imports/staged.bin" in manifest["members"]
    assert not any(name.endswith(".partial") for name in manifest["members"])


@requires_postgres
@transactional
def test_a_postgres_backup_restores_into_an_empty_database(quarter_on_file, tmp_path):
    rollup = quarter_on_file
    source = snapshot()
    assert source["claims"] == 9 and source["rollups"][0]["file_sha256"]
    assert (
        len(source["documents"]) > 2
    )  # the draft's two and the sampled claims' sheets
    assert all(d["file_sha256"] == d["sha256"] for d in source["documents"])
    archive, manifest = back_up(tmp_path)
    check_manifest(manifest, rollup)
    assert set(manifest["members"]) >= {"database.pgdump"}

    import psycopg2

    params = connection.settings_dict
    admin = psycopg2.connect(
        dbname="postgres",
        user=params["USER"] or None,
        password=params["PASSWORD"] or None,
        host=params["HOST"] or None,
        port=params["PORT"] or None,
    )
    admin.autocommit = True
    name = f"altay_restore_{uuid.uuid4().hex[:12]}"
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        auth = params["USER"] + (f":{params['PASSWORD']}" if params["PASSWORD"] else "")
        where = {
            "DATABASE_URL": f"postgres://{auth}@{params['HOST'] or '127.0.0.1'}:"
            f"{params['PORT'] or 5432}/{name}",
            "MEDIA_ROOT": str(tmp_path / "restored-media"),
        }
        restored = manage("restore", str(archive), **where)
        assert restored.returncode == 0, restored.stderr
        assert "row counts match the manifest" in restored.stdout

        assert restored_snapshot(**where) == json.loads(json.dumps(source))
        for document in source["documents"]:  # each evidence file, byte for byte
            body = (tmp_path / "restored-media" / document["stored_as"]).read_bytes()
            assert hashlib.sha256(body).hexdigest() == document["sha256"]
        workbook = tmp_path / "restored-media" / rollup.workbook
        assert hashlib.sha256(workbook.read_bytes()).hexdigest() == (
            rollup.workbook_sha256
        )
        assert (
            tmp_path / "restored-media" / "imports" / "staged.bin"
        ).read_bytes() == (
            Path(settings.MEDIA_ROOT) / "imports" / "staged.bin"
        ).read_bytes()

        # a database that is no longer empty is refused without --force …
        again = manage("restore", str(archive), **where)
        assert again.returncode != 0 and "not empty" in again.stderr
        # … and replaced with it (pg_restore --clean --if-exists), all in one transaction
        forced = manage("restore", "--force", str(archive), **where)
        assert forced.returncode == 0, forced.stderr
        assert restored_snapshot(**where)["events_sha256"] == source["events_sha256"]

        if "verify_audit" in get_commands():  # the hash chain over the audit trail
            audit = manage("verify_audit", **where)
            assert audit.returncode == 0, audit.stdout + audit.stderr
            # the draft's two documents and the sampled claims' sign-in sheets
            assert len(source["documents"]) > 2
            assert (
                f"证明材料与存储文件、审计链一致：{len(source['documents'])} 份材料"
                in audit.stdout
            )
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.mark.skipif(
    on_postgres, reason="SQLite's backup API; on PostgreSQL the test above runs instead"
)
@transactional
def test_a_sqlite_backup_restores_into_a_new_file(quarter_on_file, tmp_path):
    rollup = quarter_on_file
    source = snapshot()
    archive, manifest = back_up(tmp_path)
    check_manifest(manifest, rollup)
    assert "database.sqlite3" in manifest["members"]
    where = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'restored.sqlite3'}",
        "MEDIA_ROOT": str(tmp_path / "restored-media"),
    }
    restored = manage("restore", str(archive), **where)
    assert restored.returncode == 0, restored.stderr
    assert restored_snapshot(**where) == json.loads(json.dumps(source))
    for document in source["documents"]:  # each evidence file, byte for byte
        body = (tmp_path / "restored-media" / document["stored_as"]).read_bytes()
        assert hashlib.sha256(body).hexdigest() == document["sha256"]
    audit = manage("verify_audit", **where)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    # the draft's two documents and the sampled claims' sign-in sheets
    assert len(source["documents"]) > 2
    assert (
        f"证明材料与存储文件、审计链一致：{len(source['documents'])} 份材料"
        in audit.stdout
    )
    again = manage("restore", str(archive), **where)
    assert again.returncode != 0 and "not empty" in again.stderr
    assert manage("restore", "--force", str(archive), **where).returncode == 0


# --- The archive is checked before anything is touched ------------------------------------
def make_archive(
    tmp_path: Path, members: dict[str, bytes], manifest: Any = None
) -> Path:
    if manifest is None:
        manifest = {
            "format": backups.ARCHIVE_FORMAT,
            "created_at": "2020-04-01T00:00:00+00:00",
            "engine": "sqlite",
            "counts": {},
            "members": {
                name: {"sha256": hashlib.sha256(body).hexdigest(), "size": len(body)}
                for name, body in members.items()
            },
        }
    archive = tmp_path / "crafted.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, body in {
            **members,
            "manifest.json": json.dumps(manifest).encode(),
        }.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    return archive


def test_an_intact_archive_passes_verification(tmp_path):
    archive = make_archive(
        tmp_path, {"database.sqlite3": b"db", "media/rollups/a.xlsx": b"book"}
    )
    manifest = backups.read_archive(archive, tmp_path / "out")
    assert (tmp_path / "out" / "media" / "rollups" / "a.xlsx").read_bytes() == b"book"
    assert manifest["engine"] == "sqlite"


def test_a_changed_member_is_refused(tmp_path):
    members = {"database.sqlite3": b"db", "media/rollups/a.xlsx": b"book"}
    archive = make_archive(tmp_path, members)
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    tampered = make_archive(
        tmp_path, {**members, "media/rollups/a.xlsx": b"BOOK"}, manifest
    )
    with pytest.raises(backups.BackupError, match="SHA-256"):
        backups.read_archive(tampered, tmp_path / "out")


@pytest.mark.parametrize(
    "name",
    ["../outside.txt", "/etc/cron.d/x", "media/../../x", "notes.txt", "media"],
)
def test_members_outside_the_layout_are_refused(tmp_path, name):
    archive = make_archive(tmp_path, {"database.sqlite3": b"db", name: b"x"})
    with pytest.raises(backups.BackupError, match="unexpected member"):
        backups.read_archive(archive, tmp_path / "out")
    assert not (tmp_path / "outside.txt").exists()


def test_a_member_missing_from_the_manifest_is_refused(tmp_path):
    manifest = {"format": 1, "engine": "sqlite", "counts": {}, "members": {}}
    archive = make_archive(tmp_path, {"database.sqlite3": b"db"}, manifest)
    with pytest.raises(backups.BackupError, match="does not match its manifest"):
        backups.read_archive(archive, tmp_path / "out")


def test_restore_verify_only_changes_nothing(tmp_path):
    archive = make_archive(tmp_path, {"database.sqlite3": b"db"})
    result = manage(
        "restore",
        "--verify-only",
        str(archive),
        DATABASE_URL=f"sqlite:///{tmp_path / 'untouched.sqlite3'}",
    )
    assert result.returncode == 0, result.stderr
    assert "archive intact" in result.stdout
    assert not (tmp_path / "untouched.sqlite3").exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_backup_without_output_is_written_into_backup_dir(
    tmp_path: Path, settings: Any
) -> None:
    # given the installation's BACKUP_DIR (the timer's unit names no --output)
    settings.BACKUP_DIR = tmp_path / "backups"
    settings.BACKUP_DIR.mkdir()
    # when the backup runs as the unit starts it
    call_command("backup", verbosity=0)
    # then the archive is where the rotation and the off-host copy look for it
    [archive] = settings.BACKUP_DIR.glob("altay-skills-*.tar.gz")
    assert tarfile.is_tarfile(archive)
