"""``manage.py beat_leader`` (issue 21): of two app hosts, exactly one runs celery beat,
and when that one dies (SIGKILL, children and all) the other starts its beat within
seconds; a leader that loses its database connection stops its beat.

Two ``beat_leader`` processes on the test database and a private Redis stand for the
two hosts (the cluster test does the same across network namespaces).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.db import connection

import pytest

from tests.faults.conftest import (
    VENV_BIN,
    PrivateRedis,
    app_environment,
    requires_shared_database,
    wait_for,
)

pytestmark = [
    requires_shared_database,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(p) for p in (task / "children").read_text().split()]
    return found


def beat_pid(leader: subprocess.Popen[bytes]) -> int | None:
    """The ``celery beat`` child of a ``beat_leader``, if it runs one."""
    for pid in children(leader.pid):
        with contextlib.suppress(OSError):
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            if b"beat" in command:
                return pid
    return None


def ended(pid: int) -> bool:
    """Gone, or a zombie its parent has not reaped yet."""
    try:
        return Path(f"/proc/{pid}/stat").read_bytes().rsplit(b") ", 1)[1][:1] == b"Z"
    except OSError:
        return True


def runs_beat(leader: subprocess.Popen[bytes]) -> bool:
    return beat_pid(leader) is not None


@pytest.fixture
def start_leader(
    private_redis: PrivateRedis, tmp_path: Path, settings: Any
) -> Iterator[Any]:
    started: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        log = tmp_path / f"leader-{len(started)}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [str(VENV_BIN / "python"), "manage.py", "beat_leader", "--poll", "0.2"],
                cwd=settings.BASE_DIR,
                env=app_environment(private_redis, settings),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, as a host's
            )
        started.append(process)
        return process

    yield start
    for process in started:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def test_one_beat_of_two_hosts_and_the_other_takes_over(start_leader: Any) -> None:
    first, second = start_leader(), start_leader()
    leader = wait_for(
        lambda: [p for p in (first, second) if runs_beat(p)],
        seconds=60,
        what="one host to start beat",
    )
    time.sleep(2)  # long enough for a second beat to show, were there one
    assert sum(runs_beat(p) for p in (first, second)) == 1
    (dead,) = leader
    other = second if dead is first else first
    killed = time.monotonic()
    os.killpg(dead.pid, signal.SIGKILL)  # the host is gone: beat_leader and its beat
    wait_for(lambda: runs_beat(other), seconds=30, what="the other host's beat")
    assert time.monotonic() - killed < 15


def test_a_leader_that_loses_the_database_stops_its_beat(start_leader: Any) -> None:
    leader = start_leader()
    before = wait_for(lambda: beat_pid(leader), seconds=60, what="beat to start")
    with connection.cursor() as cursor:  # what a failover does to its session
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'altay-beat-leader'"
        )
    # that beat is stopped (ended, not merely orphaned) ...
    wait_for(lambda: ended(before), seconds=15, what="its beat to stop")
    # ... and it leads again once the database answers (at once here)
    wait_for(
        lambda: beat_pid(leader) not in (None, before),
        seconds=30,
        what="a new beat",
    )
