"""Reads of the quarter's results: public disclosure and each role's notices.

Every figure is an SQL aggregate; nothing here holds personal data unless its name says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from claims import rules
from claims.models import ClaimEvent
from finance.models import (
    Recovery,
    Rollup,
    RollupLine,
    RollupStatus,
)
from programs.models import (
    Institution,
    PolicyEntry,
    PolicyKind,
    Program,
    fund_label,
    name_field,
)
from quarters.models import QuarterlyReport, ReportStatus
from reporting.models import Notice

ZERO = Decimal("0.00")


# --- Public disclosure (各县(市)要及时向社会公开资金使用情况, 五(一)) -----------------------------
@dataclass(frozen=True)
class DisclosureRow:
    unit: str
    quarter: str
    program: str
    fund: str
    person_times: int
    amount: Decimal


@dataclass
class Disclosure:
    rows: list[DisclosureRow] = field(default_factory=list)
    by_unit: list[tuple[str, int, Decimal]] = field(default_factory=list)
    person_times: int = 0
    amount: Decimal = ZERO


def public_disclosure(*, quarter: str | None = None) -> Disclosure:
    """Fund use per unit and quarter from published (ready) rollups: counts and sums only."""
    lines = RollupLine.objects.filter(rollup__status=RollupStatus.READY)
    if quarter:
        lines = lines.filter(rollup__quarter=quarter)
    # names in the visitor's language (issue 17), the Chinese where none is entered
    local = name_field()
    grouped = (
        lines.values(
            "unit__name",
            f"unit__{local}",
            "unit_id",
            "rollup__quarter",
            "program_id",
            "program__name",
            f"program__{local}",
            "fund",
        )
        .annotate(person_times=Sum("trained"), amount=Sum("approved"))
        .order_by("-rollup__quarter", "unit_id", "program_id", "fund")
    )
    result = Disclosure()
    units: dict[str, tuple[int, Decimal]] = {}
    for g in grouped:
        amount = rules.to_fen(Decimal(g["amount"] or 0))
        unit_name = g[f"unit__{local}"] or g["unit__name"]
        program_name = g[f"program__{local}"] or g["program__name"]
        result.rows.append(
            DisclosureRow(
                unit=unit_name,
                quarter=g["rollup__quarter"],
                program=f"{g['program_id']}. {program_name}",
                fund=fund_label(g["fund"], blank=""),
                person_times=g["person_times"],
                amount=amount,
            )
        )
        person_times, unit_amount = units.get(unit_name, (0, ZERO))
        units[unit_name] = (person_times + g["person_times"], unit_amount + amount)
        result.person_times += g["person_times"]
        result.amount += amount
    result.by_unit = [(name, n, a) for name, (n, a) in units.items()]
    return result


def published_quarters() -> list[str]:
    return list(
        Rollup.objects.filter(status=RollupStatus.READY)
        .order_by("-quarter")
        .values_list("quarter", flat=True)
    )


@dataclass(frozen=True)
class CatalogueEntry:
    number: int
    name: str
    section: str
    fund: str
    caps: list[str]
    basis: str


def program_catalogue(*, on: date | None = None) -> list[CatalogueEntry]:
    """七(三) 公布补贴性培训项目目录: the claimable programs with the caps in force."""
    on = on or timezone.localdate()
    entries = (
        PolicyEntry.objects.filter(
            kind__in=[
                PolicyKind.CAP,
                PolicyKind.WORK_IN_LIEU_MONTHLY,
                PolicyKind.PROJECT_UPLIFT,
            ]
        )
        .filter(effective_from__lte=on)
        .filter(Q(effective_to__isnull=True) | Q(effective_to__gte=on))
        # the uplift is a county's decision (三(二)9): a prefecture-wide row is history
        .exclude(kind=PolicyKind.PROJECT_UPLIFT, unit__isnull=True)
        .select_related("level", "unit")
        .order_by("program_id", "level__sort_order", "unit__sort_order")
    )
    # read on the public pages in the visitor's language (issue 17)
    caps: dict[int | None, list[str]] = {}
    for e in entries:
        # the table's check constraint: an amount kind has its amount, a ratio kind
        # its ratio; the uplifts without a unit were excluded above
        if e.kind == PolicyKind.CAP and e.level:
            assert e.amount is not None
            text = _("%(level)s 不超过%(amount)s元/人") % {
                "level": e.level.local_name(),
                "amount": rules.yuan(e.amount),
            }
        elif e.kind == PolicyKind.CAP:
            assert e.amount is not None
            text = _("不超过%(amount)s元/人") % {"amount": rules.yuan(e.amount)}
        elif e.kind == PolicyKind.WORK_IN_LIEU_MONTHLY:
            assert e.amount is not None
            text = _("以工代训每人每月不超过%(amount)s元") % {
                "amount": rules.yuan(e.amount)
            }
        else:
            assert e.ratio is not None
            assert e.unit is not None
            text = _("%(unit)s决定：项目制且培训2个月以上的上浮%(percent)s%%") % {
                "unit": e.unit.local_name(),
                "percent": f"{(Decimal(e.ratio) * 100).normalize():f}",
            }
        if e.is_demo:
            text += _("（演示数据）")
        caps.setdefault(e.program_id, []).append(text)
    return [
        CatalogueEntry(
            number=p.number,
            name=p.local_name(),
            section=p.section,
            fund=fund_label(p.fund),
            caps=caps.get(p.number, []) or [_("标准由相关文件规定，尚未录入")],
            basis=p.subsidy_basis,
        )
        for p in Program.objects.filter(claimable=True).order_by("number")
    ]


def institution_catalogue() -> QuerySet[Institution]:
    """七(三) 培训评价机构目录: admitted providers (public registration data only)."""
    return (
        Institution.objects.filter(admitted=True)
        .select_related("unit")
        .order_by("unit__sort_order", "kind", "name")
    )


# --- What each role is told on its home page ---------------------------------------------------
@dataclass(frozen=True)
class Notification:
    text: str
    link: str = ""
    level: str = "info"


def notifications_for(user: User, *, limit: int = 20) -> list[Notification]:
    items: list[Notification] = []
    if user.is_clerk:
        events = (
            ClaimEvent.objects.filter(
                claim__unit_id=user.unit_id, action__in=["reject", "return"]
            )
            .select_related("claim", "claim__trainee")
            .order_by("-at")[:limit]
        )
        for e in events:
            verb = "驳回" if e.action == "reject" else "退回"
            items.append(
                Notification(
                    f"申报#{e.claim_id}（{e.claim.trainee.name}）被{verb}：{e.reason}",
                    f"/claims/{e.claim_id}/",
                    "danger" if e.action == "reject" else "warning",
                )
            )
        for r in QuarterlyReport.objects.filter(
            unit_id=user.unit_id, status=ReportStatus.CLOSED
        ).order_by("-closed_at")[:5]:
            items.append(
                Notification(
                    f"{r.quarter}季度报表已审结", f"/reports/{r.pk}/", "success"
                )
            )
    if user.is_reviewer:
        for r in (
            QuarterlyReport.objects.filter(status=ReportStatus.SUBMITTED)
            .select_related("unit")
            .order_by("submitted_at")[:limit]
        ):
            items.append(
                Notification(
                    f"{r.unit.name}报送的{r.quarter}季度报表待审核（{r.claim_count}笔）",
                    f"/reports/{r.pk}/",
                    "warning",
                )
            )
        for n in Notice.objects.filter(role="prefecture_reviewer")[:limit]:
            items.append(Notification(n.text, n.link, "secondary"))
    if user.is_finance:
        for rollup in Rollup.objects.filter(status=RollupStatus.READY).order_by(
            "-finished_at"
        )[:5]:
            items.append(
                Notification(
                    f"{rollup.quarter}季度汇总已生成，可下载拨付表并登记拨付",
                    f"/rollups/{rollup.pk}/",
                    "success",
                )
            )
        open_recoveries = Recovery.objects.filter(
            settled_at__isnull=True, netted_at__isnull=True
        ).count()
        if open_recoveries:
            items.append(
                Notification(
                    f"有{open_recoveries}笔先行拨付款待追回", "/finance/", "danger"
                )
            )
    return items
