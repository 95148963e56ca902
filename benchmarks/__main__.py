"""``python -m benchmarks [--only generate,rollup,…] [--claims N] [--reuse]``.

Parts, in order: generate · plans · rollup · workbook · imports · summaries · queries ·
http (``summaries``: the dashboards and the review off the claim summaries, and the
cost of keeping them per transition — issue 20).
``queries`` and ``http`` live in ``benchmarks/queries.py`` and ``benchmarks/http_load.py``
(each a ``run(results)``); a part whose module is missing is reported as missing.
Every figure goes into ``bench-results/bench-<timestamp>.json`` and ``latest.json``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PARTS = (
    "generate",
    "plans",
    "rollup",
    "workbook",
    "imports",
    "summaries",
    "queries",
    "http",
)
EXTERNAL = {"queries": "benchmarks.queries", "http": "benchmarks.http_load"}
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/altay_bench"
RESULTS = Path("bench-results")


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "altay_skills.settings")
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("DATABASE_URL", DEFAULT_DB)
    if not os.environ["DATABASE_URL"].startswith("postgres"):
        raise SystemExit(
            "make bench runs on PostgreSQL only (COPY, EXPLAIN, partial indexes): "
            f"DATABASE_URL={os.environ['DATABASE_URL']}"
        )
    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()


def ensure_database(url: str) -> None:
    """Create the benchmark database when it does not exist yet (the server must)."""
    from urllib.parse import urlsplit

    import psycopg2
    from psycopg2 import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    server = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 5432,
        "user": parts.username or "postgres",
        "password": parts.password or None,
    }
    try:
        psycopg2.connect(dbname=name, **server).close()
    except psycopg2.OperationalError as exc:
        if "does not exist" not in str(exc):
            raise SystemExit(
                f"PostgreSQL at {parts.hostname} does not answer: {exc}"
            ) from None
        conn = psycopg2.connect(dbname="postgres", **server)
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        conn.close()
        print(f"== created database {name}")


def machine() -> dict[str, Any]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        pg = cursor.fetchone()[0].split(" on ")[0]
        settings = {}
        for name in ("shared_buffers", "work_mem", "max_parallel_workers_per_gather"):
            cursor.execute(f"SHOW {name}")
            settings[name] = cursor.fetchone()[0]
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_mb": mem,
        "python": platform.python_version(),
        "postgresql": pg,
        "postgresql_settings": settings,
        "git": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip(),
    }


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--only",
        default=",".join(PARTS),
        help=f"comma-separated parts to run (default all): {','.join(PARTS)}",
    )
    parser.add_argument(
        "--claims", type=int, default=1_000_000, help="claims to generate"
    )
    parser.add_argument(
        "--trainees",
        type=int,
        default=None,
        help="trainees to generate (default claims/5)",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the dataset already in the database when its row counts match",
    )
    parser.add_argument(
        "--repeat", type=int, default=5, help="timed repetitions per side (median)"
    )
    parser.add_argument(
        "--workbook-repeat",
        type=int,
        default=1,
        help="fresh-process runs per workbook side (each writes --workbook-lines)",
    )
    parser.add_argument(
        "--workbook-lines",
        type=int,
        default=100_000,
        help="approved special-fund lines each workbook side writes (default 100,000)",
    )
    args = parser.parse_args(argv)
    args.parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = sorted(set(args.parts) - set(PARTS))
    if unknown:
        parser.error(f"unknown part(s): {', '.join(unknown)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    setup_django()
    from django.db import reset_queries

    from benchmarks import generate

    started = time.perf_counter()
    spec = generate.Spec(
        claims=args.claims, trainees=args.trainees or max(args.claims // 5, 100)
    )
    results: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "options": {"only": args.parts, "claims": spec.claims, "reuse": args.reuse},
    }
    print(
        f"== benchmark on {results['machine']['postgresql']}, "
        f"{results['machine']['cores']} cores: {', '.join(args.parts)}"
    )
    if "generate" in args.parts:
        if args.reuse and generate.dataset_matches(spec):
            print(
                f"== generate: reusing the dataset in the database ({spec.claims:,} claims)"
            )
            results["generate"] = {"reused": True, "rows": generate.counts_now()}
        else:
            print(f"== generate: {spec.claims:,} claims, {spec.trainees:,} trainees")
            results["generate"] = generate.generate(spec)
    elif not generate.dataset_matches(spec):
        print(
            f"!! the database does not hold a {spec.claims:,}-claim dataset: "
            "run with --only generate first (or pass --claims N)"
        )
    runners: dict[str, Callable[[dict[str, Any], argparse.Namespace], None]] = {
        "plans": lambda r, a: importlib.import_module("benchmarks.plans").run(r),
        "rollup": lambda r, a: importlib.import_module("benchmarks.rollup").run(
            r, repeat=a.repeat
        ),
        "workbook": lambda r, a: importlib.import_module("benchmarks.workbook").run(
            r, repeat=a.workbook_repeat, limit=a.workbook_lines
        ),
        "imports": lambda r, a: importlib.import_module("benchmarks.imports").run(
            r, repeat=a.repeat
        ),
        "summaries": lambda r, a: importlib.import_module("benchmarks.summaries").run(
            r, repeat=a.repeat
        ),
    }
    for part in args.parts:
        if part == "generate":
            continue
        print(f"== {part}")
        # DEBUG=1 keeps the last 9,000 queries; a full log makes CaptureQueriesContext
        # count 0 (its length no longer grows), so every part starts with it empty
        reset_queries()
        t = time.perf_counter()
        try:
            if part in EXTERNAL:
                try:
                    module = importlib.import_module(EXTERNAL[part])
                except ModuleNotFoundError as exc:
                    if exc.name != EXTERNAL[part]:
                        raise
                    print(f"   {EXTERNAL[part]} is missing: part '{part}' not run")
                    results[part] = {"missing": EXTERNAL[part]}
                    continue
                module.run(results)
            else:
                runners[part](results, args)
        except Exception as exc:  # one part failing must not lose the others' figures
            import traceback

            traceback.print_exc()
            results.setdefault(part, {})
            if isinstance(results[part], dict):
                results[part]["error"] = f"{type(exc).__name__}: {exc}"
        print(f"   ({part}: {time.perf_counter() - t:.1f} s)")
    total = time.perf_counter() - started
    results["total_seconds"] = round(total, 1)
    results["peak_rss_mb_main_process"] = round(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
    )
    write(results)
    print(f"== done in {total:.0f} s ({total / 60:.1f} min)")
    return 0


def write(results: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"bench-{stamp}.json"
    text = json.dumps(results, indent=2, ensure_ascii=False, default=str)
    path.write_text(text, encoding="utf-8")
    (RESULTS / "latest.json").write_text(text, encoding="utf-8")
    print(f"== figures written to {path} and {RESULTS / 'latest.json'}")
    return path


if __name__ == "__main__":
    raise SystemExit(main())
