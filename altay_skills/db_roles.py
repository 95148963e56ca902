"""The application's database role, which owns nothing (issue 14, item 10).

On PostgreSQL two roles share the database: the **owner** of every table (it runs
``migrate``; ``MIGRATION_DATABASE_URL``) and the **application's role** (the web, the
worker, beat and every other command; ``DATABASE_URL``). ``manage.py db_roles``, run by
the owner after every ``migrate``, creates the application's role if it is missing and
sets its privileges from nothing, idempotently:

- it owns no table, no schema and is no member of the owner: it cannot ``ALTER`` or
  ``DROP`` a table, ``DISABLE TRIGGER`` or ``TRUNCATE``, and has no ``CREATE`` on the
  schema (no DDL at all); it is no superuser and may not create roles or databases;
- the append-only tables (``APPEND_ONLY_TABLES``: claim and report events, ledger lines,
  reveals of ID numbers, a person's fact changes) it may only ``SELECT`` and ``INSERT``
  — the triggers refuse ``UPDATE`` and ``DELETE`` to the owner too, but only ownership
  could turn them off;
- ``django_migrations`` it may only read; every other table ``SELECT``, ``INSERT``,
  ``UPDATE``, ``DELETE`` (never ``TRUNCATE``, ``REFERENCES`` or ``TRIGGER``); every
  sequence ``USAGE`` and ``SELECT`` (``pg_dump`` reads them for ``make backup``);
- default privileges give tables and sequences the owner creates later the same
  ordinary rights, so the application keeps working between a ``migrate`` and the next
  ``db_roles``; a new append-only table is narrowed by that next run (its trigger holds
  meanwhile).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import connections, transaction

#: Tables the application may read and append to, never change (each also has a
#: trigger refusing UPDATE and DELETE; tests/test_db_roles.py keeps the two sets equal).
APPEND_ONLY_TABLES = (
    "claims_claimevent",
    "quarters_reportevent",
    "classes_classevent",
    "finance_ledgerentry",
    "trainees_idnumberreveal",
    "trainees_traineefactchange",
    "claims_document",
    "claims_documentdownload",
)
#: Tables the application may only read.
READ_ONLY_TABLES = ("django_migrations",)

ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class RoleError(Exception):
    """The role cannot be made safe (in Chinese, for the command's message)."""


@dataclass
class RoleReport:
    role: str
    created: bool
    tables: int = 0
    append_only: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _quote(name: str) -> str:
    if not ROLE_NAME.match(name):
        raise RoleError(f"角色名 {name!r} 不合规：只允许小写字母、数字和下划线")
    return f'"{name}"'


def app_role_set_up(
    *,
    role: str,
    password: str | None,
    using: str = "default",
    log: Callable[[str], None] = lambda _line: None,
) -> RoleReport:
    """Create ``role`` if missing and grant it exactly the application's privileges,
    as the owner connected on ``using``. Refuses an unsafe role rather than use it."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        raise RoleError("数据库角色只适用于 PostgreSQL（SQLite 没有角色）")
    quoted = _quote(role)
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute("SELECT current_user, current_database()")
        owner, database = cursor.fetchone()
        if role == owner:
            raise RoleError(
                f"应用角色 {role} 就是表的所有者：DATABASE_URL 与 "
                "MIGRATION_DATABASE_URL 须是两个不同的角色"
            )
        cursor.execute(
            "SELECT oid, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, "
            "rolreplication FROM pg_roles WHERE rolname = %s",
            [role],
        )
        found = cursor.fetchone()
        created = found is None
        if created:
            if not password:
                raise RoleError(f"角色 {role} 不存在，且 DATABASE_URL 未给出其密码")
            cursor.execute(
                f"CREATE ROLE {quoted} LOGIN PASSWORD %s NOSUPERUSER NOCREATEDB "
                "NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT",
                [password],
            )
            log(f"created role {role}")
        elif any(found[1:]):
            raise RoleError(
                f"角色 {role} 是超级用户或可建角色、建库、绕过行级安全、复制："
                "应用角色不得有这些权限"
            )
        report = RoleReport(role=role, created=created)
        _refuse_ownership_or_membership(cursor, role=role, owner=owner)
        _grant(cursor, quoted=quoted, database=database, owner=owner, report=report)
    return report


def _refuse_ownership_or_membership(cursor: Any, *, role: str, owner: str) -> None:
    cursor.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner "
        "WHERE r.rolname = %s UNION ALL SELECT n.nspname FROM pg_namespace n "
        "JOIN pg_roles r ON r.oid = n.nspowner WHERE r.rolname = %s LIMIT 5",
        [role, role],
    )
    owned = [row[0] for row in cursor.fetchall()]
    if owned:
        raise RoleError(
            f"应用角色 {role} 拥有数据库对象（{', '.join(owned)}）："
            "请先把它们转给表的所有者（REASSIGN OWNED）"
        )
    cursor.execute(
        "SELECT pg_has_role(%s, %s, 'MEMBER') OR pg_has_role(%s, 'pg_write_all_data',"
        " 'MEMBER') OR pg_has_role(%s, 'pg_database_owner', 'MEMBER')",
        [role, owner, role, role],
    )
    if cursor.fetchone()[0]:
        raise RoleError(f"应用角色 {role} 是所有者 {owner} 或全库写入角色的成员")


def _grant(
    cursor: Any, *, quoted: str, database: str, owner: str, report: RoleReport
) -> None:
    cursor.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
    )
    tables = [row[0] for row in cursor.fetchall()]
    report.tables = len(tables)
    db = '"' + database.replace('"', '""') + '"'
    owner_quoted = '"' + owner.replace('"', '""') + '"'
    statements = [
        f"GRANT CONNECT ON DATABASE {db} TO {quoted}",
        f"REVOKE CREATE, TEMPORARY ON DATABASE {db} FROM {quoted}",
        f"GRANT USAGE ON SCHEMA public TO {quoted}",
        f"REVOKE CREATE ON SCHEMA public FROM {quoted}",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {quoted}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {quoted}",
        f"REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM {quoted}",
        "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public "
        f"TO {quoted}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner_quoted} IN SCHEMA public "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {quoted}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner_quoted} IN SCHEMA public "
        f"GRANT USAGE, SELECT ON SEQUENCES TO {quoted}",
    ]
    for table in APPEND_ONLY_TABLES:
        if table in tables:
            statements.append(f"REVOKE UPDATE, DELETE ON {table} FROM {quoted}")
            report.append_only.append(table)
        else:
            report.notes.append(f"append-only table {table} is missing")
    for table in READ_ONLY_TABLES:
        if table in tables:
            statements.append(f"REVOKE INSERT, UPDATE, DELETE ON {table} FROM {quoted}")
    for statement in statements:
        cursor.execute(statement)
    # PUBLIC's CREATE on the schema (PostgreSQL 14 and older grant it) reaches every role
    cursor.execute(
        "SELECT has_schema_privilege(%s, 'public', 'CREATE')", [quoted.strip('"')]
    )
    if cursor.fetchone()[0]:
        raise RoleError(
            "应用角色仍可在 public 模式中建表（PUBLIC 有 CREATE 权限）：请以超级用户执行 "
            "REVOKE CREATE ON SCHEMA public FROM PUBLIC"
        )
