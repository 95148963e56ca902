"""``python manage.py backup [--output PATH.tar.gz]``: the database and MEDIA_ROOT in one
archive with a manifest (see ``altay_skills/backups.py`` and the README)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from altay_skills.backups import BackupError, create_backup


class Command(BaseCommand):
    help = (
        "Back up the database (pg_dump --format=custom, or a SQLite copy) and every "
        "file under MEDIA_ROOT into one .tar.gz with a manifest of SHA-256 sums."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--output",
            "-o",
            help="the archive to write (default: BACKUP_DIR/altay-skills-<time>.tar.gz)",
        )
        parser.add_argument("--database", default="default", help="database alias")

    def handle(self, *args: Any, **opts: Any) -> None:
        self.verbosity = int(opts["verbosity"])
        # BACKUP_DIR, where the timer's rotation and the off-host copy look
        output = opts["output"] or str(
            Path(settings.BACKUP_DIR)
            / f"altay-skills-{timezone.localtime():%Y%m%d-%H%M%S}.tar.gz"
        )
        try:
            manifest = create_backup(output, alias=opts["database"], log=self._log)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        counts = manifest["counts"]
        self.stdout.write(
            self.style.SUCCESS(
                f"backup written: {Path(output).resolve()} — "
                f"{counts.get('claims.Claim')} claims, "
                f"{counts.get('claims.ClaimEvent')} claim events, "
                f"{len(manifest['members']) - 1} media files"
            )
        )

    def _log(self, message: str) -> None:
        if self.verbosity >= 2:
            self.stdout.write(message)
