"""The prefecture's data centre on one machine (issue 21): ``make cluster``.

Seven hosts, each a network namespace with an address of its own on a private bridge
(``altaybr0``, 10.77.0.0/24; the machine itself is 10.77.0.1 and reaches them only
there), each running what its machine would:

========  ===========  ==================================================================
host      address      runs
========  ===========  ==================================================================
lb        10.77.0.10   HAProxy (HTTP :80 → the app hosts; PostgreSQL :5432 → the
                       primary, :5433 → the standby; Redis :6379 → the broker's
                       primary), etcd member 3, Redis Sentinel 3
db1, db2  .11, .12     Patroni with PostgreSQL 15 (each its own Debian cluster,
                       ``altay_db1``/``altay_db2``), etcd members 1 and 2
broker1   .21          Redis (AOF, fsync always) — the broker's primary at start,
                       Sentinel 1
broker2   .22          Redis, a replica of broker1, Sentinel 2
app1/2    .31, .32     gunicorn, a Celery worker, ``manage.py beat_leader`` (beat runs
                       on whichever host holds the lock)
========  ===========  ==================================================================

PostgreSQL: Patroni with ``synchronous_mode`` — a commit returns to the clerk only when
the standby has it (``synchronous_commit = on``), and Patroni promotes only the
synchronous standby. Killing the primary's host promotes the standby within the leader
key's TTL (10 s). The app reaches the primary through HAProxy, which asks each Patroni's
REST API (``GET /primary``) every second.

The broker: Redis with an append-only file and a replica, Sentinel (3, quorum 2)
promoting the replica, HAProxy sending clients to whichever Redis says
``role:master``. The broker holds nothing that is not also in PostgreSQL: every task
that matters goes through the outbox (``altay_skills.outbox``), which publishes again
what was published but never done.

Usage (as root): ``python deploy/cluster/altay_cluster.py up|down|status|kill HOST|
start HOST``. ``make cluster`` runs ``up``; ``make cluster-down`` stops everything and
removes the state (``ALTAY_CLUSTER_DIR``, default /var/lib/altay-cluster). The tests
marked ``cluster`` (tests/cluster/test_faults_under_load.py) drive this module.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
VENV_BIN = ROOT / ".venv" / "bin"
PG_VERSION = "15"
PG_BIN = Path(f"/usr/lib/postgresql/{PG_VERSION}/bin")
BRIDGE = "altaybr0"
SUBNET = "10.77.0"
GATEWAY = f"{SUBNET}.1"
HOSTS = {
    "lb": 10,
    "db1": 11,
    "db2": 12,
    "broker1": 21,
    "broker2": 22,
    "app1": 31,
    "app2": 32,
}
ETCD_HOSTS = ("db1", "db2", "lb")
DB_HOSTS = ("db1", "db2")
BROKER_HOSTS = ("broker1", "broker2")
APP_HOSTS = ("app1", "app2")
DATABASE = "altay_skills"
#: the Patroni cluster's name (its keys in etcd)
SCOPE = "altay-skills"
SENTINEL_MASTER = "altay-broker"


def state_dir() -> Path:
    return Path(os.environ.get("ALTAY_CLUSTER_DIR", "/var/lib/altay-cluster"))


def address(host: str) -> str:
    return f"{SUBNET}.{HOSTS[host]}"


def namespace(host: str) -> str:
    return f"altay-{host}"


def debian_cluster(host: str) -> str:
    return f"altay_{host}"


LB = address("lb")
WEB_URL = f"http://{LB}"


# --- processes ----------------------------------------------------------------------------
def sh(*argv: str, check: bool = True, timeout: float = 120) -> str:
    done = subprocess.run(  # noqa: S603  # nosec B603: our own command line
        list(argv), capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {done.stdout}{done.stderr}")
    return done.stdout


def in_host(host: str, *argv: str, user: str | None = None) -> list[str]:
    command = ["ip", "netns", "exec", namespace(host)]
    if user:
        command += ["runuser", "-u", user, "--"]
    return command + list(argv)


def wait_until(
    condition: Callable[[], Any], *, seconds: float, what: str, step: float = 0.25
) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        try:
            value = condition()
        except Exception:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"after {seconds:.0f} s still waiting for {what}")
        time.sleep(step)


def http_get(url: str, timeout: float = 1.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310  # nosec B310: http to the cluster's own addresses
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@dataclass(frozen=True)
class Service:
    """One process of one host, started in its namespace, in a process group of its
    own (``kill`` sends the signal to the group: gunicorn's and Celery's children too)."""

    name: str
    host: str
    argv: tuple[str, ...]
    user: str | None = None
    env: tuple[tuple[str, str], ...] = ()


class Cluster:
    def __init__(self, state: Path | None = None) -> None:
        self.state = state or state_dir()

    # -- paths and secrets
    @property
    def logs(self) -> Path:
        return self.state / "logs"

    @property
    def pids(self) -> Path:
        return self.state / "pids"

    def secrets(self) -> dict[str, str]:
        path = self.state / "secrets.json"
        if not path.exists():
            values = {
                name: secrets.token_hex(16)
                for name in ("postgres", "replicator", "rewind", "owner", "app")
            } | {
                "secret_key": secrets.token_urlsafe(48),
                "audit_key": secrets.token_urlsafe(48),
            }
            path.write_text(json.dumps(values))
            path.chmod(0o600)
        result: dict[str, str] = json.loads(path.read_text())
        return result

    def database_url(self, role: str = "app", *, port: int = 5432) -> str:
        password = self.secrets()[role]
        user = {"app": "altay_app", "owner": "altay_owner", "postgres": "postgres"}[
            role
        ]
        return f"postgres://{user}:{password}@{LB}:{port}/{DATABASE}"

    def app_env(self, host: str | None = None) -> dict[str, str]:
        """The environment of every app process: the .env of a prefecture's host."""
        s = self.secrets()
        env = {
            k: v
            for k, v in os.environ.items()
            if k in {"PATH", "LANG", "LC_ALL", "HOME", "TZ"}
        }
        env.update(
            DEBUG="0",
            SECRET_KEY=s["secret_key"],
            AUDIT_KEY=s["audit_key"],
            ALLOWED_HOSTS=f"{LB},altay.cluster",
            CSRF_TRUSTED_ORIGINS=f"https://{LB}",
            FORWARDED_ALLOW_IPS=LB,
            SECURE_SSL_REDIRECT="1",
            DATABASE_URL=self.database_url("app"),
            MIGRATION_DATABASE_URL=self.database_url("owner"),
            # as .env.example: each worker keeps its connection (HAProxy closes it when
            # its primary is marked down; CONN_HEALTH_CHECKS replaces a dead one)
            CONN_MAX_AGE="60",
            REDIS_URL=f"redis://{LB}:6379/0",
            STATIC_ROOT=str(self.state / "static"),
            MEDIA_ROOT=str(self.state / "media"),
            BACKUP_DIR=str(self.state / "backups"),
            AUDIT_ANCHOR_DIR=str(self.state / "backups" / "audit-anchors"),
            SMS_BACKEND="altay_skills.sms.FileBackend",
            SMS_FILE_PATH=str(self.state / "sms.jsonl"),
            LOG_FORMAT="json",
            METRICS_ALLOWED_IPS=GATEWAY,
            ADMINS="",
            # A rollup whose worker died is queued again after 20 s, not 10 min: the
            # fault test waits for it (docs/operations.md says what to set).
            ROLLUP_REQUEUE_SECONDS="20",
            PYTHONPATH=str(ROOT),
        )
        if host is not None:
            env.update(
                BIND_HOST=address(host),
                PORT="8000",
                WEB_CONCURRENCY="2",
                PROMETHEUS_MULTIPROC_DIR=str(self.state / host / "metrics"),
            )
        return env

    # -- the network
    def network_up(self) -> None:
        if not Path(f"/sys/class/net/{BRIDGE}").exists():
            sh("ip", "link", "add", BRIDGE, "type", "bridge")
            sh("ip", "addr", "add", f"{GATEWAY}/24", "dev", BRIDGE)
        sh("ip", "link", "set", BRIDGE, "up")
        existing = set(sh("ip", "netns", "list").split())
        for host in HOSTS:
            ns, outside = namespace(host), f"va-{host}"
            if ns in existing:
                continue
            sh("ip", "netns", "add", ns)
            sh(
                "ip",
                "link",
                "add",
                outside,
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "netns",
                ns,
            )
            sh("ip", "link", "set", outside, "master", BRIDGE, "up")
            sh(
                *in_host(
                    host, "ip", "addr", "add", f"{address(host)}/24", "dev", "eth0"
                )
            )
            sh(*in_host(host, "ip", "link", "set", "eth0", "up"))
            sh(*in_host(host, "ip", "link", "set", "lo", "up"))
        # bridged frames are not filtered (the machine's FORWARD policy may be DROP)
        bridge_nf = Path("/proc/sys/net/bridge/bridge-nf-call-iptables")
        if bridge_nf.exists():
            bridge_nf.write_text("0\n")

    def network_down(self) -> None:
        existing = set(sh("ip", "netns", "list", check=False).split())
        for host in HOSTS:
            if namespace(host) in existing:
                sh("ip", "netns", "del", namespace(host), check=False)
            sh("ip", "link", "del", f"va-{host}", check=False)
        sh("ip", "link", "del", BRIDGE, check=False)

    # -- services
    def services(self) -> list[Service]:
        s = self.secrets()
        etcd_cluster = ",".join(
            f"etcd-{h}=http://{address(h)}:2380" for h in ETCD_HOSTS
        )
        found: list[Service] = []
        for host in ETCD_HOSTS:
            ip = address(host)
            found.append(
                Service(
                    f"etcd-{host}",
                    host,
                    (
                        "etcd",
                        f"--name=etcd-{host}",
                        f"--data-dir={self.state / host / 'etcd'}",
                        f"--listen-client-urls=http://{ip}:2379",
                        f"--advertise-client-urls=http://{ip}:2379",
                        f"--listen-peer-urls=http://{ip}:2380",
                        f"--initial-advertise-peer-urls=http://{ip}:2380",
                        f"--initial-cluster={etcd_cluster}",
                        "--initial-cluster-state=new",
                        "--initial-cluster-token=altay-skills",
                        "--heartbeat-interval=100",
                        "--election-timeout=1000",
                        "--logger=zap",
                        "--log-level=warn",
                    ),
                )
            )
        for host in DB_HOSTS:
            found.append(
                Service(
                    f"patroni-{host}",
                    host,
                    ("/usr/bin/patroni", str(self.state / host / "patroni.yml")),
                    user="postgres",
                )
            )
        for host in BROKER_HOSTS:
            found.append(
                Service(
                    f"redis-{host}",
                    host,
                    ("redis-server", str(self.state / host / "redis.conf")),
                )
            )
        for host in (*BROKER_HOSTS, "lb"):
            found.append(
                Service(
                    f"sentinel-{host}",
                    host,
                    (
                        "redis-server",
                        str(self.state / host / "sentinel.conf"),
                        "--sentinel",
                    ),
                )
            )
        found.append(
            Service(
                "haproxy",
                "lb",
                ("haproxy", "-db", "-f", str(self.state / "lb" / "haproxy.cfg")),
            )
        )
        del s
        for host in APP_HOSTS:
            env = tuple(sorted(self.app_env(host).items()))
            found += [
                Service(
                    f"web-{host}",
                    host,
                    (str(VENV_BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py")),
                    env=env,
                ),
                Service(
                    f"worker-{host}",
                    host,
                    (
                        str(VENV_BIN / "celery"),
                        "-A",
                        "altay_skills",
                        "worker",
                        "--loglevel=INFO",
                        "--concurrency=1",
                        f"--hostname=worker@{host}",
                    ),
                    env=env,
                ),
                Service(
                    f"beat-{host}",
                    host,
                    (str(VENV_BIN / "python"), str(ROOT / "manage.py"), "beat_leader"),
                    env=env,
                ),
            ]
        return found

    def service(self, name: str) -> Service:
        for service in self.services():
            if service.name == name:
                return service
        raise KeyError(name)

    def start(self, service: Service, *, extra: Iterable[str] = ()) -> int:
        self.logs.mkdir(parents=True, exist_ok=True)
        self.pids.mkdir(parents=True, exist_ok=True)
        log = (self.logs / f"{service.name}.log").open("ab")
        process = subprocess.Popen(  # noqa: S603  # nosec B603: our own command line
            in_host(service.host, *service.argv, *extra, user=service.user),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=ROOT,
            env=dict(service.env) if service.env else None,
            start_new_session=True,
        )
        log.close()
        (self.pids / service.name).write_text(str(process.pid))
        return process.pid

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Signal one service's process group (the service and its children)."""
        pid_file = self.pids / name
        if not pid_file.exists():
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(int(pid_file.read_text()), sig)

    def kill_host(self, host: str) -> None:
        """SIGKILL every process in the host's namespace: the machine is gone."""
        for pid in sh("ip", "netns", "pids", namespace(host), check=False).split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
        wait_until(
            lambda: not sh("ip", "netns", "pids", namespace(host), check=False).split(),
            seconds=10,
            what=f"every process of {host} to end",
        )

    def start_host(self, host: str) -> None:
        """The host back: its services started again (a broker rejoins as a replica)."""
        for service in self.services():
            if service.host != host:
                continue
            extra: list[str] = []
            if service.name.startswith("redis-"):
                master = self.broker_primary()
                if master and master != host:
                    extra = ["--replicaof", address(master), "6379"]
            self.start(service, extra=extra)

    # -- configuration files
    def write_configuration(self) -> None:
        s = self.secrets()
        for host in HOSTS:
            (self.state / host).mkdir(parents=True, exist_ok=True)
        for folder in ("static", "media", "backups/audit-anchors"):
            (self.state / folder).mkdir(parents=True, exist_ok=True)
        for host in APP_HOSTS:
            (self.state / host / "metrics").mkdir(parents=True, exist_ok=True)
        self.state.chmod(0o755)
        for host in DB_HOSTS:
            self._write_patroni(host, s)
        for host in BROKER_HOSTS:
            self._write_redis(host)
        for host in (*BROKER_HOSTS, "lb"):
            self._write_sentinel(host)
        self._write_haproxy()

    def _write_patroni(self, host: str, s: dict[str, str]) -> None:
        folder = self.state / host
        run = folder / "run"
        run.mkdir(exist_ok=True)
        ip = address(host)
        name = debian_cluster(host)
        # Patroni runs them as postgres, which may not read the checkout (a CI clone in
        # a private temporary folder): copied beside the configuration.
        bin_dir = self.state / "bin"
        bin_dir.mkdir(exist_ok=True)
        for name_ in ("debian-cluster.sh", "roles.sh"):
            shutil.copy(HERE / name_, bin_dir / name_)
            (bin_dir / name_).chmod(0o755)
        script = bin_dir / "debian-cluster.sh"
        etcd_hosts = ",".join(f"{address(h)}:2379" for h in ETCD_HOSTS)
        config = {
            "scope": SCOPE,
            "namespace": "/altay/",
            "name": host,
            "log": {"level": "INFO"},
            "restapi": {"listen": f"{ip}:8008", "connect_address": f"{ip}:8008"},
            "etcd3": {"hosts": etcd_hosts},
            "bootstrap": {
                "method": "debian",
                "debian": {"command": f"{script} create {name}", "no_params": False},
                "dcs": {
                    # the leader key lives 10 s: a dead primary's standby is promoted
                    # 10–12 s after its last renewal
                    "ttl": 10,
                    "loop_wait": 1,
                    "retry_timeout": 4,
                    "maximum_lag_on_failover": 0,
                    "synchronous_mode": True,
                    "synchronous_node_count": 1,
                    "postgresql": {
                        "use_pg_rewind": True,
                        "use_slots": True,
                        "parameters": {
                            "synchronous_commit": "on",
                            "wal_level": "replica",
                            "hot_standby": "on",
                            "max_wal_senders": 10,
                            "max_replication_slots": 10,
                            "wal_keep_size": "256MB",
                            "max_connections": 200,
                        },
                    },
                },
                "post_bootstrap": f"{bin_dir / 'roles.sh'} {folder / 'roles.env'}",
            },
            "postgresql": {
                "listen": f"{ip}:5432",
                "connect_address": f"{ip}:5432",
                "use_unix_socket": True,
                # the Debian cluster's data under the host's own folder (owned by
                # postgres, who creates and re-creates it)
                "data_dir": str(folder / "pgdata"),
                "config_dir": f"/etc/postgresql/{PG_VERSION}/{name}",
                "bin_dir": str(PG_BIN),
                "pgpass": str(folder / "pgpass"),
                "create_replica_methods": ["debian"],
                "debian": {"command": f"{script} clone {name}", "no_params": False},
                "authentication": {
                    "superuser": {"username": "postgres", "password": s["postgres"]},
                    "replication": {
                        "username": "replicator",
                        "password": s["replicator"],
                    },
                    "rewind": {"username": "rewinder", "password": s["rewind"]},
                },
                "pg_hba": [
                    "local all all trust",
                    f"host replication replicator {SUBNET}.0/24 scram-sha-256",
                    f"host all all {SUBNET}.0/24 scram-sha-256",
                ],
                "parameters": {
                    "unix_socket_directories": str(run),
                    "password_encryption": "scram-sha-256",
                    "logging_collector": "on",
                    "log_directory": "/var/log/postgresql",
                    "log_filename": f"postgresql-{PG_VERSION}-{name}.log",
                    "cluster_name": name,
                },
            },
            "tags": {"nofailover": False, "noloadbalance": False},
        }
        # JSON is YAML: no YAML writer needed
        (folder / "patroni.yml").write_text(json.dumps(config, indent=2))
        env = folder / "roles.env"
        env.write_text(
            f"OWNER_PASSWORD={s['owner']}\nAPP_PASSWORD={s['app']}\nDATABASE={DATABASE}\n"
        )
        shutil.chown(folder, "postgres", "postgres")
        for path in folder.iterdir():
            shutil.chown(path, "postgres", "postgres")
        env.chmod(0o600)

    def _write_redis(self, host: str) -> None:
        folder = self.state / host
        lines = [
            f"bind {address(host)}",
            "port 6379",
            "protected-mode no",
            f"dir {folder}",
            "appendonly yes",
            "appendfsync always",
            'save ""',
            "daemonize no",
        ]
        if host != BROKER_HOSTS[0]:
            lines.append(f"replicaof {address(BROKER_HOSTS[0])} 6379")
        (folder / "redis.conf").write_text("\n".join(lines) + "\n")

    def _write_sentinel(self, host: str) -> None:
        folder = self.state / host
        primary = address(BROKER_HOSTS[0])
        (folder / "sentinel.conf").write_text(
            "\n".join(
                [
                    f"bind {address(host)}",
                    "port 26379",
                    "protected-mode no",
                    f"dir {folder}",
                    f"sentinel monitor {SENTINEL_MASTER} {primary} 6379 2",
                    f"sentinel down-after-milliseconds {SENTINEL_MASTER} 2000",
                    f"sentinel failover-timeout {SENTINEL_MASTER} 10000",
                    f"sentinel parallel-syncs {SENTINEL_MASTER} 1",
                ]
            )
            + "\n"
        )

    def _write_haproxy(self) -> None:
        folder = self.state / "lb"
        errors = folder / "errors"
        errors.mkdir(exist_ok=True)
        # Every answer under /api/ is JSON, in Chinese: the proxy's own answers too.
        body = json.dumps(
            {
                "code": "service_unavailable",
                "detail": "服务暂时不可用（正在切换服务器），请稍后重试。",
            },
            ensure_ascii=False,
        ).encode()
        for code in (502, 503, 504):
            (errors / f"{code}.http").write_bytes(
                b"HTTP/1.1 503 Service Unavailable\r\n"
                b"Content-Type: application/json; charset=utf-8\r\n"
                b"Cache-Control: no-store\r\nRetry-After: 2\r\nConnection: close\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
        apps = "\n".join(
            f"    server {h} {address(h)}:8000 check inter 1s fall 2 rise 2"
            for h in APP_HOSTS
        )
        dbs = "\n".join(
            f"    server {h} {address(h)}:5432 check port 8008" for h in DB_HOSTS
        )
        brokers = "\n".join(
            f"    server {h} {address(h)}:6379 check inter 500ms fall 2 rise 2"
            for h in BROKER_HOSTS
        )
        errorfiles = "\n".join(
            f"    errorfile {code} {errors / f'{code}.http'}"
            for code in (502, 503, 504)
        )
        (folder / "haproxy.cfg").write_text(
            f"""global
    maxconn 4000
    stats socket {folder / "haproxy.sock"} mode 600 level admin

defaults
    timeout connect 2s
    timeout client 120s
    timeout server 120s
    timeout check 1s
    retries 3

# The web: two app hosts; a host that refuses a connection is skipped for the other
# (retry-on conn-failure: nothing reached it, so nothing ran twice). A request cut off
# on a host that died gets the Chinese 503 below; the client retries it with its
# Idempotency-Key.
frontend web
    mode http
    bind {LB}:80
    option forwardfor
    http-request set-header X-Forwarded-Proto https
    default_backend apps

backend apps
    mode http
    balance roundrobin
    option redispatch 1
    retry-on conn-failure
    option httpchk
    http-check send meth GET uri /healthz
    http-check expect status 200
{apps}
{errorfiles}

# PostgreSQL: the one Patroni answers 200 on /primary; sessions on a server marked
# down are cut, so nothing keeps writing to a demoted primary.
listen postgres
    mode tcp
    bind {LB}:5432
    option httpchk
    http-check send meth GET uri /primary
    http-check expect status 200
    default-server inter 1s fall 2 rise 1 on-marked-down shutdown-sessions
{dbs}

# The standby, for reads that may be a moment old (docs/operations.md).
listen postgres-standby
    mode tcp
    bind {LB}:5433
    option httpchk
    http-check send meth GET uri /replica
    http-check expect status 200
    default-server inter 1s fall 2 rise 1 on-marked-down shutdown-sessions
{dbs}

# Redis: the one that says role:master (Sentinel decides which).
listen redis
    mode tcp
    bind {LB}:6379
    option tcp-check
    tcp-check connect
    tcp-check send PING\\r\\n
    tcp-check expect string +PONG
    tcp-check send info\\ replication\\r\\n
    tcp-check expect string role:master
    tcp-check send QUIT\\r\\n
    tcp-check expect string +OK
    default-server on-marked-down shutdown-sessions
{brokers}
"""
        )

    # -- what is running
    def patroni(self, host: str, path: str = "/patroni") -> dict[str, Any] | None:
        try:
            status, body = http_get(f"http://{address(host)}:8008{path}")
        except OSError:
            return None
        try:
            answer: dict[str, Any] = json.loads(body)
        except ValueError:
            return None
        answer["http_status"] = status
        return answer

    def db_primary(self) -> str | None:
        for host in DB_HOSTS:
            answer = self.patroni(host, "/primary")
            if answer and answer["http_status"] == 200:
                return host
        return None

    def sync_standby(self) -> str | None:
        for host in DB_HOSTS:
            answer = self.patroni(host, "/sync")
            if answer and answer["http_status"] == 200:
                return host
        return None

    def broker_primary(self) -> str | None:
        for host in BROKER_HOSTS:
            done = subprocess.run(  # noqa: S603  # nosec B603: our own command line
                in_host(host, "redis-cli", "-h", address(host), "info", "replication"),
                capture_output=True,
                text=True,
                timeout=5,
                check=False,
            )
            if "role:master" in done.stdout:
                return host
        return None

    def beat_hosts(self) -> list[str]:
        """The app hosts where a ``celery beat`` process runs now."""
        running = []
        for host in APP_HOSTS:
            pids = sh("ip", "netns", "pids", namespace(host), check=False).split()
            for pid in pids:
                try:
                    command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                except OSError:
                    continue
                if b"beat" in command and any(
                    part.endswith(b"celery") for part in command
                ):
                    running.append(host)
                    break
        return running

    def manage(self, *args: str, host: str = "app1", timeout: float = 600) -> str:
        """``manage.py`` on an app host, as its owner (migrations) or the app role."""
        done = subprocess.run(  # noqa: S603  # nosec B603: our own command line
            in_host(host, str(VENV_BIN / "python"), str(ROOT / "manage.py"), *args),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.app_env(host),
            cwd=ROOT,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"manage.py {' '.join(args)}: {done.stdout}{done.stderr}"
            )
        return done.stdout

    def status(self) -> dict[str, Any]:
        web = None
        with contextlib.suppress(OSError):
            web = http_get(f"{WEB_URL}/healthz")[0]
        return {
            "db_primary": self.db_primary(),
            "db_sync_standby": self.sync_standby(),
            "broker_primary": self.broker_primary(),
            "beat_on": self.beat_hosts(),
            "web_healthz": web,
            "web": WEB_URL,
        }

    # -- up and down
    def up(self, *, log: Callable[[str], None] = print) -> None:
        started = time.monotonic()
        if (self.state / "up").exists():
            log(f"already up ({self.state}); make cluster-down first")
            return
        self.down(quiet=True)
        self.state.mkdir(parents=True, exist_ok=True)
        self.network_up()
        self.write_configuration()
        for service in self.services():
            if service.name.startswith("etcd-"):
                self.start(service)
        wait_until(
            lambda: all(
                http_get(f"http://{address(h)}:2379/health")[0] == 200
                for h in ETCD_HOSTS
            ),
            seconds=60,
            what="etcd's three members",
        )
        log("etcd: 3 members healthy")
        self.start(self.service("patroni-db1"))
        wait_until(
            lambda: self.db_primary() == "db1", seconds=120, what="db1 to be primary"
        )
        self.start(self.service("patroni-db2"))
        wait_until(
            lambda: self.sync_standby() == "db2",
            seconds=180,
            what="db2 to stream as the synchronous standby",
        )
        log("PostgreSQL: db1 primary, db2 synchronous standby (Patroni)")
        for service in self.services():
            if (
                service.name.startswith(("redis-", "sentinel-"))
                or service.name == "haproxy"
            ):
                self.start(service)
        wait_until(
            lambda: (
                sh("psql", self.database_url("owner"), "-Atc", "select 1").strip()
                == "1"
            ),
            seconds=60,
            what="the database through HAProxy",
        )
        wait_until(
            lambda: self.broker_primary() == "broker1",
            seconds=30,
            what="the broker's primary",
        )
        log("Redis: broker1 primary, broker2 replica, 3 sentinels; HAProxy up")
        self.manage("migrate", "--noinput", "-v", "0")
        self.manage("db_roles")
        self.manage("collectstatic", "--noinput", "-v", "0")
        log("migrated, roles granted, static files collected")
        for service in self.services():
            if service.host in APP_HOSTS:
                self.start(service)
        wait_until(
            lambda: http_get(f"{WEB_URL}/readyz", timeout=5)[0] == 200,
            seconds=120,
            what="/readyz through HAProxy",
            step=1,
        )
        wait_until(lambda: len(self.beat_hosts()) == 1, seconds=60, what="one beat")
        (self.state / "up").write_text(str(time.time()))
        log(
            f"cluster up in {time.monotonic() - started:.0f} s: {json.dumps(self.status())}"
        )

    def down(self, *, quiet: bool = False) -> None:
        existing = set(sh("ip", "netns", "list", check=False).split())
        for host in HOSTS:
            if namespace(host) in existing:
                self.kill_host(host)
        self.network_down()
        for host in DB_HOSTS:
            if Path(f"/etc/postgresql/{PG_VERSION}/{debian_cluster(host)}").exists():
                sh("pg_dropcluster", PG_VERSION, debian_cluster(host), check=False)
        if self.state.exists():
            shutil.rmtree(self.state)
        if not quiet:
            print("cluster down")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("action", choices=["up", "down", "status", "kill", "start"])
    parser.add_argument("host", nargs="?", choices=sorted(HOSTS))
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("make cluster runs as root (network namespaces, pg_createcluster)")
        return 2
    cluster = Cluster()
    if args.action == "up":
        cluster.up()
    elif args.action == "down":
        cluster.down()
    elif args.action == "status":
        print(json.dumps(cluster.status(), indent=2))
    elif args.host is None:
        parser.error(f"{args.action} needs a host")
    elif args.action == "kill":
        cluster.kill_host(args.host)
    else:
        cluster.start_host(args.host)
    return 0


if __name__ == "__main__":
    sys.exit(main())
