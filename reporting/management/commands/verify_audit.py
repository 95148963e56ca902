"""``manage.py verify_audit``: recompute every hash chain of the audit trail — each claim's
events and each quarterly report's events — and check each line of the claims' money
ledgers against the chain event that recorded it.

Exit 0 with a summary when intact; exit 1 naming the first broken link (a rewritten
event, or a deleted one: the next event's ``prev_hash`` no longer matches). It lives in
the last stage because it reads the trails of the claims and of the quarters alike.
"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand

from claims.audit import verify as verify_claims
from finance.ledger import ledger_verify
from quarters.events import verify as verify_reports


class Command(BaseCommand):
    help = (
        "Verify the hash chains over the claims' and the reports' audit trails; "
        "name the first broken link."
    )

    def handle(self, *args: object, **options: object) -> None:
        claims = verify_claims()
        if claims.broken is not None:
            self.stderr.write(f"审计链断裂 (audit chain broken): {claims.broken}")
            sys.exit(1)
        reports = verify_reports()
        if reports.broken is not None:
            self.stderr.write(
                f"报表审计链断裂 (report audit chain broken): {reports.broken}"
            )
            sys.exit(1)
        lines, mismatch = ledger_verify()
        if mismatch is not None:
            self.stderr.write(f"资金账目与审计链不符 (ledger mismatch): {mismatch}")
            sys.exit(1)
        self.stdout.write(f"审计链完整：{claims.events} 条记录，{claims.claims} 笔申报")
        self.stdout.write(f"资金账目与审计链一致：{lines} 条账目")
        self.stdout.write(
            f"报表审计链完整：{reports.events} 条记录，{reports.claims} 份报表"
        )
