"""Saving a checked file: its passing rows become drafts or are submitted, all or none.

One transaction: people not yet registered are registered first
(``trainees_register_new``, then ``trainee_register`` one by one for what the bulk
insert left, in ID-number order); every person of the file is locked in id order; the
rows are judged again under the locks; then ``claims_create_batch`` writes the claims
and their audit events. Any refusal rolls everything back and names the row.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from django.db import DatabaseError, transaction

from accounts.models import User
from altay_skills.errors import DomainError, NotFound
from altay_skills.lock_objects import lock_trainees
from claims.intake.errors import ImportSaveFailed
from claims.intake.judge import check_sheet, judge_sheet
from claims.intake.parse import Catalogue, ParsedRow, parse_row
from claims.intake.sheet import SheetData
from claims.intake.staging import (
    payload_path,
    read_payload,
    require_clerk,
    sheet_from_json,
    write_payload,
)
from claims.models import Claim
from claims.services import claims_create_batch
from trainees.models import Trainee
from trainees.services import Newcomer, trainee_register, trainees_register_new

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SaveOutcome:
    claims: list[Claim]
    submitted: bool
    registered: int


def import_save(*, token: str, actor: User, submit: bool) -> SaveOutcome:
    """Save every passing row as a draft or submit it — all of them or none.

    On a refusal the stored results are judged afresh (so the page shows the state of
    now) and ``ImportSaveFailed`` names the row; nothing of the file is stored.
    """
    require_clerk(actor)
    path = payload_path(token)
    payload = read_payload(path, actor)
    # Claim the batch: a second click (or a second tab) finds nothing to save.
    working = payload_path(token, ".saving")
    try:
        os.replace(path, working)
    except FileNotFoundError:
        raise NotFound("该导入记录正在保存或已保存") from None
    sheet = sheet_from_json(payload["sheet"])
    chosen = {r["row"] for r in payload["results"] if r["ok"]}
    try:
        outcome = _save_rows(sheet, chosen, actor, submit=submit)
    except ImportSaveFailed:
        # Show the state of now: the rows are judged afresh for the page.
        try:
            payload["results"] = [asdict(r) for r in check_sheet(sheet, actor)]
        except Exception:
            logger.exception("import: re-check after a refused save failed")
        write_payload(path, payload)
        working.unlink(missing_ok=True)
        raise
    except BaseException:
        os.replace(working, path)
        raise
    working.unlink(missing_ok=True)
    return outcome


def _save_rows(
    sheet: SheetData, chosen: set[int], actor: User, *, submit: bool
) -> SaveOutcome:
    if not chosen:
        raise DomainError("nothing_to_save", "没有通过检查的行，没有可保存的申报")
    try:
        with transaction.atomic():
            registered = _register_newcomers(sheet, chosen, actor)
            numbers = [
                r.values[sheet.columns["id_number"]]
                for r in sheet.data_rows
                if r.number in chosen
            ]
            _lock_people(numbers)
            judged = judge_sheet(sheet, actor, only=chosen)
            for j in judged:
                if not j.result.ok or j.data is None:
                    raise ImportSaveFailed(j.result.row, j.result.problems)
            items = []
            for j in judged:
                assert j.data is not None
                assert j.decision is not None
                items.append((j.data, j.decision))
            try:
                claims = claims_create_batch(items=items, actor=actor, submit=submit)
            except DomainError as exc:
                raise ImportSaveFailed(
                    None, [{"code": exc.code, "message": exc.message, "clause": ""}]
                ) from None
    except DatabaseError:
        logger.warning("import: save rolled back by the database", exc_info=True)
        raise ImportSaveFailed(
            None,
            [
                {
                    "code": "concurrent_change",
                    "message": "数据库正忙或数据刚被他人修改，请稍后重试",
                    "clause": "",
                }
            ],
        ) from None
    return SaveOutcome(claims=claims, submitted=submit, registered=registered)


def _register_newcomers(sheet: SheetData, chosen: set[int], actor: User) -> int:
    """Register the people new to the registry, in ID-number order (a fixed order, so
    two imports registering the same people wait for each other, never deadlock)."""
    rows = [r for r in sheet.data_rows if r.number in chosen]
    cat = Catalogue.load(actor, ())
    parsed = [parse_row(r, sheet.columns, cat) for r in rows]
    numbers = {p.id_number for p in parsed if p.id_number}
    known = set(
        Trainee.objects.filter(id_number__in=numbers).values_list(
            "id_number", flat=True
        )
    )
    first: dict[str, ParsedRow] = {}
    for p in parsed:
        if p.id_number and p.id_number not in known:
            first.setdefault(p.id_number, p)
    created = trainees_register_new(
        (
            Newcomer(number, p.name, p.household or "", p.groups or [], p.phone)
            for number, p in first.items()
        ),
        actor=actor,
    )
    for number in sorted(first):
        # What the bulk insert left (a row that did not validate, or the whole file
        # when someone registered one of these people meanwhile) goes through the
        # registration service one by one: its message, its answer to a race.
        if number in created:
            continue
        p = first[number]
        try:
            _trainee, was_created = trainee_register(
                id_number=number,
                name=p.name,
                household=p.household or "",
                groups=p.groups or [],
                phone=p.phone,
                actor=actor,
            )
        except DomainError as exc:
            raise ImportSaveFailed(
                p.number, [{"code": exc.code, "message": exc.message, "clause": ""}]
            ) from None
        if was_created:
            created.add(number)
    return len(created)


def _lock_people(id_numbers: Iterable[Any]) -> None:
    """Lock every person of the file in id order — the services' order (trainee, then
    claim) — so the rows are judged again while nobody else can file for them."""
    numbers = {str(n).strip().upper() for n in id_numbers if n}
    ids = list(
        Trainee.objects.filter(id_number__in=numbers).values_list("pk", flat=True)
    )
    lock_trainees(ids)
