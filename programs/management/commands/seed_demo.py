"""``python manage.py seed_demo``: demo users, institutions, trainees, claims and the
illustrative external caps (api-contract.md, "Accounts"), all read from
``programs/data/demo.json``.

Idempotent, in one transaction:

* users are matched by username, institutions by credit code, trainees by ID number and
  demo caps by (program, level, kind, effective_from); what exists is left as it is;
* ID numbers are generated from ``random.Random(2019)`` in the file's order, so every
  run yields the same numbers;
* claims are created only when none of the demo trainees has a claim yet: the claims
  are one scripted story (a 4th claim of a year is refused because of the 3 before
  it), so they are written all together or not at all.

Every claim goes through ``claims.services`` as the user who would act: the clerk of
the claim's unit creates, edits, submits and withdraws it; a reviewer, never its
maker, approves, rejects or returns it. Each claim states the violations expected at
creation (none unless ``expect`` says so); a mismatch aborts the run, so the story
cannot silently drift from the rules.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import Role, User
from altay_skills.errors import DomainError
from claims import services
from claims.models import Claim, ClaimStatus
from programs.credit_codes import credit_code_check_char
from programs.models import Institution, PolicyEntry, PolicyKind, Unit
from trainees.id_numbers import check_char
from trainees.models import Trainee

DEMO_FILE = Path(__file__).resolve().parents[2] / "data" / "demo.json"
ID_SEED = 2019
#: ID numbers carry the pre-1984 prefecture code (6526xx) for people born before this.
OLD_AREA_CODE_BEFORE = 1984
CLERK_ACTIONS = frozenset({"submit", "withdraw", "update"})
REVIEWER_ACTIONS = frozenset({"approve", "reject", "return"})


class Command(BaseCommand):
    help = (
        "Load demo users, institutions, trainees, claims and illustrative external "
        "caps from programs/data/demo.json (idempotent)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--file", default=str(DEMO_FILE), help="demo data file (JSON)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        data = json.loads(Path(options["file"]).read_text(encoding="utf-8"))
        self.created: Counter[str] = Counter()
        with transaction.atomic():
            users = self._users(data)
            self._demo_caps(data["demo_caps"])
            institutions = self._institutions(data["institutions"])
            trainees = self._trainees(data["trainees"], data["area_codes"])
            self._claims(data["claims"], users, institutions, trainees)
        self._summary(data, trainees)

    # --- Users -----------------------------------------------------------------------
    def _users(self, data: dict[str, Any]) -> dict[str, User]:
        units = {u.code: u for u in Unit.objects.all()}
        users: dict[str, User] = {}
        for spec in data["users"]:
            user = User.objects.filter(username=spec["username"]).first()
            if user is None:
                unit_code = spec.get("unit")
                if unit_code and unit_code not in units:
                    raise CommandError(
                        f"unknown unit {unit_code} for {spec['username']}"
                    )
                user = User(
                    username=spec["username"],
                    first_name=spec.get("first_name", ""),
                    role=spec["role"],
                    unit=units.get(unit_code) if unit_code else None,
                    is_staff=spec.get("is_staff", False),
                    is_superuser=spec.get("is_superuser", False),
                )
                user.set_password(data["password"])
                user.save()
                self.created["users"] += 1
            users[user.username] = user
        return users

    # --- Illustrative external caps ---------------------------------------------------
    def _demo_caps(self, spec: dict[str, Any]) -> None:
        effective_from = date.fromisoformat(spec["effective_from"])
        for item in spec["entries"]:
            key = {
                "program_id": item["program"],
                "level_id": item["level"],
                "kind": PolicyKind.CAP,
                "effective_from": effective_from,
            }
            if PolicyEntry.objects.filter(**key).exists():
                continue
            entry = PolicyEntry(
                **key,
                amount=Decimal(item["amount"]),
                clause=item["clause"],
                source_document=spec["source_document"],
                is_demo=True,
                note=spec["note"].format(basis=item["basis"]),
            )
            try:
                entry.full_clean()
            except ValidationError as exc:
                # An administrator already entered a cap for that period: keep theirs.
                self.stderr.write(
                    f"skipped demo cap for program {item['program']} "
                    f"({item['level'] or 'all levels'}): {'; '.join(exc.messages)}"
                )
                continue
            entry.save()
            self.created["demo caps"] += 1

    # --- Institutions -------------------------------------------------------------------
    def _institutions(self, specs: list[dict[str, Any]]) -> dict[str, Institution]:
        found: dict[str, Institution] = {}
        for spec in specs:
            base = spec["credit_code_base"]
            code = base + credit_code_check_char(base)
            institution = Institution.objects.filter(credit_code=code).first()
            if institution is None:
                institution = Institution(
                    name=spec["name"],
                    kind=spec["kind"],
                    credit_code=code,
                    unit_id=spec["unit"],
                    certified_difficult=spec.get("certified_difficult", False),
                    admitted=spec.get("admitted", True),
                )
                institution.full_clean()
                institution.save()
                self.created["institutions"] += 1
            found[spec["key"]] = institution
        return found

    # --- Trainees -----------------------------------------------------------------------
    def _trainees(
        self, specs: list[dict[str, Any]], area_codes: dict[str, Any]
    ) -> dict[str, Trainee]:
        rng = random.Random(ID_SEED)  # noqa: S311 (demo data, not security)
        found: dict[str, Trainee] = {}
        seen: set[str] = set()
        for spec in specs:
            # Draw in a fixed order whatever the database holds: the same numbers each run.
            number = _id_number(rng, spec, area_codes, seen)
            phone = f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"
            seen.add(number)
            trainee = Trainee.objects.filter(id_number=number).first()
            if trainee is None:
                trainee = Trainee(
                    id_number=number,
                    name=spec["name"],
                    household=spec["household"],
                    groups=list(spec["groups"]),
                    phone=phone,
                    registered_by_unit_id=spec["unit"],
                )
                trainee.full_clean(exclude=["birth_date", "sex"])
                trainee.save()
                self.created["trainees"] += 1
            found[spec["key"]] = trainee
        return found

    # --- Claims -------------------------------------------------------------------------
    def _claims(
        self,
        specs: list[dict[str, Any]],
        users: dict[str, User],
        institutions: dict[str, Institution],
        trainees: dict[str, Trainee],
    ) -> None:
        ids = [t.pk for t in trainees.values()]
        if Claim.objects.filter(trainee_id__in=ids).exists():
            self.stdout.write(
                "claims: the demo trainees already have claims; none added"
            )
            return
        for spec in specs:
            try:
                self._claim(spec, users, institutions, trainees)
            except DomainError as exc:
                detail = f" {exc.detail}" if exc.detail else ""
                raise CommandError(
                    f"claim {spec['key']}: {exc.code}: {exc.message}{detail}"
                ) from exc

    def _claim(
        self,
        spec: dict[str, Any],
        users: dict[str, User],
        institutions: dict[str, Institution],
        trainees: dict[str, Trainee],
    ) -> None:
        clerk = users[spec["clerk"]]
        if clerk.role != Role.COUNTY_CLERK or clerk.unit_id is None:
            raise CommandError(f"claim {spec['key']}: {clerk.username} is not a clerk")
        employer = spec.get("employer")
        data = services.ClaimInput(
            trainee_id=trainees[spec["trainee"]].pk,
            program_id=spec["program"],
            institution_id=institutions[spec["institution"]].pk,
            employer_id=institutions[employer].pk if employer else None,
            unit_id=clerk.unit_id,
            training_start=date.fromisoformat(spec["training_start"]),
            training_end=date.fromisoformat(spec["training_end"]),
            amount_requested=Decimal(spec["amount_requested"]),
            trade_id=spec.get("trade"),
            level_id=spec.get("level"),
            project_based=spec.get("project_based", False),
            work_in_lieu_months=spec.get("work_in_lieu_months", 0),
            passed=spec.get("passed", False),
            certificate_number=spec.get("certificate_number", ""),
            employment=spec.get("employment", "none"),
        )
        claim = services.claim_create(data=data, actor=clerk)
        codes = sorted({v["code"] for v in claim.violations})
        expected = sorted(spec.get("expect", []))
        if codes != expected:
            raise CommandError(
                f"claim {spec['key']}: expected violations {expected}, got {codes}: "
                f"{[v['message'] for v in claim.violations]}"
            )
        for step in spec["steps"]:
            claim = self._step(claim, step, spec, clerk, users)
        self.created["claims"] += 1

    def _step(
        self,
        claim: Claim,
        step: dict[str, Any],
        spec: dict[str, Any],
        clerk: User,
        users: dict[str, User],
    ) -> Claim:
        action, reason = step["do"], step.get("reason", "")
        if action in CLERK_ACTIONS:
            actor = clerk
        elif action in REVIEWER_ACTIONS:
            actor = users[step["by"]]
            if actor.pk == claim.created_by_id:
                raise CommandError(f"claim {spec['key']}: maker and checker are one")
        else:
            raise CommandError(f"claim {spec['key']}: unknown step {action!r}")
        if action == "update":
            data = replace(services.input_of(claim), **step["set"])
            return services.claim_update(claim_id=claim.pk, data=data, actor=actor)
        if action == "submit":
            return services.claim_submit(claim_id=claim.pk, actor=actor)
        if action == "withdraw":
            return services.claim_withdraw(
                claim_id=claim.pk, actor=actor, reason=reason
            )
        if action == "approve":
            return services.claim_approve(claim_id=claim.pk, actor=actor, reason=reason)
        if action == "reject":
            return services.claim_reject(claim_id=claim.pk, actor=actor, reason=reason)
        return services.claim_return(claim_id=claim.pk, actor=actor, reason=reason)

    # --- Summary --------------------------------------------------------------------------
    def _summary(self, data: dict[str, Any], trainees: dict[str, Trainee]) -> None:
        out = self.stdout.write
        added = (
            ", ".join(f"{n} {what}" for what, n in self.created.items()) or "nothing"
        )
        out(self.style.SUCCESS(f"seed_demo: added {added} / 新增：{added}"))
        by_status = Counter(
            Claim.objects.filter(trainee__in=list(trainees.values())).values_list(
                "status", flat=True
            )
        )
        out(
            f"Demo claims by status / 演示申报按状态（共 {sum(by_status.values())} 条）:"
        )
        for status in ClaimStatus:
            out(
                f"  {status.value:<10} {status.label:<4} {by_status.get(status.value, 0)}"
            )
        out(
            f"Demo caps / 演示补贴标准: "
            f"{PolicyEntry.objects.filter(is_demo=True).count()}  "
            f"Institutions / 机构: {Institution.objects.count()}  "
            f"Trainees / 培训人员: {Trainee.objects.count()}"
        )
        out(f"Logins / 登录账号（password / 密码: {data['password']}）:")
        if self.created["users"] < len(data["users"]):
            out(
                "  (accounts that existed before were left as they were / 已有账号未改动)"
            )
        for spec in data["users"]:
            user = User.objects.filter(username=spec["username"]).first()
            if user is None:
                continue
            where = f" {user.unit.name}" if user.unit else ""
            out(
                f"  {user.username:<14} {user.get_role_display()}{where}"
                f" — {user.first_name}"
            )


def _id_number(
    rng: random.Random,
    spec: dict[str, Any],
    area_codes: dict[str, Any],
    seen: set[str],
) -> str:
    """A valid 18-digit resident ID number (GB 11643) for the spec, drawn from ``rng``."""
    first_year, last_year = spec["born"]
    start = date(first_year, 1, 1)
    span = (date(last_year, 12, 31) - start).days
    while True:
        birth = start + timedelta(days=rng.randrange(span + 1))
        codes = area_codes[spec["unit"]]
        area = codes["before_1984" if birth.year < OLD_AREA_CODE_BEFORE else "current"]
        sequence = rng.randrange(1, 999)
        # The 17th digit is odd for a man, even for a woman.
        if (sequence % 2 == 1) != (spec["sex"] == "M"):
            sequence += 1 if sequence < 998 else -1
        first17 = f"{area}{birth:%Y%m%d}{sequence:03d}"
        number = first17 + check_char(first17)
        if number not in seen:
            return number
