"""``manage.py beat_leader``: Celery beat on exactly one host, whichever holds the lock.

Every app host runs this command (issue 21); each tries a PostgreSQL session advisory
lock on a connection of its own, and the one that holds it runs ``celery beat`` as its
child. The lock lives as long as that connection: when the host dies, its connection
closes and PostgreSQL frees the lock; another host takes it within a second or two
and starts its beat. When the leader loses the database (a failover cuts every
session; HAProxy shuts the sessions of a server it marks down), its next check fails
and it stops its beat at once — before any other host can hold the lock on the new
primary, which takes the failover's 10 s or more. So two beats never send the same
periodic task, and one always runs while a database and one host are up.

Two beats would send every periodic task twice (django_celery_beat's schedule is in
the database, not in a lock); the tasks are idempotent, but the schedule should hold.

The connection asks the kernel to give up on a silent peer (``tcp_user_timeout``,
keepalives), so a leader cut off by the network stops its beat within seconds. The
server side of such a connection may live on until HAProxy's client timeout closes it;
only then can another host lead (docs/operations.md says so).
"""

from __future__ import annotations

import signal
import subprocess  # nosec B404: celery beat is started as a child, with a fixed command line
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand
from django.db import connections

import psycopg2

#: the advisory lock's key ("altaybeat" in ASCII, as a bigint)
LOCK_KEY = int.from_bytes(b"altaybt", "big")
#: a silent database is given up after this many milliseconds
TCP_USER_TIMEOUT_MS = 3_000


def _connect() -> Any:
    params = dict(connections["default"].get_connection_params())
    params.update(
        connect_timeout=2,
        keepalives=1,
        keepalives_idle=2,
        keepalives_interval=1,
        keepalives_count=2,
        tcp_user_timeout=TCP_USER_TIMEOUT_MS,
        application_name="altay-beat-leader",
    )
    params.pop("cursor_factory", None)
    connection = psycopg2.connect(**params)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 2000")
    return connection


class Command(BaseCommand):
    help = "在持有数据库咨询锁的一台主机上运行 celery beat（多主机部署，beat 只运行一份）。"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--poll", type=float, default=1.0, help="检查锁与数据库连接的间隔（秒）"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        poll: float = options["poll"]
        stopping = False
        beat: subprocess.Popen[bytes] | None = None

        def stop(signum: int, frame: FrameType | None) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        while not stopping:
            connection = None
            try:
                connection = _connect()
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY])
                    (leading,) = cursor.fetchone()
                if leading:
                    self.stdout.write("beat_leader: 本主机持有锁，启动 celery beat")
                    self.stdout.flush()
                    beat = self._start_beat()
                    while not stopping and beat.poll() is None:
                        time.sleep(poll)
                        with connection.cursor() as cursor:
                            cursor.execute("SELECT 1")
                    self.stdout.write("beat_leader: 停止 celery beat")
            except psycopg2.Error as error:
                self.stdout.write(
                    f"beat_leader: 数据库不可用（{type(error).__name__}）"
                )
            finally:
                if beat is not None:
                    self._stop_beat(beat)
                    beat = None
                if connection is not None:
                    connection.close()
            self.stdout.flush()
            if not stopping:
                time.sleep(poll)

    def _start_beat(self) -> subprocess.Popen[bytes]:
        celery = Path(sys.executable).with_name("celery")
        return subprocess.Popen(  # noqa: S603  # nosec B603: our own command line
            [str(celery), "-A", "altay_skills", "beat", "--loglevel=INFO", "--pidfile="]
        )

    @staticmethod
    def _stop_beat(beat: subprocess.Popen[bytes]) -> None:
        if beat.poll() is not None:
            return
        beat.terminate()
        try:
            beat.wait(timeout=10)
        except subprocess.TimeoutExpired:
            beat.kill()
            beat.wait()
