"""``manage.py anchor_audit``: write the digest of every audit chain's head outside the
database now (the daily beat task does the same; ``reporting.audit``)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from reporting.audit import anchor_write


class Command(BaseCommand):
    help = "Write a signed digest of every audit chain's head under AUDIT_ANCHOR_DIR."

    def handle(self, *args: object, **options: object) -> None:
        path = anchor_write()
        self.stdout.write(f"锚定摘要已写入：{path}")
