"""The systemd units' commands, started as written (issue 19): the web, the worker and
beat come up from their ``ExecStart`` lines on this machine's database and a real Redis,
and ``/readyz`` then finds every dependency, a worker included; the migrate unit's
commands run; the nginx site passes what the app needs."""

from __future__ import annotations

import re
import shlex
import signal
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.faults.conftest import VENV_BIN, app_environment, free_port, wait_for

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"
APP = "/srv/altay-skills/app"


def unit(name: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in (UNITS / name).read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def command(line: str) -> list[str]:
    """An ExecStart line for this checkout: its .venv, its directory, %%H the host."""
    line = line.replace(f"{APP}/.venv/bin/", f"{VENV_BIN}/").replace(
        "%%H", socket.gethostname()
    )
    return shlex.split(line)


def start(name: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    described = unit(name)
    assert described["WorkingDirectory"] == [APP]
    assert described["EnvironmentFile"] == ["/etc/altay-skills/env"]
    [line] = described["ExecStart"]
    with log.open("wb") as out:
        return subprocess.Popen(
            command(line), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )


def test_the_web_worker_and_beat_start_from_their_units_and_the_service_is_ready(
    private_redis: Any, tmp_path: Path, settings: Any
) -> None:
    port = free_port()
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = app_environment(private_redis, settings) | {
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "LOG_FORMAT": "json",
        "STATIC_ROOT": str(tmp_path / "static"),
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    processes = {}
    logs = {name: tmp_path / f"{name}.log" for name in ("web", "worker", "beat")}
    try:
        for name in ("web", "worker", "beat"):
            processes[name] = start(f"altay-skills-{name}.service", env, logs[name])
        wait_for(
            lambda: " ready." in logs["worker"].read_text(errors="replace"),
            seconds=60,
            what="the worker",
        )
        wait_for(
            lambda: "beat: Starting" in logs["beat"].read_text(errors="replace"),
            seconds=60,
            what="beat",
        )

        def ready() -> requests.Response | None:
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
            except requests.ConnectionError:
                return None
            return answer if answer.status_code == 200 else None

        answer = wait_for(ready, seconds=60, what="/readyz to answer 200")
        assert all(check["ok"] for check in answer.json()["checks"].values())
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json() == {
            "status": "ok"
        }
        # the two workers' counts are summed at every scrape, whichever worker answers
        for _ in range(12):
            assert requests.get(
                f"http://127.0.0.1:{port}/accounts/login/", timeout=5
            ).ok
        sample = re.compile(
            r'^altay_http_requests_total\{method="GET",route="login",status="200"\} (\S+)$',
            re.M,
        )
        for _ in range(4):
            text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
            assert float(sample.search(text).group(1)) == 12.0
    finally:
        for process in processes.values():
            process.send_signal(signal.SIGTERM)
        for name, process in processes.items():
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                process.kill()
                pytest.fail(f"{name} did not stop on SIGTERM")
    for name, process in processes.items():
        assert process.returncode in (0, -signal.SIGTERM), logs[name].read_text()


def test_the_migrate_unit_runs_as_written(
    private_redis: Any, tmp_path: Path, settings: Any
):
    env = app_environment(private_redis, settings) | {
        "STATIC_ROOT": str(tmp_path / "s")
    }
    for line in unit("altay-skills-migrate.service")["ExecStart"]:
        argv = command(line)
        if "db_roles" in argv:  # the roles are the cluster's, tested in test_db_roles
            continue
        run = subprocess.run(
            argv, cwd=ROOT, env=env, capture_output=True, timeout=300, check=False
        )
        assert run.returncode == 0, run.stderr.decode()[-2000:]
    assert (tmp_path / "s" / "app").is_dir()


def test_only_one_beat_and_the_proxy_passes_what_the_app_needs():
    assert "Exactly ONE beat" in (UNITS / "altay-skills-beat.service").read_text()
    site = (ROOT / "deploy" / "nginx" / "altay-skills.conf").read_text()
    size = int(re.search(r"client_max_body_size (\d+)m;", site).group(1))
    assert size >= 11  # a 10 MB document and its form
    for header in (
        "X-Forwarded-For $remote_addr",
        "X-Forwarded-Proto $scheme",
        "X-Request-ID $request_id",
        "Host $host",
    ):
        assert f"proxy_set_header {header};" in site
    assert "location /media/ { return 404; }" in site
    assert "location = /metrics { return 404; }" in site
