"""The application's database role owns nothing (issue 14, item 10).

The suite creates its test database as the owner (``DATABASE_URL`` in ``make test`` is
the owner); these tests give that database an application role with ``db_roles``'
own function and connect as it, as the web, the worker and beat do in production
(``DATABASE_URL`` there): no DDL, no ``TRUNCATE``, no ``DISABLE TRIGGER``, no ``UPDATE``
or ``DELETE`` of the append-only tables, and yet a claim's whole life works."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.db import connection

import pytest

from altay_skills.db_roles import (
    APPEND_ONLY_TABLES,
    RoleError,
    app_role_set_up,
)
from tests.conftest import requires_postgres

pytestmark = [requires_postgres, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def app_role(django_db_setup: Any, django_db_blocker: Any) -> Iterator[dict[str, str]]:
    """A role of this test database's own (roles are cluster-wide: one per worker and
    run), set up as ``manage.py db_roles`` does, dropped at the end."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    role = f"altay_test_app_{worker}_{os.getpid()}"
    password = secrets.token_urlsafe(16)
    with django_db_blocker.unblock():
        app_role_set_up(role=role, password=password)
        app_role_set_up(role=role, password=password)  # idempotent: twice is once
        settings = connection.settings_dict
        yield {
            "role": role,
            "password": password,
            "host": settings["HOST"] or "127.0.0.1",
            "port": str(settings["PORT"] or 5432),
            "name": settings["NAME"],
        }
        with connection.cursor() as cursor:
            cursor.execute(f'DROP OWNED BY "{role}"')
            cursor.execute(f'DROP ROLE "{role}"')


def as_app(app_role: dict[str, str]) -> Any:
    import psycopg2

    conn = psycopg2.connect(
        host=app_role["host"],
        port=app_role["port"],
        dbname=app_role["name"],
        user=app_role["role"],
        password=app_role["password"],
    )
    conn.autocommit = True
    return conn


REFUSED = [
    "CREATE TABLE forged (id int)",
    "ALTER TABLE claims_claim ADD COLUMN forged int",
    "DROP TABLE claims_claim CASCADE",
    "ALTER TABLE claims_claimevent DISABLE TRIGGER claims_claimevent_append_only",
    "ALTER TABLE claims_claimevent DISABLE TRIGGER ALL",
    "CREATE TRIGGER forged BEFORE INSERT ON claims_claim "
    "FOR EACH ROW EXECUTE FUNCTION claims_claimevent_append_only()",
    "SET session_replication_role = replica",
    "CREATE ROLE forged",
    *[f"TRUNCATE {table} CASCADE" for table in APPEND_ONLY_TABLES],
    "TRUNCATE claims_claim CASCADE",
    *[f"UPDATE {table} SET id = id" for table in APPEND_ONLY_TABLES],
    *[f"DELETE FROM {table}" for table in APPEND_ONLY_TABLES],
    "INSERT INTO django_migrations (app, name, applied) VALUES ('x', 'x', now())",
]


@pytest.mark.django_db
@pytest.mark.parametrize("sql", REFUSED)
def test_the_app_role_is_refused(app_role, sql):
    import psycopg2

    conn = as_app(app_role)
    try:
        with (
            pytest.raises(psycopg2.errors.InsufficientPrivilege),
            conn.cursor() as cursor,
        ):
            cursor.execute(sql)
    finally:
        conn.close()


@pytest.mark.django_db
def test_the_app_role_owns_nothing_and_has_no_powers(app_role):
    role = app_role["role"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolreplication "
            "FROM pg_roles WHERE rolname = %s",
            [role],
        )
        assert cursor.fetchone() == (False, False, False, False, False)
        cursor.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner "
            "WHERE r.rolname = %s",
            [role],
        )
        assert cursor.fetchone() == (0,)
        cursor.execute(
            "SELECT DISTINCT privilege_type FROM information_schema.role_table_grants "
            "WHERE grantee = %s",
            [role],
        )
        granted = {row[0] for row in cursor.fetchall()}
        assert granted == {"SELECT", "INSERT", "UPDATE", "DELETE"}
        for table in APPEND_ONLY_TABLES:
            cursor.execute(
                "SELECT privilege_type FROM information_schema.role_table_grants "
                "WHERE grantee = %s AND table_name = %s ORDER BY 1",
                [role, table],
            )
            assert [row[0] for row in cursor.fetchall()] == ["INSERT", "SELECT"], table


@pytest.mark.django_db
def test_every_table_with_an_append_only_trigger_is_append_only_for_the_app():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgrelid::regclass::text FROM pg_trigger "
            "WHERE NOT tgisinternal AND tgname LIKE '%%append_only'"
        )
        assert {row[0] for row in cursor.fetchall()} == set(APPEND_ONLY_TABLES)


@pytest.mark.django_db
def test_the_owner_itself_or_a_superuser_is_refused_as_the_app_role():
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        owner = cursor.fetchone()[0]
    with pytest.raises(RoleError, match="就是表的所有者"):
        app_role_set_up(role=owner, password="x")
    with pytest.raises(RoleError, match="不合规"):
        app_role_set_up(role='x"; DROP TABLE claims_claim; --', password="x")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_claim_s_whole_life_works_as_the_app_role(
    app_role, clerk, reviewer, claim_input, tmp_path
):
    """The web's and the worker's writes need nothing the role lacks: create, submit,
    report, approve (with its ledger line), the anchor, and verify_audit."""
    from claims import services

    claim = services.claim_create(data=claim_input(), actor=clerk)
    url = (
        f"postgres://{app_role['role']}:{app_role['password']}@{app_role['host']}:"
        f"{app_role['port']}/{app_role['name']}"
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"MIGRATION_DATABASE_URL", "ALTAY_DATABASE_AS_OWNER"}
    }
    env.update(
        DEBUG="1", DATABASE_URL=url, DJANGO_SETTINGS_MODULE="altay_skills.settings"
    )
    code = (
        "import django; django.setup()\n"
        "from claims import services; from quarters import services as q\n"
        "from claims.models import Claim; from accounts.models import User\n"
        "from tests.factories import send_to_prefecture\n"
        "from django.db import connection\n"
        "with connection.cursor() as c:\n"
        "    c.execute('SELECT current_user'); print(c.fetchone()[0])\n"
        f"clerk = User.objects.get(pk={clerk.pk})\n"
        f"reviewer = User.objects.get(pk={reviewer.pk})\n"
        f"services.claim_submit(claim_id={claim.pk}, actor=clerk)\n"
        # drawn and checked before approval, all as the app role
        f"send_to_prefecture(Claim.objects.get(pk={claim.pk}), sampled_by=reviewer)\n"
        f"q.claim_approve(claim_id={claim.pk}, actor=reviewer)\n"
        "from django.core.management import call_command\n"
        "call_command('anchor_audit')\n"
        "call_command('verify_audit')\n"
    )
    env["AUDIT_ANCHOR_DIR"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[0] == app_role["role"]
    assert "与锚定摘要一致" in result.stdout
    claim.refresh_from_db()
    assert claim.status == "approved"
