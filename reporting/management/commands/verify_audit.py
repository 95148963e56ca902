"""``manage.py verify_audit``: recompute every hash chain of the audit trail — each claim's
events and each quarterly report's events — and check each line of the claims' money
ledgers against the chain event that recorded it, and each evidence document's stored
file against the SHA-256 its ``attach_document`` event recorded (issue 16).

Each link is an HMAC under the audit key (``claims.audit``), so a forged or re-hashed
event is a broken link even when written by a superuser. Then every claim's status must
be the ``to_status`` of its last event (a claim without events, or an empty trail beside
claims, fails); every report's status must be what its last status-changing event left
it in; and the trail must still hold every event the newest anchor — the daily digest of
every chain's head written outside the database (``reporting.audit``) — counted, so
events cut off the end of a chain or a truncated table are found.

Exit 0 with a summary when intact; exit 1 naming the first problem in Chinese. It lives
in the last stage because it reads the trails of the claims and of the quarters alike.
"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand

from claims.audit import claims_out_of_step, documents_verify
from claims.audit import verify as verify_claims
from classes.events import (
    classes_out_of_step,
    rosters_out_of_step,
    sessions_out_of_step,
)
from classes.events import verify as verify_classes
from finance.ledger import class_advances_verify, ledger_verify
from quarters.events import reports_out_of_step
from quarters.events import verify as verify_reports
from reporting.audit import anchor_check


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
        classes = verify_classes()
        if classes.broken is not None:
            self.stderr.write(
                f"培训班审计链断裂 (class audit chain broken): {classes.broken}"
            )
            sys.exit(1)
        lines, mismatch = ledger_verify()
        if mismatch is not None:
            self.stderr.write(f"资金账目与审计链不符 (ledger mismatch): {mismatch}")
            sys.exit(1)
        advances, problem = class_advances_verify()
        if problem is not None:
            self.stderr.write(f"培训班先行拨付与审计链不符：{problem}")
            sys.exit(1)
        self.stdout.write(f"审计链完整：{claims.events} 条记录，{claims.claims} 笔申报")
        self.stdout.write(f"资金账目与审计链一致：{lines} 条账目")
        self.stdout.write(
            f"报表审计链完整：{reports.events} 条记录，{reports.claims} 份报表"
        )
        self.stdout.write(
            f"培训班审计链完整：{classes.events} 条记录，{classes.claims} 个培训班"
        )
        anchor = anchor_check()
        if anchor.problem is not None:
            self.stderr.write(f"审计记录与锚定摘要不符：{anchor.problem}")
            sys.exit(1)
        if anchor.path is None:
            self.stdout.write(
                "锚定摘要：尚无（manage.py anchor_audit 或每日定时任务写入）"
            )
        else:
            self.stdout.write(
                f"与锚定摘要一致：{anchor.path.name}，{anchor.chains} 条审计链"
            )
        checked, out_of_step = claims_out_of_step()
        if out_of_step is not None:
            self.stderr.write(f"申报状态与审计记录不符：{out_of_step}")
            sys.exit(1)
        self.stdout.write(f"申报状态与末条审计记录一致：{checked} 笔申报")
        checked, problem = documents_verify()
        if problem is not None:
            self.stderr.write(f"证明材料与审计链不符：{problem}")
            sys.exit(1)
        self.stdout.write(f"证明材料与存储文件、审计链一致：{checked} 份材料")
        checked, out_of_step = reports_out_of_step()
        if out_of_step is not None:
            self.stderr.write(f"报表状态与审计记录不符：{out_of_step}")
            sys.exit(1)
        self.stdout.write(f"报表状态与末条审计记录一致：{checked} 份报表")
        checked, out_of_step = classes_out_of_step()
        if out_of_step is not None:
            self.stderr.write(f"培训班状态与审计记录不符：{out_of_step}")
            sys.exit(1)
        self.stdout.write(f"培训班状态与末条审计记录一致：{checked} 个培训班")
        checked, out_of_step = sessions_out_of_step()
        if out_of_step is not None:
            self.stderr.write(f"课次与审计记录不符：{out_of_step}")
            sys.exit(1)
        self.stdout.write(f"课次的日期、学时和出勤人员与审计记录一致：{checked} 个课次")
        checked, out_of_step = rosters_out_of_step()
        if out_of_step is not None:
            self.stderr.write(f"培训班名单与审计记录不符：{out_of_step}")
            sys.exit(1)
        self.stdout.write(f"培训班名单及其申报与审计记录一致：{checked} 个培训班")
        self.stdout.write(f"培训班先行拨付与审计链一致：{advances} 笔")
