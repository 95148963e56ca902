"""Plain text typed by people: no control, format (bidi, zero-width) or private characters,
and no formula start.

A name, a certificate number or a reason is shown on pages, printed in workbooks and
matched against other records. Characters nobody can see make two spellings of one
name look identical (U+200B), reorder what a reviewer reads (U+202E, U+2066) or break
the database and the exports (NUL, ESC). Text starting with = + - or @ is a formula to
a spreadsheet that opens an export or a CSV (the workbook writers quote it as well).
One rule, ``plain_text_problem``, for the API (serializers), the forms, the services
(``checked_reason``) and the import (``claims.intake.parse``).
"""

from __future__ import annotations

import unicodedata

from django.core.exceptions import ValidationError

from altay_skills.errors import DomainError

#: Unicode categories refused: controls, format characters (bidi overrides and
#: isolates, zero-width spaces and joiners, BOM), surrogates, private use, unassigned.
_REFUSED = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
#: The two format characters Uyghur and Kazakh text legitimately contain (issue 17):
#: the zero-width non-joiner (U+200C, keeps two letters from joining) and the Arabic
#: letter mark (U+061C). Admitted only between two Arabic-script letters, where they
#: change how a word is drawn and cannot reorder or hide anything else.
_ARABIC_WORD_MARKS = {"\u200c", "\u061c"}
#: The Unicode blocks of the Arabic script (Arabic, Supplement, Extended-A, the
#: presentation forms A and B).
_ARABIC_BLOCKS = (
    (0x0600, 0x06FF),
    (0x0750, 0x077F),
    (0x08A0, 0x08FF),
    (0xFB50, 0xFDFF),
    (0xFE70, 0xFEFF),
)
#: The longest reason a service keeps (a reveal, a change of facts or of a role).
MAX_REASON_LENGTH = 500
#: What a multi-line field (a reason, a note) may contain besides printable text.
_LINE_BREAKS = {"\n", "\r", "\t"}
#: A first character that makes a spreadsheet cell a formula (tab and CR are refused
#: as controls on one line; a form or serializer strips them around a reason).
FORMULA_STARTS = ("=", "+", "-", "@")


def _arabic_letter(char: str) -> bool:
    """An Arabic-script letter or the vowel sign on one (a combining mark)."""
    code = ord(char)
    return unicodedata.category(char)[0] in "LM" and any(
        low <= code <= high for low, high in _ARABIC_BLOCKS
    )


def _inside_arabic_word(value: str, index: int) -> bool:
    return (
        0 < index < len(value) - 1
        and _arabic_letter(value[index - 1])
        and _arabic_letter(value[index + 1])
    )


def hidden_character_in(value: str, *, multiline: bool = False) -> str | None:
    """The first character of ``value`` a person cannot see or type, as ``U+XXXX``
    (the zero-width non-joiner and the Arabic letter mark pass between two
    Arabic-script letters)."""
    for index, char in enumerate(value):
        if multiline and char in _LINE_BREAKS:
            continue
        if char in _ARABIC_WORD_MARKS and _inside_arabic_word(value, index):
            continue
        if unicodedata.category(char) in _REFUSED:
            return f"U+{ord(char):04X}"
    return None


def plain_text_problem(value: str, *, multiline: bool = False) -> str | None:
    """What is wrong with ``value`` as text a person typed, in Chinese, or None."""
    if value.lstrip().startswith(FORMULA_STARTS):
        return "不能以 = + - @ 等符号开头"
    found = hidden_character_in(value, multiline=multiline)
    if found:
        return f"含有不可见的控制字符或格式字符（{found}），请删除后重新输入"
    return None


def _refuse(value: str, *, multiline: bool) -> None:
    problem = plain_text_problem(value, multiline=multiline)
    if problem:
        raise ValidationError(problem, code="invalid_characters")


def single_line_text(value: str) -> None:
    """Validator for names, numbers and codes: printable characters only, no
    formula start."""
    _refuse(value, multiline=False)


def multi_line_text(value: str) -> None:
    """Validator for reasons and notes: printable characters and line breaks, no
    formula start."""
    _refuse(value, multiline=True)


def checked_text(value: str, *, multiline: bool = False) -> str:
    """``value`` as a service keeps it, whatever checked it before: DomainError
    ``invalid`` with the Chinese reason when ``plain_text_problem`` finds one."""
    problem = plain_text_problem(value, multiline=multiline)
    if problem:
        raise DomainError("invalid", problem)
    return value


#: A reason says something: at least this many characters, one of them a letter of any
#: script (汉字, Uyghur, Kazakh, Latin). "0", "x", "……" tell an auditor nothing.
MIN_REASON_LENGTH = 2
SAYS_NOTHING = "（至少两个字，不能只填数字或符号）"


def reason_problem(value: object, *, missing: str, required: bool = True) -> str | None:
    """What is wrong with a reason a person typed, or None: ``missing`` when it is blank
    (unless not ``required``), ``missing`` and what to write when it says nothing."""
    reason = value.strip() if isinstance(value, str) else ""
    if not reason:
        return missing if required else None
    if len(reason) < MIN_REASON_LENGTH or not any(
        unicodedata.category(char).startswith("L") for char in reason
    ):
        return f"{missing}{SAYS_NOTHING}"
    return None


def stated_reason(value: str | None, *, missing: str, required: bool = True) -> str:
    """A reason as a form's ``clean_<field>`` or a serializer's ``validate_<field>``
    returns it, stripped; ValidationError ``reason_required`` (the field named) when it
    is blank (and ``required``) or says nothing (``reason_problem``)."""
    problem = reason_problem(value, missing=missing, required=required)
    if problem:
        raise ValidationError(problem, code="reason_required")
    return (value or "").strip()


def checked_reason(value: object, *, missing: str, required: bool = True) -> str:
    """A reason as every service keeps it, whatever the form or serializer in front
    checked: given (``reason_required`` with ``missing`` when blank, unless not
    ``required``: then ""), saying something (``reason_problem``), at most
    ``MAX_REASON_LENGTH`` characters, no hidden characters, no formula start;
    stripped."""
    problem = reason_problem(value, missing=missing, required=required)
    if problem:
        raise DomainError("reason_required", problem)
    reason = value.strip() if isinstance(value, str) else ""
    if len(reason) > MAX_REASON_LENGTH:
        raise DomainError("invalid", f"理由不能超过{MAX_REASON_LENGTH}字")
    return checked_text(reason, multiline=True)
