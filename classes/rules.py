"""The terms of a training class (培训班, issue 16), as plain Python: no Django import.

The notice (阿行办发〔2019〕50号) asks for real training and real trainees (五(一):
有效甄别资金发放对象及其申请材料的真实性；以虚假培训、造假培训学员信息等套取骗取资金的行为
要依法予以严惩) and for real-name management (五(二)), but it sets **no figure** for a
class: how many people a class may hold, how long before its start a class must be
filed, how much of it a person must attend. Those are left to practice. The figures
below are the common practice of the region's and the country's platforms for
subsidised classes (开班备案 a week ahead, at most 50 per class, 80% attendance); they
are the system's reading, **not** the notice's, and are kept here — one place, each with
where it comes from — until an administrator enters them as dated policy entries (that
needs new kinds of ``programs.PolicyEntry``, a catalogue migration, not done yet).

The status table of a class is here too: ``(status, action) → next status``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

#: Where the figures below come from (shown beside each refusal, to the institution's
#: staff too: what they may rely on, not the developers' note that it may change).
PRACTICE = "阿行办发〔2019〕50号未规定具体数值，按开班备案的通行做法"


@dataclass(frozen=True)
class ClassTerm:
    value: Decimal
    clause: str
    source: str

    @property
    def whole(self) -> int:
        return int(self.value)


#: At most this many people on one class's roster (每班不超过50人).
ROSTER_MAX = ClassTerm(Decimal(50), "五(二)", f"每班不超过50人；{PRACTICE}")
#: A class is filed and accepted (开班备案) no later than this many days before it
#: starts, so that the unit can check it before the training, not after.
FILING_LEAD_DAYS = ClassTerm(Decimal(7), "五(一)", f"开班前至少7日完成备案；{PRACTICE}")
#: A person must attend at least this share of the planned hours for the class's
#: claim (``claims.rules`` ``attendance_insufficient``).
ATTENDANCE_THRESHOLD = ClassTerm(
    Decimal("0.8"), "五(一)", f"出勤不少于计划学时的80%；{PRACTICE}"
)
#: A running class is completed (结业) within this many days after its planned end: past
#: it, the anomalies page lists the class with the advance it holds (an advance is
#: shared out over the claims, and what they are not owed recovered, only at
#: completion — a class never completed kept it for ever).
COMPLETION_GRACE_DAYS = ClassTerm(
    Decimal(30), "五(二)", f"计划结束后30日内结业；{PRACTICE}"
)

# --- Statuses and the table of moves -----------------------------------------------------
DRAFT = "draft"
FILED = "filed"
ACCEPTED = "accepted"
RETURNED = "returned"
RUNNING = "running"
COMPLETED = "completed"
CANCELLED = "cancelled"

STATUS_LABELS = {
    DRAFT: "草稿",
    FILED: "已报备",
    ACCEPTED: "已备案",
    RETURNED: "已退回",
    RUNNING: "培训中",
    COMPLETED: "已结业",
    CANCELLED: "已取消",
}

TRANSITIONS: dict[tuple[str, str], str] = {
    (DRAFT, "file"): FILED,
    (RETURNED, "file"): FILED,
    (FILED, "accept"): ACCEPTED,
    (FILED, "return"): RETURNED,
    (ACCEPTED, "start"): RUNNING,
    # an amendment that puts someone new on an accepted roster: filed again, for a
    # clerk who did not make it to accept (nobody is paid whom no checker saw)
    (ACCEPTED, "amend"): FILED,
    (RUNNING, "complete"): COMPLETED,
    (DRAFT, "cancel"): CANCELLED,
    (RETURNED, "cancel"): CANCELLED,
    (FILED, "cancel"): CANCELLED,
    (ACCEPTED, "cancel"): CANCELLED,
}

ACTION_LABELS = {
    "create": "起草",
    "roster": "编排名单",
    "amend": "变更名单",
    "file": "报备",
    "accept": "备案",
    "return": "退回",
    "start": "开班",
    "session": "记录课时",
    "complete": "结业",
    "cancel": "取消",
    "attach_document": "上传材料",
    "advance": "先行拨付",
}

#: Where the roster may be set freely (the drafter's) and where only amended (audited).
ROSTER_OPEN = frozenset({DRAFT, RETURNED})
ROSTER_AMENDABLE = frozenset({ACCEPTED})


def next_status(status: str, action: str) -> str | None:
    return TRANSITIONS.get((status, action))


# --- Rules -----------------------------------------------------------------------------------
def roster_too_large(size: int, term: ClassTerm = ROSTER_MAX) -> str | None:
    """The refusal of a roster above the term, or None."""
    if size > term.whole:
        return f"培训班名单{size}人，超过每班{term.whole}人的上限（{term.source}）"
    return None


def last_filing_day(planned_start: date, term: ClassTerm = FILING_LEAD_DAYS) -> date:
    """The last day a class starting on ``planned_start`` may be filed and accepted."""
    return planned_start - timedelta(days=term.whole)


def filing_too_late(
    planned_start: date, today: date, term: ClassTerm = FILING_LEAD_DAYS
) -> str | None:
    """The refusal of a filing or acceptance after the last day, or None."""
    last = last_filing_day(planned_start, term)
    if today > last:
        return (
            f"培训班计划{planned_start.isoformat()}开班，须在开班{term.whole}日前"
            f"（{last.isoformat()}前）完成备案，现已逾期（{term.source}）"
        )
    return None


def attended_hours(sessions: list[tuple[Decimal, bool]]) -> Decimal:
    """A person's hours: the sum of the hours of the sessions they were present at."""
    return sum((hours for hours, present in sessions if present), Decimal(0))


def start_refusal(
    *, today: date, planned_start: date, planned_end: date
) -> tuple[str, str] | None:
    """(code, message) when a class may not start (开班) today: before its planned
    start, or after its planned end — a class started afterwards never ran as filed,
    and its whole plan could be typed in as sessions after the fact."""
    if today < planned_start:
        return (
            "class_not_started",
            f"培训班计划{planned_start.isoformat()}开班，尚未到开班日期",
        )
    if today > planned_end:
        return (
            "class_past_end",
            f"培训班计划{planned_end.isoformat()}结束，已过结束日期不能开班"
            "（请取消后重新报备）",
        )
    return None


def is_same_session(
    *,
    hours: Decimal,
    present: Iterable[int],
    recorded: Iterable[tuple[Decimal, Iterable[int]]],
) -> bool:
    """Whether a session of ``hours`` with ``present`` repeats one ``recorded`` for
    the same day (its hours and the same people): a form sent twice, or a sheet typed
    in again, would double the day's hours of everyone on it."""
    people = frozenset(present)
    return any(hours == done and people == frozenset(who) for done, who in recorded)


def person_day_refusal(
    *,
    hours: Decimal,
    on: date,
    elsewhere: Iterable[tuple[int, int, Decimal]],
    names: Mapping[int, str],
) -> str | None:
    """The refusal of a session of ``hours`` on ``on`` for its people, or None: each
    person's sessions of that date in every class, this one's included
    (``elsewhere``: person, class, hours), and this one stay within a day — one
    person cannot attend 24 hours in two classes at once."""
    spent: dict[int, Decimal] = {}
    classes: dict[int, set[int]] = {}
    for person, class_id, done in elsewhere:
        spent[person] = spent.get(person, Decimal(0)) + done
        classes.setdefault(person, set()).add(class_id)
    for person in sorted(spent):
        if spent[person] + hours > HOURS_IN_A_DAY:
            where = "、".join(f"培训班#{pk}" for pk in sorted(classes[person]))
            return (
                f"{names.get(person, person)}{on.isoformat()}已在{where}出勤"
                f"{spent[person]}学时，再记{hours}学时超过一天24小时"
            )
    return None


def level_above_class(
    *,
    reached: tuple[int | None, str],
    accepted: tuple[int | None, str] | None,
) -> str | None:
    """The refusal of a result at a level above the one the class was accepted for
    (rank 5 = 五级/初级工 … 1 = 一级/高级技师), or None: the subsidy of 三(一) is by
    level, and the roster's pre-check (a trade and level once, 五(二)) saw the class's
    level — a result above it would be paid a cap nobody checked."""
    if accepted is None or reached[0] is None or accepted[0] is None:
        return None
    if reached[0] < accepted[0]:
        return f"结业等级{reached[1]}高于培训班备案的等级{accepted[1]}，不能登记"
    return None


#: A day has 24 hours: the sessions recorded for one date never add up to more.
HOURS_IN_A_DAY = Decimal(24)


def session_hours_refusal(
    *,
    hours: Decimal,
    same_day: Decimal,
    recorded: Decimal,
    planned: Decimal,
    on: date,
) -> str | None:
    """The refusal of a session of ``hours`` on ``on``, or None: the day's sessions
    (``same_day`` recorded already) stay within 24 hours, and the class's sessions
    (``recorded`` already) within its planned hours — so that nobody's attendance can
    be inflated past the plan by recording more time than a day or the class holds
    (the attendance share of ``ATTENDANCE_SHARE`` is measured against the plan)."""
    if same_day + hours > HOURS_IN_A_DAY:
        return f"{on.isoformat()}已记录{same_day}学时，再记{hours}学时超过一天24小时"
    if recorded + hours > planned:
        return f"已记录{recorded}学时，再记{hours}学时超过培训班计划的{planned}学时"
    return None
