"""Rebuild the claim summaries from the claims (issue 20) and say whether they differed.

The summaries (``claims.models.ClaimSummary``) are kept by every save of a claim, in the
transaction that changes it, and each claim's ``paid`` by every payment recorded as paid
on it; this recomputes ``paid`` from the payments, then the summaries and the
dashboards' backlog (``BacklogEntry``) from the claims under their table locks (after
a bulk load by COPY, a raw ``UPDATE``, or to check them).

    python manage.py rebuild_summaries

Exit status 0 either way; the last line says whether the kept figures differed.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from claims.services import summaries_rebuild


class Command(BaseCommand):
    help = "按申报重新计算申报汇总，并报告原汇总是否与之不同"

    def handle(self, *args: Any, **options: Any) -> None:
        result = summaries_rebuild()
        self.stdout.write(f"汇总已重建：{result.rows} 行。")
        if result.paid_differed:
            self.stdout.write(
                self.style.WARNING(
                    f"{result.paid_differed} 条申报的已拨付金额与其拨付记录不一致，"
                    "已按拨付记录更正。"
                )
            )
        if result.backlog_differed:
            self.stdout.write(
                self.style.WARNING(
                    f"待审核积压与申报不一致：{result.backlog_differed} 组数字不同，"
                    "已按申报重建。"
                )
            )
        if result.differed:
            self.stdout.write(
                self.style.WARNING(
                    f"原汇总与申报不一致：{result.differed} 组数字不同，已按申报重建。"
                )
            )
        else:
            self.stdout.write(self.style.SUCCESS("原汇总与申报一致，无差异。"))
