"""``python manage.py restore PATH.tar.gz [--force]``: put back what ``backup`` wrote."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from altay_skills.backups import BackupError, read_archive, restore_backup


class Command(BaseCommand):
    help = (
        "Restore a backup archive into the configured database and MEDIA_ROOT. Every "
        "member's SHA-256 is checked first; a database that has tables is refused "
        "unless --force."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive", help="a .tar.gz written by manage.py backup")
        parser.add_argument(
            "--force",
            action="store_true",
            help="restore over a database that is not empty (its objects are replaced)",
        )
        parser.add_argument(
            "--verify-only",
            action="store_true",
            help="only check the archive against its manifest; change nothing",
        )
        parser.add_argument("--database", default="default", help="database alias")

    def handle(self, *args: Any, **opts: Any) -> None:
        self.verbosity = int(opts["verbosity"])
        try:
            if opts["verify_only"]:
                with tempfile.TemporaryDirectory(prefix=".verify-") as staging:
                    manifest = read_archive(opts["archive"], Path(staging))
                self.stdout.write(
                    self.style.SUCCESS(
                        f"archive intact: {len(manifest['members'])} members match "
                        f"the manifest of {manifest['created_at']} ({manifest['engine']})"
                    )
                )
                return
            result = restore_backup(
                opts["archive"],
                force=opts["force"],
                alias=opts["database"],
                log=self._log,
            )
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        counts = result.counts
        self.stdout.write(
            self.style.SUCCESS(
                f"restored the backup of {result.manifest['created_at']}: "
                f"{counts.get('claims.Claim')} claims, "
                f"{counts.get('claims.ClaimEvent')} claim events, "
                f"{result.media_files} media files; row counts match the manifest"
            )
        )
        if result.pending_migrations:
            self.stdout.write(
                self.style.WARNING(
                    "the code has migrations the backup had not applied; run "
                    f"`python manage.py migrate`: {', '.join(result.pending_migrations)}"
                )
            )

    def _log(self, message: str) -> None:
        if self.verbosity >= 1:
            self.stdout.write(message)
