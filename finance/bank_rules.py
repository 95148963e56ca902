"""Pure rules of the bank loop (issue 18): account numbers, their mask, and the text of
a bank file's fields. No Django: the services and the file codecs call these.

The agent banks of the county's subsidy card (一卡通) and of the social-security card
issue debit card numbers under ISO/IEC 7812 — checked with the Luhn digit where the bank's
cards carry one; a settlement account of an institution is a plain account number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

FEN = Decimal("0.01")


@dataclass(frozen=True)
class BankRule:
    """What is known of a bank's numbers: its name, the lengths its numbers take
    (empty: any length from ``ANY_LENGTH``) and whether its cards carry a Luhn digit."""

    name: str
    lengths: tuple[int, ...] = ()
    luhn: bool = False


#: Lengths accepted when a bank's rule is not known (an account number of a bank the
#: county does not pay through often).
ANY_LENGTH = (8, 32)

BANKS: dict[str, BankRule] = {
    "xjnx": BankRule("新疆农村信用社（一卡通）", (16, 19), luhn=True),
    "icbc": BankRule("中国工商银行", (16, 19), luhn=True),
    "abc": BankRule("中国农业银行", (16, 19), luhn=True),
    "ccb": BankRule("中国建设银行", (16, 19), luhn=True),
    "boc": BankRule("中国银行", (16, 19), luhn=True),
    "psbc": BankRule("中国邮政储蓄银行", (16, 19), luhn=True),
    "other": BankRule("其他银行（对公结算账户）"),
}


def luhn_ok(number: str) -> bool:
    """The Luhn check digit (ISO/IEC 7812-1) of a string of digits."""
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def account_refusal(bank: str, number: str) -> str | None:
    """Why ``number`` is not an account number of ``bank``, in Chinese; None if it is."""
    rule = BANKS.get(bank)
    if rule is None:
        return "开户银行无效"
    if not number or not number.isdigit() or not number.isascii():
        return "银行账号只能由数字组成"
    if rule.lengths and len(number) not in rule.lengths:
        lengths = "或".join(str(n) for n in rule.lengths)
        return f"{rule.name}的账号应为{lengths}位数字"
    low, high = ANY_LENGTH
    if not rule.lengths and not low <= len(number) <= high:
        return f"银行账号应为{low}至{high}位数字"
    if rule.luhn and not luhn_ok(number):
        return "银行卡号校验位不正确，请核对卡号"
    return None


def mask_account(number: str) -> str:
    """Only the last four digits shown: ``****1234``."""
    if not number:
        return ""
    return "****" + number[-4:]


def normalise_account(number: str) -> str:
    """Spaces and dashes a person types between groups of digits are dropped."""
    return "".join(ch for ch in (number or "") if ch not in " -\u3000")


# --- Amounts and dates in a bank file --------------------------------------------------------
def amount_text(amount: Decimal, unit: str) -> str:
    """An amount as a bank file writes it: ``yuan`` with exactly two decimals, or
    ``fen`` as a whole number of fen. A third decimal is never written."""
    fen = amount.quantize(FEN, rounding=ROUND_HALF_UP)
    if unit == "fen":
        return str(int(fen * 100))
    return f"{fen:.2f}"


#: No amount in a bank file reaches a trillion yuan; one that does is not an amount.
AMOUNT_BOUND = Decimal("1000000000000")


def parse_amount(text: str, unit: str) -> Decimal | None:
    """An amount read back from a bank file; None when it is not one (a third decimal
    is refused, never rounded)."""
    text = (text or "").strip().replace(",", "")
    try:
        if unit == "fen":
            if not (text.isascii() and text.isdigit()):
                return None
            value = Decimal(text) / 100
        else:
            value = Decimal(text)
        # beyond any account (and the decimal context: 1e999 or 30 digits raised
        # InvalidOperation in quantize, a 500)
        if not value.is_finite() or abs(value) >= AMOUNT_BOUND:
            return None
        if value != value.quantize(FEN):
            return None
        return value.quantize(FEN)
    except InvalidOperation:
        return None


def date_text(day: date, pattern: str) -> str:
    return day.strftime(pattern)


def fit(text: str, width: int, *, align: str = "left", pad: str = " ") -> str:
    """A fixed-width field: padded to ``width`` characters, or refused when longer (a
    cut name or amount would pay the wrong person or sum)."""
    if width <= 0:
        return text
    if len(text) > width:
        raise ValueError(text)
    return text.rjust(width, pad) if align == "right" else text.ljust(width, pad)
