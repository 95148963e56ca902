"""Racing calls on real database connections: one thread each, released together."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

from django.db import connections

from altay_skills.errors import DomainError


def refusal_code(exc: DomainError) -> str:
    return exc.code


def race(
    calls: list[Callable[[], object]],
    *,
    describe: Callable[[DomainError], str] = refusal_code,
    join_timeout: float = 60,
) -> Counter[str]:
    """Run ``calls`` on as many threads, released together; count "ok", the refusal
    (``describe`` of the ``DomainError``, its code by default), or anything else as
    "error: …" — a deadlock is an ``OperationalError``, which the test must see."""
    return started(calls, describe=describe)(join_timeout)


def started(
    calls: list[Callable[[], object]],
    *,
    describe: Callable[[DomainError], str] = refusal_code,
) -> Callable[[float], Counter[str]]:
    """``race`` without waiting: the calls are under way on their threads; the function
    returned waits for them (at most its argument's seconds) and counts their
    outcomes."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(call: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=10)
            call()
            result = "ok"
        except DomainError as exc:
            result = describe(exc)
        except Exception as exc:  # an unclean refusal: the test must see it
            result = f"error: {type(exc).__name__}: {exc}"
        finally:
            connections.close_all()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for t in threads:
        t.start()

    def finish(join_timeout: float = 60) -> Counter[str]:
        for t in threads:
            t.join(timeout=join_timeout)
        return Counter(outcomes)

    return finish
