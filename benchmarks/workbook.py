"""The finance workbook (100,000 lines) against bare openpyxl and XlsxWriter loops.

Four children, each a fresh ``python -m benchmarks.workbook <side> …`` process so its
peak memory (``ru_maxrss``) is the writer's own:

- ``bare``: openpyxl's ``Workbook(write_only=True)`` and ``ws.append`` of the 15 plain
  values of each line — the same cells, no styles (the baseline since issue 5);
- ``bare_xlsxwriter``: XlsxWriter's ``Workbook(constant_memory=True)`` and
  ``write_row`` of the same 15 plain values — the library the writer uses since issue
  19, bare;
- ``writer``: ``finance.exports.write_finance_workbook`` with one fund sheet of the
  same lines (styled, text-typed, formula-safe cells, summary and print set-up);
- ``db``: end to end — Django, ``finance.services._lines`` streaming approved claims of
  the closed quarters from PostgreSQL (plain rows over the joins, ``values_list`` and
  ``iterator(chunk_size=2000)``), 100,000 of them, into ``write_finance_workbook``.

``--workbook-lines N`` (default 100,000) writes fewer or more lines.

``bare``, ``bare_xlsxwriter`` and ``writer`` read the same pickled lines (fetched once
from the database by ``_lines``); the time excludes loading them, and the memory is
reported both as the child's peak and as the peak above the child's size after
loading. The run then checks
that the writer's fund sheet opens with the very values of the bare sheet (2,000 lines).
"""

from __future__ import annotations

import itertools
import json
import os
import pickle
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

LINES = 100_000


def maxrss_mb() -> float:
    """This process's peak resident memory (VmHWM: reset by exec, unlike ru_maxrss,
    which Linux carries over from the forking parent)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def closed_quarters() -> list[str]:
    from quarters.models import QuarterlyReport

    return sorted(
        set(
            QuarterlyReport.objects.filter(status="closed").values_list(
                "quarter", flat=True
            )
        ),
        reverse=True,
    )


def db_lines(limit: int) -> Iterator[Any]:
    """``_lines`` of the special fund over the closed quarters, newest first."""
    from finance.services import _lines

    return itertools.islice(
        itertools.chain.from_iterable(_lines(q, "special") for q in closed_quarters()),
        limit,
    )


def book_of(lines: Any) -> Any:
    from finance import exports

    summary = [
        exports.SummaryRow(
            "654301",
            "阿勒泰市",
            "职业技能提升行动专项资金",
            1,
            1,
            1,
            *(exports.Decimal("1.00"),) * 3,
        )
    ]
    return exports.FinanceWorkbook(
        title="阿勒泰地区职业技能提升行动补贴资金拨付表",
        quarter="bench",
        generated_at="2026-01-01 00:00",
        checksum="0" * 16,
        summary=summary,
        funds=[exports.FundSheet("special", "职业技能提升行动专项资金", lines)],
        spot_checks=[],
    )


def write_bare(lines: list[Any], path: str) -> None:
    from openpyxl import Workbook

    from finance.exports import LINE_HEADERS

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("lines")
    ws.append(list(LINE_HEADERS))
    for x in lines:
        ws.append(
            [
                x.claim_id,
                x.unit_name,
                x.payee_kind,
                x.payee_name,
                x.id_number_masked,
                x.institution_name,
                x.credit_code,
                x.program,
                x.trade,
                x.level,
                x.training_end,
                x.amount,
                x.advance,
                x.balance,
                x.recovery,
            ]
        )
    wb.save(path)


def write_bare_xlsxwriter(lines: list[Any], path: str) -> None:
    from xlsxwriter import Workbook

    from finance.exports import LINE_HEADERS

    wb = Workbook(path, {"constant_memory": True})
    ws = wb.add_worksheet("lines")
    ws.write_row(0, 0, LINE_HEADERS)
    for row, x in enumerate(lines, start=1):
        ws.write_row(
            row,
            0,
            (
                x.claim_id,
                x.unit_name,
                x.payee_kind,
                x.payee_name,
                x.id_number_masked,
                x.institution_name,
                x.credit_code,
                x.program,
                x.trade,
                x.level,
                x.training_end,
                x.amount,
                x.advance,
                x.balance,
                x.recovery,
            ),
        )
    wb.close()


def first_rows(
    path: str, sheet: int, rows: int, header_row: int = 1
) -> list[tuple[Any, ...]]:
    """The first ``rows`` lines under the header (row ``header_row``) of a workbook's
    ``sheet``-th sheet."""
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True)
    try:
        ws = wb.worksheets[sheet]
        return list(
            ws.iter_rows(
                min_row=header_row + 1, max_row=header_row + rows, values_only=True
            )
        )
    finally:
        wb.close()


def same_cells(folder: str, rows: int = 2000) -> bool:
    """Whether the writer's fund sheet opens with the very values the bare loop wrote
    (both sides write the same cells; only styles and the extra sheets differ)."""
    bare = first_rows(os.path.join(folder, "bare.xlsx"), 0, rows)
    # the writer's fund sheet opens with its title row
    writer = first_rows(os.path.join(folder, "writer.xlsx"), 1, rows, header_row=2)
    return len(bare) == rows and bare == writer


def child(side: str, source: str, target: str, limit: int = LINES) -> dict[str, Any]:
    """Runs in the fresh process: one timed write."""
    if side == "db":
        sys.path.insert(0, os.getcwd())
        from benchmarks.__main__ import setup_django

        setup_django()
        from finance.exports import write_finance_workbook

        base = maxrss_mb()
        t, cpu = time.perf_counter(), time.process_time()
        counted = []

        def counting() -> Iterator[Any]:
            for line in db_lines(limit):
                counted.append(1)
                yield line

        write_finance_workbook(book_of(counting()), target)
        seconds, cpu = time.perf_counter() - t, time.process_time() - cpu
        lines = len(counted)
    else:
        with open(source, "rb") as f:
            data = pickle.load(f)  # our own file, written just before
        if side == "writer":
            from finance.exports import write_finance_workbook
        elif side == "bare":
            import openpyxl  # noqa: F401 - imported before the baseline, like the writer
        else:
            import xlsxwriter  # noqa: F401 - the same
        base = maxrss_mb()
        t, cpu = time.perf_counter(), time.process_time()
        if side == "writer":
            write_finance_workbook(book_of(data), target)
        elif side == "bare":
            write_bare(data, target)
        else:
            write_bare_xlsxwriter(data, target)
        seconds, cpu = time.perf_counter() - t, time.process_time() - cpu
        lines = len(data)
    peak = maxrss_mb()
    return {
        "side": side,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "lines": lines,
        "peak_rss_mb": round(peak, 1),
        "rss_before_mb": round(base, 1),
        "peak_above_start_mb": round(peak - base, 1),
        "bytes": Path(target).stat().st_size,
    }


def spawn(side: str, source: str, target: str, limit: int) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.workbook", side, source, target, str(limit)],
        capture_output=True,
        text=True,
        check=False,
        env=os.environ | {"PYTHONPATH": os.getcwd()},
    )
    if proc.returncode:
        raise RuntimeError(f"workbook child {side} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(results: dict[str, Any], *, repeat: int = 1, limit: int = LINES) -> None:
    repeat = max(1, repeat)
    with tempfile.TemporaryDirectory(prefix="bench-xlsx-") as folder:
        source = os.path.join(folder, "lines.pickle")
        t = time.perf_counter()
        lines = list(db_lines(limit))
        fetch_s = time.perf_counter() - t
        if len(lines) < limit:
            print(f"   only {len(lines):,} approved special-fund lines in the dataset")
        with open(source, "wb") as f:
            pickle.dump(lines, f)
        del lines
        sides = ("bare", "bare_xlsxwriter", "writer")
        runs: dict[str, list[dict[str, Any]]] = {s: [] for s in (*sides, "db")}
        for _ in range(repeat):
            for side in sides:
                runs[side].append(
                    spawn(side, source, os.path.join(folder, f"{side}.xlsx"), limit)
                )
        runs["db"].append(spawn("db", source, os.path.join(folder, "db.xlsx"), limit))
        equal = same_cells(folder)
    if not equal:
        raise AssertionError("the writer's cells differ from the bare loop's")
    med = {
        s: statistics.median(r["seconds"] for r in rs) for s, rs in runs.items() if rs
    }
    peak = {s: max(r["peak_rss_mb"] for r in rs) for s, rs in runs.items() if rs}
    above = {
        s: max(r["peak_above_start_mb"] for r in rs) for s, rs in runs.items() if rs
    }
    ratio = med["writer"] / med["bare"]
    ratio_xw = med["writer"] / med["bare_xlsxwriter"]
    cpu = {
        s: statistics.median(r["cpu_seconds"] for r in rs)
        for s, rs in runs.items()
        if rs
    }
    cpu_ratio = cpu["writer"] / cpu["bare"]
    n = runs["writer"][0]["lines"]
    out = {
        "lines": n,
        "repeat": repeat,
        "bare_s": round(med["bare"], 2),
        "writer_s": round(med["writer"], 2),
        "bare_xlsxwriter_s": round(med["bare_xlsxwriter"], 2),
        "ratio_writer": round(ratio, 2),
        "ratio_writer_vs_bare_xlsxwriter": round(ratio_xw, 2),
        "target_ratio": 1.5,
        "met_ratio": ratio <= 1.5 and ratio_xw <= 1.5,
        "cpu_s": {k: round(v, 2) for k, v in cpu.items()},
        "ratio_writer_cpu": round(cpu_ratio, 2),
        "db_to_xlsx_s": round(med["db"], 2),
        "ratio_db_to_xlsx_vs_bare": round(med["db"] / med["bare"], 2),
        "fetch_lines_into_memory_s": round(fetch_s, 2),
        "peak_rss_mb": peak,
        "peak_above_start_mb": above,
        "target_peak_mb": 200,
        # the application streams (the end-to-end side); the pure sides hold all the
        # lines in memory by construction, so their peaks compare with each other
        "met_memory": peak["db"] <= 200,
        "writer_peak_over_bare_mb": round(peak["writer"] - peak["bare"], 1),
        "same_cells_first_2000_lines": equal,
        "xlsx_bytes": {s: rs[0]["bytes"] for s, rs in runs.items()},
        "runs": {s: [round(r["seconds"], 2) for r in rs] for s, rs in runs.items()},
    }
    results["workbook"] = out
    print(
        f"   finance workbook, {n:,} lines (median of {repeat}, fresh process each): "
        f"bare openpyxl {med['bare']:.2f} s · bare XlsxWriter "
        f"{med['bare_xlsxwriter']:.2f} s · write_finance_workbook {med['writer']:.2f} s "
        f"(×{ratio:.2f} of bare openpyxl, ×{ratio_xw:.2f} of bare XlsxWriter, target "
        f"≤ 1.5: {'met' if out['met_ratio'] else 'MISSED'}); CPU time "
        f"{cpu['bare']:.2f} s / {cpu['bare_xlsxwriter']:.2f} s vs {cpu['writer']:.2f} s "
        f"(×{cpu_ratio:.2f} of bare openpyxl)"
    )
    print(
        f"   end to end PostgreSQL → _lines → xlsx: {med['db']:.2f} s "
        f"(×{med['db'] / med['bare']:.2f} of bare); peak RSS bare {peak['bare']:.0f} MB · "
        f"bare XlsxWriter {peak['bare_xlsxwriter']:.0f} MB · "
        f"writer {peak['writer']:.0f} MB · end to end {peak['db']:.0f} MB "
        f"(target ≤ 200 MB for the streaming end to end: "
        f"{'met' if out['met_memory'] else 'MISSED'}); above the "
        f"child's start: bare {above['bare']:.0f} · bare XlsxWriter "
        f"{above['bare_xlsxwriter']:.0f} · writer {above['writer']:.0f} · "
        f"db {above['db']:.0f} MB"
    )


if __name__ == "__main__":
    if len(sys.argv) == 5:
        side, source, target, limit = sys.argv[1:]
        if side != "db":
            sys.path.insert(0, os.getcwd())
            os.environ.setdefault("DJANGO_SETTINGS_MODULE", "altay_skills.settings")
        print(json.dumps(child(side, source, target, int(limit))))
