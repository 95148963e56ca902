"""The split of a class's advance over its claims (``finance.rules``, issue 16): to
the fen, exactly the advance in all, the remainder on one deterministic line."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from finance.rules import advance_shares, class_advance_amount, share_owed

D = Decimal


def test_the_advance_is_the_ratio_of_the_total_rounded_once() -> None:
    # 40% of each line would be 0.40 + 0.40 + 0.40 = 1.20; of the total, 1.21 (half-up)
    assert class_advance_amount([D("1.01"), D("1.01"), D("1.01")], D("0.4")) == D(
        "1.21"
    )
    assert class_advance_amount([D("1800.00")] * 3, D("0.4")) == D("2160.00")
    assert class_advance_amount([], D("0.4")) == D("0.00")


def test_the_fen_left_over_goes_to_the_first_of_the_heaviest_lines() -> None:
    assert advance_shares(D("100.00"), [("a", D(1)), ("b", D(1)), ("c", D(1))]) == {
        "a": D("33.34"),
        "b": D("33.33"),
        "c": D("33.33"),
    }
    shares = advance_shares(D("100.00"), [("a", D(1)), ("b", D(2)), ("c", D(2))])
    assert shares == {"a": D("20.00"), "b": D("40.00"), "c": D("40.00")}
    odd = advance_shares(D("10.00"), [("a", D(1)), ("b", D(2)), ("c", D(2))])
    assert odd == {"a": D("2.00"), "b": D("4.00"), "c": D("4.00")}
    uneven = advance_shares(D("0.10"), [("a", D(1)), ("b", D(3)), ("c", D(3))])
    assert uneven == {"a": D("0.01"), "b": D("0.05"), "c": D("0.04")}


def test_a_person_expected_to_get_nothing_shares_nothing() -> None:
    shares = advance_shares(D("720.00"), [("a", D("1800")), ("b", D(0))])
    assert shares == {"a": D("720.00"), "b": D("0.00")}


def test_no_weight_at_all_splits_evenly() -> None:
    assert advance_shares(D("1.00"), [("a", D(0)), ("b", D(0))]) == {
        "a": D("0.50"),
        "b": D("0.50"),
    }
    assert advance_shares(D("1.00"), []) == {}


@given(
    amount=st.decimals(min_value="0.01", max_value="200000", places=2),
    weights=st.lists(
        st.decimals(min_value="0", max_value="6000", places=2), min_size=1, max_size=50
    ),
)
def test_the_shares_always_add_up_to_the_advance_to_the_fen(
    amount: Decimal, weights: list[Decimal]
) -> None:
    keyed = list(enumerate(weights))
    shares = advance_shares(amount, keyed)
    assert sum(shares.values(), D(0)) == amount
    assert all(s >= 0 and s == s.quantize(D("0.01")) for s in shares.values())
    assert shares == advance_shares(amount, keyed)  # the same split every time


def test_a_refused_claim_is_owed_none_of_its_share_and_a_lower_one_its_amount() -> None:
    assert share_owed(D("720.00"), eligible=False, amount=D("1800.00")) == 0
    assert share_owed(D("720.00"), eligible=True, amount=D("500.00")) == D("500.00")
    assert share_owed(D("720.00"), eligible=True, amount=D("1800.00")) == D("720.00")
