"""Faults under load on the cluster of seven hosts (issue 21, ``make cluster-test``).

The whole data centre of ``deploy/cluster/altay_cluster.py`` is started (HAProxy, two
PostgreSQL under Patroni with a synchronous standby, etcd, Redis with a replica and
Sentinel, two app hosts each with gunicorn, a Celery worker and ``beat_leader``).
While a county clerk files and submits claims and finance records balance payments
through HAProxy at a steady rate, four machines are killed in turn (SIGKILL):

1. an app host (gunicorn, its worker and its beat): HAProxy sends the rest elsewhere;
2. the worker building the quarter's rollup, in the middle of it: the rollup is queued
   again and built once by the other worker;
3. the broker's primary: Sentinel promotes the replica, HAProxy follows it;
4. the PostgreSQL primary: Patroni promotes the synchronous standby.

Every client request carries an ``Idempotency-Key``; one that gets no 2xx (a 503, the
proxy's own or the app's) is retried with the same key until it gets one. After each
kill: every request answered 2xx is in the database exactly once (no claim lost, none
filed twice, no balance paid twice), the yearly limits hold, and at the end the audit
chains verify, exactly one beat ran at any moment, and the rollup was built once. The
figures (requests answered, lost, duplicated, the seconds each fault took to recover)
are printed (``-s``) and asserted.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
import time
import traceback
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.cluster

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "deploy" / "cluster"))
import altay_cluster as ac  # noqa: E402

from tests.cluster.load_client import answer_of  # noqa: E402

PASSWORD = "pw-Altay-2019"  # tests.factories.UserFactory's
PEOPLE = 2_500
PAID_CLAIMS = 700
#: enough for the rollup's build to take seconds (0.7 s at 2,000)
ROLLUP_CLAIMS = 20_000
#: clerks filing at once (and one finance officer): enough that requests are in flight
#: on the host that dies
CLERKS = 4
#: seconds between one client's operations (about 20 requests a second in all)
PACE = 0.3
#: a request without a 2xx is retried for this long before the test gives up on it
RETRY_FOR = 90.0


def _missing() -> str | None:
    for tool in (
        "patroni",
        "etcd",
        "haproxy",
        "redis-server",
        "pg_createcluster",
        "ip",
    ):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install patroni etcd-server haproxy …)"
    if os.geteuid() != 0:
        return "the cluster's hosts are network namespaces: run as root"
    return None


@pytest.fixture(scope="module")
def cluster() -> Iterator[ac.Cluster]:
    why = _missing()
    if why is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the cluster tests cannot run in CI: {why}")
        pytest.skip(why)
    running = ac.Cluster()
    running.down(quiet=True)
    running.up(log=lambda line: print(f"[cluster] {line}"))
    yield running
    if os.environ.get("ALTAY_CLUSTER_KEEP") != "1":
        running.down(quiet=True)


# --- the clients ------------------------------------------------------------------------------
@dataclass
class Attempt:
    at: float
    status: int | None
    body: Any


@dataclass
class Operation:
    """One thing a person asked for (a claim filed, a balance paid), however many tries."""

    kind: str
    subject: int
    key: str
    attempts: list[Attempt] = field(default_factory=list)
    answered: int | None = None  # the final status
    result: Any = None
    done_at: float | None = None


def call(
    method: str,
    path: str,
    body: Any = None,
    *,
    token: str | None = None,
    key: str | None = None,
) -> tuple[int | None, Any]:
    request = urllib.request.Request(
        ac.WEB_URL + path,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    if token:
        request.add_header("Authorization", f"Token {token}")
    if key:
        request.add_header("Idempotency-Key", key)
    return answer_of(request)


def retried(
    operation: Operation, method: str, path: str, body: Any, token: str
) -> tuple[int | None, Any]:
    """Send until an answer that is not "try again" (a 2xx or a 4xx), same key each time."""
    deadline = time.monotonic() + RETRY_FOR
    while True:
        status, answer = call(method, path, body, token=token, key=operation.key + path)
        operation.attempts.append(Attempt(time.monotonic(), status, answer))
        if status is not None and status < 500:
            return status, answer
        if time.monotonic() > deadline:
            return status, answer
        time.sleep(0.5)


class Load:
    def __init__(self, world: dict[str, Any]) -> None:
        self.world = world
        self.people = list(world["people"])
        self.payable = list(world["payable"])
        self.operations: list[Operation] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        #: a client that died of an exception (the test fails with it, not later
        #: with the operation it left unfinished)
        self.crashed: list[str] = []
        self.threads = [
            threading.Thread(
                target=self._guarded,
                args=(self._clerk,),
                name=f"clerk-{i}",
                daemon=True,
            )
            for i in range(CLERKS)
        ] + [
            threading.Thread(
                target=self._guarded, args=(self._finance,), name="finance", daemon=True
            )
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=RETRY_FOR + 60)

    def _guarded(self, client: Callable[[], None]) -> None:
        try:
            client()
        except Exception:  # reported by the test, whatever it was
            with self.lock:
                self.crashed.append(
                    f"{threading.current_thread().name}: {traceback.format_exc()}"
                )

    def _record(self, operation: Operation) -> None:
        with self.lock:
            self.operations.append(operation)

    def _next(self, pool: list[Any]) -> Any:
        with self.lock:
            return pool.pop(0) if pool else None

    def _clerk(self) -> None:
        token = self.world["tokens"]["clerk"]
        while not self.stop.is_set():
            person = self._next(self.people)
            if person is None:
                return
            operation = Operation("claim", person, uuid.uuid4().hex)
            self._record(operation)
            body = {
                "trainee": person,
                "program": 9,
                "institution": self.world["institution"],
                "unit": "654322",
                "training_start": "2021-03-01",
                "training_end": "2021-03-28",
                "amount_requested": "1800.00",
                "trade": "4-03-02-01",
                "level": "intermediate",
                "passed": True,
                "certificate_number": f"LOAD-{person}",
                "employment": "employed",
            }
            status, answer = retried(operation, "POST", "/api/claims/", body, token)
            if status == 201:
                claim = answer["id"]
                status, answer = retried(
                    operation, "POST", f"/api/claims/{claim}/submit/", {}, token
                )
                operation.result = claim
            operation.answered, operation.done_at = status, time.monotonic()
            time.sleep(PACE)

    def _finance(self) -> None:
        token = self.world["tokens"]["finance"]
        while not self.stop.is_set():
            line = self._next(self.payable)
            if line is None:
                return
            claim, amount = line
            operation = Operation("payment", claim, uuid.uuid4().hex)
            self._record(operation)
            body = {
                "claim": claim,
                "kind": "balance",
                "amount": amount,
                "paid_on": "2026-12-01",
                "status": "paid",
                "reference": f"LOAD-{claim}",
            }
            status, answer = retried(operation, "POST", "/api/payments/", body, token)
            operation.answered, operation.done_at = status, time.monotonic()
            operation.result = answer
            time.sleep(PACE)

    def snapshot(self) -> list[Operation]:
        with self.lock:
            return [o for o in self.operations if o.done_at is not None]


class BeatWatch:
    """Samples, twice a second, on which app hosts a ``celery beat`` runs."""

    def __init__(self, cluster: ac.Cluster) -> None:
        self.cluster = cluster
        self.samples: list[tuple[float, list[str]]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            self.samples.append((time.monotonic(), self.cluster.beat_hosts()))
            time.sleep(0.5)

    def most_at_once(self) -> int:
        return max(len(hosts) for _, hosts in self.samples)


# --- what the database holds ------------------------------------------------------------------
def facts(cluster: ac.Cluster, load: Load) -> dict[str, Any]:
    people = json.dumps(load.world["people"])
    payable = json.dumps([claim for claim, _ in load.world["payable"]])
    out = cluster.manage(
        "shell",
        "-c",
        f"from tests.cluster.load_setup import facts; facts({people}, {payable})",
        host=_an_app_host(cluster),
    )
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def _an_app_host(cluster: ac.Cluster) -> str:
    for host in ac.APP_HOSTS:
        if ac.sh("ip", "netns", "pids", ac.namespace(host), check=False).split():
            return host
    return ac.APP_HOSTS[0]


def check_nothing_lost(cluster: ac.Cluster, load: Load, stage: str) -> dict[str, int]:
    """Every operation answered 2xx before now is in the database exactly once."""
    assert not load.crashed, f"{stage}: " + "\n".join(load.crashed)
    answered = [
        o for o in load.snapshot() if o.answered is not None and o.answered < 300
    ]
    held = facts(cluster, load)
    claims = {int(k): v for k, v in held["claims"].items()}
    submitted = {int(k): v for k, v in held["submitted"].items()}
    payments = {int(k): v for k, v in held["payments"].items()}
    lost = duplicated = 0
    for operation in answered:
        if operation.kind == "claim":
            lost += submitted.get(operation.subject, 0) == 0
        else:
            lost += payments.get(operation.subject, 0) == 0
    duplicated = sum(n - 1 for n in claims.values() if n > 1) + sum(
        n - 1 for n in payments.values() if n > 1
    )
    assert lost == 0, f"{stage}: {lost} answered requests are not in the database"
    assert duplicated == 0, f"{stage}: {duplicated} requests are in the database twice"
    assert held["paid_twice"] == 0, f"{stage}: a claim paid twice"
    assert held["over_limit"] == 0, f"{stage}: a person over three claims a year"
    assert held["same_trade_twice"] == 0, f"{stage}: one trade and level twice"
    return {"answered": len(answered), "lost": lost, "duplicated": duplicated}


def recovery_after(
    load: Load, killed_at: float, until: float
) -> tuple[float, int, set[Any]]:
    """Seconds from the kill to the first 2xx after the last failed try, the number of
    failed tries, and what they were answered: (status, a Chinese JSON message)."""
    tries = sorted(
        (
            a
            for o in list(load.operations)
            for a in list(o.attempts)
            if killed_at <= a.at <= until
        ),
        key=lambda a: a.at,
    )
    failed = [a for a in tries if a.status is None or a.status >= 500]
    if not failed:
        return 0.0, 0, set()
    last = failed[-1].at
    after = [
        a.at for a in tries if a.at > last and a.status is not None and a.status < 300
    ]
    back = after[0] if after else last
    return (
        back - killed_at,
        len(failed),
        {outcome(a) for a in failed},
    )


def outcome(attempt: Attempt) -> tuple[int | None, bool | str]:
    """``(status, whether its message is in Chinese)`` for an answer, ``(None, what the
    client got instead)`` for none: ``IncompleteRead`` for an answer cut off on the
    wire, ``ConnectionRefusedError`` and the like for none begun."""
    if attempt.status is None:
        return None, str(attempt.body)
    return attempt.status, explained(attempt.body)


def explained(body: Any) -> bool:
    """A JSON answer whose message is in Chinese (the app's or the proxy's 503)."""
    if not isinstance(body, dict):
        return False
    text = str(body.get("detail") or body.get("message") or "")
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def sign_in(username: str) -> str:
    status, answer = call(
        "POST", "/api/auth/token/", {"username": username, "password": PASSWORD}
    )
    assert status == 200, answer
    return str(answer["token"])


def wait(condition: Callable[[], Any], seconds: float, what: str) -> float:
    """Seconds until ``condition()`` held."""
    started = time.monotonic()
    ac.wait_until(condition, seconds=seconds, what=what, step=0.25)
    return time.monotonic() - started


def rollup_running_on(cluster: ac.Cluster) -> str | None:
    """The app host whose worker started a build_rollup it has not finished (from the
    workers' JSON log lines; the setup's own rollup was built and finished earlier)."""
    for host in ac.APP_HOSTS:
        log = cluster.logs / f"worker-{host}.log"
        if not log.exists():
            continue
        started: set[str] = set()
        for line in log.read_text(errors="replace").splitlines():
            if "build_rollup" not in line or not line.startswith("{"):
                continue
            entry = json.loads(line)
            if entry.get("message", "").endswith("build_rollup started"):
                started.add(entry.get("task_id", ""))
            elif "succeeded" in entry.get("message", "") or "failed" in entry.get(
                "message", ""
            ):
                started.discard(entry.get("message", "").split("[")[1].split("]")[0])
        if started:
            return host
    return None


# --- the test ---------------------------------------------------------------------------------
def test_acknowledged_work_survives_the_loss_of_any_one_machine(
    cluster: ac.Cluster,
) -> None:
    out = cluster.manage(
        "shell",
        "-c",
        "from tests.cluster.load_setup import setup; "
        f"setup({PEOPLE}, {PAID_CLAIMS}, {ROLLUP_CLAIMS})",
    )
    world = json.loads(out.strip().splitlines()[-1])
    assert world["rollup_ready"] == "ready"
    world["tokens"] = {role: sign_in(name) for role, name in world["users"].items()}
    reviewer = world["tokens"]["reviewer"]

    load = Load(world)
    beats = BeatWatch(cluster)
    beats.thread.start()
    load.start()
    figures: dict[str, dict[str, Any]] = {}
    time.sleep(5)

    # 1. an app host dies with everything on it: the one running beat, which must
    # move to the other
    [victim] = cluster.beat_hosts()
    survivor = next(h for h in ac.APP_HOSTS if h != victim)
    killed = time.monotonic()
    cluster.kill_host(victim)
    time.sleep(10)
    seconds, failed, seen = recovery_after(load, killed, time.monotonic())
    moved = [
        at for at, hosts in list(beats.samples) if at > killed and hosts == [survivor]
    ]
    assert moved, f"beat did not move to {survivor}"
    figures[f"app host {victim}"] = {
        "recovery_s": round(seconds, 1),
        "failed_tries": failed,
        f"beat_moved_to_{survivor}_s": round(moved[0] - killed, 1),
    }
    # An answer the dying host had begun to send cannot be replaced by the proxy's 503
    # (its status line has already gone out): the client sees it cut off and tries
    # again with the same key. Anything else must be the Chinese 503.
    assert seen <= {(503, True), (None, "IncompleteRead")}, (
        f"in-flight requests were answered {seen}, not the Chinese 503"
    )
    cluster.start_host(victim)
    wait(
        lambda: ac.http_get(f"http://{ac.address(victim)}:8000/healthz")[0] == 200,
        60,
        f"{victim} back",
    )
    figures[f"app host {victim}"] |= check_nothing_lost(
        cluster, load, f"after {victim}"
    )

    # 2. the worker building the rollup dies in the middle of it
    status, rollup = call(
        "POST",
        "/api/rollups/",
        {"quarter": "2020Q2"},
        token=reviewer,
        key=uuid.uuid4().hex,
    )
    assert status in (201, 202), rollup
    rollup_id = rollup["id"]

    def progress() -> dict[str, Any]:
        return call("GET", f"/api/rollups/{rollup_id}/", token=reviewer)[1]

    ac.wait_until(
        lambda: progress().get("status") == "running",
        seconds=60,
        what="the rollup to start",
        step=0.05,
    )
    host = ac.wait_until(
        lambda: rollup_running_on(cluster), seconds=10, what="the rollup's worker"
    )
    killed = time.monotonic()
    cluster.kill(f"worker-{host}")
    assert progress()["status"] == "running", "the rollup finished before the kill"
    ready = wait(lambda: progress().get("status") == "ready", 180, "the rollup rebuilt")
    figures[f"worker on {host} mid-rollup"] = {"recovery_s": round(ready, 1)}
    cluster.start(cluster.service(f"worker-{host}"))
    figures[f"worker on {host} mid-rollup"] |= check_nothing_lost(
        cluster, load, "after the worker"
    )

    # 3. the broker's primary dies: Sentinel promotes the replica
    old = cluster.broker_primary()
    assert old is not None
    killed = time.monotonic()
    cluster.kill_host(old)

    def broker_ok() -> bool:
        status, answer = call("GET", "/readyz")
        return status == 200 and answer["checks"]["broker"]["ok"]

    back = wait(
        lambda: cluster.broker_primary() not in (None, old) and broker_ok(),
        60,
        "a new broker primary",
    )
    seconds, failed, seen = recovery_after(load, killed, time.monotonic())
    figures[f"broker primary {old}"] = {
        "recovery_s": round(back, 1),
        "failed_tries": failed,
    }
    assert seen <= {(503, True)}, seen
    cluster.start_host(old)
    figures[f"broker primary {old}"] |= check_nothing_lost(
        cluster, load, "after the broker"
    )

    # 4. the PostgreSQL primary dies: Patroni promotes the synchronous standby
    primary, standby = cluster.db_primary(), cluster.sync_standby()
    assert primary and standby and primary != standby
    killed = time.monotonic()
    cluster.kill_host(primary)
    promoted = wait(lambda: cluster.db_primary() == standby, 60, "the standby promoted")
    time.sleep(5)
    seconds, failed, seen = recovery_after(load, killed, time.monotonic())
    figures[f"PostgreSQL primary {primary}"] = {
        "promoted_s": round(promoted, 1),
        "recovery_s": round(seconds, 1),
        "failed_tries": failed,
    }
    assert seen <= {(503, True)}, seen
    cluster.start_host(primary)
    rejoined = wait(
        lambda: (cluster.patroni(primary, "/replica") or {}).get("http_status") == 200,
        120,
        f"{primary} back as a standby",
    )
    figures[f"PostgreSQL primary {primary}"]["rejoined_as_standby_s"] = round(
        rejoined, 1
    )
    time.sleep(3)
    figures[f"PostgreSQL primary {primary}"] |= check_nothing_lost(
        cluster, load, "after the database"
    )

    load.finish()
    beats.stop.set()
    beats.thread.join()
    assert not load.crashed, "\n".join(load.crashed)
    unfinished = [o for o in load.operations if o.answered is None or o.answered >= 300]
    assert not unfinished, [
        (o.kind, o.subject, o.attempts[-1:]) for o in unfinished[:5]
    ]
    total = check_nothing_lost(cluster, load, "at the end")
    held = facts(cluster, load)
    assert held["rollups"] == [["2020Q1", 1], ["2020Q2", 1]] or sorted(
        held["rollups"]
    ) == [
        ["2020Q1", 1],
        ["2020Q2", 1],
    ]
    [rollup_2020q2] = held["rollup_2020Q2"]
    assert rollup_2020q2["status"] == "ready" and rollup_2020q2["lines_count"] > 0
    verified = cluster.manage("verify_audit", host=_an_app_host(cluster))
    assert beats.most_at_once() == 1, "two beats ran at once"
    assert len(beats.samples[-1][1]) == 1, "no beat runs at the end"

    print(
        "\nfaults under load (requests through HAProxy, answered 2xx / lost / duplicated):"
    )
    print(f"  total: {total} over {len(load.operations)} operations")
    for fault, figure in figures.items():
        print(f"  {fault}: {json.dumps(figure, ensure_ascii=False)}")
    print(
        f"  beat: at most {beats.most_at_once()} at once; audit: {verified.strip()[-200:]}"
    )
