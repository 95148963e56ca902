"""Plain text typed by people: no control, format (bidi, zero-width) or private characters.

A name, a certificate number or a reason is shown on pages, printed in workbooks and
matched against other records. Characters nobody can see make two spellings of one
name look identical (U+200B), reorder what a reviewer reads (U+202E, U+2066) or break
the database and the exports (NUL, ESC). One rule for the API, the forms and the import.
"""

from __future__ import annotations

import unicodedata

from django.core.exceptions import ValidationError

from altay_skills.errors import DomainError

#: Unicode categories refused: controls, format characters (bidi overrides and
#: isolates, zero-width spaces and joiners, BOM), surrogates, private use, unassigned.
_REFUSED = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
#: The longest reason a service keeps (a reveal, a change of facts or of a role).
MAX_REASON_LENGTH = 500
#: What a multi-line field (a reason, a note) may contain besides printable text.
_LINE_BREAKS = {"\n", "\r", "\t"}


def hidden_character_in(value: str, *, multiline: bool = False) -> str | None:
    """The first character of ``value`` a person cannot see or type, as ``U+XXXX``."""
    for char in value:
        if multiline and char in _LINE_BREAKS:
            continue
        if unicodedata.category(char) in _REFUSED:
            return f"U+{ord(char):04X}"
    return None


def _refuse(value: str, *, multiline: bool) -> None:
    found = hidden_character_in(value, multiline=multiline)
    if found:
        raise ValidationError(
            "含有不可见的控制字符或格式字符（%(char)s），请删除后重新输入",
            code="invalid_characters",
            params={"char": found},
        )


def single_line_text(value: str) -> None:
    """Validator for names, numbers and codes: printable characters only."""
    _refuse(value, multiline=False)


def multi_line_text(value: str) -> None:
    """Validator for reasons and notes: printable characters and line breaks."""
    _refuse(value, multiline=True)


def checked_reason(value: object, *, missing: str) -> str:
    """A reason as every service keeps it, whatever the form or serializer in front
    checked: given (``reason_required`` with ``missing`` when blank), at most
    ``MAX_REASON_LENGTH`` characters, no hidden characters; stripped."""
    reason = value.strip() if isinstance(value, str) else ""
    if not reason:
        raise DomainError("reason_required", missing)
    if len(reason) > MAX_REASON_LENGTH:
        raise DomainError("invalid", f"理由不能超过{MAX_REASON_LENGTH}字")
    try:
        multi_line_text(reason)
    except ValidationError as exc:
        raise DomainError("invalid", "；".join(exc.messages)) from None
    return reason
