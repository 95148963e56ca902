"""What the claims already filed would be judged today (issue 13).

Reading the notice once more changed what some claims may be paid (program 11 once a
school year, the uplift only where a county decided, 以工代训's months, the place of
claim, …). Claims already submitted keep the decisions they were made with: nothing here
writes. This report lists, for each claim still counting (submitted, returned, approved),
whether today's rules would refuse it or decide another amount or advance, so that the
prefecture can look at them one by one.

    python manage.py rejudge_report [--unit 654301] [--status approved] [--csv FILE]
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from claims import workflow
from claims.models import Claim
from claims.services import input_of, judge

COUNTED = (workflow.SUBMITTED, workflow.RETURNED, workflow.APPROVED)
HEADER = [
    "申报编号",
    "申报单位",
    "状态",
    "原核定金额",
    "今日核定金额",
    "原先行拨付",
    "今日先行拨付",
    "今日不符合的原因",
]


class Command(BaseCommand):
    help = "报告已提交的申报按今日规则重新审核的结果（只读，不修改任何申报）"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--unit", help="只看该申报单位（代码，如 654301）")
        parser.add_argument(
            "--status", choices=COUNTED, action="append", help="只看这些状态（可重复）"
        )
        parser.add_argument("--csv", type=Path, help="把有差异的申报写入该 CSV 文件")

    def handle(self, *args: Any, **options: Any) -> None:
        claims = Claim.objects.filter(status__in=options["status"] or COUNTED)
        if options["unit"]:
            claims = claims.filter(unit_id=options["unit"])
        tally: Counter[str] = Counter()
        rows: list[list[str]] = []
        for claim in claims.order_by("pk").iterator(chunk_size=500):
            decision = judge(input_of(claim), claim_id=claim.pk)
            tally["checked"] += 1
            refused = not decision.eligible
            changed = (decision.amount, decision.advance) != (
                claim.amount,
                claim.advance,
            )
            if not refused and not changed:
                continue
            tally["refused" if refused else "changed"] += 1
            for code in decision.codes:
                tally[f"code:{code}"] += 1
            rows.append(
                [
                    str(claim.pk),
                    claim.unit_id,
                    claim.get_status_display(),
                    str(claim.amount),
                    str(decision.amount),
                    str(claim.advance),
                    str(decision.advance),
                    "；".join(v.message for v in decision.violations),
                ]
            )
        if options["csv"]:
            try:
                with options["csv"].open("w", encoding="utf-8-sig", newline="") as fh:
                    writer = csv.writer(fh)
                    writer.writerow(HEADER)
                    writer.writerows(rows)
            except OSError as exc:
                raise CommandError(f"无法写入 {options['csv']}：{exc}") from exc
        self.stdout.write(
            f"共检查{tally['checked']}条申报：今日规则下不符合条件{tally['refused']}条，"
            f"金额或先行拨付不同{tally['changed']}条（原决定均保持不变）。"
        )
        for key, count in sorted(tally.items()):
            if key.startswith("code:"):
                self.stdout.write(f"  {key[5:]}: {count}")
        for row in rows[:20]:
            self.stdout.write("  " + " | ".join(row))
