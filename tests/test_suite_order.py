"""The suite's own order: no test on a kept database runs after one that empties it.

A transactional test (``transaction=True``, ``live_server``) ends with a flush that
empties every table, reference data included (units, programs: data migrations); only
tests with ``serialized_rollback`` put it back, at their start. pytest-django therefore
sorts the database tests first, then the transactional ones, then the rest. pytest's
own regrouping of session-scoped parameters (pytest-playwright's ``browser_name``) ran
after that sort and moved the browser tests into the middle of the database tests: on
an xdist worker every database test after the first browser test found no units (the
CI cascade of "项目不存在" and "单位代码无效"). ``tests/conftest.py`` sorts last.
"""

from __future__ import annotations

import os
import subprocess  # nosec B404: the suite collects itself
import sys
from pathlib import Path
from typing import Any, cast

import pytest

from programs.models import Program, Unit
from tests.conftest import leaves_commits_behind

ROOT = Path(__file__).resolve().parents[1]
#: browser tests (transactional), database tests, and this module's database test with a
#: session-scoped parameter (what pytest regroups)
MIXED = [
    "tests/e2e/test_live_panels_e2e.py",
    "tests/reporting/test_default_period.py",
    "tests/claims/test_services.py",
    "tests/test_suite_order.py",
]


def collected(paths: list[str]) -> list[str]:
    run = subprocess.run(  # nosec B603: a fixed command line
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            *paths,
        ],
        cwd=ROOT,
        env={**os.environ, "DEBUG": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    return [line for line in run.stdout.splitlines() if "::" in line]


def test_no_database_test_is_collected_after_a_browser_test() -> None:
    order = collected(MIXED)
    browser = [i for i, nodeid in enumerate(order) if "/e2e/" in nodeid]
    database = [
        i
        for i, nodeid in enumerate(order)
        if "/e2e/" not in nodeid
        # this module's other tests need no database: they come after both groups
        and ("test_suite_order.py" not in nodeid or "reference_data" in nodeid)
    ]
    assert browser and database
    assert max(database) < min(browser), [
        order[i] for i in database if i > min(browser)
    ][:5]


@pytest.fixture(scope="session", params=["阿勒泰市"])
def session_parameter(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.django_db
def test_the_reference_data_is_there_for_a_database_test(
    session_parameter: str,
) -> None:
    # a database test with a session-scoped parameter, as pytest-playwright's tests have:
    # pytest regroups it, and it must still run before any transactional test emptied
    # the units and programs
    assert Unit.objects.get(code="654301").name == session_parameter
    assert Program.objects.filter(number=9).exists()


class Collected:
    """What the suite's order reads of a collected test: its fixtures and its
    ``django_db`` mark."""

    def __init__(self, fixtures: list[str], **database: bool) -> None:
        self.fixturenames = fixtures
        self.database = database

    def get_closest_marker(self, name: str) -> Any:
        if name != "django_db":
            return None
        return pytest.mark.django_db(**self.database).mark


def test_a_rolled_back_test_may_not_start_the_app_in_a_process_of_its_own() -> None:
    # a worker started by a rolled-back test committed nine reviewer notices that the
    # rollback could not take away, and a later test on that xdist worker found them
    def leaves(item: Collected) -> bool:
        return leaves_commits_behind(cast(pytest.Item, item))

    assert leaves(Collected(["db", "start_worker"]))
    assert leaves(Collected(["start_web"]))
    assert not leaves(
        Collected(["start_worker"], transaction=True, serialized_rollback=True)
    )
    assert not leaves(Collected(["db", "broker"]))


def test_the_long_tests_start_their_database_group() -> None:
    # the ledger machine (kept database) and the page walk (transactional), each among
    # tests of its own group: each comes first in its group, the groups still in order
    order = collected(
        [
            "tests/finance/test_ledger.py",
            "tests/finance/test_ledger_machine.py",
            "tests/e2e/test_live_panels_e2e.py",
            "tests/e2e/test_page_walk.py",
        ]
    )
    first_browser = min(i for i, nodeid in enumerate(order) if "/e2e/" in nodeid)
    assert "test_ledger_machine.py::test_the_ledger_never_leaks_money" in order[0]
    walks = [i for i, n in enumerate(order) if "test_every_page_of_every_role" in n]
    assert walks == [first_browser, first_browser + 1], order[first_browser:][:4]
    assert all("/e2e/" not in nodeid for nodeid in order[:first_browser])
