#!/usr/bin/env python
"""Django's command-line utility for Altay Skills."""

import os
import sys

#: Commands that change the schema or the roles: they connect as the owner of the tables
#: (MIGRATION_DATABASE_URL) when it is set; every other command, the web and the worker
#: connect as the application's role (DATABASE_URL). See altay_skills/db_roles.py.
OWNER_COMMANDS = {
    "migrate",
    "db_roles",
    "audit_rekey",
    "restore",
    "flush",
    "createcachetable",
}


def connect_as_owner_for(argv: list[str]) -> None:
    """An owner command reads MIGRATION_DATABASE_URL (settings.py), any other DATABASE_URL."""
    if len(argv) > 1 and argv[1] in OWNER_COMMANDS:
        os.environ["ALTAY_DATABASE_AS_OWNER"] = "1"


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "altay_skills.settings")
    connect_as_owner_for(sys.argv)
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
