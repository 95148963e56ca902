"""Resident ID numbers per GB 11643-1999: validation, the facts they carry, masking.

Only ASCII digits are accepted: Python's ``\\d`` and ``str.isdigit()`` also take full-width
and Arabic-Indic digits, which would let two spellings of one person through (stack.md).
The county part of the area code is not checked: it is where the person was *first*
registered, codes change (Altay's were 6526xx before 1984) and python-stdnum's
``cn.ric`` wrongly refuses 654301… for anyone born before 1984. The first two digits
must name a province of GB/T 2260, which has not changed since 1997 (issue 14, 9).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
_SHAPE = re.compile(r"[0-9]{17}[0-9X]", re.ASCII)
#: A run shaped like an ID number inside free text, in any script's digits (a full-width
#: number typed by mistake is as personal as an ASCII one); masked only when valid.
_ID_IN_TEXT = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")
EARLIEST_BIRTH = date(1900, 1, 1)
#: The provinces of GB/T 2260 (the first two digits of every area code): 11–15 华北,
#: 21–23 东北, 31–37 华东, 41–46 中南, 50–54 西南, 61–65 西北, 71 台湾, and 81, 82, 83
#: for the residence permits of residents of Hong Kong, Macao and Taiwan (港澳台居民
#: 居住证, 2018), whose numbers follow GB 11643.
PROVINCE_CODES = frozenset(
    (
        *range(11, 16),
        *range(21, 24),
        *range(31, 38),
        *range(41, 47),
        *range(50, 55),
        *range(61, 66),
        71,
        81,
        82,
        83,
    )
)


class InvalidIdNumber(ValueError):
    """The number is not a valid resident ID; ``message`` is for the clerk, in Chinese."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class IdNumberFacts:
    number: str
    area_code: str
    birth_date: date
    sex: str  # "M" or "F"


def check_char(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def normalize(raw: str) -> str:
    """Trim surrounding blanks and upper-case a trailing x; nothing else is forgiven."""
    return raw.strip().upper()


def parse_id_number(raw: str, *, today: date | None = None) -> IdNumberFacts:
    """Validate an 18-character ID number and return what it says about the person.

    Raises ``InvalidIdNumber`` with a Chinese message naming what is wrong.
    """
    number = normalize(raw)
    if any(ch.isspace() for ch in number):
        # a number pasted with a space inside: counting the spaces told nothing
        kept = len("".join(number.split()))
        raise InvalidIdNumber(
            f"身份证号码中间有空格，请删除空格后重新输入（去掉空格为{kept}位）"
        )
    if len(number) != 18:
        raise InvalidIdNumber(f"身份证号码应为18位，当前为{len(number)}位")
    if not _SHAPE.fullmatch(number):
        raise InvalidIdNumber("身份证号码前17位须为半角数字，末位为半角数字或X")
    if int(number[:2]) not in PROVINCE_CODES:
        raise InvalidIdNumber(
            f"身份证号码前两位（{number[:2]}）不是有效的省份代码，请核对后重新输入"
        )
    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidIdNumber("身份证号码中的出生日期不存在") from None
    today = today or date.today()
    if birth < EARLIEST_BIRTH:
        raise InvalidIdNumber("身份证号码中的出生日期早于1900年")
    if birth > today:
        raise InvalidIdNumber("身份证号码中的出生日期晚于今天")
    if check_char(number[:17]) != number[17]:
        raise InvalidIdNumber("身份证号码校验位错误，请核对后重新输入")
    sex = "M" if int(number[16]) % 2 == 1 else "F"
    return IdNumberFacts(number=number, area_code=number[:6], birth_date=birth, sex=sex)


def mask_id_number(number: str) -> str:
    """First 6 and last 4 shown, the 8 between hidden: 654301********1234."""
    if len(number) != 18:
        return "*" * len(number)
    return f"{number[:6]}{'*' * 8}{number[-4:]}"


def _is_id_number(run: str) -> bool:
    """Whether an 18-character run found in text is a real ID number: its check
    character and its birth date hold (1900 to today). The area is not asked: a
    number the registry would refuse for its province is still somebody's."""
    digits = "".join(
        "X" if char in "Xx" else str(unicodedata.digit(char)) for char in run
    )
    try:
        birth = date(int(digits[6:10]), int(digits[10:12]), int(digits[12:14]))
    except ValueError:
        return False
    if not EARLIEST_BIRTH <= birth <= date.today():
        return False
    return check_char(digits[:17]) == digits[17]


def mask_id_shaped_in(text: str) -> str:
    """Every run shaped like an ID number in ``text``, masked whether or not it is valid
    (for copies a user downloads: a number with a wrong check character is still some
    person's number mistyped, and a copy has no run times to keep readable)."""
    return _ID_IN_TEXT.sub(lambda m: mask_id_number(m.group().upper()), text)


def mask_id_numbers_in(text: str) -> str:
    """Every ID number in ``text``, masked (for logs). Only valid numbers (check
    character and birth date): a run time, a bank reference or a wrong number of 18
    digits is left as it is, so Celery's ``succeeded in 0.005795123456789043s`` stays
    readable. A trailing x is shown as X, as the registry keeps it."""
    return _ID_IN_TEXT.sub(
        lambda m: (
            mask_id_number(m.group().upper()) if _is_id_number(m.group()) else m.group()
        ),
        text,
    )
