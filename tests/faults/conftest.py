"""Fault tests: a private Redis that can be stopped, and Celery workers in subprocesses
that can be killed, both pointed at the test database.

Each test starts its own ``redis-server`` on a free port (the shared Redis on 6379 is
never touched) and its own ``celery worker`` processes, so a fault stays inside it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import connection

import pytest

from altay_skills.celery import app

VENV_BIN = Path(sys.executable).parent

#: Workers and gunicorn run in subprocesses on the test database: a server database.
requires_shared_database = pytest.mark.skipif(
    "not __import__('os').environ.get('DATABASE_URL', '').startswith('postgres')",
    reason="worker and web subprocesses share the test database: needs PostgreSQL "
    "(CI sets DATABASE_URL)",
)
REDIS_SERVER = "/usr/bin/redis-server"


def wait_for(
    condition: Callable[[], Any], *, seconds: float, what: str, step: float = 0.1
) -> Any:
    """Poll until ``condition()`` is truthy; its value, or an AssertionError naming it."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"after {seconds}s still waiting for {what}")
        time.sleep(step)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PrivateRedis:
    """A throwaway redis-server (no persistence) that a test may stop and restart."""

    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    *(REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1"),
                    *("--save", "", "--appendonly", "no", "--protected-mode", "no"),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for(self.answers, seconds=10, what="redis-server to answer")

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        """SIGTERM, as ``systemctl stop`` would; waits until the port refuses."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def pause(self) -> None:
        """SIGSTOP: the port still accepts connections but nothing answers (hung)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    redis = PrivateRedis(port=free_port(), log=tmp_path / "redis.log")
    redis.start()
    yield redis
    if redis.process and redis.process.poll() is None:
        redis.resume()
    redis.stop()


@pytest.fixture
def broker(private_redis: PrivateRedis) -> Iterator[str]:
    """This process publishes to the private Redis (the outbox opens a connection of
    its own for every publish, so no pooled connection to the old URL is reused)."""
    before = (app.conf.broker_url, app.conf.task_always_eager)
    forget_broker_pools()
    app.conf.broker_url = private_redis.url
    app.conf.task_always_eager = False
    yield private_redis.url
    forget_broker_pools()
    app.conf.broker_url, app.conf.task_always_eager = before


def forget_broker_pools() -> None:
    """Drop the app's connection and producer pools, as Celery does after a fork.

    They are made for the broker the process used first and kept: a control ping
    (``/readyz``) reads its replies on the connection it is given but *publishes*
    through the producer pool, so after an earlier test in the same process had used
    the suite's broker the ping went there and the private worker never heard it.
    """
    # references only: the pools themselves are kombu's, shared by URL, and closing
    # one would leave a closed pool behind for the next user of that broker
    app._pool = None
    app.amqp._producer_pool = None


def database_url_of_tests() -> str:
    s = connection.settings_dict
    host = s.get("HOST") or "127.0.0.1"
    port = s.get("PORT") or 5432
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{s['USER']}{password}@{host}:{port}/{s['NAME']}"


def app_environment(redis: PrivateRedis, settings: Any) -> dict[str, str]:
    """What a subprocess of the app needs to share this test's database and broker."""
    return os.environ | {
        "DEBUG": "1",
        "DATABASE_URL": database_url_of_tests(),
        "REDIS_URL": redis.url,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }


@dataclass
class WorkerProcess:
    """``celery -A altay_skills worker`` on the test database and the private Redis."""

    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def pool_children(self) -> list[int]:
        """The prefork pool's processes, which run the tasks."""
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(p) for p in path.read_text().split()]
        except OSError:
            return []

    def kill(self) -> None:
        """SIGKILL the whole worker, pool included: nothing gets to clean up."""
        pids = [*self.pool_children(), self.process.pid]
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # warm shutdown
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def start_worker(
    private_redis: PrivateRedis, tmp_path: Path, settings: Any
) -> Iterator[Callable[..., WorkerProcess]]:
    """Start a worker subprocess; every one started is stopped at the end."""
    started: list[WorkerProcess] = []

    def start(*, pool: str = "solo", name: str = "faults") -> WorkerProcess:
        log = tmp_path / f"worker-{len(started)}.log"
        env = app_environment(private_redis, settings)
        with log.open("wb") as out:
            process = subprocess.Popen(
                [
                    *(str(VENV_BIN / "celery"), "-A", "altay_skills", "worker"),
                    *("--pool", pool, "--concurrency", "1", "--loglevel", "INFO"),
                    *("--without-heartbeat", "--without-gossip", "--without-mingle"),
                    *("--hostname", f"{name}-{len(started)}@%h"),
                ],
                cwd=settings.BASE_DIR,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        worker = WorkerProcess(process, log)
        started.append(worker)
        wait_for(
            lambda: " ready." in worker.output() or process.poll() is not None,
            seconds=30,
            what="the worker to be ready",
        )
        assert process.poll() is None, worker.output()
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def start_web(
    private_redis: PrivateRedis, tmp_path: Path, settings: Any
) -> Iterator[Callable[..., str]]:
    """Start the app under gunicorn as in production (gunicorn.conf.py, sync workers)
    on the test database and the private Redis; gives its base URL."""
    started: list[subprocess.Popen[bytes]] = []

    def start(*, workers: int = 3, **extra_env: str) -> str:
        port = free_port()
        log = tmp_path / f"gunicorn-{port}.log"
        env = app_environment(private_redis, settings) | {
            "PORT": str(port),
            "WEB_CONCURRENCY": str(workers),
            "GUNICORN_LOG_LEVEL": "warning",
            **extra_env,
        }
        with log.open("wb") as out:
            process = subprocess.Popen(
                [str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py"],
                cwd=settings.BASE_DIR,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        started.append(process)

        def listening() -> bool:
            assert process.poll() is None, log.read_text(errors="replace")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            except OSError:
                return False
            return True

        wait_for(listening, seconds=30, what="gunicorn to listen")
        return f"http://127.0.0.1:{port}"

    yield start
    for process in started:
        process.terminate()
        try:
            process.wait(timeout=35)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def web_server(start_web: Callable[..., str]) -> str:
    """gunicorn with production's three workers."""
    return start_web(workers=3)
