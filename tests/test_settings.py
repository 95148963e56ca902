import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load_settings(**env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DEBUG",
            "SECRET_KEY",
            "AUDIT_KEY",
            "DATABASE_URL",
            "MIGRATION_DATABASE_URL",
            "ALTAY_DATABASE_AS_OWNER",
            "REDIS_URL",
        }
    }
    clean.update(env, DJANGO_SETTINGS_MODULE="altay_skills.settings")
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER, "
        "s.TIME_ZONE, s.LANGUAGE_CODE)"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_secret_key_is_required_when_debug_is_off():
    result = load_settings()
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_the_default_is_sqlite_with_eager_celery_in_shanghai_in_chinese():
    result = load_settings(DEBUG="1")
    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        "True",
        "Asia/Shanghai",
        "zh-hans",
    ]


def test_database_url_and_redis_url_switch_to_postgresql_and_a_real_broker():
    result = load_settings(
        SECRET_KEY="x" * 50,
        AUDIT_KEY="k" * 32,
        DATABASE_URL="postgres://u@127.0.0.1:5432/x",
        REDIS_URL="redis://127.0.0.1:6379/0",
    )
    assert result.stdout.split()[:2] == ["django.db.backends.postgresql", "False"]


# --- Issue 14, item 10: the audit key and the two database roles ------------------------
def test_the_audit_key_is_required_when_debug_is_off():
    """Production refuses to start without the key of the audit trail's chains (or with
    a short one); with DEBUG on a fixed development key is used."""
    for key in ({}, {"AUDIT_KEY": "short"}):
        result = load_settings(SECRET_KEY="x" * 50, **key)
        assert result.returncode != 0
        assert "AUDIT_KEY must be set" in result.stderr
    assert load_settings(SECRET_KEY="x" * 50, AUDIT_KEY="k" * 32).returncode == 0
    assert load_settings(DEBUG="1").returncode == 0


def database_user(*args: str, **env: str) -> str:
    return database_setting("USER", *args, **env)


def database_name(*args: str, **env: str) -> str:
    return database_setting("NAME", *args, **env)


def database_setting(key: str, *args: str, **env: str) -> str:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {"DATABASE_URL", "MIGRATION_DATABASE_URL", "ALTAY_DATABASE_AS_OWNER"}
    }
    clean.update(env, DEBUG="1", DJANGO_SETTINGS_MODULE="altay_skills.settings")
    code = (
        "import sys, manage; manage.connect_as_owner_for(['manage.py', *sys.argv[1:]]); "
        "import django; django.setup(); from django.conf import settings as s; "
        f"print(s.DATABASES['default']['{key}'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_only_the_owner_commands_connect_as_the_owner():
    urls = {
        "DATABASE_URL": "postgres://altay_app:pw@127.0.0.1:5432/x",
        "MIGRATION_DATABASE_URL": "postgres://altay_owner:pw@127.0.0.1:5432/x",
    }
    for command in ("migrate", "db_roles", "restore"):
        assert database_user(command, **urls) == "altay_owner"
    for command in ("runserver", "verify_audit", "shell", "backup"):
        assert database_user(command, **urls) == "altay_app"
    # without MIGRATION_DATABASE_URL every command uses DATABASE_URL
    assert database_user("migrate", DATABASE_URL=urls["DATABASE_URL"]) == "altay_app"


def test_an_owner_url_of_another_database_is_never_used():
    # CI exports MIGRATION_DATABASE_URL for its database; a command run against a
    # scratch SQLite or another PostgreSQL database must not migrate that one.
    owner = "postgres://altay_owner:pw@127.0.0.1:5432/altay_skills"
    elsewhere = "postgres://altay_app:pw@127.0.0.1:5432/scratch"

    assert (
        database_user("migrate", DATABASE_URL=elsewhere, MIGRATION_DATABASE_URL=owner)
        == "altay_app"
    )
    assert (
        database_name(
            "migrate",
            DATABASE_URL="sqlite:////tmp/x.sqlite3",
            MIGRATION_DATABASE_URL=owner,
        )
        == "/tmp/x.sqlite3"
    )


# --- Issue 19: one shared cache ---------------------------------------------------------
def cache_backends(**env: str) -> list[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DEBUG"}}
    clean.update(env, DEBUG="1", DJANGO_SETTINGS_MODULE="altay_skills.settings")
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(*(s.CACHES[a]['BACKEND'].rsplit('.', 1)[1] for a in ('default', 'throttle')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.split()


def test_every_cache_is_the_shared_redis_when_there_is_one():
    # gunicorn's workers must share one count per user, one worker's ping answer…
    assert cache_backends(REDIS_URL="redis://127.0.0.1:6379/0") == [
        "RedisCache",
        "RedisCache",
    ]
    # make run, with nothing installed: each process its own memory
    assert cache_backends() == ["LocMemCache", "LocMemCache"]


@pytest.mark.django_db
def test_postgresql_connections_never_jit_compile() -> None:
    """At ten million claims the planner's estimates for a few short statements pass
    jit_above_cost, and compiling cost 20 times the running (issue 20): the app's
    connections have JIT off, whatever the server's default."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("JIT is PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"


# --- make run's SQLite under clerks saving at once ----------------------------------------
CONCURRENT_WRITERS = """
import threading, time
import django
django.setup()
from django.db import connection, connections, transaction

with connection.cursor() as c:
    c.execute("CREATE TABLE IF NOT EXISTS t (n integer)")
errors = []

def writer():
    try:
        with transaction.atomic():
            with connection.cursor() as c:
                c.execute("SELECT count(*) FROM t")  # a read first, as a service does
                time.sleep(0.05)
                c.execute("INSERT INTO t VALUES (1)")
    except Exception as exc:
        errors.append(repr(exc))
    finally:
        connections.close_all()

threads = [threading.Thread(target=writer) for _ in range(6)]
for t in threads:
    t.start()
for t in threads:
    t.join()
with connection.cursor() as c:
    c.execute("SELECT count(*) FROM t")
    print(c.fetchone()[0], errors)
"""


def test_clerks_saving_at_once_on_sqlite_wait_their_turn(tmp_path: Path) -> None:
    # SQLite's deferred transactions: a transaction that read and then writes while
    # another holds the write lock fails at once with "database is locked" — the
    # timeout never applies — and make run answered five of six clerks saving at the
    # same moment 503 database_unavailable. Immediate transactions wait their turn.
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL"}}
    clean.update(
        DJANGO_SETTINGS_MODULE="altay_skills.settings",
        DEBUG="1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
    )
    result = subprocess.run(
        [sys.executable, "-c", CONCURRENT_WRITERS],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split(" ", 1) == ["6", "[]\n"], result.stdout
