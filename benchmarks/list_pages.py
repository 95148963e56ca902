"""The claim list at page 1 and deep (issue 20, keyset pagination), one request at a time.

``python -m benchmarks.list_pages [--deep 100] [--repeat 25]`` on the benchmark's
database (``DATABASE_URL``, PostgreSQL, after ``python -m benchmarks --only generate``):
the server time (in process: Django's test client, no network, no gunicorn) of
``GET /api/claims/`` and ``GET /claims/`` for the prefecture reviewer (every unit) and
the clerk of ``654301``, unfiltered and with a status filter, at page 1 and at page
``--deep`` (50 claims a page). Before keyset pagination the deep page is ``?page=N``
(OFFSET, and a full COUNT on every page); after, it is the cursor reached by following
``next`` from page 1 (the walk itself is not timed). Prints the median (p50) of each.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from importlib.util import find_spec
from typing import Any


def _median_ms(call: Any, repeat: int) -> float:
    call()  # warm
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = call()
        times.append((time.perf_counter() - start) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{response.status_code}: {response.content[:300]!r}")
    return statistics.median(times)


def _figures(
    api: Any, page: Any, query: str, deep_query: str, deep: int, repeat: int
) -> dict[str, float]:
    return {
        "API p1": _median_ms(lambda: api.get(f"/api/claims/?{query}"), repeat),
        "API deep": _median_ms(lambda: api.get(f"/api/claims/?{deep_query}"), repeat),
        "page p1": _median_ms(lambda: page.get(f"/claims/?{query}"), repeat),
        "page deep": _median_ms(lambda: page.get(f"/claims/?{deep_query}"), repeat),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--deep", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=25)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "altay_skills.settings")
    import django

    django.setup()
    from django.test import Client
    from django.test.utils import setup_test_environment

    from rest_framework.test import APIClient

    from accounts.models import User

    setup_test_environment()
    keyset = find_spec("claims.listing") is not None
    print(f"== claim list, {'keyset (cursor)' if keyset else 'page numbers (OFFSET)'}")
    for username in ("bench-reviewer", "bench-clerk-654301"):
        user = User.objects.get(username=username)
        api = APIClient(SERVER_NAME="localhost")
        api.force_authenticate(user)
        page = Client(SERVER_NAME="localhost")
        page.force_login(user)
        for query in ("", "status=approved"):
            first = f"/api/claims/?{query}"
            body = api.get(first).json()
            deep = min(
                args.deep, (body["count"] - 1) // 50 + 1
            )  # the last page at most
            deep_query = f"{query}&page={deep}"
            if keyset:
                for _ in range(deep - 2):  # to page deep - 1: its next is deep
                    body = api.get(body["next"]).json()
                deep_query = body["next"].split("?", 1)[1]
            figures = _figures(api, page, query, deep_query, deep, args.repeat)
            shown = "  ".join(f"{k} {v:7.1f} ms" for k, v in figures.items())
            print(
                f"   {username:20} ?{query:16} count {body['count']:>6} "
                f"deep = page {deep:>4}  {shown}"
            )


if __name__ == "__main__":
    main()
