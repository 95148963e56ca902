"""Shared fixtures: a user of every role, a trainee, an institution, a valid claim body."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import connection

import pytest

from accounts.models import Role, User
from claims.services import ClaimInput
from programs.models import Institution
from tests.factories import InstitutionFactory, TraineeFactory, UserFactory
from trainees.models import Trainee


def on_postgres() -> bool:
    return connection.vendor == "postgresql"


def redis_answers() -> bool:
    import socket

    url = os.environ.get("REDIS_URL", "")
    if not url.startswith("redis://"):
        return False
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        return False
    return True


#: Tasks on a real broker need Redis; CI exports REDIS_URL and starts it.
requires_redis = pytest.mark.skipif(
    "not __import__('tests.conftest', fromlist=['x']).redis_answers()",
    reason="needs a Redis broker at REDIS_URL (CI sets it and starts Redis)",
)

#: Races and row locks need PostgreSQL: SQLite has one writer and no SELECT … FOR UPDATE.
requires_postgres = pytest.mark.skipif(
    "not __import__('os').environ.get('DATABASE_URL', '').startswith('postgres')",
    reason="needs PostgreSQL (row locks and concurrent writers); CI sets DATABASE_URL",
)


@pytest.fixture(scope="session", autouse=True)
def _no_sessions_left_on_the_test_database(
    django_db_setup: Any, django_db_blocker: Any
) -> Any:
    """Before pytest-django drops the test database, end the sessions other threads or
    processes of the run left on it (a live server's thread, a subprocess's pool): else
    the drop fails with "being accessed by other users" and the database stays behind."""
    yield
    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture(autouse=True)
def _eager_celery_unless_asked(request: pytest.FixtureRequest) -> Any:
    """Tasks run in-process unless a test starts a real worker (``real_celery``)."""
    from altay_skills.celery import app

    if request.node.get_closest_marker("real_celery"):
        yield
        return
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


#: The registry reads' throttle in tests: a cache of this process.
THROTTLE_CACHE = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "throttle-tests",
}
#: PBKDF2 costs ~0.3 s a user; tests need no protection against brute force.
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def notice_closed_once_opened(unit_id: str, on: date) -> tuple[int, None]:
    """The public notice's period for the tests of other stages: no working day."""
    return (0, None)


@pytest.fixture(autouse=True)
def _fresh_read_counts(settings: Any) -> None:
    """Each test starts with no registry reads counted: the throttle counts in a cache
    of this process (not CI's Redis, where an earlier run's counts of the same user ids
    would still be), emptied."""
    from django.core.cache import caches

    settings.CACHES = {**settings.CACHES, "throttle": THROTTLE_CACHE}
    caches["throttle"].clear()


@pytest.fixture(autouse=True)
def _public_notice_closed_unless_asked(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A report's claims go on public notice when it is submitted, and their balances
    wait for it to close (issue 17: ``notice_working_days``, 5 working days in the
    data). The tests of other stages pay balances on the day they submit: for them the
    notice lasts no working day (it is closed once opened). A test of the notice itself
    is marked ``public_notice`` and runs with the period in the data. Either way the
    public lists' cache starts a new generation."""
    from django.core.cache import caches

    from quarters.selectors import NOTICE_GENERATION_KEY

    # a test without the cache (Redis stopped) reads no notice
    with contextlib.suppress(Exception):
        caches["default"].delete(NOTICE_GENERATION_KEY)
    if request.node.get_closest_marker("public_notice"):
        return
    from quarters import services

    monkeypatch.setattr(services, "notice_period", notice_closed_once_opened)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = FAST_HASHERS


@pytest.fixture(autouse=True)
def _media_of_the_run(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Files a test stores (evidence, workbooks, imports) go under the run's temporary
    folder, never the checkout's ``.data/media``; a test that reads the folder back sets
    its own."""
    settings.MEDIA_ROOT = tmp_path_factory.getbasetemp() / "media"


@contextlib.contextmanager
def as_in_a_test(**more_settings: Any) -> Iterator[None]:
    """What the autouse fixtures above give each test, for rows built once for a whole
    module before any test's own fixtures run (the permission matrix's world): Celery
    eager, the public notice closed once opened, fast password hashing, the throttle
    in a cache of this process, files in a temporary folder; and ``more_settings``."""
    from django.conf import settings
    from django.test import override_settings

    from altay_skills.celery import app
    from quarters import services

    more_settings.setdefault("MEDIA_ROOT", Path(tempfile.mkdtemp(prefix="media-")))
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        with (
            override_settings(
                PASSWORD_HASHERS=FAST_HASHERS,
                CACHES={**settings.CACHES, "throttle": THROTTLE_CACHE},
                **more_settings,
            ),
            pytest.MonkeyPatch.context() as patch,
        ):
            patch.setattr(services, "notice_period", notice_closed_once_opened)
            yield
    finally:
        app.conf.task_always_eager = eager


# --- The people and rows most tests start from ---------------------------------------
# Plain functions, so that a fixture built once for a whole module (the permission
# matrix's world) makes the same ones as the per-test fixtures below.
def make_clerk() -> User:
    return UserFactory(username="clerk_a", role=Role.COUNTY_CLERK, unit_id="654301")


def make_reviewer() -> User:
    return UserFactory(username="reviewer", role=Role.PREFECTURE_REVIEWER)


def make_finance() -> User:
    return UserFactory(username="finance", role=Role.FINANCE_OFFICER)


def make_auditor() -> User:
    return UserFactory(username="auditor", role=Role.AUDITOR)


def make_administrator() -> User:
    return UserFactory(
        username="admin", role=Role.ADMINISTRATOR, is_staff=True, is_superuser=True
    )


def make_trainee() -> Trainee:
    # Registered in 阿勒泰市 (654301), living in 富蕴县 (654322): either unit may file
    # for them (五(二) 户籍地、常住地、求职就业地均可落实补贴), which is what lets two
    # units race for one person's limits.
    return TraineeFactory(groups=["poor_labour"], residence_unit_id="654322")


def make_institution() -> Institution:
    return InstitutionFactory(unit_id="654301")


def claim_input_of(
    trainee: Trainee, institution: Institution
) -> Callable[..., ClaimInput]:
    """A body that program 9's rules accept: 1800 yuan, 中式烹调师 · 四级, employed.

    Its certificate number is the person's, trade's and level's own unless given: one
    number on two claims is a warning (``claims.warnings``) that bulk approval asks
    the reviewer to confirm."""

    def build(**overrides: Any) -> ClaimInput:
        base = ClaimInput(
            trainee_id=trainee.pk,
            program_id=9,
            institution_id=institution.pk,
            unit_id="654301",
            training_start=date(2020, 3, 1),
            training_end=date(2020, 3, 31),
            amount_requested=Decimal("1800.00"),
            trade_id="4-03-02-01",
            level_id="intermediate",
            passed=True,
            certificate_number="CERT-0001",
            employment="employed",
        )
        built = replace(base, **overrides)
        if "certificate_number" in overrides:
            return built
        number = f"CERT-{built.trainee_id:04d}-{built.trade_id}-{built.level_id}"
        return replace(built, certificate_number=number)

    return build


@pytest.fixture
def clerk(db: Any) -> User:
    return make_clerk()


@pytest.fixture
def clerk_same_unit(db: Any) -> User:
    return UserFactory(username="clerk_a2", role=Role.COUNTY_CLERK, unit_id="654301")


@pytest.fixture
def other_clerk(db: Any) -> User:
    return UserFactory(username="clerk_b", role=Role.COUNTY_CLERK, unit_id="654322")


@pytest.fixture
def reviewer(db: Any) -> User:
    return make_reviewer()


@pytest.fixture
def finance(db: Any) -> User:
    return make_finance()


@pytest.fixture
def auditor(db: Any) -> User:
    return make_auditor()


@pytest.fixture
def administrator(db: Any) -> User:
    return make_administrator()


@pytest.fixture
def trainee(db: Any) -> Trainee:
    return make_trainee()


@pytest.fixture
def institution(db: Any) -> Institution:
    return make_institution()


@pytest.fixture
def claim_input(
    trainee: Trainee, institution: Institution
) -> Callable[..., ClaimInput]:
    """``claim_input_of`` the test's trainee and institution."""
    return claim_input_of(trainee, institution)


@pytest.fixture
def closed_quarter(claim_input: Any, reviewer: User) -> Any:
    """A quarter run through: two units submit, report, the reviewer decides and closes."""
    from tests.quarter_run import run_quarter

    return run_quarter(claim_input, reviewer)


@pytest.fixture
def advanced_quarter(claim_input: Any, reviewer: User, finance: User) -> Any:
    """``closed_quarter`` with the advances (五(二)) paid before the decisions: unit
    654301's enterprise-run claims, 40% each; its rejected claim owes its advance back."""
    from tests.quarter_run import run_quarter

    return run_quarter(claim_input, reviewer, finance=finance)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """pytest-django's sort again, after pytest regrouped session-scoped parameters
    (pytest-playwright's ``browser_name``) and moved browser tests among the database
    tests (tests/test_suite_order.py). The sort is stable: each group keeps its order.

    Every transactional test must also put the database back (``serialized_rollback``):
    its closing flush runs the post-migrate handlers unless it does, which write the
    content types again, and every later ``serialized_rollback`` test on that worker
    then fails to load its own copy of them (the CI cascade of "duplicate key …
    django_content_type" after ``test_a_backup_without_output_is_written_into_backup_dir``).
    """
    careless = [item.nodeid for item in items if not_put_back(item)]
    if careless:
        raise pytest.UsageError(
            "transactional tests without serialized_rollback=True: "
            + ", ".join(careless[:5])
        )
    leaky = [item.nodeid for item in items if leaves_commits_behind(item)]
    if leaky:
        raise pytest.UsageError(
            "tests that start the app in a process of its own on a rolled-back "
            "database (make them transaction=True, serialized_rollback=True): "
            + ", ".join(leaky[:5])
        )
    items.sort(key=lambda item: (database_order(item), not is_long(item)))


def is_long(item: pytest.Item) -> bool:
    """Marked ``long`` (minutes alone): started first in its database group, so that
    the other xdist worker has the group's short tests to run meanwhile, instead of
    one worker finishing the suite alone (CI's tail was the page walks and the ledger
    machine, 2.5–4 minutes each)."""
    return item.get_closest_marker("long") is not None


#: Fixtures that start the app in a process of its own on the test database
#: (tests/faults/conftest.py): a worker, gunicorn. What the process writes is committed
#: on its own connection, outside the test's transaction, so a rolled-back test leaves
#: it for every later test on that xdist worker — the nine reviewer notices a worker's
#: ``notify_outstanding_reports`` left before ``test_a_reviewer_is_told_of_reports_
#: waiting``. Only a transactional test's closing flush takes it away.
SHARES_THE_DATABASE = frozenset({"start_worker", "start_web"})


def leaves_commits_behind(item: pytest.Item) -> bool:
    """A rolled-back test that starts the app in a process of its own."""
    fixtures = set(getattr(item, "fixturenames", []))
    return database_order(item) == 0 and bool(fixtures & SHARES_THE_DATABASE)


def not_put_back(item: pytest.Item) -> bool:
    """A transactional test that leaves the database as its flush left it."""
    if database_order(item) != 1:
        return False
    marker = item.get_closest_marker("django_db")
    fixtures = getattr(item, "fixturenames", [])
    return not (
        (marker is not None and marker.kwargs.get("serialized_rollback"))
        or "django_db_serialized_rollback" in fixtures
    )


def database_order(item: pytest.Item) -> int:
    """0: a test on the kept database (rolled back); 1: transactional (ends by emptying
    the database); 2: no database. The order pytest-django sorts by."""
    marker = item.get_closest_marker("django_db")
    fixtures = getattr(item, "fixturenames", [])
    transactional = "transactional_db" in fixtures or "live_server" in fixtures
    if marker is not None:
        transactional = transactional or bool(
            marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences")
        )
    if transactional:
        return 1
    if marker is not None or "db" in fixtures:
        return 0
    return 2
