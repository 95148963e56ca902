"""Judging the parsed rows: each by ``rules.decide`` — the same rules and the same facts
(``services.claim_facts``) as a claim filed through the form — against the database and
the file's earlier passing rows. The catalogue, the people and their history are loaded
once per file, never per row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.utils import timezone

from accounts.models import User
from claims import rules, workflow
from claims.facts import class_seats_of
from claims.facts import trainee_facts as facts_of_person
from claims.intake.errors import problem_text
from claims.intake.parse import (
    Catalogue,
    ParsedRow,
    institution_reference,
    parse_row,
)
from claims.intake.sheet import SheetData
from claims.selectors import prior_claims_of_many
from claims.services import ClaimInput, claim_facts
from trainees.models import Trainee


@dataclass
class _People:
    """The file's people as the registry knows them, and their claims (one query each)."""

    by_number: dict[str, Trainee]
    history: dict[int, list[rules.PriorClaim]]
    #: the classes each is rostered on: a row for the training one gave is refused
    seats: dict[int, tuple[rules.ClassSeat, ...]]

    @classmethod
    def load(cls, id_numbers: Iterable[str]) -> _People:
        numbers = sorted(set(id_numbers))
        people = {t.id_number: t for t in Trainee.objects.filter(id_number__in=numbers)}
        ids = [t.pk for t in people.values()]
        return cls(people, prior_claims_of_many(ids), class_seats_of(ids))


@dataclass
class RowResult:
    """One row as the clerk sees it (and as the payload stores it)."""

    row: int
    name: str
    id_masked: str
    program: str
    amount_requested: str
    ok: bool
    problems: list[dict[str, str]]
    amount: str = ""
    trade: str = ""
    level: str = ""
    registers: bool = False  # the row registers a person new to the registry

    @property
    def program_number(self) -> str:
        """ "9" of "9 实施就业重点群体…", for a narrow column."""
        return self.program.split(" ", 1)[0]

    @property
    def reasons(self) -> str:
        return "；".join(problem_text(p) for p in self.problems)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RowResult:
        return cls(**data)


@dataclass
class Judged:
    result: RowResult
    data: ClaimInput | None = None  # None for a person still to register
    decision: rules.Decision | None = None


def _judge_rows(
    parsed: Sequence[ParsedRow],
    cat: Catalogue,
    people: _People,
    *,
    today: date,
) -> list[Judged]:
    """Judge every row in file order: the database history plus the file's earlier
    passing rows, which count as submitted (two rows for one trade+level, a fourth in a
    year). Pure in-memory: every query was made before this function."""
    in_file: dict[str, list[rules.PriorClaim]] = defaultdict(list)
    newcomers: dict[str, ParsedRow] = {}  # ID number → the row that registers them
    judged: list[Judged] = []
    for p in parsed:
        problems = [
            {"code": "invalid_cell", "message": e, "clause": ""} for e in p.errors
        ]
        person = people.by_number.get(p.id_number) if p.id_number else None
        trainee_facts: rules.TraineeFacts | None = None
        registers = False
        if p.id_number and person is not None:
            if p.name and p.name != person.name:
                problems.append(
                    {
                        "code": "name_mismatch",
                        "message": "【姓名】与实名登记不符（该身份证号码登记的姓名"
                        f"为“{person.name}”）",
                        "clause": "五(二)",
                    }
                )
            trainee_facts = facts_of_person(person)
        elif p.id_number and p.birth_date is not None:
            registers = True
            first = newcomers.setdefault(p.id_number, p)
            problems.extend(_newcomer_problems(p, first))
            trainee_facts = rules.TraineeFacts(
                birth_date=p.birth_date,
                household=first.household or "",
                groups=frozenset(first.groups or ()),
                # registered by this file, so by the importing clerk's unit
                units=frozenset({cat.unit.code}),
            )
        decision: rules.Decision | None = None
        data: ClaimInput | None = None
        if (
            not problems
            and trainee_facts is not None
            and p.program is not None
            and p.institution is not None
            and p.amount_requested is not None
            and p.training_start is not None
            and p.training_end is not None
        ):
            claim = ClaimInput(
                # A person still to register has no id yet; the rules never read it,
                # and such a row is not saved from this input (``data`` stays None).
                trainee_id=person.pk if person is not None else 0,
                program_id=p.program.number,
                institution_id=p.institution.pk,
                unit_id=cat.unit.code,
                training_start=p.training_start,
                training_end=p.training_end,
                amount_requested=p.amount_requested,
                trade_id=p.trade.code if p.trade else None,
                level_id=p.level.code if p.level else None,
                employer_id=p.employer.pk if p.employer else None,
                project_based=p.project_based,
                work_in_lieu_months=p.work_in_lieu_months,
                passed=p.passed,
                certificate_number=p.certificate_number,
                employment=p.employment,
                hire_date=p.hire_date,
            )
            facts = claim_facts(
                claim,
                program=p.program,
                institution=p.institution,
                employer=p.employer,
                trade=p.trade,
                level=p.level,
                class_seats=people.seats.get(person.pk, ()) if person else (),
            )
            history = list(people.history.get(person.pk, ())) if person else []
            history.extend(in_file[p.id_number])
            decision = rules.decide(
                facts,
                trainee=trainee_facts,
                program=cat.program_facts[p.program.number],
                history=history,
                policy=cat.policy,
                today=today,
            )
            problems.extend(v.as_dict() for v in decision.violations)
            if decision.eligible:
                in_file[p.id_number].append(
                    rules.PriorClaim(
                        claim_id=-p.number,
                        program=p.program.number,
                        status=workflow.SUBMITTED,
                        training_end=p.training_end,
                        trade=facts.trade,
                        level=facts.level,
                        unit_name=f"本文件第{p.number}行",
                        trade_name=facts.trade_name,
                        level_name=facts.level_name,
                        work_in_lieu_months=facts.work_in_lieu_months,
                    )
                )
                if person is not None:
                    data = claim
        result = RowResult(
            row=p.number,
            name=p.name or (person.name if person else ""),
            id_masked=p.id_masked,
            program=f"{p.program.number} {p.program.name}"
            if p.program
            else p.raw_program,
            amount_requested=(
                str(p.amount_requested)
                if p.amount_requested is not None
                else p.raw_amount
            ),
            ok=not problems,
            problems=[dict(x) for x in problems],
            amount=str(decision.amount) if decision and decision.eligible else "",
            trade=p.trade.name if p.trade else "",
            level=p.level.name if p.level else "",
            registers=registers,
        )
        judged.append(Judged(result, data, decision))
    return judged


def _newcomer_problems(p: ParsedRow, first: ParsedRow) -> list[dict[str, str]]:
    """A person new to the registry: the row must carry what registering needs, and
    every row of the file for that person must agree with the first."""
    problems: list[dict[str, str]] = []

    def refuse(message: str) -> None:
        problems.append({"code": "registration", "message": message, "clause": ""})

    if first is p:
        if not p.name:
            refuse("该身份证号码尚未登记：须填写姓名以实名登记")
        if p.household is None:
            refuse("该身份证号码尚未登记：须填写户籍类型（农业或城镇）以实名登记")
        return problems
    if p.name != first.name:
        refuse(f"【姓名】与本文件第{first.number}行同一身份证号码的姓名不一致")
    if p.household is not None and p.household != first.household:
        refuse(f"【户籍类型】与本文件第{first.number}行不一致")
    if p.groups is not None and sorted(p.groups) != sorted(first.groups or []):
        refuse(f"【人员类别】与本文件第{first.number}行不一致")
    return problems


def check_sheet(sheet: SheetData, actor: User) -> list[RowResult]:
    """Judge every data row of a parsed sheet against the database and the file."""
    judged = judge_sheet(sheet, actor)
    return [j.result for j in judged]


def judge_sheet(
    sheet: SheetData, actor: User, *, only: set[int] | None = None
) -> list[Judged]:
    """Every data row (or the rows numbered in ``only``) judged, with the input and the
    decision that saving a passing row needs."""
    rows = sheet.data_rows
    if only is not None:
        rows = [r for r in rows if r.number in only]
    index = sheet.columns
    codes, names = set(), set()
    for row in rows:
        for key in ("institution", "employer"):
            if key in index and index[key] < len(row.values):
                code, name = institution_reference(row.values[index[key]])
                codes.add(code)
                names.add(name)
    cat = Catalogue.load(actor, codes, names)
    parsed = [parse_row(r, index, cat) for r in rows]
    people = _People.load(p.id_number for p in parsed if p.id_number)
    return _judge_rows(parsed, cat, people, today=timezone.localdate())
