"""Confirmation codes (issue 17): ten characters a trainee can type from a slip or a
text message, about 49 bits, from an alphabet without look-alikes (no 0/O, 1/I/L).

A code is derived from the row's random ``nonce`` with the server's key (HMAC), and the
row keeps only the code's own keyed digest: the database alone reveals no code and a
lookup by code is one indexed equality, never a scan. Rotating ``SECRET_KEY`` makes the
codes already handed out unusable (say so before rotating; re-issue them).
"""

from __future__ import annotations

import re
import secrets

from django.utils.crypto import salted_hmac

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 10
_SHAPE = re.compile(rf"[{ALPHABET}]{{{LENGTH}}}", re.ASCII)


def new_nonce() -> str:
    return secrets.token_hex(16)


def code_of(nonce: str) -> str:
    raw = salted_hmac("altay_skills.confirmation.code", nonce, algorithm="sha256")
    number = int.from_bytes(raw.digest(), "big")
    chars = []
    for _ in range(LENGTH):
        number, index = divmod(number, len(ALPHABET))
        chars.append(ALPHABET[index])
    return "".join(chars)


def digest_of(code: str) -> str:
    return salted_hmac(
        "altay_skills.confirmation.digest", code, algorithm="sha256"
    ).hexdigest()


def normalized(code: str) -> str | None:
    """The code as typed (spaces, dashes and case forgiven), or None if it cannot be
    one."""
    cleaned = re.sub(r"[\s-]", "", code or "").upper()
    return cleaned if _SHAPE.fullmatch(cleaned) else None


def grouped(code: str) -> str:
    """For reading aloud and typing: ABCDE-FGHJK."""
    return f"{code[:5]}-{code[5:]}"
