"""``make bench BENCH_ARGS="--reuse …"`` on an empty or new database (issue 20): the
dataset check must answer "no dataset here" — so the run migrates and generates —
instead of stopping on ``relation "claims_claim" does not exist``."""

from __future__ import annotations

from django.db import connection, transaction

import pytest

pytestmark = [
    pytest.mark.skipif(
        "not __import__('os').environ.get('DATABASE_URL', '').startswith('postgres')",
        reason="the benchmark runs on PostgreSQL only (an empty schema stands for a "
        "new database)",
    ),
    pytest.mark.django_db,
]


def test_reuse_on_a_database_without_the_tables_finds_no_dataset():
    from benchmarks.generate import Spec, dataset_matches

    with transaction.atomic():
        with connection.cursor() as cursor:
            # a schema with no tables at all: what a new database looks like
            cursor.execute("CREATE SCHEMA bench_empty")
            cursor.execute("SET LOCAL search_path TO bench_empty")
        matches = dataset_matches(Spec(claims=100, trainees=20))
        transaction.set_rollback(True)

    assert matches is False
