"""The quarter stage's pure rules: whether money passes a budget (七(五)).

Run with ``pytest -p no:django``: like ``claims.rules`` the module is plain Python.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quarters.rules import budget_excess, budget_remaining

REPO = Path(__file__).resolve().parents[2]
RULES_PY = REPO / "quarters" / "rules.py"

yuan = st.decimals(
    min_value=Decimal("0"),
    max_value=Decimal("9999999.99"),
    places=2,
    allow_nan=False,
    allow_infinity=False,
)


def test_rules_module_imports_only_the_standard_library():
    imported = set()
    for node in ast.walk(ast.parse(RULES_PY.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0
            imported.add((node.module or "").split(".")[0])
    assert imported <= set(sys.stdlib_module_names)


def test_importing_rules_loads_no_django_module():
    code = (
        "import quarters.rules, sys; "
        "assert not any(m.startswith('django') for m in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("budget", "approved", "amount", "over_by"),
    [
        (None, "5397.00", "99999.00", None),  # no budget entered: no limit
        ("7000.00", "5397.00", "1500.00", None),  # 6,897 of 7,000
        ("6897.00", "5397.00", "1500.00", None),  # up to the budget exactly: within
        ("6896.99", "5397.00", "1500.00", "0.01"),
        ("6000.00", "5397.00", "1500.00", "897.00"),
        ("5000.00", "5397.00", "0.00", "397.00"),  # approved past it already
        ("0.00", "0.00", "0.01", "0.01"),
    ],
)
def test_budget_excess(budget, approved, amount, over_by):
    found = budget_excess(
        None if budget is None else Decimal(budget), Decimal(approved), Decimal(amount)
    )
    if over_by is None:
        assert found is None
    else:
        assert found is not None and found.over_by == Decimal(over_by)
        assert found.after == Decimal(approved) + Decimal(amount)


@given(budget=yuan, approved=yuan, pending=yuan)
def test_over_budget_on_a_page_means_any_approval_is_refused(budget, approved, pending):
    """A page shows a fund over budget exactly when the approved money is past it —
    and then approving any further amount is refused; when it is not, approving what
    still fits passes."""
    over = budget_excess(budget, approved) is not None
    if over:
        assert budget_excess(budget, approved, Decimal("0.01")) is not None
    else:
        assert budget_excess(budget, approved, budget - approved) is None


@given(budget=yuan, approved=yuan, pending=yuan)
def test_the_remaining_is_negative_exactly_when_approving_the_pending_passes_it(
    budget, approved, pending
):
    remaining = budget_remaining(budget, approved, pending)
    excess = budget_excess(budget, approved, pending)
    assert (remaining is not None and remaining < 0) == (excess is not None)
    if excess is not None:
        assert excess.over_by == -remaining


def test_no_budget_leaves_nothing_remaining_to_count():
    assert budget_remaining(None, Decimal("1"), Decimal("2")) is None


# --- 三(三)10: program 10's fund, fixed at approval (issue 13, 6) -----------------------
from quarters.rules import charged_fund  # noqa: E402


@pytest.mark.parametrize(
    ("budget", "approved", "amount", "fund"),
    [
        (None, "0", "1800", "employment"),  # no budget: no limit, its own fund
        ("3000", "0", "1800", "employment"),
        ("3000", "1200", "1800", "employment"),  # exactly the budget: within
        ("3000", "1200.01", "1800", "special"),
        ("3000", "3000", "0.01", "special"),
        ("0", "0", "1800", "special"),
        ("2500", "1800", "700", "employment"),  # a smaller claim fits what is left
    ],
)
def test_program_10_is_charged_to_employment_while_the_budget_has_room(
    budget, approved, amount, fund
):
    assert (
        charged_fund(
            "employment",
            "special",
            budget=None if budget is None else Decimal(budget),
            approved=Decimal(approved),
            amount=Decimal(amount),
        )
        == fund
    )


@given(fund=st.sampled_from(["special", "employment", "poverty", None]), b=yuan)
def test_without_a_shortfall_fund_the_fund_is_the_programs_own(fund, b):
    assert charged_fund(fund, None, budget=b, approved=b, amount=b) == fund


@given(budget=st.one_of(st.none(), yuan), approved=yuan, amount=yuan)
def test_the_own_fund_is_charged_exactly_when_it_stays_within_its_budget(
    budget, approved, amount
):
    fund = charged_fund(
        "employment", "special", budget=budget, approved=approved, amount=amount
    )

    within = budget_excess(budget, approved, amount) is None
    assert fund == ("employment" if within else "special")
    # charged to the employment fund, it is never taken past its budget
    if fund == "employment" and budget is not None:
        assert approved + amount <= budget
