"""Trainee confirmation (issue 17): every submitted claim (and every claim a class's
completion creates) asks its trainee "was this you?".

The code reaches the trainee by text message (sent from the outbox, once) and on the
slip the institution prints; ``/t/<code>/`` and ``/api/confirmations/{code}/`` answer
without a login. A "not me" opens a grievance that holds the claim's balance (and the
remaining payments of its class: ``finance.services``) until the unit's finding.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

import segno

from accounts.models import User
from altay_skills import lock_objects, outbox
from altay_skills.errors import Conflict, DomainError, NotFound
from altay_skills.permissions import require
from altay_skills.plain_text import checked_reason
from altay_skills.sms import SmsMessage, mask_phone, sms_backend
from altay_skills.working_days import is_working_day
from claims import confirmation_codes as codes
from claims import rules
from claims.models import (
    Claim,
    ConfirmationEvent,
    ConfirmationStatus,
    GrievanceCause,
    GrievanceOutcome,
    TraineeConfirmation,
    TraineeGrievance,
)
from claims.permissions import can_find_grievance
from claims.selectors import claims_visible_to
from trainees.phones import sms_number

logger = logging.getLogger(__name__)

SEND_SMS_TASK = "claims.tasks.send_confirmation_sms"


class TooManyAttempts(DomainError):
    status_code = 429

    def __init__(self) -> None:
        super().__init__(
            "confirmation_locked",
            _("身份证号码后四位错误次数过多，该确认码已暂时锁定，请稍后再试"),
        )


class ClaimClosed(Conflict):
    def __init__(self) -> None:
        super().__init__(
            "claim_closed",
            _("该申报已撤回、驳回或删除，不会拨付补贴，无需答复"),
        )


# --- Issuing ------------------------------------------------------------------------------
def confirmation_issue(
    *, claim: Claim, actor: User, hours_attended: Decimal | None = None
) -> TraineeConfirmation:
    """Inside the caller's transaction (the claim locked): the claim's confirmation,
    created once; its text message queued in the outbox with it."""
    existing = TraineeConfirmation.objects.filter(claim_id=claim.pk).first()
    if existing is not None:
        if (
            existing.status == ConfirmationStatus.PENDING
            and existing.sms_sent_at is None
            and existing.events.filter(action="reissue").exists()
            and sms_number(claim.trainee.phone)
        ):
            # asked again after its facts changed: the new code goes out now
            outbox.enqueue(SEND_SMS_TASK, confirmation_id=existing.pk)
        return existing
    nonce = codes.new_nonce()
    confirmation = TraineeConfirmation.objects.create(
        claim=claim,
        nonce=nonce,
        code_digest=codes.digest_of(codes.code_of(nonce)),
        hours_attended=hours_attended,
    )
    ConfirmationEvent.objects.create(
        confirmation=confirmation, actor=actor, action="issue"
    )
    if sms_number(claim.trainee.phone):
        outbox.enqueue(SEND_SMS_TASK, confirmation_id=confirmation.pk)
    return confirmation


def confirmation_reissue_if_changed(
    *, claim: Claim, changes: dict[str, object], actor: User
) -> TraineeConfirmation | None:
    """Inside ``claim_update``'s transaction (the claim locked): a change of what the
    trainee was shown (``rules.ASKED_FACTS``) voids the code and any answer to the
    old facts. The row takes a new code (the old one stops opening it) and waits
    for an answer again; its text message goes out when the claim is submitted
    (``confirmation_issue``). A grievance it opened stays until the unit's finding."""
    changed = {name: changes[name] for name in rules.ASKED_FACTS if name in changes}
    if not changed:
        return None
    found = TraineeConfirmation.objects.filter(claim_id=claim.pk).first()
    if found is None:
        return None
    confirmation = lock_objects.lock_confirmation(found.pk)
    previous = confirmation.status
    confirmation.nonce = codes.new_nonce()
    confirmation.code_digest = codes.digest_of(codes.code_of(confirmation.nonce))
    confirmation.status = ConfirmationStatus.PENDING
    confirmation.answered_at = None
    confirmation.failed_attempts = 0
    confirmation.locked_until = None
    confirmation.sms_sent_at = None
    confirmation.sms_reference = ""
    confirmation.save()
    ConfirmationEvent.objects.create(
        confirmation=confirmation,
        actor=actor,
        action="reissue",
        changes={"status": previous, **changed},
    )
    return confirmation


def confirmations_issue_many(*, claims: list[Claim], actor: User) -> None:
    """The bulk form (a spreadsheet's submitted rows): one row and, for a mobile, one
    outbox message per claim, written in a few statements."""
    if not claims:
        return
    have = set(
        TraineeConfirmation.objects.filter(
            claim_id__in=[c.pk for c in claims]
        ).values_list("claim_id", flat=True)
    )
    rows = []
    for claim in claims:
        if claim.pk in have:
            continue
        nonce = codes.new_nonce()
        rows.append(
            TraineeConfirmation(
                claim=claim,
                nonce=nonce,
                code_digest=codes.digest_of(codes.code_of(nonce)),
            )
        )
    TraineeConfirmation.objects.bulk_create(rows, batch_size=500)
    made = TraineeConfirmation.objects.filter(
        claim_id__in=[r.claim_id for r in rows]
    ).select_related("claim__trainee")
    ConfirmationEvent.objects.bulk_create(
        [ConfirmationEvent(confirmation=c, actor=actor, action="issue") for c in made],
        batch_size=500,
    )
    for confirmation in made:
        if sms_number(confirmation.claim.trainee.phone):
            outbox.enqueue(SEND_SMS_TASK, confirmation_id=confirmation.pk)


def code_for(confirmation: TraineeConfirmation) -> str:
    return codes.code_of(confirmation.nonce)


def confirmation_link(confirmation: TraineeConfirmation) -> str:
    path = reverse("trainee_confirmation", args=[code_for(confirmation)])
    return settings.PUBLIC_BASE_URL.rstrip("/") + path


def sms_link(confirmation: TraineeConfirmation) -> str:
    """The link a text message carries: the page opens in the message's language."""
    language = confirmation.claim.trainee.message_language
    link = confirmation_link(confirmation)
    return link if language == settings.LANGUAGE_CODE else f"{link}?lang={language}"


def sms_text(confirmation: TraineeConfirmation) -> str:
    """The message in the trainee's language (``Trainee.message_language``)."""
    with translation.override(confirmation.claim.trainee.message_language):
        return _(
            "您的职业技能培训补贴确认码为%(code)s。请打开%(link)s核对以本人名义申报的"
            "培训信息，如未参加请选择“我没有参加此培训”。"
        ) % {
            "code": codes.grouped(code_for(confirmation)),
            "link": sms_link(confirmation),
        }


def sms_key(confirmation: TraineeConfirmation) -> str:
    """The gateway's idempotency key of the confirmation's message: one per code — a
    code issued again after the facts changed (``confirmation_reissue_if_changed``) is
    a message of its own, which a gateway honouring the key would otherwise drop."""
    reissued = confirmation.events.filter(action="reissue").count()
    key = f"confirmation-{confirmation.pk}"
    return f"{key}-r{reissued}" if reissued else key


def confirmation_sms_send(*, confirmation_id: int) -> str | None:
    """The task's work, inside ``outbox.run_once``'s transaction: send the message
    once (a row already sent sends nothing). A gateway error propagates, the
    transaction rolls back, and the task retries."""
    confirmation = lock_objects.lock_confirmation(confirmation_id)
    if confirmation is None or confirmation.sms_sent_at is not None:
        return None
    trainee = confirmation.claim.trainee
    number = sms_number(trainee.phone)
    if number is None:
        return None
    code = code_for(confirmation)
    template = "class_completed" if confirmation.hours_attended is not None else "claim"
    message = SmsMessage(
        to=number,
        template=template,
        params={"code": codes.grouped(code), "link": sms_link(confirmation)},
        text=sms_text(confirmation),
        idempotency_key=sms_key(confirmation),
        language=trainee.message_language,
    )
    reference = sms_backend().send(message)
    confirmation.sms_sent_at = timezone.now()
    confirmation.sms_reference = reference[:100]
    confirmation.save(update_fields=["sms_sent_at", "sms_reference"])
    ConfirmationEvent.objects.create(
        confirmation=confirmation,
        action="sms_sent",
        changes={"to": mask_phone(number)},
    )
    return reference


# --- The trainee's answer -----------------------------------------------------------------
def confirmation_by_code(code: str) -> TraineeConfirmation:
    """The confirmation a code opens (404 in Chinese when there is none)."""
    typed = codes.normalized(code)
    confirmation = (
        TraineeConfirmation.objects.select_related(
            "claim__trainee", "claim__program", "claim__institution", "claim__unit"
        )
        .filter(code_digest=codes.digest_of(typed))
        .first()
        if typed
        else None
    )
    if confirmation is None:
        raise NotFound("确认码无效，请核对短信或确认单上的确认码")
    return confirmation


@dataclass(frozen=True)
class PublicView:
    """What ``/t/<code>/`` shows: nothing beyond the masked ID number."""

    name_masked: str
    id_number_masked: str
    program: str
    institution: str
    unit: str
    training_start: date
    training_end: date
    hours_attended: Decimal | None
    amount_claimed: Decimal
    status: str
    status_label: str
    answered_at: object
    #: withdrawn, rejected or deleted: nothing to answer (``rules.ENDED_STATUSES``)
    claim_closed: bool


def mask_name(name: str) -> str:
    """张*三, 张*: the first and (for three or more characters) the last shown."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def public_view(confirmation: TraineeConfirmation) -> PublicView:
    claim = confirmation.claim
    return PublicView(
        name_masked=mask_name(claim.trainee.name),
        # the area only: the last four are what the page asks the trainee for, and
        # whoever holds the code (the institution prints the slip) reads this page
        id_number_masked=claim.trainee.id_number[:6]
        + "*" * (len(claim.trainee.id_number) - 6),
        program=claim.program.local_name(),
        institution=claim.institution.name if claim.institution_id else "",
        unit=claim.unit.local_name(),
        training_start=claim.training_start,
        training_end=claim.training_end,
        hours_attended=confirmation.hours_attended,
        amount_claimed=claim.amount_requested,
        status=confirmation.status,
        status_label=str(ConfirmationStatus(confirmation.status).label),
        answered_at=confirmation.answered_at,
        claim_closed=claim.status in rules.ENDED_STATUSES,
    )


def confirmation_answer(
    *, code: str, answer: str, id_last4: str
) -> TraineeConfirmation:
    """The trainee's answer, proved by the last four characters of their ID number.
    Wrong ones are counted on the row (committed even though the answer is refused);
    past ``CONFIRMATION_MAX_FAILURES`` the code is locked for
    ``CONFIRMATION_LOCK_MINUTES``."""
    if answer not in (ConfirmationStatus.CONFIRMED, ConfirmationStatus.DISPUTED):
        raise DomainError("invalid", _("请选择“是我本人参加”或“我没有参加此培训”"))
    typed = (id_last4 or "").strip()
    if not (len(typed) == 4 and typed.isascii() and typed[:3].isdigit()):
        raise DomainError("invalid_id_last4", _("请输入身份证号码的后四位"))
    found = confirmation_by_code(code)
    refused: DomainError | None = None
    with transaction.atomic():
        claim = lock_objects.lock_claim_row(found.claim_id)
        confirmation = lock_objects.lock_confirmation(found.pk)
        now = timezone.now()
        if claim.status in rules.ENDED_STATUSES:
            raise ClaimClosed()
        if confirmation.locked_until and confirmation.locked_until > now:
            raise TooManyAttempts()
        if not rules.last4_matches(found.claim.trainee.id_number, typed):
            confirmation.failed_attempts += 1
            fields = ["failed_attempts"]
            ConfirmationEvent.objects.create(
                confirmation=confirmation, action="wrong_id_last4"
            )
            if confirmation.failed_attempts >= settings.CONFIRMATION_MAX_FAILURES:
                minutes = rules.confirmation_lock_minutes(
                    locks_before=confirmation.events.filter(action="locked").count(),
                    first=settings.CONFIRMATION_LOCK_MINUTES,
                    longest=settings.CONFIRMATION_LOCK_MAX_MINUTES,
                )
                confirmation.locked_until = now + timedelta(minutes=minutes)
                confirmation.failed_attempts = 0
                fields.append("locked_until")
                ConfirmationEvent.objects.create(
                    confirmation=confirmation,
                    action="locked",
                    changes={"minutes": minutes},
                )
                # Whoever holds the code (the institution prints every slip) could
                # lock it to keep the trainee from saying "not me": a lock holds the
                # balance for a check with the trainee, as a "not me" does.
                _grievance_open(confirmation, now, cause=GrievanceCause.LOCKED)
                refused = TooManyAttempts()
            else:
                refused = DomainError("id_mismatch", _("身份证号码后四位不正确"))
            confirmation.save(update_fields=fields)
        elif not rules.answer_allowed(confirmation.status, answer):
            raise Conflict(
                "already_answered",
                _("该确认码已答复，如需更正请联系当地人力资源和社会保障部门"),
            )
        else:
            confirmation.status = answer
            confirmation.answered_at = now
            confirmation.failed_attempts = 0
            confirmation.save(
                update_fields=["status", "answered_at", "failed_attempts"]
            )
            ConfirmationEvent.objects.create(confirmation=confirmation, action=answer)
            if answer == ConfirmationStatus.DISPUTED:
                _grievance_open(confirmation, now, cause=GrievanceCause.DISPUTED)
    if refused is not None:
        raise refused
    confirmation.claim = found.claim
    return confirmation


def _grievance_open(
    confirmation: TraineeConfirmation, now: datetime, *, cause: str
) -> None:
    """The grievance of a "not me" (or of a lock): opened, or — a "not me" again on
    the code issued after the claim's facts changed, a lock after a finding — opened
    again with a new date, its earlier finding kept in the trail (``finding_*``
    events) and cleared on the row. A lock leaves an open grievance as it is."""
    due_on = rules.grievance_due(
        timezone.localdate(), settings.TRAINEE_GRIEVANCE_WORKING_DAYS, is_working_day
    )
    earlier = TraineeGrievance.objects.filter(confirmation=confirmation).first()
    if earlier is None:
        TraineeGrievance.objects.create(
            confirmation=confirmation,
            claim_id=confirmation.claim_id,
            opened_at=now,
            due_on=due_on,
            cause=cause,
        )
        return
    if earlier.is_open and cause == GrievanceCause.LOCKED:
        return
    ConfirmationEvent.objects.create(
        confirmation=confirmation,
        action="grievance_reopened",
        changes={
            "outcome": earlier.outcome,
            "due_on": earlier.due_on.isoformat(),
            "cause": cause,
        },
    )
    earlier.opened_at = now
    earlier.cause = cause
    earlier.due_on = due_on
    earlier.outcome = ""
    earlier.finding = ""
    earlier.found_by = None
    earlier.found_at = None
    earlier.save(
        update_fields=[
            "opened_at",
            "cause",
            "due_on",
            "outcome",
            "finding",
            "found_by",
            "found_at",
        ]
    )


# --- The unit's finding -------------------------------------------------------------------
def grievances_visible_to(user: User) -> QuerySet[TraineeGrievance]:
    return TraineeGrievance.objects.select_related(
        "claim__trainee", "claim__unit", "claim__program", "found_by"
    ).filter(claim__in=claims_visible_to(user))


def grievances_overdue_for(user: User) -> QuerySet[TraineeGrievance]:
    return grievances_visible_to(user).filter(
        outcome="", due_on__lt=timezone.localdate()
    )


def grievance_find(
    *, grievance_id: int, outcome: str, reason: str, actor: User
) -> TraineeGrievance:
    """The unit (the clerk of the claim's unit) or the prefecture reviewer records what
    it found. Dismissed releases the hold; upheld keeps it (the claim is to be
    rejected, and what was paid recovered, through their own services)."""
    require(can_find_grievance(actor))
    if outcome not in GrievanceOutcome.values:
        raise DomainError("invalid", "核查结论应为“属实”或“不属实”")
    reason = checked_reason(reason, missing="请填写核查情况")
    visible = grievances_visible_to(actor).filter(pk=grievance_id).first()
    if visible is None:
        raise NotFound("未找到该申诉")
    with transaction.atomic():
        lock_objects.lock_claim(visible.claim_id)
        lock_objects.lock_confirmation(visible.confirmation_id)
        grievance = TraineeGrievance.objects.get(pk=grievance_id)
        require(can_find_grievance(actor, grievance))
        grievance.outcome = outcome
        grievance.finding = reason
        grievance.found_by = actor
        grievance.found_at = timezone.now()
        grievance.save(update_fields=["outcome", "finding", "found_by", "found_at"])
        ConfirmationEvent.objects.create(
            confirmation_id=grievance.confirmation_id,
            actor=actor,
            action=f"finding_{outcome}",
            reason=reason,
        )
    return grievance


def disputed_claim_ids(claim_ids: list[int]) -> set[int]:
    """Of ``claim_ids``, those a trainee disputed and no finding released: an open
    grievance, or one found upheld."""
    return set(
        TraineeGrievance.objects.filter(claim_id__in=claim_ids)
        .exclude(outcome=GrievanceOutcome.DISMISSED)
        .values_list("claim_id", flat=True)
    )


# --- Shares (dashboards, the November review) ---------------------------------------------
@dataclass(frozen=True)
class ConfirmationShares:
    """Of the claims that asked their trainee: how many confirmed, disputed, never
    answered; each share a percentage to the hundredth (none when nobody was asked)."""

    confirmed: int = 0
    disputed: int = 0
    unanswered: int = 0

    @property
    def asked(self) -> int:
        return self.confirmed + self.disputed + self.unanswered

    def share(self, count: int) -> Decimal | None:
        return rules.to_fen(Decimal(100) * count / self.asked) if self.asked else None

    @property
    def confirmed_share(self) -> Decimal | None:
        return self.share(self.confirmed)

    @property
    def disputed_share(self) -> Decimal | None:
        return self.share(self.disputed)

    @property
    def unanswered_share(self) -> Decimal | None:
        return self.share(self.unanswered)

    def __add__(self, other: ConfirmationShares) -> ConfirmationShares:
        return ConfirmationShares(
            confirmed=self.confirmed + other.confirmed,
            disputed=self.disputed + other.disputed,
            unanswered=self.unanswered + other.unanswered,
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "asked": self.asked,
            **{
                f"{key}{part}": getattr(self, f"{key}{part}")
                for key in ("confirmed", "disputed", "unanswered")
                for part in ("", "_share")
            },
        }


_ANSWER_COUNTS = {
    "confirmed": Count("pk", filter=Q(status=ConfirmationStatus.CONFIRMED)),
    "disputed": Count("pk", filter=Q(status=ConfirmationStatus.DISPUTED)),
    "unanswered": Count("pk", filter=Q(status=ConfirmationStatus.PENDING)),
}


def confirmation_shares(claims: QuerySet[Claim]) -> dict[str, object]:
    """The answers of the given claims' trainees, as the dashboards show them."""
    counts = TraineeConfirmation.objects.filter(claim__in=claims).aggregate(
        **_ANSWER_COUNTS
    )
    return ConfirmationShares(**counts).as_dict()


def confirmation_shares_by_unit(
    claims: QuerySet[Claim],
) -> dict[str, ConfirmationShares]:
    """The same per unit of the claims, in one query (the November review's sheets)."""
    rows = (
        TraineeConfirmation.objects.filter(claim__in=claims)
        .values("claim__unit_id")
        .annotate(**_ANSWER_COUNTS)
        .values_list("claim__unit_id", *_ANSWER_COUNTS)
        .order_by()
    )
    return {
        unit: ConfirmationShares(confirmed, disputed, unanswered)
        for unit, confirmed, disputed, unanswered in rows
    }


# --- The printed slip -----------------------------------------------------------------------
def slip_of(confirmation: TraineeConfirmation) -> dict[str, object]:
    """What the slip prints: the masked facts, the code and a QR code of the link,
    drawn here by segno as inline SVG (no outside service)."""
    link = confirmation_link(confirmation)
    qr = segno.make(link, error="m").svg_inline(scale=4, dark="#000")
    return {
        "view": public_view(confirmation),
        "code": codes.grouped(code_for(confirmation)),
        "link": link,
        "qr": mark_safe(qr),  # noqa: S308  # nosec B308 B703: segno's own SVG, no user text
    }
