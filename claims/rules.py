"""The rules of 阿行办发〔2019〕50号 that every subsidy claim must pass.

Pure: plain frozen dataclasses in, a ``Decision`` out. No Django import (a test checks),
no database, no clock: "today" is one of the facts. Money is ``Decimal`` only, rounded
once, half-up to the fen. Every figure (caps, uplift, months, the advance share, the
yearly limit) comes from the dated policy terms passed in; the program-specific
conditions below are the notice's own wording and cite its clauses.

The policy in force on the **training end date** decides (a change of policy never
rewrites the past).
"""

from __future__ import annotations

import calendar
import math
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

NOTICE = "阿行办发〔2019〕50号"
FEN = Decimal("0.01")
ZERO = Decimal("0.00")

# --- Statuses that count (五(二), rule 9 of the digest) -------------------------------
#: A claim counts toward the yearly limit and the trade+level rule from the moment it is
#: submitted until it is rejected or withdrawn; pending ones count so that two units
#: cannot race past a limit. A draft counts for nothing. The one set of counted
#: statuses: the dashboards' person-times count the same claims.
COUNTING_STATUSES = frozenset({"submitted", "approved", "returned"})
#: A claim nobody will pay: withdrawn, rejected (五(一)) or a deleted draft. Its trainee
#: has nothing left to confirm (issue 17), and a "not me" would open a grievance on it.
ENDED_STATUSES = frozenset({"withdrawn", "rejected", "deleted"})
#: What the trainee's confirmation shows them (``claims.confirmations.public_view``): a
#: change of any of these after they answered asks them again, under a new code.
ASKED_FACTS = (
    "trainee_id",
    "program_id",
    "institution_id",
    "unit_id",
    "training_start",
    "training_end",
    "amount_requested",
)

# --- Program-specific conditions, as the notice words them ---------------------------------
#: 三(三)11 技能脱贫千校行动 is a school grant, not a training subsidy: outside the yearly
#: limit and the trade+level rule.
PROGRAMS_OUTSIDE_LIMITS = frozenset({11})
#: Programs whose subsidy requires a certificate of given levels: 三(一)2 初、中级;
#: 三(一)3 高级工、技师、高级技师.
CERTIFICATE_LEVELS: dict[int, frozenset[str]] = {
    2: frozenset({"primary", "intermediate"}),
    3: frozenset({"senior", "technician", "senior_technician"}),
}
#: 三(二)7 对于实现转移就业人员; 三(二)9 实现就业人员.
EMPLOYMENT_REQUIRED = frozenset({7, 9})
EMPLOYED_OUTCOMES = frozenset({"employed", "self_employed", "flexible"})
#: 三(二)9 贫困家庭子女、贫困劳动力、两后生、农村转移就业劳动者、下岗失业人员和转岗职工、
#: 退役军人和残疾人; 三(三)10 针对建档立卡贫困劳动力 (only: 三(二)9 names 贫困家庭子女 as a
#: group of its own); 三(三)11 贫困家庭两后生.
TARGET_GROUPS: dict[int, frozenset[str]] = {
    9: frozenset(
        {
            "poor_family_child",
            "poor_labour",
            "two_after",
            "rural_transfer",
            "laid_off",
            "veteran",
            "disabled",
        }
    ),
    10: frozenset({"poor_labour"}),
}
#: 三(三)11 对有就读技工院校意愿的贫困家庭两后生开展3年学制的技工教育 … 给予每生每年
#: 3000元补助: a child of a poor family who is a 两后生 (both), at a technical school,
#: once a school year, for at most the 学制's years; the family is paid, never in advance.
SCHOOL_GRANT_PROGRAM = 11
SCHOOL_GRANT_GROUPS = frozenset({"poor_family_child", "two_after"})
SCHOOL_GRANT_INSTITUTION = "technical_school"
#: 三(二)9 企业、农民专业合作社和扶贫车间等各类生产经营主体吸纳贫困劳动力就业并开展以工代训的，
#: 以及参保企业吸纳就业困难人员、零就业家庭成员就业并开展以工代训的: which employer
#: may train whom in lieu of work.
WORK_IN_LIEU_EMPLOYERS: dict[str, frozenset[str]] = {
    "poor_labour": frozenset({"enterprise", "cooperative", "poverty_workshop"}),
}
#: … whose employer must be an insured enterprise (参保企业).
WORK_IN_LIEU_INSURED_GROUPS = frozenset({"hard_to_employ", "zero_employment_family"})
WORK_IN_LIEU_GROUPS = frozenset(WORK_IN_LIEU_EMPLOYERS) | WORK_IN_LIEU_INSURED_GROUPS
WORK_IN_LIEU_PROGRAM = 9
#: Training an enterprise gives its own staff or hires: 三(一)1 新录用员工岗前培训,
#: 三(一)2 参保企业在岗职工, 三(一)3 企业高技能人才, 三(一)5 困难企业职工, 三(一)6 企业新型
#: 学徒制 (and 以工代训). 五(二) 由企业所在县(市)人力资源和社会保障部门审核: such a claim is
#: filed where the employer is; 对企业开展培训 … 可先行拨付40%.
ENTERPRISE_STAFF_PROGRAMS = frozenset({1, 2, 3, 5, 6})
#: Programs whose own condition already asks for the enterprise (2: insured, 5: certified
#: difficult), so the place-of-claim check does not ask twice.
OWN_EMPLOYER_CHECK = frozenset({2, 5})
#: 三(一)1 针对一年内新招用员工.
NEW_HIRE_PROGRAM = 1
#: 三(一)2 参保企业在岗职工技能提升培训.
INSURED_STAFF_PROGRAM = 2
#: 三(一)6 参加1—2年的企业新型学徒制培训.
APPRENTICESHIP_PROGRAM = 6
#: 三(二)7 1980年及之后出生 … 户籍地在乡村.
NEW_GENERATION_PROGRAM = 7
NEW_GENERATION_BORN_FROM = date(1980, 1, 1)
#: 三(一)5 经各县(市)人民政府认定的困难企业.
DIFFICULT_ENTERPRISE_PROGRAM = 5
#: 三(二)9 通过项目制方式 … 且培训时间2个月以上的 … 上浮50%.
PROJECT_UPLIFT_PROGRAM = 9
PROJECT_UPLIFT_MONTHS = 2

ENTERPRISE = "enterprise"
#: 五(二) 培训机构开展项目制培训: a provider that is not an enterprise.
TRAINING_PROVIDERS = frozenset(
    {
        "vocational_college",
        "technical_school",
        "training_institution",
        "public_training_base",
    }
)

#: 标题、二 实施方案(2019—2021年): the period a document's terms are in force is a
#: dated policy entry of this kind (the notice's: 2019-01-01 to 2021-12-31).
PLAN_PERIOD = "plan_period"
PLAN_CLAUSE = "标题、二"
#: 三(三)10 经费从就业专项资金中列支，不足部分从职业技能提升行动专项经费中补充: the
#: program's fund (its ``Program.fund``) while the unit's budget of that fund for the
#: year has room, and this fund beyond it; decided at approval
#: (``quarters.rules.charged_fund``).
SHORTFALL_FUNDS: dict[int, str] = {10: "special"}


def shortfall_fund_line(program: int) -> str:
    """The decision's line on a program whose fund is fixed at approval."""
    return (
        f"项目{program}经费从就业专项资金列支，本单位当年就业专项资金预算不足的，"
        "从职业技能提升行动专项资金补充：资金渠道在核准时按预算余额确定（三(三)10）。"
    )


# --- Facts in -------------------------------------------------------------------------------
@dataclass(frozen=True)
class InstitutionFacts:
    kind: str
    unit: str
    certified_difficult: bool = False
    name: str = ""
    #: In the catalogue of 七(三) (培训评价机构目录); a provider a clerk proposed is not
    #: until an administrator admits it.
    admitted: bool = True
    #: 参保企业 (insured for unemployment).
    insured: bool = False


@dataclass(frozen=True)
class TraineeFacts:
    birth_date: date
    household: str  # "rural" | "urban"
    groups: frozenset[str] = frozenset()
    #: 五(二) 户籍地、常住地、求职就业地: the units of the person's three places.
    units: frozenset[str] = frozenset()
    residence: str = ""  # "urban" | "rural" | "" (not recorded)
    months_in_town: int = 0


@dataclass(frozen=True)
class ProgramFacts:
    number: int
    name: str
    section: str  # "三(一)"
    claimable: bool
    fund: str | None
    fund_label: str = ""

    @property
    def clause(self) -> str:
        return f"{self.section}{self.number}"


@dataclass(frozen=True)
class AttendanceFacts:
    """The hours a person attended of a filed training class (issue 16), and the share
    of the planned hours the class terms require (``classes.rules``: the notice leaves
    the figure to practice; ``source`` says where it comes from). Given only for a claim
    that comes from a class; a claim entered by hand carries none."""

    planned_hours: Decimal
    attended_hours: Decimal
    threshold: Decimal  # e.g. Decimal("0.8"): 80% of the planned hours
    source: str
    #: the class the claim came from, and the facts of the claim that are the class's
    #: (``CLASS_FACTS``: field → value), which its clerk may not change afterwards
    class_id: int | None = None
    fixed: tuple[tuple[str, object], ...] = ()
    #: the days the class's first and last sessions were held (None: none recorded,
    #: as before it runs): how long the training really lasted, which 三(二)9's
    #: "两个月以上" asks of the uplift, not how long it was planned to
    sessions_from: date | None = None
    sessions_to: date | None = None

    @property
    def share(self) -> Decimal:
        if self.planned_hours <= 0:
            return Decimal(0)
        return self.attended_hours / self.planned_hours


@dataclass(frozen=True)
class ClassSeat:
    """The person's place on the live roster of a class filed and accepted (issue 16):
    the training it gives them, its program, institution, trade (None: a program
    without one) and planned dates."""

    class_id: int
    program: int
    institution_id: int
    planned_start: date
    planned_end: date
    trade: str | None = None
    level: str | None = None
    #: the line has its claim already (its history holds it): not one to come
    claimed: bool = False


@dataclass(frozen=True)
class ClaimFacts:
    program: int
    unit: str
    training_start: date
    training_end: date
    amount_requested: Decimal
    institution: InstitutionFacts | None = None
    employer: InstitutionFacts | None = None
    trade: str | None = None
    level: str | None = None
    project_based: bool = False
    work_in_lieu_months: int = 0
    passed: bool = False
    certificate_number: str = ""
    employment: str = "none"
    claim_id: int | None = None  # the claim itself, left out of its own history
    trade_name: str = ""
    level_name: str = ""
    hire_date: date | None = None
    #: From the class the claim was created from (issue 16); None: entered by hand.
    attendance: AttendanceFacts | None = None
    #: the institution's id, and the classes on whose live rosters the person is: a
    #: claim by hand for the training one of them gave is that class's to make
    institution_id: int | None = None
    class_seats: tuple[ClassSeat, ...] = ()

    @property
    def is_work_in_lieu(self) -> bool:
        return self.work_in_lieu_months > 0


@dataclass(frozen=True)
class PriorClaim:
    """One earlier claim of the same person, from any unit."""

    claim_id: int
    program: int
    status: str
    training_end: date
    trade: str | None = None
    level: str | None = None
    unit_name: str = ""
    trade_name: str = ""
    level_name: str = ""
    work_in_lieu_months: int = 0


@dataclass(frozen=True)
class PolicyTerm:
    """A dated policy entry: ``value`` is an amount (yuan), a ratio or a count."""

    entry_id: int
    kind: (
        str  # cap | project_uplift | work_in_lieu_monthly | work_in_lieu_max_months | …
    )
    value: Decimal
    effective_from: date
    effective_to: date | None
    clause: str
    source_document: str = NOTICE
    program: int | None = None
    level: str | None = None
    #: The unit whose own decision this is; None for the whole prefecture.
    unit: str | None = None

    def in_force_on(self, day: date) -> bool:
        return self.effective_from <= day and (
            self.effective_to is None or day <= self.effective_to
        )


# --- Decision out ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Violation:
    code: str
    message: str
    clause: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "clause": self.clause}


@dataclass(frozen=True)
class Decision:
    cap: Decimal | None
    amount: Decimal
    advance: Decimal
    fund: str | None
    payee: str  # "institution" | "trainee" | "family"
    violations: tuple[Violation, ...] = ()
    explanation: tuple[str, ...] = ()
    policy_entry_ids: tuple[int, ...] = field(default=())

    @property
    def eligible(self) -> bool:
        return not self.violations

    @property
    def codes(self) -> list[str]:
        return [v.code for v in self.violations]

    def as_dict(self) -> dict[str, object]:
        return {
            "eligible": self.eligible,
            "cap": None if self.cap is None else str(self.cap),
            "amount": str(self.amount),
            "advance": str(self.advance),
            "fund": self.fund,
            "payee": self.payee,
            "violations": [v.as_dict() for v in self.violations],
            "explanation": list(self.explanation),
            "policy_entry_ids": list(self.policy_entry_ids),
        }


# --- Small pure pieces --------------------------------------------------------------------
def to_fen(value: Decimal) -> Decimal:
    """Round half-up to the fen (never ``round()``, which rounds half to even)."""
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


def money(value: object) -> Decimal:
    """An amount from the database (an SQL sum may be None, or float-ish on SQLite)
    as yuan, half-up to the fen: the one money formatter of the pages and workbooks."""
    if value is None:
        return ZERO
    return to_fen(value if isinstance(value, Decimal) else Decimal(str(value)))


def yuan(value: Decimal) -> str:
    return f"{to_fen(value):,.2f}"


def add_months(day: date, months: int) -> date:
    """The same day ``months`` calendar months on, clamped to the month's last day."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def lasts_months(start: date, end: date, months: int) -> bool:
    """ "N个月以上" includes N: end on or after start moved N months on, less one day.

    1 March → 30 April is two months; → 29 April is not; 31 December → 28 February is.
    """
    return end >= add_months(start, months) - timedelta(days=1)


def months_end(start: date, months: int) -> date:
    """The last day of ``months`` months counted from ``start``: the day before the same
    day ``months`` months on, or — when that month has no such day — its last day (31
    March + 1 month ends 30 April, 29 February 2020 + 12 months ends 28 February
    2021), so that a month begun on the 29th–31st is as long as one begun on the 1st."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    last = calendar.monthrange(year, month)[1]
    if start.day > last:
        return date(year, month, last)
    return date(year, month, start.day) - timedelta(days=1)


def months_begun(start: date, end: date) -> int:
    """The months of a span, each begun on the day the span began: 10 to 19 March is
    one, 31 January to 1 February one, 1 March to 1 April two, 29 February 2020 to 28
    February 2021 twelve (三(二)9 以工代训 pays 每人每月 a month of work; a month begun is
    a month, counted from the first day of work, not the calendar months the days
    touch). 0 for a span that ends before it starts."""
    if end < start:
        return 0
    months = max(1, (end.year - start.year) * 12 + end.month - start.month)
    while months > 1 and end <= months_end(start, months - 1):
        months -= 1
    while end > months_end(start, months):
        months += 1
    return months


def year_of(day: date, start_month: int) -> int:
    """The year ``day`` falls in, for a year that begins on the 1st of ``start_month``,
    named by the calendar year it ends in (start month 11: 1 November 2019 – 31 October
    2020 is 2020; start month 1: the calendar year)."""
    return day.year + 1 if start_month > 1 and day.month >= start_month else day.year


def school_year_of(day: date, start_month: int) -> int:
    """The school year ``day`` falls in, named by the calendar year it begins in
    (start month 9: 1 September 2021 – 31 August 2022 is 2021, "2021/22学年")."""
    return day.year if day.month >= start_month else day.year - 1


def school_year_label(year: int) -> str:
    return f"{year}/{(year + 1) % 100:02d}学年"


def term_in_force(
    terms: Iterable[PolicyTerm],
    kind: str,
    *,
    on: date,
    program: int | None = None,
    level: str | None = None,
    unit: str | None = None,
) -> PolicyTerm | None:
    """The most specific term of ``kind`` in force on ``on``.

    A unit's own term (its county's decision) beats a prefecture-wide one of the same
    kind; then a term for the program and level beats one for the program alone, which
    beats one for every program. Among equals the latest ``effective_from`` wins. A
    unit's term applies only to that unit: without ``unit`` only prefecture-wide terms
    are read.
    """
    best: tuple[int, date, PolicyTerm] | None = None
    for term in terms:
        if term.kind != kind or not term.in_force_on(on):
            continue
        if term.program is not None and term.program != program:
            continue
        if term.level is not None and term.level != level:
            continue
        if term.unit is not None and term.unit != unit:
            continue
        rank = (
            (term.unit is not None) * 4
            + (term.program is not None) * 2
            + (term.level is not None)
        )
        if best is None or (rank, term.effective_from) > best[:2]:
            best = (rank, term.effective_from, term)
    return best[2] if best else None


def counts_toward_limits(program: int) -> bool:
    return program not in PROGRAMS_OUTSIDE_LIMITS


def carries_trade_level(facts: ClaimFacts) -> bool:
    """Program 11 and 以工代训 carry no trade/level pair (五(二))."""
    return keeps_trade_level(facts.program, facts.work_in_lieu_months)


def keeps_trade_level(program: int, work_in_lieu_months: int) -> bool:
    """Whether a claim of ``program`` keeps the trade and level it is given: not the
    school grant (三(三)11, no training in a trade) nor 以工代训 (the job is the
    training) — 五(二) 同一职业同一等级不可重复享受 concerns training in a trade."""
    return counts_toward_limits(program) and work_in_lieu_months <= 0


def payee_of(facts: ClaimFacts) -> str:
    """Who is paid: the family for the school grant (三(三)11 对子女接受技工教育的贫困
    家庭，给予每生每年3000元补助), the provider for enterprise-run or project-based
    training, else the trainee."""
    if facts.program == SCHOOL_GRANT_PROGRAM:
        return "family"
    if is_enterprise_run(facts) or facts.project_based:
        return "institution"
    return "trainee"


def is_enterprise_run(facts: ClaimFacts) -> bool:
    provider = facts.employer if facts.is_work_in_lieu else facts.institution
    return provider is not None and provider.kind == ENTERPRISE


def trains_own_staff(facts: ClaimFacts) -> bool:
    """Training an enterprise gives its own staff or hires (programs 1, 2, 3, 5, 6 and
    以工代训): filed where the employer is, and may be advanced 40%."""
    return facts.is_work_in_lieu or facts.program in ENTERPRISE_STAFF_PROGRAMS


def employer_of(facts: ClaimFacts) -> InstitutionFacts | None:
    """The enterprise whose staff are trained: the employer named on the claim, else
    the enterprise that runs the training itself."""
    if facts.employer is not None:
        return facts.employer
    if facts.institution is not None and facts.institution.kind == ENTERPRISE:
        return facts.institution
    return None


def advance_allowed(facts: ClaimFacts) -> bool:
    """五(二) 对企业开展培训或者培训机构开展项目制培训的，可先行拨付40%: an enterprise
    training its own staff or hires, or a training provider's project-based training;
    never the school grant of 三(三)11, which is no training."""
    if facts.program == SCHOOL_GRANT_PROGRAM:
        return False
    if trains_own_staff(facts) and is_enterprise_run(facts):
        return True
    provider = facts.institution
    return (
        facts.project_based
        and not facts.is_work_in_lieu
        and provider is not None
        and provider.kind in TRAINING_PROVIDERS
    )


# --- The decision -------------------------------------------------------------------------
class _Judgement:
    """Collects violations, explanation lines and the policy entries used."""

    def __init__(self) -> None:
        self.violations: list[Violation] = []
        self.explanation: list[str] = []
        self.entries: list[int] = []

    def refuse(self, code: str, message: str, clause: str) -> None:
        self.violations.append(Violation(code, message, clause))

    def use(self, term: PolicyTerm) -> PolicyTerm:
        if term.entry_id not in self.entries:
            self.entries.append(term.entry_id)
        return term


def decide(
    facts: ClaimFacts,
    *,
    trainee: TraineeFacts,
    program: ProgramFacts,
    history: Sequence[PriorClaim],
    policy: Sequence[PolicyTerm],
    today: date,
) -> Decision:
    """Judge one claim against every rule; the claim is eligible when nothing refuses it."""
    j = _Judgement()
    if not program.claimable:
        j.refuse(
            "program_not_claimable",
            f"项目{program.number}“{program.name}”不按人申报补贴，不能在本系统申报",
            program.clause,
        )
    _check_dates(facts, today, j)
    in_plan = _check_plan_period(facts, policy, j)
    _check_program_conditions(facts, trainee, program, policy, j)
    _check_unit(facts, trainee, j)
    _check_catalogue(facts, j)
    _check_attendance(facts, j)
    _check_class_required(facts, j)
    _check_class_seat(facts, j)
    _check_history(facts, history, policy, j)
    _check_school_years(facts, history, policy, j)
    # outside the plan no figure is in force: no cap, nothing to pay
    cap = _cap(facts, program, policy, j) if program.claimable and in_plan else None
    requested = to_fen(facts.amount_requested)
    if cap is None:
        amount = ZERO
    else:
        amount = max(ZERO, min(requested, cap))
        if requested > cap:
            j.refuse(
                "over_cap",
                f"申请金额{yuan(requested)}元超过补贴上限{yuan(cap)}元",
                program.clause,
            )
        else:
            j.explanation.append(
                f"申请金额{yuan(requested)}元，未超过上限，按申请金额核定。"
            )
    advance = _advance(facts, amount, policy, j)
    if program.fund:
        j.explanation.append(f"资金渠道：{program.fund_label or program.fund}。")
    if program.number in SHORTFALL_FUNDS:
        j.explanation.append(shortfall_fund_line(program.number))
    violations = j.violations
    if not in_plan:
        # Outside the plan no figure is in force: "no cap configured" says nothing more.
        violations = [v for v in violations if v.code != "cap_not_configured"]
    return Decision(
        cap=cap,
        amount=amount,
        advance=advance,
        fund=program.fund,
        payee=payee_of(facts),
        violations=tuple(violations),
        explanation=tuple(j.explanation),
        policy_entry_ids=tuple(j.entries),
    )


def plan_periods(
    policy: Iterable[PolicyTerm], *, program: int | None = None, unit: str | None = None
) -> list[PolicyTerm]:
    """Every period with terms (``plan_period``) that may apply to a claim of
    ``program`` filed by ``unit``, in date order."""
    return sorted(
        (
            t
            for t in policy
            if t.kind == PLAN_PERIOD
            and (t.program is None or t.program == program)
            and (t.unit is None or t.unit == unit)
        ),
        key=lambda t: (t.effective_from, t.entry_id),
    )


def _period_text(term: PolicyTerm) -> str:
    end = term.effective_to.isoformat() if term.effective_to else "长期"
    return f"{term.effective_from.isoformat()}至{end}（{term.source_document}）"


def _check_plan_period(
    facts: ClaimFacts, policy: Sequence[PolicyTerm], j: _Judgement
) -> bool:
    """标题、二 实施方案(2019—2021年): a document's terms are in force only for training
    that ended within its period. Outside every period with terms (the notice's own, or
    successor terms an administrator entered with their document) the claim is refused
    with the periods known. True when the training end is inside one."""
    on = facts.training_end
    period = term_in_force(
        policy, PLAN_PERIOD, on=on, program=facts.program, unit=facts.unit
    )
    if period is not None:
        j.use(period)
        j.explanation.append(
            f"培训结束日期在政策执行期{_period_text(period)}内，按该期的标准审核。"
        )
        return True
    known = plan_periods(policy, program=facts.program, unit=facts.unit)
    if known:
        earlier = [t for t in known if t.effective_from <= on]
        nearest = earlier[-1] if earlier else known[0]
        periods = "；".join(_period_text(t) for t in known)
        j.refuse(
            "policy_not_in_force",
            f"培训结束日期{on.isoformat()}不在任何政策执行期内（已录入的执行期：{periods}）。"
            "执行期外的培训须由管理员录入后续政策文件及其补贴标准后方可申报",
            nearest.clause,
        )
    else:
        j.refuse(
            "policy_not_in_force",
            f"尚未录入政策执行期，培训结束日期{on.isoformat()}没有生效的政策"
            "（须由管理员录入政策文件及其执行期）",
            PLAN_CLAUSE,
        )
    return False


#: 五(一) 有效甄别资金发放对象及其申请材料的真实性 … 对以虚假培训 … 套取骗取资金的行为,
#: 要依法予以严惩: a subsidy pays for training that took place; how much of a class a
#: person must attend is a term of the class rules (``AttendanceFacts.source``).
ATTENDANCE_CLAUSE = "五(一)"


def _percent(value: Decimal) -> str:
    return _plain(to_fen(value * 100))


def _check_attendance(facts: ClaimFacts, j: _Judgement) -> None:
    """A claim from a training class: the hours attended must reach the required share
    of the class's planned hours (``attendance_insufficient`` below it)."""
    a = facts.attendance
    if a is None:
        return
    hours = f"出勤{_plain(a.attended_hours)}学时，计划{_plain(a.planned_hours)}学时"
    if a.share < a.threshold:
        j.refuse(
            "attendance_insufficient",
            f"{hours}，出勤率{_percent(a.share)}%，低于要求的{_percent(a.threshold)}%"
            f"（{a.source}）",
            ATTENDANCE_CLAUSE,
        )
    else:
        j.explanation.append(
            f"{hours}，出勤率{_percent(a.share)}%，达到要求的{_percent(a.threshold)}%。"
        )


#: 三(二)9 通过项目制方式开展免费职业技能培训的 and 五(二) 培训机构开展项目制培训: a
#: project the government buys from a provider is a class — filed before it starts, its roster, its
#: attendance (issue 16) — so a project-based claim of program 9 comes from a filed
#: class's completion, never typed in person by person. Other programs (以工代训 and
#: enterprise training among them) may still be claimed one by one.
CLASS_REQUIRED_PROGRAMS = frozenset({PROJECT_UPLIFT_PROGRAM})
CLASS_REQUIRED_CLAUSE = "三(二)9"


def _check_class_required(facts: ClaimFacts, j: _Judgement) -> None:
    """A project-based claim of program 9 that did not come from a class's completion
    (it carries no attendance: ``AttendanceFacts`` are given only for those) is
    refused with ``class_required``."""
    if (
        facts.program in CLASS_REQUIRED_PROGRAMS
        and facts.project_based
        and not facts.is_work_in_lieu
        and facts.attendance is None
    ):
        j.refuse(
            "class_required",
            f"项目{facts.program}的项目制培训（三(二)9 通过项目制方式开展免费职业技能培训，五(二) "
            "培训机构开展项目制培训）须由开班前备案的培训班结业生成申报，不能逐人录入："
            "请通过培训班办理开班备案、考勤和结业",
            CLASS_REQUIRED_CLAUSE,
        )


def _check_class_seat(facts: ClaimFacts, j: _Judgement) -> None:
    """A claim by hand for the training a class gave the person — its institution, a
    day of its planned period in common, and its trade (under whatever program it is
    typed) or, for a class without one, its program — is refused with
    ``class_required``: that training is paid on the class's attendance (五(一)), and
    a class's claim refused for it was deleted and the same facts typed in again.
    Another trade at the same institution at the same time is another training."""
    if facts.attendance is not None:
        return
    for seat in facts.class_seats:
        same_training = (
            seat.trade == facts.trade
            if seat.trade is not None
            else seat.program == facts.program
        )
        if (
            same_training
            and seat.institution_id == facts.institution_id
            and seat.planned_start <= facts.training_end
            and facts.training_start <= seat.planned_end
        ):
            j.refuse(
                "class_required",
                f"该人员在培训班#{seat.class_id}（计划{seat.planned_start.isoformat()}至"
                f"{seat.planned_end.isoformat()}）的名单上：同一机构同期、同一职业"
                "(工种)的培训即该培训班，其补贴由培训班结业按出勤核定生成，"
                "不能逐人另行录入（无论按哪个项目申报）",
                ATTENDANCE_CLAUSE,
            )
            return


def _check_dates(facts: ClaimFacts, today: date, j: _Judgement) -> None:
    if facts.training_end < facts.training_start:
        j.refuse("invalid_dates", "培训结束日期早于开始日期", "五(二)")
    elif facts.training_end > today:
        j.refuse("invalid_dates", "培训尚未结束，结束后方可申报补贴", "五(一)")


def _check_program_conditions(
    facts: ClaimFacts,
    trainee: TraineeFacts,
    program: ProgramFacts,
    policy: Sequence[PolicyTerm],
    j: _Judgement,
) -> None:
    number, clause = facts.program, program.clause
    if facts.is_work_in_lieu:
        _check_work_in_lieu(facts, trainee, clause, policy, j)
    elif (
        carries_trade_level(facts)
        and program.claimable
        and (not facts.trade or not facts.level)
    ):
        j.refuse(
            "level_not_eligible",
            "须填写培训的职业(工种)和等级（无等级的填“专项职业能力”或“培训合格证”）",
            "五(二)",
        )
    if number in CERTIFICATE_LEVELS:
        allowed = CERTIFICATE_LEVELS[number]
        if facts.level and facts.level not in allowed:
            names = "、".join(LEVEL_NAMES[code] for code in _ordered(allowed))
            j.refuse(
                "level_not_eligible",
                f"项目{number}只补贴取得{names}证书的培训",
                clause,
            )
        if not facts.passed or not facts.certificate_number.strip():
            j.refuse(
                "certificate_required",
                f"项目{number}须培训合格并填写所取得的证书编号",
                clause,
            )
    if (
        number in EMPLOYMENT_REQUIRED
        and not facts.is_work_in_lieu
        and (facts.employment not in EMPLOYED_OUTCOMES)
    ):
        j.refuse(
            "employment_required",
            f"项目{number}只对实现就业（含自主创业、灵活就业）的人员给予补贴",
            clause,
        )
    if number in TARGET_GROUPS and not facts.is_work_in_lieu:
        wanted = TARGET_GROUPS[number]
        if not (trainee.groups & wanted):
            names = "、".join(GROUP_NAMES[g] for g in sorted(wanted))
            j.refuse(
                "target_group_required",
                f"项目{number}的培训对象须为：{names}",
                clause,
            )
    if number == NEW_GENERATION_PROGRAM:
        _check_new_generation(facts, trainee, clause, policy, j)
    if number == DIFFICULT_ENTERPRISE_PROGRAM:
        # 由企业组织人员开展…培训: the certified enterprise organises it, whoever gives it
        employer = employer_of(facts)
        if (
            employer is None
            or employer.kind != ENTERPRISE
            or not employer.certified_difficult
        ):
            j.refuse(
                "enterprise_not_certified",
                "项目5仅适用于经县(市)人民政府认定的困难企业组织的培训"
                "（用人单位须为经认定的困难企业）",
                clause,
            )
    if number == NEW_HIRE_PROGRAM:
        _check_new_hire(facts, clause, policy, j)
    if number == INSURED_STAFF_PROGRAM:
        employer = employer_of(facts)
        if employer is None or employer.kind != ENTERPRISE or not employer.insured:
            j.refuse(
                "enterprise_not_certified",
                "项目2仅适用于参保企业组织本企业在岗职工开展的技能提升培训"
                "（用人单位须为参保企业）",
                clause,
            )
    if number == APPRENTICESHIP_PROGRAM:
        _check_apprenticeship(facts, clause, policy, j)
    if number == SCHOOL_GRANT_PROGRAM:
        _check_school_grant(facts, trainee, clause, j)


def _quantity(
    policy: Sequence[PolicyTerm], kind: str, facts: ClaimFacts, j: _Judgement
) -> int | None:
    """A count of the policy (months, years) in force on the training end, or None."""
    term = term_in_force(
        policy, kind, on=facts.training_end, program=facts.program, unit=facts.unit
    )
    if term is None:
        return None
    j.use(term)
    return int(term.value)


def _not_configured(what: str, facts: ClaimFacts, clause: str, j: _Judgement) -> None:
    j.refuse(
        "cap_not_configured",
        f"{what}在{facts.training_end.isoformat()}没有生效的政策标准，须由管理员录入",
        clause,
    )


def _check_new_generation(
    facts: ClaimFacts,
    trainee: TraineeFacts,
    clause: str,
    policy: Sequence[PolicyTerm],
    j: _Judgement,
) -> None:
    """三(二)7 1980年及之后出生常住地在城市、户籍地在乡村的劳动力，进城从事非农业生产6个月
    及以上的，委托职业培训机构开展职业技能提升培训."""
    if trainee.birth_date < NEW_GENERATION_BORN_FROM:
        j.refuse(
            "age_ineligible",
            "新生代农民工须为1980年及之后出生"
            f"（该人员出生于{trainee.birth_date.isoformat()}）",
            clause,
        )
    if trainee.household != "rural":
        j.refuse(
            "target_group_required",
            "新生代农民工须为户籍地在乡村的劳动力",
            clause,
        )
    if trainee.residence != "urban":
        j.refuse(
            "target_group_required",
            "新生代农民工须为常住地在城市（城镇）的劳动力（请在人员信息中登记常住地类型）",
            clause,
        )
    provider = facts.institution
    if provider is None or provider.kind not in TRAINING_PROVIDERS:
        j.refuse(
            "institution_not_admitted",
            "新生代农民工职业技能提升培训须委托职业培训机构开展"
            "（职业院校、技工院校、培训机构或公共实训基地）",
            clause,
        )
    least = _quantity(policy, "town_work_min_months", facts, j)
    if least is None:
        _not_configured("进城务工最短月数", facts, clause, j)
    elif trainee.months_in_town < least:
        j.refuse(
            "target_group_required",
            f"新生代农民工须进城从事非农业生产{least}个月及以上"
            f"（登记为{trainee.months_in_town}个月）",
            clause,
        )


def _check_new_hire(
    facts: ClaimFacts, clause: str, policy: Sequence[PolicyTerm], j: _Judgement
) -> None:
    """三(一)1 针对一年内新招用员工 … 开展岗前培训: hired within the year before training."""
    within = _quantity(policy, "new_hire_max_months", facts, j)
    if within is None:
        _not_configured("新录用员工入职月数上限", facts, clause, j)
        return
    hired = facts.hire_date
    if hired is None:
        j.refuse(
            "target_group_required",
            "项目1须填写该员工的入职（录用）日期",
            clause,
        )
    elif hired > facts.training_start:
        j.refuse(
            "target_group_required",
            f"入职日期{hired.isoformat()}晚于培训开始日期，岗前培训的对象须为已录用的员工",
            clause,
        )
    elif facts.training_start >= add_months(hired, within):
        j.refuse(
            "target_group_required",
            f"项目1只补贴{within}个月内新招用的员工（{hired.isoformat()}入职，"
            f"{facts.training_start.isoformat()}开始培训）",
            clause,
        )


def _check_apprenticeship(
    facts: ClaimFacts, clause: str, policy: Sequence[PolicyTerm], j: _Judgement
) -> None:
    """三(一)6 参加1—2年的企业新型学徒制培训: the dates span one to two years — 1 March
    2019 to 28 February 2021 is two years, to 1 March 2021 more; 29 February 2020 to
    28 February 2022 two (``months_end``)."""
    shortest = _quantity(policy, "apprenticeship_min_months", facts, j)
    longest = _quantity(policy, "apprenticeship_max_months", facts, j)
    if shortest is None or longest is None:
        _not_configured("企业新型学徒制培训期限", facts, clause, j)
        return
    start, end = facts.training_start, facts.training_end
    if end < start:
        return  # the dates themselves are refused
    if not lasts_months(start, end, shortest) or end > months_end(start, longest):
        j.refuse(
            "invalid_dates",
            f"企业新型学徒制培训期限须为{shortest}至{longest}个月"
            f"（{start.isoformat()}至{end.isoformat()}）",
            clause,
        )


def _check_school_grant(
    facts: ClaimFacts, trainee: TraineeFacts, clause: str, j: _Judgement
) -> None:
    """三(三)11: a child of a poor family who is a 两后生, studying at a technical school."""
    missing = SCHOOL_GRANT_GROUPS - trainee.groups
    if missing:
        names = "、".join(GROUP_NAMES[g] for g in sorted(SCHOOL_GRANT_GROUPS))
        j.refuse(
            "target_group_required",
            f"技能脱贫千校行动的补助对象须同时为：{names}（就读技工院校的贫困家庭两后生）",
            clause,
        )
    school = facts.institution
    if school is None or school.kind != SCHOOL_GRANT_INSTITUTION:
        j.refuse(
            "institution_not_admitted",
            "技能脱贫千校行动只补助在技工院校接受技工教育的学生，请选择技工院校",
            clause,
        )


def _check_work_in_lieu(
    facts: ClaimFacts,
    trainee: TraineeFacts,
    clause: str,
    policy: Sequence[PolicyTerm],
    j: _Judgement,
) -> None:
    if facts.program != WORK_IN_LIEU_PROGRAM:
        j.refuse(
            "work_in_lieu_months_exceeded",
            f"以工代训只能在项目{WORK_IN_LIEU_PROGRAM}下申报，本项目以工代训月数应为0",
            clause,
        )
        return
    spanned = months_begun(facts.training_start, facts.training_end)
    if (
        facts.training_end >= facts.training_start
        and facts.work_in_lieu_months > spanned
    ):
        j.refuse(
            "work_in_lieu_months_exceeded",
            f"以工代训月数（{facts.work_in_lieu_months}个月）超过起止日期的月数"
            f"（{facts.training_start.isoformat()}至{facts.training_end.isoformat()}，"
            f"{spanned}个月）",
            clause,
        )
    if not (trainee.groups & WORK_IN_LIEU_GROUPS):
        j.refuse(
            "target_group_required",
            "以工代训的对象须为建档立卡贫困劳动力、就业困难人员或零就业家庭成员",
            clause,
        )
        return
    employer = facts.employer
    if employer is None or not _employer_may_train(employer, trainee.groups):
        j.refuse(
            "enterprise_not_certified",
            "以工代训的用人单位：吸纳贫困劳动力的须为企业、农民专业合作社或扶贫车间；"
            "吸纳就业困难人员、零就业家庭成员的须为参保企业",
            clause,
        )


def _employer_may_train(employer: InstitutionFacts, groups: frozenset[str]) -> bool:
    """Whether this employer may train in lieu of work someone of these groups: any of
    the person's groups that lets it suffices."""
    for group, kinds in WORK_IN_LIEU_EMPLOYERS.items():
        if group in groups and employer.kind in kinds:
            return True
    return bool(
        groups & WORK_IN_LIEU_INSURED_GROUPS
        and employer.kind == ENTERPRISE
        and employer.insured
    )


def _check_unit(facts: ClaimFacts, trainee: TraineeFacts, j: _Judgement) -> None:
    """五(二) 户籍地、常住地、求职就业地均可落实补贴 … 根据属地化管理原则，由企业所在县(市)
    人力资源和社会保障部门审核: an enterprise's own staff are claimed where the
    enterprise is; anyone else where the person is registered, lives or seeks work."""
    if trains_own_staff(facts):
        employer = employer_of(facts)
        if employer is None:
            # 以工代训, program 2 and program 5 refuse a missing enterprise themselves.
            if facts.program not in OWN_EMPLOYER_CHECK and not facts.is_work_in_lieu:
                j.refuse(
                    "enterprise_not_certified",
                    f"项目{facts.program}是企业对本企业职工（新录用人员）的培训，"
                    "须填写用人单位（企业）",
                    "五(二)",
                )
        elif (
            employer.kind != ENTERPRISE
            and facts.program not in OWN_EMPLOYER_CHECK
            and not facts.is_work_in_lieu
        ):
            # 三(一)1 企业…新招用员工, 3 各类企业…职工, 6 组织有培训需求的企业
            name = f"“{employer.name}”" if employer.name else ""
            j.refuse(
                "enterprise_not_certified",
                f"项目{facts.program}是企业对本企业职工（新录用人员）的培训，"
                f"用人单位{name}须为企业",
                "五(二)",
            )
        elif employer.unit != facts.unit:
            j.refuse(
                "wrong_unit",
                f"企业职工的培训补贴须由企业所在地（{employer.unit}）人社部门申报审核",
                "五(二)",
            )
        return
    if facts.unit not in trainee.units:
        places = "、".join(sorted(trainee.units)) or "未登记"
        j.refuse(
            "wrong_unit",
            "须由该人员户籍地、常住地或求职就业地的人社部门申报"
            f"（该人员登记的地方：{places}）",
            "五(二)",
        )


def _check_catalogue(facts: ClaimFacts, j: _Judgement) -> None:
    """七(三) 对补贴性职业技能培训实施目录清单管理，公布…培训评价机构目录: the training
    is subsidised only at a provider in the catalogue. A claim may name a provider a
    clerk proposed and be kept as a draft; it is submitted once the provider is
    admitted."""
    provider = facts.institution
    if provider is not None and not provider.admitted:
        name = f"“{provider.name}”" if provider.name else ""
        j.refuse(
            "institution_not_admitted",
            f"培训机构{name}尚未列入培训评价机构目录（待认定），"
            "须经管理员认定后方可提交申报",
            "七(三)",
        )
        return
    # The employer a clerk proposed is no better: whether it is an enterprise, insured
    # or certified in difficulty is the proposer's word until an administrator admits it.
    employer = facts.employer
    if employer is not None and not employer.admitted:
        name = f"“{employer.name}”" if employer.name else ""
        j.refuse(
            "institution_not_admitted",
            f"用人单位{name}尚未经管理员核准（待认定），其企业类型、参保和困难企业认定"
            "须经核准后方可作为申报依据",
            "七(三)",
        )


def _check_history(
    facts: ClaimFacts,
    history: Sequence[PriorClaim],
    policy: Sequence[PolicyTerm],
    j: _Judgement,
) -> None:
    if not counts_toward_limits(facts.program):
        return
    counting = [
        p
        for p in history
        if p.status in COUNTING_STATUSES
        and p.claim_id != facts.claim_id
        and counts_toward_limits(p.program)
    ]
    start_month = limit_year_start_month(policy, facts.training_end)
    year = year_of(facts.training_end, start_month)
    # Prefecture-wide by nature (五(二): a person's claims in every unit count, and the
    # yearly slots' constraint holds one number): a unit's entry of it is not read.
    limit_term = term_in_force(policy, "annual_limit", on=facts.training_end)
    if limit_term is None:
        j.refuse("cap_not_configured", "未配置每人每年补贴次数上限", "五(二)")
    else:
        j.use(limit_term)
        limit = int(limit_term.value)
        same_year = [
            p for p in counting if year_of(p.training_end, start_month) == year
        ]
        if len(same_year) >= limit:
            j.refuse(
                "annual_limit",
                f"该人员{year}年已享受（含审核中）{len(same_year)}次培训补贴，"
                f"每人每年不超过{limit}次",
                limit_term.clause,
            )
    if facts.is_work_in_lieu and facts.program == WORK_IN_LIEU_PROGRAM:
        _check_work_in_lieu_total(facts, counting, policy, j)
    if carries_trade_level(facts) and facts.trade and facts.level:
        for p in counting:
            if p.trade == facts.trade and p.level == facts.level:
                where = (
                    f"（{p.unit_name}，{p.training_end.isoformat()}结束）"
                    if p.unit_name
                    else ""
                )
                what = f"{facts.trade_name or facts.trade}·{facts.level_name or facts.level}"
                j.refuse(
                    "duplicate_trade_level",
                    f"该人员已就{what}享受或申请过补贴{where}，同一职业同一等级不可重复享受",
                    "五(二)",
                )
                break


def limit_year_start_month(policy: Sequence[PolicyTerm], on: date) -> int:
    """五(二) 每人每年: the month the limit's year begins (policy data; without an entry
    the calendar year, the plain meaning of 每年)."""
    term = term_in_force(policy, "limit_year_start_month", on=on)
    return int(term.value) if term is not None else 1


def _check_work_in_lieu_total(
    facts: ClaimFacts,
    counting: Sequence[PriorClaim],
    policy: Sequence[PolicyTerm],
    j: _Judgement,
) -> None:
    """三(二)9 给予一定期限的职业培训补贴最长不超过6个月: per person, in all."""
    longest = term_in_force(
        policy,
        "work_in_lieu_max_months",
        on=facts.training_end,
        program=facts.program,
        unit=facts.unit,
    )
    if longest is None:
        return  # the cap itself reports the missing term
    before = sum(p.work_in_lieu_months for p in counting if p.work_in_lieu_months)
    if before and before + facts.work_in_lieu_months > int(longest.value):
        j.refuse(
            "work_in_lieu_months_exceeded",
            f"以工代训补贴每人最长不超过{int(longest.value)}个月：该人员已申报（含审核中）"
            f"{before}个月，本次{facts.work_in_lieu_months}个月",
            longest.clause,
        )


def _check_school_years(
    facts: ClaimFacts,
    history: Sequence[PriorClaim],
    policy: Sequence[PolicyTerm],
    j: _Judgement,
) -> None:
    """三(三)11 开展3年学制的技工教育 … 给予每生每年3000元补助: once a school year, for at
    most the 学制's years."""
    if facts.program != SCHOOL_GRANT_PROGRAM:
        return
    clause = f"三(三){SCHOOL_GRANT_PROGRAM}"
    start = term_in_force(
        policy,
        "school_year_start_month",
        on=facts.training_end,
        program=facts.program,
        unit=facts.unit,
    )
    most = term_in_force(
        policy,
        "school_grant_max_years",
        on=facts.training_end,
        program=facts.program,
        unit=facts.unit,
    )
    if start is None or most is None:
        _not_configured("技工教育补助的学年", facts, clause, j)
        return
    j.use(start)
    j.use(most)
    first_month = int(start.value)
    year = school_year_of(facts.training_end, first_month)
    granted = {
        school_year_of(p.training_end, first_month)
        for p in history
        if p.program == SCHOOL_GRANT_PROGRAM
        and p.status in COUNTING_STATUSES
        and p.claim_id != facts.claim_id
    }
    if year in granted:
        j.refuse(
            "school_year_limit",
            f"该学生{school_year_label(year)}已享受（含审核中）技工教育补助，每生每学年一次",
            clause,
        )
    elif len(granted) >= int(most.value):
        j.refuse(
            "school_year_limit",
            f"该学生已享受{len(granted)}个学年的技工教育补助，"
            f"{int(most.value)}年学制每生至多{int(most.value)}个学年",
            most.clause,
        )


def _cap(
    facts: ClaimFacts,
    program: ProgramFacts,
    policy: Sequence[PolicyTerm],
    j: _Judgement,
) -> Decimal | None:
    on = facts.training_end
    if facts.is_work_in_lieu:
        if facts.program != WORK_IN_LIEU_PROGRAM:
            return None
        return _work_in_lieu_cap(facts, program, policy, j)
    if (
        facts.program in CERTIFICATE_LEVELS
        and facts.level not in CERTIFICATE_LEVELS[facts.program]
    ):
        # The level itself is refused; a cap for it would mean nothing.
        return None
    term = term_in_force(
        policy, "cap", on=on, program=facts.program, level=facts.level, unit=facts.unit
    )
    if term is None:
        j.refuse(
            "cap_not_configured",
            f"项目{program.number}在{on.isoformat()}没有生效的补贴标准"
            "（该标准由其他文件规定，须由管理员录入后方可申报）",
            program.clause,
        )
        return None
    j.use(term)
    base = to_fen(term.value)
    level_text = f"{facts.level_name or facts.level}" if term.level else "每人"
    j.explanation.append(
        f"依据{term.source_document} {term.clause}：项目{program.number}{level_text}"
        f"补贴标准不超过{yuan(base)}元（{term.effective_from.isoformat()}起执行）。"
    )
    if facts.program == PROJECT_UPLIFT_PROGRAM and facts.project_based:
        return _project_uplift(facts, base, policy, j)
    return base


def _project_uplift(
    facts: ClaimFacts, base: Decimal, policy: Sequence[PolicyTerm], j: _Judgement
) -> Decimal:
    span = f"{facts.training_start.isoformat()}至{facts.training_end.isoformat()}"
    if not lasts_months(
        facts.training_start, facts.training_end, PROJECT_UPLIFT_MONTHS
    ):
        j.explanation.append(
            f"项目制培训{span}不足{PROJECT_UPLIFT_MONTHS}个月，补贴标准不上浮。"
        )
        return base
    ran = facts.attendance
    if (
        ran is not None
        and ran.sessions_from is not None
        and ran.sessions_to is not None
        and not lasts_months(ran.sessions_from, ran.sessions_to, PROJECT_UPLIFT_MONTHS)
    ):
        j.explanation.append(
            f"项目制培训计划{span}，但培训班的课次在{ran.sessions_from.isoformat()}至"
            f"{ran.sessions_to.isoformat()}举行，实际不足{PROJECT_UPLIFT_MONTHS}个月，"
            "补贴标准不上浮。"
        )
        return base
    # 县级人社部门商同级财政部门将培训补贴标准最高再上浮50%: a county's decision, so
    # only the claim's unit's own entry counts (a prefecture-wide one is history).
    uplift = term_in_force(
        policy,
        "project_uplift",
        on=facts.training_end,
        program=facts.program,
        unit=facts.unit,
    )
    if uplift is None or uplift.unit != facts.unit:
        j.explanation.append(
            f"项目制培训{span}满{PROJECT_UPLIFT_MONTHS}个月，但申报单位（{facts.unit}）"
            "在培训结束日期没有县级人社部门商同级财政部门作出的上浮决定，补贴标准不上浮。"
        )
        return base
    j.use(uplift)
    cap = to_fen(base * (1 + uplift.value))
    j.explanation.append(
        f"项目制培训{span}满{PROJECT_UPLIFT_MONTHS}个月，依据{uplift.clause}及"
        f"申报单位（{facts.unit}）的上浮决定{uplift.source_document}，"
        f"上浮{_plain(uplift.value * 100)}%：{yuan(base)} × {_plain(1 + uplift.value)}"
        f" = {yuan(cap)}元。"
    )
    return cap


def _plain(value: Decimal) -> str:
    """A ratio's figure without trailing zeros: 50, 12.5, 1.125."""
    return f"{value.normalize():f}"


def _work_in_lieu_cap(
    facts: ClaimFacts,
    program: ProgramFacts,
    policy: Sequence[PolicyTerm],
    j: _Judgement,
) -> Decimal | None:
    on = facts.training_end
    monthly = term_in_force(
        policy, "work_in_lieu_monthly", on=on, program=facts.program, unit=facts.unit
    )
    longest = term_in_force(
        policy,
        "work_in_lieu_max_months",
        on=on,
        program=facts.program,
        unit=facts.unit,
    )
    if monthly is None or longest is None:
        j.refuse(
            "cap_not_configured",
            f"以工代训在{on.isoformat()}没有生效的补贴标准，须由管理员录入后方可申报",
            program.clause,
        )
        return None
    j.use(monthly)
    j.use(longest)
    max_months = int(longest.value)
    months = facts.work_in_lieu_months
    if months > max_months:
        j.refuse(
            "work_in_lieu_months_exceeded",
            f"以工代训补贴最长不超过{max_months}个月，申报了{months}个月",
            longest.clause,
        )
        months = max_months
    cap = to_fen(monthly.value * months)
    j.explanation.append(
        f"依据{monthly.source_document} {monthly.clause}：以工代训每人每月不超过"
        f"{yuan(monthly.value)}元，{months}个月合计上限{yuan(cap)}元。"
    )
    return cap


def _advance(
    facts: ClaimFacts, amount: Decimal, policy: Sequence[PolicyTerm], j: _Judgement
) -> Decimal:
    """五(二) 对企业开展培训或者培训机构开展项目制培训的，可先行拨付40%."""
    if amount <= 0 or not advance_allowed(facts):
        j.explanation.append(
            "技能脱贫千校行动补助不先行拨付，审核后拨付给学生家庭。"
            if facts.program == SCHOOL_GRANT_PROGRAM
            else "非企业对本企业职工的培训或培训机构的项目制培训，不先行拨付，"
            "完成并审核后一次拨付。"
        )
        return ZERO
    term = term_in_force(
        policy,
        "advance_ratio",
        on=facts.training_end,
        program=facts.program,
        unit=facts.unit,
    )
    if term is None:
        j.explanation.append("未配置先行拨付比例，不先行拨付。")
        return ZERO
    j.use(term)
    advance = to_fen(amount * term.value)
    who = (
        "企业对本企业职工开展培训"
        if trains_own_staff(facts) and is_enterprise_run(facts)
        else "培训机构开展项目制培训"
    )
    j.explanation.append(
        f"{who}，依据{term.clause}可先行拨付{term.value * 100:.0f}%：{yuan(advance)}元，"
        "余额在培训完成并审核后拨付。"
    )
    return advance


# --- Names for messages (the catalogue's own names live in the database) -------------------
LEVEL_NAMES = {
    "primary": "五级/初级工",
    "intermediate": "四级/中级工",
    "senior": "三级/高级工",
    "technician": "二级/技师",
    "senior_technician": "一级/高级技师",
    "special_ability": "专项职业能力",
    "training_certificate": "培训合格证",
}
GROUP_NAMES = {
    "poor_labour": "建档立卡贫困劳动力",
    "poor_family_child": "贫困家庭子女",
    "two_after": "两后生",
    "rural_transfer": "农村转移就业劳动者",
    "laid_off": "下岗失业人员和转岗职工",
    "veteran": "退役军人",
    "disabled": "残疾人",
    "hard_to_employ": "就业困难人员",
    "zero_employment_family": "零就业家庭成员",
}


def _ordered(levels: Iterable[str]) -> list[str]:
    order = list(LEVEL_NAMES)
    return sorted(levels, key=order.index)


# --- Spot checks (五(一) 随机抽查) ------------------------------------------------------------
def spot_check_sample(claim_ids: Iterable[int], share: Decimal, seed: str) -> list[int]:
    """A reproducible random sample of ``share`` of the claims (at least one).

    The same ids, share and seed always give the same sample, so anyone can re-draw it
    from the seed the report records.
    """
    population = sorted(set(claim_ids))
    if not population:
        return []
    size = min(len(population), max(1, math.ceil(len(population) * share)))
    return sorted(random.Random(seed).sample(population, size))  # noqa: S311 - not crypto


# --- Years that do not begin in January (六(二)/(三), the work year) -------------------
def year_span(year: int, start_month: int) -> tuple[date, date]:
    """The first and last day of ``year`` for a year that begins on the 1st of
    ``start_month`` and is named by the calendar year it ends in — the inverse of
    ``year_of``. Start month 11: the work year 2020 is 1 November 2019 – 31 October
    2020 (六(二) 每年11月中旬至次年10月底, reviewed in November, 六(三)); start month 1:
    the calendar year."""
    if start_month <= 1:
        return date(year, 1, 1), date(year, 12, 31)
    return date(year - 1, start_month, 1), date(year, start_month, 1) - timedelta(
        days=1
    )


# --- Trainee confirmation (issue 17) ---------------------------------------------------
def grievance_due(
    opened: date, working_days: int, is_working_day: Callable[[date], bool]
) -> date:
    """The day by which the unit must record its finding on a trainee's "not me":
    the ``working_days``-th working day after the day it was opened (the opening day
    not counted). ``is_working_day`` is China's calendar
    (``altay_skills.working_days``: public holidays off, the weekend days worked in
    exchange (调休) on), the same the public notice counts by."""
    day = opened
    left = working_days
    while left > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            left -= 1
    return day


def last4_matches(id_number: str, typed: str) -> bool:
    """The last four characters of the ID number, a final x read as X."""
    return bool(typed) and id_number[-4:].upper() == typed.strip().upper()


def confirmation_lock_minutes(*, locks_before: int, first: int, longest: int) -> int:
    """How long a confirmation code stays locked after too many wrong last fours: the
    first lock ``first`` minutes, each later one twice the one before, at most
    ``longest``. A fixed lock would let a patient guesser try a few an hour for ever
    through the 11,000 possible last fours (issue 17)."""
    return min(first * 2 ** min(locks_before, 20), longest)


#: The facts of a claim a training class's completion created that are the class's —
#: its person on the roster, program, institution, unit, dates, trade, level reached and
#: project flag — with the words a refusal names them by. Changed afterwards, the claim
#: would pay another person, another payee or a longer training (the project uplift of
#: 三(二)9) on the class's attendance: 五(一) asks for real training of real trainees.
CLASS_FACTS = {
    "trainee_id": "培训人员",
    "program_id": "培训项目",
    "institution_id": "培训机构",
    "unit_id": "申报单位",
    "training_start": "培训开始日期",
    "training_end": "培训结束日期",
    "trade_id": "工种",
    "level_id": "等级",
    "project_based": "项目制培训",
}


def class_fact_refusal(
    attendance: AttendanceFacts | None, values: Mapping[str, object]
) -> str | None:
    """Why ``values`` may not stand for a claim that came from a class: the facts it
    changes that are the class's (``CLASS_FACTS``); None when it changes none."""
    if attendance is None:
        return None
    changed = [
        CLASS_FACTS[name]
        for name, value in attendance.fixed
        if name in values and values[name] != value
    ]
    if not changed:
        return None
    return (
        f"该申报由培训班#{attendance.class_id}结业生成，{'、'.join(changed)}以培训班为准，"
        "不能修改（结业结果和申请金额可以更正）"
    )


def answer_allowed(status: str, answer: str) -> bool:
    """Whether a trainee's ``answer`` may be recorded on a confirmation in ``status``:
    the first answer; and a "not me" after a "yes" — whoever holds the code (the
    institution prints the slips, and rostered each person by their ID number) could
    have answered "yes" for them, and the trainee's own word must still be heard. A
    "not me" is final: the unit's finding decides it."""
    if status == "pending":
        return True
    return status == "confirmed" and answer == "disputed"
