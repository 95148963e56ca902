"""``python manage.py seed_demo``: demo users, institutions, trainees, claims and the
illustrative external caps (api-contract.md, "Accounts"), all read from
``programs/data/demo.json``; and, marked as demo data, illustrative successor terms
after the notice's 2019—2021 and county uplift decisions
(``programs.services.enter_illustrative_terms``).

Idempotent, in one transaction:

* users are matched by username, institutions by credit code, trainees by ID number and
  demo caps by (program, level, kind, effective_from); what exists is left as it is;
* ID numbers are generated from ``random.Random(2019)`` in the file's order, so every
  run yields the same numbers;
* claims are created only when none of the demo trainees has a claim yet: the claims
  are one scripted story (a 4th claim of a year is refused because of the 3 before
  it), so they are written all together or not at all.

The story leaves every panel filled for a newcomer (issue 15): the funds' budgets that
finance enters (七(五)), an anomaly of each kind of ``reporting.anomalies`` (a reused
certificate, an overlapping training, a burst of one class entered at once, an age
outside 16–65, one phone number on three people, an approval past an inconsistent spot
check) and warned claims waiting for the reviewer in a submitted report beside one
without warnings.

Training classes (issue 16): the project-based claims of program 9 come from classes
(``class_required``), so each such claim of the story is played as its class — drafted
and filed by the institution's staff eight days before its start, accepted by the
unit's clerk, started, its session recorded, completed — on the story's own dates
("today" is set to each step's date for the class services, which date-check every
step; a real run takes the same steps on the days they happen). Beside them, one class
at each other status (draft, filed, accepted, returned, running, cancelled), dated from
the day the demo is loaded; the running one is project-based and its advance is paid
(五(二)). They are added once, with the claims or, for a database seeded before
classes existed, when no demo class exists yet.

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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest import mock

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from altay_skills.errors import DomainError
from altay_skills.periods import next_quarter, quarter_bounds, quarter_of
from claims import services
from claims.confirmations import code_for, confirmation_answer
from claims.models import Claim, ClaimStatus, ConfirmationStatus, TraineeConfirmation
from classes import services as class_services
from classes.models import TrainingClass
from finance.services import class_advance_pay
from programs.credit_codes import credit_code_check_char
from programs.models import Institution, PolicyEntry, PolicyKind, Unit
from programs.services import enter_illustrative_terms
from quarters import services as quarter_services
from quarters.budgets import budget_set
from quarters.models import FundBudget, Objection, PublicNotice, QuarterlyReport
from trainees.id_numbers import check_char
from trainees.models import Trainee
from trainees.services import trainee_found

DEMO_FILE = Path(__file__).resolve().parents[3] / "programs" / "data" / "demo.json"
ID_SEED = 2019
#: ID numbers carry the pre-1984 prefecture code (6526xx) for people born before this.
OLD_AREA_CODE_BEFORE = 1984
CLERK_ACTIONS = frozenset({"submit", "withdraw", "update"})
REVIEWER_ACTIONS = frozenset({"approve", "reject", "return"})


def institution_of(staff: User) -> int:
    """The institution a demo institution-staff account belongs to."""
    if staff.institution_id is None:
        raise CommandError(
            f"{staff.username} 不属于任何培训机构 (not an institution's staff)"
        )
    return staff.institution_id


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
            # illustrative successor terms and county uplift decisions (is_demo)
            self.created["illustrative terms"] += enter_illustrative_terms(
                uplift_units=data["illustrative_terms"]["uplift_units"]
            )
            institutions = self._institutions(data["institutions"])
            users |= self._institution_staff(data, institutions)
            trainees = self._trainees(data["trainees"], data["area_codes"])
            self.class_of: dict[str, str] = {
                s["institution"]: s["username"] for s in data["institution_staff"]
            }
            self._claims(data["claims"], users, institutions, trainees)
            self._classes(users, institutions, trainees)
            self._budgets(data["budgets"], users)
            self._confirmations(trainees)
            self._objections(users)
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

    def _institution_staff(
        self, data: dict[str, Any], institutions: dict[str, Institution]
    ) -> dict[str, User]:
        """The institutions' own staff (issue 16), each bound to one institution."""
        users: dict[str, User] = {}
        for spec in data["institution_staff"]:
            user = User.objects.filter(username=spec["username"]).first()
            if user is None:
                user = User(
                    username=spec["username"],
                    first_name=spec.get("first_name", ""),
                    role=Role.INSTITUTION_STAFF,
                    institution=institutions[spec["institution"]],
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
                    insured=spec.get("insured", False),
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
            phone = spec.get("phone", phone)  # drawn all the same: the same sequence
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
                    # 五(二) the person's other places; 三(二)7's facts
                    residence_unit_id=spec.get("residence_unit"),
                    job_seeking_unit_id=spec.get("job_seeking_unit"),
                    residence=spec.get("residence", ""),
                    months_in_town=spec.get("months_in_town", 0),
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
        """Create the claims in the file's order, then play their steps quarter by
        quarter: a reviewer decides only what arrived in a submitted quarterly report
        (五(一)), so every round sends the waiting claims in their unit's report,
        draws the spot checks, records them and decides; what is fully decided is
        closed, and every fully closed quarter is rolled up for finance."""
        ids = [t.pk for t in trainees.values()]
        if Claim.objects.filter(trainee_id__in=ids).exists():
            self.stdout.write(
                "claims: the demo trainees already have claims; none added"
            )
            return
        pending: list[tuple[dict[str, Any], Claim, list[dict[str, Any]]]] = []
        for spec in specs:
            claim = self._guard(
                spec, lambda s=spec: self._create(s, users, institutions, trainees)
            )
            pending.append(self._clerk_steps((spec, claim, list(spec["steps"])), users))
        while True:
            pending = [self._clerk_steps(item, users) for item in pending]
            waiting = [
                item for item in pending if item[2] and item[1].status == "submitted"
            ]
            if not waiting:
                break
            self._send_reports(waiting, users)
            pending = [
                self._review_step(item, users) if item in waiting else item
                for item in pending
            ]
        self._close_reports(users)
        self._roll_up(users)

    def _guard(self, spec: dict[str, Any], action: Any) -> Any:
        try:
            return action()
        except DomainError as exc:
            detail = f" {exc.detail}" if exc.detail else ""
            raise CommandError(
                f"claim {spec['key']}: {exc.code}: {exc.message}{detail}"
            ) from exc

    def _create(
        self,
        spec: dict[str, Any],
        users: dict[str, User],
        institutions: dict[str, Institution],
        trainees: dict[str, Trainee],
    ) -> Claim:
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
            hire_date=(
                date.fromisoformat(spec["hire_date"]) if spec.get("hire_date") else None
            ),
        )
        if data.project_based and data.program_id == 9:
            claim = self._class_claim(spec, data, clerk, users)
        else:
            claim = services.claim_create(data=data, actor=clerk)
        codes = sorted({v["code"] for v in claim.violations})
        expected = sorted(spec.get("expect", []))
        if codes != expected:
            raise CommandError(
                f"claim {spec['key']}: expected violations {expected}, got {codes}: "
                f"{[v['message'] for v in claim.violations]}"
            )
        self.created["claims"] += 1
        return claim

    # --- Training classes (issue 16) -------------------------------------------------------
    def _class_claim(
        self,
        spec: dict[str, Any],
        data: services.ClaimInput,
        clerk: User,
        users: dict[str, User],
    ) -> Claim:
        """A project-based claim of program 9, as its class creates it: the class on
        the claim's dates, the person on its roster, two sessions — on its first day
        and its last — with everyone present (all the hours when the spec says
        ``perfect``, else 90%), completed by the unit's clerk with the spec's result."""
        staff = users[self.class_of[spec["institution"]]]
        start, end = data.training_start, data.training_end
        hours = Decimal("40")
        with on_day(start - timedelta(days=8)):
            cls = self._class_filed(
                staff, data, [data.trainee_id], start=start, end=end, hours=hours
            )
            class_services.class_accept(class_id=cls.pk, actor=clerk)
        with on_day(start):
            class_services.class_start(class_id=cls.pk, actor=staff)
        attended = hours if spec.get("perfect") else hours * Decimal("0.9")
        with on_day(end):
            # on its first day and its last: the class ran the whole period (the
            # uplift is for training that lasted two months, not a plan of it)
            for on, part in ((start, Decimal(20)), (end, attended - Decimal(20))):
                class_services.class_session_record(
                    class_id=cls.pk,
                    on=on,
                    hours=part,
                    present=[data.trainee_id],
                    actor=staff,
                )
        with on_day(end + timedelta(days=1)):
            (claim,) = class_services.class_complete(
                class_id=cls.pk,
                results=[
                    class_services.ClassResult(
                        trainee_id=data.trainee_id,
                        passed=data.passed,
                        certificate_number=data.certificate_number,
                        level_id=data.level_id,
                        employment=data.employment,
                    )
                ],
                actor=clerk,
            )
        self.created["classes"] += 1
        if claim.amount_requested != data.amount_requested:
            claim = services.claim_update(
                claim_id=claim.pk,
                data=replace(
                    services.input_of(claim), amount_requested=data.amount_requested
                ),
                actor=clerk,
            )
        return claim

    def _class_filed(
        self,
        staff: User,
        data: services.ClaimInput,
        people: list[int],
        *,
        start: date,
        end: date,
        hours: Decimal,
        location: str = "阿勒泰地区公共实训基地",
        file: bool = True,
    ) -> TrainingClass:
        """A project-based class drafted by ``staff`` with ``data``'s program, trade,
        level and unit, ``people`` on its roster (found by their ID numbers), filed."""
        for person in Trainee.objects.filter(pk__in=people):
            trainee_found(actor=staff, trainee=person)
        cls = class_services.class_create(
            data=class_services.ClassInput(
                institution_id=institution_of(staff),
                program_id=data.program_id,
                unit_id=data.unit_id,
                planned_start=start,
                planned_end=end,
                hours=hours,
                location=location,
                trade_id=data.trade_id,
                level_id=data.level_id,
                project_based=True,
                teachers=["王老师", "古丽娜尔老师"],
            ),
            actor=staff,
        )
        class_services.class_roster_set(
            class_id=cls.pk, trainee_ids=people, actor=staff
        )
        if file:
            class_services.class_file(class_id=cls.pk, actor=staff)
        return cls

    def _classes(
        self,
        users: dict[str, User],
        institutions: dict[str, Institution],
        trainees: dict[str, Trainee],
    ) -> None:
        """One class at each status the completed ones do not show, dated from today:
        a draft (with a person over 65 on its roster), a filed and an accepted class
        sharing a person (an overlap), a returned and a cancelled one, and a running
        project-based class whose advance finance has paid (五(二))."""
        if TrainingClass.objects.filter(location__endswith=DEMO_CLASS_MARK).exists():
            self.stdout.write("classes: the demo classes exist; none added")
            return
        staff = users[self.class_of["public_base"]]
        clerk, finance = users["clerk_654301"], users["finance"]
        k = [trainees[f"k{n:02d}"].pk for n in range(1, 7)]
        data = services.ClaimInput(
            trainee_id=k[0],
            program_id=9,
            institution_id=institution_of(staff),
            unit_id="654301",
            training_start=date.today(),
            training_end=date.today(),
            amount_requested=Decimal("0"),
            trade_id="4-07-05-01",
            level_id="intermediate",
        )
        today = timezone.localdate()
        soon, later = today + timedelta(days=30), today + timedelta(days=75)
        where = f"阿勒泰市职业技能培训中心{DEMO_CLASS_MARK}"

        def filed(people: list[int], *, file: bool = True) -> TrainingClass:
            return self._class_filed(
                staff,
                data,
                people,
                start=soon,
                end=later,
                hours=Decimal("120"),
                location=where,
                file=file,
            )

        filed([k[0], trainees["t39"].pk], file=False)  # draft
        filed([k[1], k[2]])  # filed, waiting for the clerk
        accepted = filed([k[2], k[3]])
        class_services.class_accept(class_id=accepted.pk, actor=clerk)
        returned = filed([k[4]])
        class_services.class_return(
            class_id=returned.pk,
            actor=clerk,
            reason="授课教师资质证明未附，请补充后重新报备",
        )
        cancelled = filed([k[5]], file=False)
        class_services.class_cancel(
            class_id=cancelled.pk, actor=staff, reason="报名人数不足，本期不开班"
        )
        # running: filed three weeks ago, started a week ago, its advance paid
        started = today - timedelta(days=7)
        with on_day(started - timedelta(days=14)):
            running = self._class_filed(
                staff,
                data,
                [k[0], k[1], k[4], k[5]],
                start=started,
                end=today + timedelta(days=25),
                hours=Decimal("160"),
                location=where,
            )
            class_services.class_accept(class_id=running.pk, actor=clerk)
        with on_day(started):
            class_services.class_start(class_id=running.pk, actor=staff)
        with on_day(started + timedelta(days=1)):
            class_services.class_session_record(
                class_id=running.pk,
                on=started,
                hours=Decimal("8"),
                present=[k[0], k[1], k[4], k[5]],
                actor=staff,
            )
        class_advance_pay(
            class_id=running.pk, actor=finance, reference="演示-培训班先行拨付-001"
        )
        self.created["classes"] += 6

    def _clerk_steps(
        self,
        item: tuple[dict[str, Any], Claim, list[dict[str, Any]]],
        users: dict[str, User],
    ) -> tuple[dict[str, Any], Claim, list[dict[str, Any]]]:
        """Play the clerk's steps until a reviewer's step (or the end) is next."""
        spec, claim, steps = item
        clerk = users[spec["clerk"]]
        while steps and steps[0]["do"] in CLERK_ACTIONS:
            step = steps.pop(0)
            claim = self._guard(
                spec, lambda st=step, c=claim: self._clerk_step(c, st, clerk)
            )
        if steps and steps[0]["do"] not in REVIEWER_ACTIONS:
            raise CommandError(f"claim {spec['key']}: unknown step {steps[0]['do']!r}")
        return spec, claim, steps

    def _clerk_step(self, claim: Claim, step: dict[str, Any], clerk: User) -> Claim:
        action = step["do"]
        if action == "update":
            data = replace(services.input_of(claim), **step["set"])
            return services.claim_update(claim_id=claim.pk, data=data, actor=clerk)
        if action == "submit":
            return services.claim_submit(claim_id=claim.pk, actor=clerk)
        return services.claim_withdraw(
            claim_id=claim.pk, actor=clerk, reason=step.get("reason", "")
        )

    def _send_reports(
        self,
        waiting: list[tuple[dict[str, Any], Claim, list[dict[str, Any]]]],
        users: dict[str, User],
    ) -> None:
        """Each unit reports its waiting claims, one report per quarter of training
        end (or the next free quarter when that one is already reported)."""
        by_unit: dict[str, set[str]] = {}
        for _, claim, _ in waiting:
            by_unit.setdefault(claim.unit_id, set()).add(quarter_of(claim.training_end))
        reviewer = users["reviewer"]
        # the public notice (issue 17): the latest quarter's reports go on notice today
        # (open); the earlier ones were sent a month ago (their notices have closed, so
        # finance may pay their balances)
        latest = max((q for qs in by_unit.values() for q in qs), default="")
        today = timezone.localdate()
        # a claim alone in its report is always in the sample (at least one is drawn)
        findings = {
            claim.pk: spec["spot_check"]
            for spec, claim, _ in waiting
            if "spot_check" in spec
        }
        for unit_id, quarters in sorted(by_unit.items()):
            clerk = (
                User.objects.filter(role=Role.COUNTY_CLERK, unit_id=unit_id)
                .order_by("username")
                .first()
            )
            if clerk is None:
                raise CommandError(
                    f"{unit_id} 没有县级经办人账号，无法报送季度报表 "
                    "(no county clerk to build the unit's reports)"
                )
            for quarter in sorted(quarters):
                while (
                    QuarterlyReport.objects.filter(unit_id=unit_id, quarter=quarter)
                    .exclude(status="discarded")
                    .exists()
                ):
                    quarter = next_quarter(quarter)
                report = quarter_services.report_build(
                    unit_id=unit_id, quarter=quarter, actor=clerk
                )
                if not report.claims.exists():
                    quarter_services.report_discard(report_id=report.pk, actor=clerk)
                    continue
                sent_on = today if quarter >= latest else today - timedelta(days=30)
                with on_day(sent_on):
                    quarter_services.report_submit(report_id=report.pk, actor=clerk)
                self.created["reports"] += 1
                for check in quarter_services.report_draw_spot_checks(
                    report_id=report.pk, actor=reviewer, share=Decimal("0.25")
                ):
                    finding = findings.get(check.claim_id, {})
                    result = finding.get("result", "consistent")
                    quarter_services.spot_check_record(
                        spot_check_id=check.pk,
                        actor=reviewer,
                        result=result,
                        note=finding.get("note", "已核对花名册、签到表和证书复印件"),
                        documents=(
                            _opened_sign_in_sheet(check.claim_id, clerk, reviewer)
                            if result == "consistent"
                            else ()
                        ),
                    )

    def _review_step(
        self,
        item: tuple[dict[str, Any], Claim, list[dict[str, Any]]],
        users: dict[str, User],
    ) -> tuple[dict[str, Any], Claim, list[dict[str, Any]]]:
        spec, claim, steps = item
        step = steps.pop(0)
        actor = users[step["by"]]
        if actor.pk == claim.created_by_id:
            raise CommandError(f"claim {spec['key']}: maker and checker are one")
        action, reason = step["do"], step.get("reason", "")
        move = {
            "approve": quarter_services.claim_approve,
            "reject": quarter_services.claim_reject,
            "return": quarter_services.claim_return,
        }[action]
        # an approval past an inconsistent spot check states its own reason (issue 12)
        extra = (
            {"spot_check_reason": step["spot_check_reason"]}
            if "spot_check_reason" in step
            else {}
        )
        claim = self._guard(
            spec, lambda: move(claim_id=claim.pk, actor=actor, reason=reason, **extra)
        )
        return spec, claim, steps

    def _budgets(self, spec: dict[str, Any], users: dict[str, User]) -> None:
        """Finance enters the funds' budgets (七(五)) after the story, so the reviewer
        sees what the waiting claims would leave of them; entering the same figures
        again changes nothing."""
        finance = users[spec["entered_by"]]
        for entry in spec["entries"]:
            key = (entry["unit"], entry["year"], entry["fund"])
            before = FundBudget.objects.filter(
                unit_id=key[0], year=key[1], fund=key[2]
            ).exists()
            budget_set(
                unit_id=entry["unit"],
                year=entry["year"],
                fund=entry["fund"],
                amount=entry["amount"],
                actor=finance,
                note=entry.get("note", ""),
            )
            self.created["budgets"] += not before

    def _close_reports(self, users: dict[str, User]) -> None:
        reviewer = users["reviewer"]
        for report in QuarterlyReport.objects.filter(status="submitted").order_by("pk"):
            if not report.claims.filter(status="submitted").exists():
                quarter_services.report_close(report_id=report.pk, actor=reviewer)
                self.created["reports closed"] += 1

    def _roll_up(self, users: dict[str, User]) -> None:
        """Send every quarter whose reports are all closed to finance, build it now,
        and record some payments on the first one so finance has a story to follow."""
        from finance import services as reporting

        quarters = sorted(
            set(
                QuarterlyReport.objects.filter(status="closed").values_list(
                    "quarter", flat=True
                )
            )
        )
        open_quarters = set(
            QuarterlyReport.objects.filter(status="submitted").values_list(
                "quarter", flat=True
            )
        )
        finance = (
            User.objects.filter(role=Role.FINANCE_OFFICER).order_by("username").first()
        )
        for index, quarter in enumerate(q for q in quarters if q not in open_quarters):
            rollup = reporting.rollup_request(quarter=quarter, actor=users["reviewer"])
            rollup = reporting.rollup_build(rollup_id=rollup.pk)
            self.created["rollups"] += 1
            if index == 0 and finance is not None:
                self._payments(reporting, rollup, finance)
            elif index == 1 and "finance2" in users:
                self._accounts(rollup.quarter, users)

    def _accounts(self, quarter: str, users: dict[str, User]) -> None:
        """The payees of one more ready rollup get accounts — each entered by a clerk
        of the claim's unit, confirmed by a second finance officer — so that a
        newcomer in finance can build a bank batch of it (代发批次)."""
        from finance import payouts
        from finance.bank_rules import luhn_ok
        from finance.models import PayeeAccount, PayeeAccountChange, Rollup
        from finance.selectors import claims_of_rollup

        claims = claims_of_rollup(Rollup.objects.get(quarter=quarter)).select_related(
            "trainee", "institution"
        )
        for n, claim in enumerate(claims.order_by("pk"), start=1):
            owner: dict[str, Any] = (
                {"institution_id": claim.institution_id}
                if claim.payee == "institution"
                else {"trainee_id": claim.trainee_id}
            )
            holder = (
                claim.institution.name
                if claim.payee == "institution"
                else claim.trainee.name
            )
            if (
                PayeeAccount.objects.filter(**owner).exists()
                or PayeeAccountChange.objects.filter(**owner).exists()
            ):
                continue
            clerk = users.get(f"clerk_{claim.unit_id}")
            if clerk is None:
                continue
            body = f"622848{7000 + n:012d}"
            number = next(body + str(d) for d in range(10) if luhn_ok(body + str(d)))
            change = payouts.account_change_propose(
                actor=clerk,
                bank="xjnx",
                number=number,
                holder=holder,
                reason="演示数据：本人签字的账户申请",
                **owner,
            )
            payouts.account_change_confirm(change_id=change.pk, actor=users["finance2"])
            self.created["payee accounts"] += 1

    def _payments(self, reporting: Any, rollup: Any, finance: User) -> None:
        paid_on = quarter_end(rollup.quarter) + timedelta(days=40)
        claims = list(reporting.rollup_claims(rollup.quarter).order_by("pk"))
        for n, claim in enumerate(claims):
            if n == len(claims) - 1:
                break  # one left unpaid
            status = "failed" if n == 0 else "paid"
            reporting.payment_record(
                claim_id=claim.pk,
                kind="balance",
                amount=claim.approved_amount,
                paid_on=paid_on,
                status=status,
                actor=finance,
                reference=f"GK{rollup.quarter}-{claim.pk:04d}",
                failure_reason="收款账户户名不符" if status == "failed" else "",
            )
            self.created["payments"] += 1

    # --- The public notice (公示, issue 17) ------------------------------------------------------
    def _objections(self, users: dict[str, User]) -> None:
        """An open notice with an objection waiting for its finding, and a closed one
        whose objection was lodged during its notice and dismissed by the reviewer."""
        if Objection.objects.exists():
            return
        today = timezone.localdate()
        notices = list(PublicNotice.objects.order_by("opened_on", "pk"))
        open_ = next((n for n in notices if n.is_open_on(today)), None)
        # closed now, and open on its first day (a notice of no working day never was)
        closed = next(
            (
                n
                for n in notices
                if not n.is_open_on(today) and n.is_open_on(n.opened_on)
            ),
            None,
        )
        if open_ is not None:
            line = open_.report.items.order_by("pk").first()
            assert line is not None  # a report on notice lists its claims
            quarter_services.objection_lodge(
                notice_id=open_.pk,
                line_id=line.pk,
                text="该学员培训期间在外地务工，未见其参加培训（演示）",
                contact="",
                actor=None,
            )
            self.created["objections"] += 1
        if closed is not None:
            line = closed.report.items.order_by("pk").first()
            assert line is not None  # a report on notice lists its claims
            with on_day(closed.opened_on):
                objection = quarter_services.objection_lodge(
                    notice_id=closed.pk,
                    line_id=line.pk,
                    text="名单中的培训机构与实际不符（演示）",
                    contact="",
                    actor=None,
                )
            quarter_services.objection_find(
                objection_id=objection.pk,
                outcome="dismissed",
                reason="经核对培训合同和签到表，培训机构无误（演示）",
                actor=users["reviewer"],
            )
            self.created["objections"] += 1

    # --- Summary --------------------------------------------------------------------------
    # --- Trainee confirmation (issue 17) ----------------------------------------------
    def _confirmations(self, trainees: dict[str, Trainee]) -> None:
        """Every submitted demo claim has its code (issued on submission); one trainee
        confirms and another says "not me" (a grievance to find), once."""
        asked = TraineeConfirmation.objects.filter(
            claim__trainee__in=list(trainees.values())
        ).select_related("claim__trainee")
        if asked.exclude(status=ConfirmationStatus.PENDING).exists():
            return
        pending = list(
            asked.filter(claim__status=ClaimStatus.SUBMITTED).order_by("pk")[:2]
        )
        for confirmation, answer in zip(
            pending, ("confirmed", "disputed"), strict=False
        ):
            confirmation_answer(
                code=code_for(confirmation),
                answer=answer,
                id_last4=confirmation.claim.trainee.id_number[-4:],
            )
            self.created[f"trainee answers ({answer})"] += 1

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
        open_codes = [
            code_for(c)
            for c in TraineeConfirmation.objects.filter(
                claim__trainee__in=list(trainees.values()),
                status=ConfirmationStatus.PENDING,
            ).order_by("pk")[:3]
        ]
        if open_codes:
            out(
                "Trainee confirmation / 培训人员确认: "
                + "  ".join(f"/t/{code}/" for code in open_codes)
            )
        out(f"Logins / 登录账号（password / 密码: {data['password']}）:")
        if self.created["users"] < len(data["users"]) + len(data["institution_staff"]):
            out(
                "  (accounts that existed before were left as they were / 已有账号未改动)"
            )
        for spec in [*data["users"], *data["institution_staff"]]:
            user = User.objects.filter(username=spec["username"]).first()
            if user is None:
                continue
            where = f" {user.unit.name}" if user.unit else ""
            if user.institution is not None:
                where = f" {user.institution.name}"
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


#: The location of the classes at each status (``_classes``): how a rerun finds them.
DEMO_CLASS_MARK = "（演示）"


@contextmanager
def on_day(day: date) -> Iterator[None]:
    """ "Today" is ``day`` for the class services, which date-check each step (filed
    seven days ahead, started on the day, completed after the end): the demo's
    classes are played on their story's dates."""
    with mock.patch("django.utils.timezone.localdate", return_value=day):
        yield


def quarter_end(quarter: str) -> date:
    bounds = quarter_bounds(quarter)
    assert bounds is not None
    return bounds[1]


def _opened_sign_in_sheet(claim_id: int, clerk: User, reviewer: User) -> list[int]:
    """材料相符 names documents the reviewer opened: the unit's clerk uploads the
    sampled claim's sign-in sheet (a drawn demo sheet), and the reviewer opens it
    through the audited download. Returns the sheet's id."""
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile

    from PIL import Image, ImageDraw

    rows, height, margin = 11, 24, 20  # a blank sign-in grid: demo data, not a sheet
    columns = [margin + c * 127 for c in range(4)]
    bottom = margin + rows * height
    sheet = Image.new("RGB", (columns[-1] + margin, bottom + margin), "white")
    draw = ImageDraw.Draw(sheet)
    for row in range(1, rows + 1):
        y = margin + row * height
        draw.line([(columns[0], y), (columns[-1], y)], fill="black")
    for x in columns:
        draw.line([(x, margin + height), (x, bottom)], fill="black")
    out = io.BytesIO()
    sheet.save(out, format="PNG")
    document = services.claim_attach_document(
        claim_id=claim_id,
        kind="attendance",
        upload=SimpleUploadedFile("演示签到表.png", out.getvalue()),
        actor=clerk,
    )
    _, handle = services.document_download(document_id=document.pk, actor=reviewer)
    handle.close()
    return [document.pk]
