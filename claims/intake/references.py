"""Row references: a corrected result copy is uploaded again without retyping an ID
number (issue 15, item 2).

The result copy masks every ID number (issue 14, item 2: a copy travels), so a copy
corrected and uploaded again carried none, and every row was refused. Now every data
row whose ID number was valid gets a reference — 24 random base32 characters (120
bits), one per row and check, written in the copy's last column, 参考码 — and on an
upload ``restore_id_numbers`` puts the original number back into each row whose ID cell
still holds the masked number and whose reference is one of the **same clerk's, same
unit's, unexpired** references; the masked number must match it. Anything else
resolves to nothing, and the row is refused saying why (``parse``).

What is kept, and where: an ``ImportRowReference`` row per reference, in the database —
not in the staging file, which is deleted as soon as the passing rows are saved, while
the refused rows come back after that. The row holds the reference's SHA-256 (never the
reference) and the number sealed under the reference (XOR with a SHA-256 keystream of
it): the table alone gives no number and no reference, the copy alone no number. The
references themselves are kept in the staging file, for the copy. Rows expire with the
staging files (``PAYLOAD_TTL``) — never resolved after, deleted by beat with them.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any

from django.utils import timezone

from accounts.models import User
from claims.intake.retention import PAYLOAD_TTL
from claims.intake.sheet import SheetData, SheetRow
from claims.intake.template import ID_MASKS
from claims.models import ImportRowReference
from trainees.id_numbers import InvalidIdNumber, mask_id_number, parse_id_number


def new_reference() -> str:
    return base64.b32encode(secrets.token_bytes(15)).decode("ascii")


def _digest(reference: str) -> str:
    return hashlib.sha256(b"import-row-reference:" + reference.encode()).hexdigest()


def _keystream(reference: str) -> bytes:
    return hashlib.sha256(b"import-row-seal:" + reference.encode()).digest()


def seal(number: str, reference: str) -> str:
    data = number.encode("ascii")
    return bytes(a ^ b for a, b in zip(data, _keystream(reference), strict=False)).hex()


def unseal(sealed: str, reference: str) -> str:
    data = bytes.fromhex(sealed)
    plain = bytes(a ^ b for a, b in zip(data, _keystream(reference), strict=False))
    return plain.decode("ascii", errors="replace")


def normalized_reference(value: Any) -> str:
    return str(value).strip().upper() if value is not None else ""


def is_masked(value: Any) -> bool:
    """Whether an ID cell holds a number as the copy masks it (654301********1234)."""
    return isinstance(value, str) and any(m in value for m in ID_MASKS)


def _cell(row: SheetRow, index: int | None) -> Any:
    if index is None or index >= len(row.values):
        return None
    return row.values[index]


def staged_number(row: SheetRow, sheet: SheetData) -> str | None:
    """The row's valid ID number, as the save would use it; None if it has none."""
    value = _cell(row, sheet.columns.get("id_number"))
    if not isinstance(value, str):
        return None
    try:
        return parse_id_number(value).number
    except InvalidIdNumber:
        return None


def issue_references(sheet: SheetData, actor: User) -> dict[int, str]:
    """A new reference for every data row with a valid ID number, kept for the clerk
    and their unit until the staging files expire. Returns {row number: reference}."""
    references: dict[int, str] = {}
    keep: list[ImportRowReference] = []
    now = timezone.now()
    unit_id = actor.unit_id
    assert unit_id is not None  # only a county clerk imports
    for row in sheet.data_rows:
        number = staged_number(row, sheet)
        if number is None:
            continue
        reference = new_reference()
        references[row.number] = reference
        keep.append(
            ImportRowReference(
                digest=_digest(reference),
                user_id=actor.pk,
                unit_id=unit_id,
                row=row.number,
                sealed_id_number=seal(number, reference),
                created_at=now,
            )
        )
    ImportRowReference.objects.bulk_create(keep, batch_size=1000)
    return references


def restore_id_numbers(sheet: SheetData, actor: User) -> int:
    """Put the original number back into every row whose ID cell is masked and whose
    参考码 is the clerk's own, from their unit, unexpired, and matches the mask. One
    query. Returns how many rows were restored."""
    id_index = sheet.columns.get("id_number")
    ref_index = sheet.columns.get("reference")
    if id_index is None or ref_index is None:
        return 0
    wanted: dict[str, tuple[SheetRow, str]] = {}
    for row in sheet.data_rows:
        reference = normalized_reference(_cell(row, ref_index))
        if reference and is_masked(_cell(row, id_index)):
            wanted.setdefault(_digest(reference), (row, reference))
    if not wanted:
        return 0
    kept = ImportRowReference.objects.filter(
        digest__in=list(wanted),
        user_id=actor.pk,
        unit_id=actor.unit_id,
        created_at__gte=timezone.now() - PAYLOAD_TTL,
    ).values_list("digest", "sealed_id_number")
    sealed = dict(kept)
    restored = 0
    for row in sheet.data_rows:
        reference = normalized_reference(_cell(row, ref_index))
        masked = _cell(row, id_index)
        if not reference or not is_masked(masked):
            continue
        found = sealed.get(_digest(reference))
        if found is None:
            continue
        number = unseal(found, reference)
        shown = str(masked).strip().upper().replace("＊", "*")
        if mask_id_number(number) != shown:
            continue  # the masked number was edited: not the row the reference names
        row.values[id_index] = number
        restored += 1
    return restored


def purge_expired_references() -> int:
    """Beat: delete every reference past ``PAYLOAD_TTL``, with the staging files."""
    deleted, _ = ImportRowReference.objects.filter(
        created_at__lt=timezone.now() - PAYLOAD_TTL
    ).delete()
    return deleted
