"""HTTP under load (issue 7): gunicorn on loopback, wrk with 20 connections.

gunicorn runs as in production (``gunicorn.conf.py``: 3 sync workers, access log on;
``DEBUG=0`` with a throwaway ``SECRET_KEY``, ``ALLOWED_HOSTS=127.0.0.1`` and
``SECURE_SSL_REDIRECT=0`` because TLS would end at the proxy in front) against the
database in ``DATABASE_URL``. wrk drives, one endpoint at a time for ``DURATION``
seconds after a short warm-up, 20 connections:

- ``GET /api/levels/``: the trivial endpoint — token auth and one small query through
  the same middleware, DRF and database connection as the others (there is no health
  endpoint, and this one costs as little as any authenticated request can);
- ``POST /api/claims/check/``: the dry run of a claim of a person with prior claims;
- ``GET /api/claims/``: the clerk's claim list, first page of 50;
- ``GET /claims/``: the same list as the HTML page, with a session cookie (one of 20
  sessions, so concurrent requests do not queue on one session row).

Two passes. The first opens a database connection per request (``CONN_MAX_AGE=0``,
the setting's default when unset, as every earlier run of this bench did). A fresh
connection costs PostgreSQL a backend whose catalogue caches start cold, which is most
of what the trivial endpoint costs. The second runs the trivial endpoint, the list API
and the page with connections kept (``CONN_MAX_AGE=60``: what ``.env.example`` and the
cluster's hosts set since session 14, and what pgbouncer in front of PostgreSQL gives
too), so that the ratios are also shown against a trivial endpoint that pays for
nothing it does not need.

Each figure: p50 and p95 latency, requests per second, errors (connect, read, write,
timeouts and non-2xx answers), p50 and throughput as a ratio to the trivial endpoint,
and the median of 5 requests sent one at a time ("alone": the cost of one request
without the queue). The claims table is vacuumed first if under 95 % of its pages are
all-visible (earlier parts insert and roll back rows; the list's COUNT would read
the heap for them). The machine has 2 cores shared by gunicorn, PostgreSQL and wrk (and whatever
else runs): the absolute numbers are this machine's, the ratios travel better.

The user, token and sessions it needs are created before and deleted after; the server
is stopped (its whole process group) whatever happens.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CONNECTIONS = 20
THREADS = 2
DURATION = 15  # seconds per endpoint
WARMUP = 3
WORKERS = 3  # gunicorn.conf.py's default for 2 cores
SESSIONS = CONNECTIONS
UNIT = "654301"
#: Below this share of all-visible pages the claims table is vacuumed before the load.
VISIBLE_ENOUGH = 0.95
BASE_DIR = Path(__file__).resolve().parent.parent

# wrk's script: the request from environment-free globals set by ``init``; ``done``
# prints the figures as one JSON line (latency in microseconds).
LUA = r"""
local method, path, body = %(method)s, %(path)s, %(body)s
local headers, cookies = %(headers)s, %(cookies)s
local counter = 0
function init(args)
  counter = math.random(#cookies > 0 and #cookies or 1)
end
function request()
  local h = {}
  for k, v in pairs(headers) do h[k] = v end
  if #cookies > 0 then
    counter = counter %% #cookies + 1
    h["Cookie"] = cookies[counter]
  end
  return wrk.format(method, path, h, body)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %%d, "duration_us": %%d, "bytes": %%d, ' ..
    '"p50_us": %%d, "p95_us": %%d, "p99_us": %%d, "max_us": %%d, "mean_us": %%.1f, ' ..
    '"connect": %%d, "read": %%d, "write": %%d, "status": %%d, "timeout": %%d}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.max, latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str
    body: str = ""
    token: bool = True
    session: bool = False


def _lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid Lua string literal here


def _lua_table(items: dict[str, str] | list[str]) -> str:
    if isinstance(items, dict):
        pairs = ", ".join(
            f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in items.items()
        )
        return "{" + pairs + "}"
    return "{" + ", ".join(_lua_string(v) for v in items) + "}"


def lua_script(endpoint: Endpoint, token: str, cookies: list[str]) -> str:
    headers = {"Accept": "application/json"} if not endpoint.session else {}
    if endpoint.token:
        headers["Authorization"] = f"Token {token}"
    if endpoint.body:
        headers["Content-Type"] = "application/json"
    return LUA % {
        "method": _lua_string(endpoint.method),
        "path": _lua_string(endpoint.path),
        "body": _lua_string(endpoint.body) if endpoint.body else "nil",
        "headers": _lua_table(headers),
        "cookies": _lua_table(cookies if endpoint.session else []),
    }


# --- What the requests need --------------------------------------------------------------
@dataclass
class Fixture:
    token: str
    cookies: list[str]
    check_body: str
    prior_claims: int
    unit_claims: int


@contextmanager
def fixture(secret_key: str) -> Iterator[Fixture]:
    """A clerk of ``UNIT`` with a token and ``SESSIONS`` signed-in sessions (signed with
    the server's ``secret_key``, as its own logins would be), and the
    body of a dry run for the person of the unit's latest submitted claim; all deleted
    afterwards."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.test.utils import override_settings

    from accounts.models import Role, User
    from accounts.tokens import token_create
    from claims.models import Claim
    from programs.models import Institution

    clerk = User(
        username=f"bench_http_{secrets.token_hex(4)}",
        role=Role.COUNTY_CLERK,
        unit_id=UNIT,
    )
    clerk.set_unusable_password()
    clerk.save()
    sessions = []
    with override_settings(SECRET_KEY=secret_key):
        # the token's fingerprint is keyed with the server's SECRET_KEY too
        token = token_create(user=clerk)
        for _ in range(SESSIONS):
            store = SessionStore()
            store[SESSION_KEY] = str(clerk.pk)
            store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]
            store[HASH_SESSION_KEY] = clerk.get_session_auth_hash()
            store.create()
            sessions.append(store.session_key)
    try:
        latest = (
            Claim.objects.filter(unit_id=UNIT)
            .exclude(status="draft")
            .order_by("-pk")
            .values_list("trainee_id", flat=True)
            .first()
        )
        institution = Institution.objects.filter(unit_id=UNIT).order_by("pk").first()
        if latest is None or institution is None:
            raise RuntimeError(f"no claims or institution of unit {UNIT} to load with")
        body = json.dumps(
            {
                "trainee": latest,
                "program": 9,
                "institution": institution.pk,
                "training_start": "2020-03-01",
                "training_end": "2020-03-31",
                "amount_requested": "1800.00",
                "trade": "4-03-02-01",
                "level": "intermediate",
                "passed": True,
                "certificate_number": "HTTP-LOAD",
                "employment": "employed",
            }
        )
        yield Fixture(
            token=token,
            cookies=[f"{settings.SESSION_COOKIE_NAME}={key}" for key in sessions],
            check_body=body,
            prior_claims=Claim.objects.filter(trainee_id=latest)
            .exclude(status="draft")
            .count(),
            unit_claims=Claim.objects.filter(unit_id=UNIT).count(),
        )
    finally:
        Session.objects.filter(session_key__in=sessions).delete()
        clerk.api_tokens.all().delete()
        clerk.delete()


# --- The server --------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(port: int, static_root: Path, secret_key: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DEBUG")}
    env.update(
        DEBUG="0",
        SECRET_KEY=secret_key,
        AUDIT_KEY=secret_key,
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        BIND_HOST="127.0.0.1",
        PORT=str(port),
        WEB_CONCURRENCY=str(WORKERS),
        STATIC_ROOT=str(static_root),
        DJANGO_SETTINGS_MODULE="altay_skills.settings",
    )
    return env


@contextmanager
def gunicorn(
    port: int, log: Path, secret_key: str, *, conn_max_age: int = 0
) -> Iterator[subprocess.Popen[bytes]]:
    """gunicorn with gunicorn.conf.py on ``port``; its process group is killed after."""
    static_root = BASE_DIR / ".data" / "bench-static"
    env = server_env(port, static_root, secret_key)
    env["CONN_MAX_AGE"] = str(conn_max_age)
    # DEBUG off serves /static/ from the manifest: the pages need collectstatic first.
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=BASE_DIR,
        env=env,
        check=True,
    )
    binary = Path(sys.executable).with_name("gunicorn")
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(binary), "-c", "gunicorn.conf.py"],
            cwd=BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, killed as one
        )
    try:
        yield proc
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def wait_ready(port: int, token: str, proc: subprocess.Popen[bytes]) -> None:
    url = f"http://127.0.0.1:{port}/api/levels/"
    request = urllib.request.Request(url, headers={"Authorization": f"Token {token}"})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:  # nosec B310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("gunicorn did not answer within 60 s")


def alone(port: int, endpoint: Endpoint, fix: Fixture, times: int = 5) -> float:
    """The median milliseconds of one request with nothing else sent to the server: what
    a request costs, apart from waiting for the others under load."""
    taken = []
    for _ in range(times):
        start = time.perf_counter()
        probe(port, endpoint, fix)
        taken.append((time.perf_counter() - start) * 1000)
    return round(sorted(taken)[times // 2], 1)


def all_visible() -> float:
    """The share of the claims table's pages marked all-visible: below 1 the list's
    index-only COUNT reads heap pages too (rows inserted or rolled back since the last
    VACUUM, as the queries part does; autovacuum waits for 20 % of the table)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relallvisible::float / greatest(relpages, 1) FROM pg_class "
            "WHERE relname = 'claims_claim'"
        )
        return round(float(cursor.fetchone()[0]), 3)


def vacuum_claims() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) claims_claim")


def probe(port: int, endpoint: Endpoint, fix: Fixture) -> int:
    """One request as wrk will send it: its status (a 4xx/5xx would make the figures
    meaningless)."""
    headers = {"Accept": "application/json"}
    if endpoint.token:
        headers["Authorization"] = f"Token {fix.token}"
    if endpoint.session:
        headers = {"Cookie": fix.cookies[0]}
    data = endpoint.body.encode() if endpoint.body else None
    if data:
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{endpoint.path}",
        data=data,
        headers=headers,
        method=endpoint.method,
    )
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect (to the login page) is an answer to report, not to follow."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


# --- The load ----------------------------------------------------------------------------
def drain(log: Path, quiet: float = 1.5, limit: float = 120) -> None:
    """Wait until the server has finished what wrk left behind: the requests still
    queued when wrk stops are served anyway (each logged when done), and would
    otherwise slow the start of the next run. Idle = the access log stops growing."""
    deadline = time.monotonic() + limit
    size = -1
    while time.monotonic() < deadline:
        now = log.stat().st_size
        if now == size:
            return
        size = now
        time.sleep(quiet)


def wrk(port: int, endpoint: Endpoint, fix: Fixture, seconds: int) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua_script(endpoint, fix.token, fix.cookies))
    try:
        out = subprocess.run(
            [
                "wrk",
                f"-t{THREADS}",
                f"-c{CONNECTIONS}",
                f"-d{seconds}s",
                "--timeout",
                "30s",
                "-s",
                script.name,
                f"http://127.0.0.1:{port}{endpoint.path}",
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 60,
        ).stdout
    finally:
        os.unlink(script.name)
    line = next(x for x in out.splitlines() if x.startswith("WRKJSON "))
    raw = json.loads(line.removeprefix("WRKJSON "))
    errors = sum(raw[k] for k in ("connect", "read", "write", "status", "timeout"))
    seconds_run = raw["duration_us"] / 1e6
    return {
        "requests": raw["requests"],
        "seconds": round(seconds_run, 1),
        "rps": round(raw["requests"] / seconds_run, 1),
        "p50_ms": round(raw["p50_us"] / 1000, 1),
        "p95_ms": round(raw["p95_us"] / 1000, 1),
        "p99_ms": round(raw["p99_us"] / 1000, 1),
        "max_ms": round(raw["max_us"] / 1000, 1),
        "errors": errors,
        "errors_by_kind": {
            k: raw[k] for k in ("connect", "read", "write", "status", "timeout")
        },
        "kb_per_response": round(raw["bytes"] / max(raw["requests"], 1) / 1024, 1),
    }


def endpoints(fix: Fixture) -> list[Endpoint]:
    return [
        Endpoint("trivial GET /api/levels/", "GET", "/api/levels/"),
        Endpoint(
            "POST /api/claims/check/", "POST", "/api/claims/check/", fix.check_body
        ),
        Endpoint("GET /api/claims/", "GET", "/api/claims/"),
        Endpoint("GET /claims/ (HTML)", "GET", "/claims/", token=False, session=True),
    ]


#: The second pass: the trivial endpoint and the list with connections kept
#: (``CONN_MAX_AGE``), as deployed: no connection set up per request.
PERSISTENT = ("trivial GET /api/levels/", "GET /api/claims/", "GET /claims/ (HTML)")
#: Seconds a connection is kept in the second pass.
KEPT_SECONDS = 60


def load(
    fix: Fixture,
    secret_key: str,
    seconds: int,
    *,
    conn_max_age: int,
    only: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Each endpoint (``only`` those named, if given) under wrk against a gunicorn
    started with ``CONN_MAX_AGE=conn_max_age``: its figures and ratios to the trivial
    endpoint's."""
    found: dict[str, Any] = {}
    port = free_port()
    log = BASE_DIR / ".data" / "bench-gunicorn.log"
    with gunicorn(port, log, secret_key, conn_max_age=conn_max_age) as proc:
        wait_ready(port, fix.token, proc)
        for endpoint in endpoints(fix):
            if only and endpoint.name not in only:
                continue
            status = probe(port, endpoint, fix)
            if status != 200:
                raise RuntimeError(f"{endpoint.name} answers {status}; see {log}")
            wrk(port, endpoint, fix, WARMUP)
            drain(log)
            single = alone(port, endpoint, fix)
            found[endpoint.name] = wrk(port, endpoint, fix, seconds)
            found[endpoint.name]["alone_ms"] = single
            drain(log)
    base = found["trivial GET /api/levels/"]
    for row in found.values():
        row["p50_ratio"] = round(row["p50_ms"] / base["p50_ms"], 2)
        row["throughput_ratio"] = round(row["rps"] / base["rps"], 3)
    return found


def print_table(rows: dict[str, Any]) -> None:
    print(
        f"   {'endpoint':<26} {'p50 ms':>8} {'p95 ms':>8} {'req/s':>8} {'errors':>6}"
        f"  {'p50 ×':>6} {'req/s ×':>7} {'alone ms':>8}"
    )
    for name, row in rows.items():
        print(
            f"   {name:<26} {row['p50_ms']:>8.1f} {row['p95_ms']:>8.1f} "
            f"{row['rps']:>8.1f} {row['errors']:>6}  {row['p50_ratio']:>6.2f} "
            f"{row['throughput_ratio']:>7.3f} {row['alone_ms']:>8.1f}"
        )


def run(results: dict[str, Any], *, seconds: int = DURATION) -> None:
    print(
        f"== HTTP under load: gunicorn ({WORKERS} sync workers, DEBUG=0) and wrk "
        f"({THREADS} threads, {CONNECTIONS} connections, {seconds} s an endpoint) on "
        f"one {os.cpu_count()}-core machine: they share the cores with PostgreSQL"
    )
    if shutil.which("wrk") is None:
        print("   wrk is not installed (apt-get install wrk): part not run")
        results["http"] = {"missing": "wrk"}
        return
    figures: dict[str, Any] = {
        "server": f"gunicorn, {WORKERS} sync workers, DEBUG=0, loopback",
        "load": f"wrk -t{THREADS} -c{CONNECTIONS} -d{seconds}s after {WARMUP} s warm-up",
        "cores": os.cpu_count(),
        "note": "gunicorn, PostgreSQL and wrk share the same cores",
    }
    figures["claims_all_visible_before"] = all_visible()
    if figures["claims_all_visible_before"] < VISIBLE_ENOUGH:
        vacuum_claims()  # as a database in service would be by then
    figures["claims_all_visible"] = all_visible()
    figures["load_average_before"] = [round(x, 2) for x in os.getloadavg()]
    secret_key = secrets.token_urlsafe(48)
    with fixture(secret_key) as fix:
        figures["prior_claims_of_checked_person"] = fix.prior_claims
        figures["claims_in_clerks_unit"] = fix.unit_claims
        figures["endpoints"] = load(fix, secret_key, seconds, conn_max_age=0)
        figures["persistent"] = {
            "conn_max_age": KEPT_SECONDS,
            "endpoints": load(
                fix, secret_key, seconds, conn_max_age=KEPT_SECONDS, only=PERSISTENT
            ),
        }
    figures["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    print("   a new database connection each request (CONN_MAX_AGE=0):")
    print_table(figures["endpoints"])
    print(
        f"   connections kept (CONN_MAX_AGE={KEPT_SECONDS}, as .env.example sets): "
        "the trivial endpoint no longer pays a connection and its backend's cold caches"
    )
    print_table(figures["persistent"]["endpoints"])
    print(
        f"   (the dry run is for a person with {fix.prior_claims} prior claims; the list "
        f"is page 1 of {fix.unit_claims:,} claims of unit {UNIT}; load average "
        f"{figures['load_average_before'][0]} before, "
        f"{figures['load_average_after'][0]} after: other work on the machine counts; "
        f"'alone' is one request at a time; claims table all-visible "
        f"{figures['claims_all_visible_before']:.0%} before, "
        f"{figures['claims_all_visible']:.0%} for the load)"
    )
    results["http"] = figures


if __name__ == "__main__":  # python -m benchmarks.http_load: this part alone
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "altay_skills.settings")
    os.environ.setdefault("DEBUG", "1")
    import django

    django.setup()
    found: dict[str, Any] = {}
    run(found, seconds=int(os.environ.get("HTTP_LOAD_SECONDS", DURATION)))
    print(json.dumps(found, indent=2, ensure_ascii=False))
