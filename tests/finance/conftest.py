"""Fixtures of the finance tests: a ready rollup whose payees have accounts (issue 18)."""

from __future__ import annotations

from typing import Any

import pytest

from finance import services
from tests.bank_run import give_account
from tests.quarter_run import run_quarter


@pytest.fixture
def ready(claim_input: Any, reviewer: Any, finance: Any, settings: Any, tmp_path: Any):
    """A closed quarter, its rollup ready, every approved claim's payee an account."""
    settings.MEDIA_ROOT = tmp_path
    quarter = run_quarter(claim_input, reviewer)
    rollup = services.rollup_request(quarter="2020Q1", actor=reviewer)
    rollup = services.rollup_build(rollup_id=rollup.pk)
    assert rollup.status == "ready"
    for i, claim in enumerate(quarter.approved, start=1):
        give_account(claim, finance, n=i)
    return quarter, rollup
