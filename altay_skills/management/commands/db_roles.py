"""``manage.py db_roles``: as the owner of the tables (``MIGRATION_DATABASE_URL``; manage.py
connects as the owner for this command), create the application's role named by
``DATABASE_URL`` if it is missing and grant it exactly what it needs
(``altay_skills.db_roles``). Run it after every ``migrate``; running it twice changes
nothing."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from altay_skills.db_roles import RoleError, app_role_set_up


class Command(BaseCommand):
    help = (
        "Create or update the application's database role (DATABASE_URL) and its "
        "grants, as the owner (MIGRATION_DATABASE_URL). PostgreSQL only."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--role", help="the application's role (default: DATABASE_URL's user)"
        )
        parser.add_argument("--database", default="default", help="database alias")

    def handle(self, *args: Any, **opts: Any) -> None:
        role = opts["role"] or settings.APP_DATABASE.get("USER") or ""
        password = None if opts["role"] else settings.APP_DATABASE.get("PASSWORD")
        try:
            report = app_role_set_up(
                role=role,
                password=password,
                using=opts["database"],
                log=lambda line: self.stdout.write(line),
            )
        except RoleError as exc:
            raise CommandError(str(exc)) from exc
        for note in report.notes:
            self.stderr.write(note)
        self.stdout.write(
            f"应用角色 {report.role}{'（新建）' if report.created else ''}："
            f"共 {report.tables} 张表，其中只可追加 {len(report.append_only)} 张，"
            "不拥有任何对象"
        )
