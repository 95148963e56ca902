"""``manage.py dispatch_outbox``: publish the outbox messages still pending now.

For an operator after a broker outage (beat does the same every minute, but only for
messages that waited a minute). Exit 1 if the broker still refuses.
"""

from __future__ import annotations

import sys
from argparse import ArgumentParser
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand

from altay_skills.models import OutboxMessage, OutboxStatus
from altay_skills.outbox import dispatch_pending


class Command(BaseCommand):
    help = (
        "Publish the pending outbox messages (work queued while the broker was down)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--older-than",
            type=float,
            default=0,
            metavar="SECONDS",
            help="only messages written at least this long ago (default: all)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        age = timedelta(seconds=options["older_than"])
        result = dispatch_pending(unsent_after=age, undone_after=age)
        pending = OutboxMessage.objects.filter(status=OutboxStatus.PENDING).count()
        self.stdout.write(
            f"已发送 {result.published} 条，待执行 {pending} 条"
            f" (published {result.published}, pending {pending})"
        )
        if result.failed:
            self.stderr.write("消息队列仍不可用 (the broker is still unavailable)")
            sys.exit(1)
