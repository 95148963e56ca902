"""``manage.py verify_audit``: recompute every claim's event hash chain.

Exit 0 with a summary when intact; exit 1 naming the first broken link (a rewritten
event, or a deleted one: the next event's ``prev_hash`` no longer matches).
"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand

from claims.audit import verify


class Command(BaseCommand):
    help = (
        "Verify the hash chain over the claim audit trail; name the first broken link."
    )

    def handle(self, *args: object, **options: object) -> None:
        verdict = verify()
        if verdict.broken is not None:
            self.stderr.write(f"审计链断裂 (audit chain broken): {verdict.broken}")
            sys.exit(1)
        self.stdout.write(
            f"审计链完整：{verdict.events} 条记录，{verdict.claims} 笔申报"
        )
