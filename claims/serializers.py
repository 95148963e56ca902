"""Claims over the API: the body a clerk sends, and the claim and decision sent back.

The body is only parsed and checked for shape here (types, lengths, references that
exist, dates in order); every rule of the notice is judged by the services, so the
browser and the API cannot differ. ``status``, the decided amounts, the unit scope and
``created_by`` are never inputs (design.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, tzinfo
from decimal import Context as DecimalContext
from decimal import Decimal
from functools import cached_property
from typing import Any

from django.utils import timezone

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import User
from altay_skills.api import RecordField
from altay_skills.plain_text import multi_line_text, single_line_text, stated_reason
from claims import rules
from claims.models import (
    Claim,
    ClaimEvent,
    ClaimStatus,
    Document,
    DocumentKind,
    Employment,
    Payee,
)
from claims.permissions import actions_for
from claims.selectors import SubsidyHistory
from claims.services import ClaimInput, input_of
from claims.validators import training_date
from claims.warnings import ClaimWarning, warnings_for_claims
from claims.workflow import BUDGET_REASON, REVIEW_REASON, SPOT_CHECK_REASON
from programs.models import Fund, Institution, Level, Program, Trade, Unit
from trainees.models import Trainee
from trainees.selectors import trainees_in_scope
from trainees.serializers import TraineeLimitedSerializer, TraineeSerializer

#: 以工代训 is at most a few months; anything near 10 years is a typing error.
MAX_WORK_IN_LIEU_MONTHS = 120


def money(**kwargs: Any) -> serializers.DecimalField:
    """Yuan to the fen, as the models store it (design.md "Money")."""
    return serializers.DecimalField(max_digits=12, decimal_places=2, **kwargs)


# --- The decision ---------------------------------------------------------------------
class ViolationSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="稳定的不符合项代码，如 over_cap")
    message = serializers.CharField()
    clause = serializers.CharField(help_text="通知条款，如 五(二)")


class WarningSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="稳定的提示代码：training_overlap（培训时间与同一人员的其他申报重叠）、"
        "certificate_reused（证书编号已用于其他申报）、age_unusual（培训开始时不在"
        "16–65周岁之间）；今后可能增加，客户端须接受新的代码"
    )
    message = serializers.CharField()
    claims = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="与之相关的其他申报 id（只给 id：无权查看的申报不透露其内容）",
    )


class DecisionSerializer(serializers.Serializer):
    """A claim judged against 阿行办发〔2019〕50号: eligible exactly when no violation.

    ``warnings`` are facts to see before deciding that do not refuse the claim
    (``claims.warnings``), judged from the database when the decision is read."""

    eligible = serializers.BooleanField()
    cap = money(allow_null=True, help_text="补贴上限")
    amount = money(help_text="核定金额")
    advance = money(help_text="可先行拨付金额")
    fund = serializers.ChoiceField(
        choices=Fund.choices, allow_null=True, help_text="资金渠道"
    )
    payee = serializers.ChoiceField(choices=Payee.choices, help_text="收款方")
    violations = ViolationSerializer(many=True)
    explanation = serializers.ListField(child=serializers.CharField())
    policy_entry_ids = serializers.ListField(
        child=serializers.IntegerField(), help_text="所依据的政策标准"
    )
    warnings = WarningSerializer(
        many=True, help_text="提示（不影响是否符合条件，审核前须核实）"
    )


@dataclass(frozen=True)
class WarnedDecision:
    """A decision of the rules with the warnings found beside it."""

    decision: rules.Decision
    warnings: Sequence[ClaimWarning]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.decision, name)


def decision_of(
    claim: Claim, policy_entry_ids: Sequence[int] | None = None
) -> rules.Decision:
    """The decision stored on a claim (judged at its last save or submission); its
    policy entries' ids smallest first (a list passes them, ``policy_entry_ids``)."""
    if policy_entry_ids is None:
        policy_entry_ids = sorted(pe.pk for pe in claim.policy_entries.all())
    return rules.Decision(
        cap=claim.cap,
        amount=claim.amount,
        advance=claim.advance,
        fund=claim.fund,
        payee=claim.payee,
        violations=tuple(
            rules.Violation(v["code"], v["message"], v.get("clause", ""))
            for v in claim.violations
        ),
        explanation=tuple(claim.explanation),
        policy_entry_ids=tuple(policy_entry_ids),
    )


# --- The body -------------------------------------------------------------------------
#: The same answer for an id nobody holds and for a person the user has not found by
#: their full number, so that walking ids tells nothing (issue 14, 3).
TRAINEE_NOT_FOUND = (
    "未找到该培训人员：请先按完整身份证号码查找或登记"
    "（GET /api/trainees/?id_number= 或 POST /api/trainees/），再用返回的 id 申报"
)


class ClaimInputSerializer(serializers.Serializer):
    """The body of a claim (api-contract.md), for create, update and the dry run.

    Pass ``context={"request": …, "dry_run": True}`` for the dry run: dates out of order
    are then reported in the decision (``invalid_dates``) instead of refused here. On
    update pass the claim as ``instance``; with ``partial=True`` omitted fields keep
    the claim's values.
    """

    trainee = RecordField(
        queryset=Trainee.objects.all(),
        help_text=(
            "培训人员 id：本单位登记的人员、本单位有申报的人员，或近期按完整身份证号码"
            "查到的人员（GET /api/trainees/?id_number= 或 POST /api/trainees/）"
        ),
        error_messages={"does_not_exist": TRAINEE_NOT_FOUND},
    )
    program = RecordField(queryset=Program.objects.all(), help_text="项目序号 1–24")
    trade = RecordField(
        queryset=Trade.objects.all(),
        allow_null=True,
        required=False,
        default=None,
        help_text="职业编码",
    )
    level = RecordField(
        queryset=Level.objects.all(),
        allow_null=True,
        required=False,
        default=None,
        help_text="primary、intermediate、senior、technician、senior_technician、"
        "special_ability、training_certificate",
    )
    institution = RecordField(queryset=Institution.objects.all())
    employer = RecordField(
        queryset=Institution.objects.all(),
        allow_null=True,
        required=False,
        default=None,
        help_text="用人单位（企业）：以工代训的吸纳单位；项目1、2、3、5、6为受训职工所在企业",
    )
    unit = RecordField(
        queryset=Unit.objects.all(),
        required=False,
        help_text="申报单位代码；经办人可省略（默认本单位）",
    )
    training_start = serializers.DateField(validators=[training_date])
    training_end = serializers.DateField(validators=[training_date])
    project_based = serializers.BooleanField(default=False)
    work_in_lieu_months = serializers.IntegerField(
        min_value=0, max_value=MAX_WORK_IN_LIEU_MONTHS, default=0
    )
    passed = serializers.BooleanField(default=False)
    certificate_number = serializers.CharField(
        max_length=50, allow_blank=True, default="", validators=[single_line_text]
    )
    employment = serializers.ChoiceField(
        choices=Employment.choices, default=Employment.NONE
    )
    amount_requested = money(
        min_value=Decimal("0.01"),
        error_messages={"min_value": "申请金额应大于0元"},
    )
    hire_date = serializers.DateField(
        allow_null=True,
        required=False,
        default=None,
        validators=[training_date],
        help_text="入职（录用）日期：项目1（一年内新招用员工）须填写",
    )

    def validate_trainee(self, trainee: Trainee) -> Trainee:
        """Only a person the user may open by id (``trainees_in_scope``): a claim, a
        draft or a dry run for an id merely walked to would show the person's name and
        history. A claim keeps its own trainee on update."""
        if self.instance is not None and self.instance.trainee_id == trainee.pk:
            return trainee
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if user is None or not trainees_in_scope(user).filter(pk=trainee.pk).exists():
            raise serializers.ValidationError(TRAINEE_NOT_FOUND, code="does_not_exist")
        return trainee

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.context.get("dry_run"):
            return attrs
        start = self._value(attrs, "training_start")
        end = self._value(attrs, "training_end")
        if start and end and end < start:
            raise serializers.ValidationError(
                {"training_end": "培训结束日期早于开始日期"}, code="invalid_dates"
            )
        return attrs

    def _value(self, attrs: dict[str, Any], name: str) -> Any:
        if name in attrs:
            return attrs[name]
        return getattr(self.instance, name, None)

    def claim_input(self, actor: User) -> ClaimInput:
        """The validated body as the services take it; unset fields from the claim
        (a partial update) or, for ``unit``, the clerk's own unit."""
        data = self.validated_data
        base = input_of(self.instance) if self.partial and self.instance else None
        if "unit" in data:
            unit_id = data["unit"].pk
        elif base is not None:
            unit_id = base.unit_id
        elif actor.unit_id:
            unit_id = actor.unit_id
        else:
            raise serializers.ValidationError(
                {"unit": ["请填写申报单位代码"]}, code="required"
            )
        values: dict[str, Any] = {} if base is None else asdict(base)
        for name, field in (
            ("trainee", "trainee_id"),
            ("program", "program_id"),
            ("institution", "institution_id"),
            ("trade", "trade_id"),
            ("level", "level_id"),
            ("employer", "employer_id"),
        ):
            if name in data:
                values[field] = data[name].pk if data[name] is not None else None
        for name in (
            "training_start",
            "training_end",
            "project_based",
            "work_in_lieu_months",
            "passed",
            "certificate_number",
            "employment",
            "amount_requested",
            "hire_date",
        ):
            if name in data:
                values[name] = data[name]
        values["unit_id"] = unit_id
        return ClaimInput(**values)


class ReasonSerializer(serializers.Serializer):
    """Approve and withdraw: an optional note."""

    reason = serializers.CharField(
        max_length=2000,
        allow_blank=True,
        allow_null=True,
        default="",
        validators=[multi_line_text],
    )

    def validate_reason(self, value: str | None) -> str:
        return (value or "").strip()


class ApproveSerializer(ReasonSerializer):
    """Approve: an optional comment, and — only to approve past a fund's budget
    (七(五)), or a claim whose spot check found the documents inconsistent — the
    reason for it. The comment never stands in for either reason (issue 12)."""

    budget_override_reason = serializers.CharField(
        max_length=500,
        allow_blank=True,
        allow_null=True,
        default="",
        validators=[multi_line_text],
        help_text="超预算核准理由：仅在核准后将超出资金预算时需要（七(五)）",
    )

    spot_check_override_reason = serializers.CharField(
        max_length=500,
        allow_blank=True,
        allow_null=True,
        default="",
        validators=[multi_line_text],
        help_text=(
            "抽查不符仍予核准的理由：仅在该申报的抽查结果为材料不符、确需核准时需要；"
            "随核准记录留存，列入督查清单"
        ),
    )

    def validate_budget_override_reason(self, value: str | None) -> str:
        return stated_reason(value, missing=BUDGET_REASON, required=False)

    def validate_spot_check_override_reason(self, value: str | None) -> str:
        return stated_reason(value, missing=SPOT_CHECK_REASON, required=False)


class RequiredReasonSerializer(ReasonSerializer):
    """Reject and return: a reason is required (五(一) review with reasons)."""

    reason = serializers.CharField(
        max_length=2000,
        allow_blank=True,
        allow_null=True,
        default="",
        validators=[multi_line_text],
        help_text="驳回或退回的理由（必填）",
    )

    def validate_reason(self, value: str | None) -> str:
        return stated_reason(value, missing=REVIEW_REASON)


# --- The claim ------------------------------------------------------------------------
class ClaimSerializer(serializers.ModelSerializer):
    """A claim: the fields it was given, its status, its current decision and extras."""

    decision = serializers.SerializerMethodField()
    trainee_name = serializers.CharField(source="trainee.name", read_only=True)
    trainee_id_number_masked = serializers.CharField(
        source="trainee.id_number_masked", read_only=True
    )
    program_name = serializers.CharField(source="program.name", read_only=True)
    unit_name = serializers.CharField(source="unit.name", read_only=True)
    institution_name = serializers.CharField(source="institution.name", read_only=True)
    trade_name = serializers.CharField(
        source="trade.name", read_only=True, allow_null=True, default=None
    )
    level_name = serializers.CharField(
        source="level.name", read_only=True, allow_null=True, default=None
    )
    status = serializers.ChoiceField(choices=ClaimStatus.choices, read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True)
    reviewed_by = serializers.CharField(
        source="reviewed_by.username", read_only=True, allow_null=True, default=None
    )
    allowed_actions = serializers.SerializerMethodField()

    class Meta:
        model = Claim
        fields = [
            "id",
            # the body, as given
            "trainee",
            "program",
            "trade",
            "level",
            "institution",
            "employer",
            "unit",
            "training_start",
            "training_end",
            "project_based",
            "work_in_lieu_months",
            "passed",
            "certificate_number",
            "employment",
            "amount_requested",
            "hire_date",
            # where it stands
            "status",
            "decision",
            "decided_on",
            "allowed_actions",
            # read-only extras
            "trainee_name",
            "trainee_id_number_masked",
            "program_name",
            "unit_name",
            "institution_name",
            "trade_name",
            "level_name",
            "created_by",
            "created_at",
            "updated_at",
            "submitted_at",
            "reviewed_by",
            "reviewed_at",
            "approved_amount",
        ]
        read_only_fields = fields

    @extend_schema_field(DecisionSerializer)
    def get_decision(self, claim: Claim) -> dict[str, Any]:
        """The stored decision, with the claim's warnings as they stand now (a list
        passes them all at once as ``context["warnings"]``, ``warnings_for_claims``)."""
        found = self.context.get("warnings")
        if found is None:
            found = warnings_for_claims([claim.pk])
        warned = WarnedDecision(decision_of(claim), found.get(claim.pk, []))
        return self._decision.to_representation(warned)

    @cached_property
    def _decision(self) -> DecisionSerializer:
        """One decision serializer for every claim of a list: building one per claim
        (deep-copying its fields) was most of the time of a page of 50."""
        return DecisionSerializer()

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_allowed_actions(self, claim: Claim) -> list[str]:
        """What the requesting user may do next (edit, submit, withdraw, approve…):
        exactly what the services would accept (``claims.permissions``). A list passes
        them all at once as ``context["allowed_actions"]`` (``actions_for_many``)."""
        offered = self.context.get("allowed_actions")
        if offered is not None:
            return list(offered.get(claim.pk, []))
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if user is None:
            return []
        return actions_for(user, claim)


# --- The list, written out (issue 20) ----------------------------------------------------
#: DRF's DecimalField: the fen, rounded half to even within 12 digits, as a string.
CENT = Decimal("0.01")
MONEY_CONTEXT = DecimalContext(prec=12)


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value.quantize(CENT, context=MONEY_CONTEXT):f}"


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _moment(value: datetime | None, zone: tzinfo) -> str | None:
    """DRF's DateTimeField: in the current time zone, ISO 8601, UTC written ``Z``."""
    if value is None:
        return None
    text = value.astimezone(zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _name(row: Any, attribute: str) -> str | None:
    return None if row is None else str(getattr(row, attribute))


def claim_list_rows(
    claims: Sequence[Claim],
    *,
    allowed_actions: Mapping[int, Sequence[str]],
    warnings: Mapping[int, Sequence[ClaimWarning]],
    policy_entry_ids: Mapping[int, Sequence[int]],
) -> list[dict[str, Any]]:
    """The claim list's ``results``: for each claim exactly what ``ClaimSerializer``
    gives — the same fields in the same order, the same values and types
    (tests/test_claim_list_rows.py compares them field by field) — written out by
    hand. DRF's field-by-field ``to_representation`` was a third of the list's time
    (16 ms of a page of 50); this is under 2 ms. The contract stays declared by
    ``ClaimSerializer`` (OpenAPI); add a field there and here.

    ``claims`` come with the rows they name attached (``read_listed``)."""
    zone = timezone.get_current_timezone()
    rows = []
    for c in claims:
        violations = c.violations or []
        trainee, program, unit = c.trainee, c.program, c.unit
        rows.append(
            {
                "id": c.pk,
                "trainee": c.trainee_id,
                "program": c.program_id,
                "trade": c.trade_id,
                "level": c.level_id,
                "institution": c.institution_id,
                "employer": c.employer_id,
                "unit": c.unit_id,
                "training_start": _day(c.training_start),
                "training_end": _day(c.training_end),
                "project_based": c.project_based,
                "work_in_lieu_months": c.work_in_lieu_months,
                "passed": c.passed,
                "certificate_number": c.certificate_number,
                "employment": c.employment,
                "amount_requested": _money(c.amount_requested),
                "hire_date": _day(c.hire_date),
                "status": c.status,
                "decision": {
                    "eligible": not violations,
                    "cap": _money(c.cap),
                    "amount": _money(c.amount),
                    "advance": _money(c.advance),
                    "fund": c.fund,
                    "payee": c.payee,
                    "violations": [
                        {
                            "code": str(v["code"]),
                            "message": str(v["message"]),
                            "clause": str(v.get("clause", "")),
                        }
                        for v in violations
                    ],
                    "explanation": [str(line) for line in c.explanation or []],
                    "policy_entry_ids": list(policy_entry_ids.get(c.pk, [])),
                    "warnings": [w.as_dict() for w in warnings.get(c.pk, [])],
                },
                "decided_on": _day(c.decided_on),
                "allowed_actions": list(allowed_actions.get(c.pk, [])),
                "trainee_name": str(trainee.name),
                "trainee_id_number_masked": trainee.id_number_masked,
                "program_name": str(program.name),
                "unit_name": str(unit.name),
                "institution_name": str(c.institution.name),
                "trade_name": _name(c.trade, "name"),
                "level_name": _name(c.level, "name"),
                "created_by": str(c.created_by.username),
                "created_at": _moment(c.created_at, zone),
                "updated_at": _moment(c.updated_at, zone),
                "submitted_at": _moment(c.submitted_at, zone),
                "reviewed_by": _name(c.reviewed_by, "username"),
                "reviewed_at": _moment(c.reviewed_at, zone),
                "approved_amount": _money(c.approved_amount),
            }
        )
    return rows


class NotEligibleSerializer(serializers.Serializer):
    """The 409 of a submission refused by the rules."""

    code = serializers.CharField(help_text="not_eligible")
    message = serializers.CharField()
    decision = DecisionSerializer(
        required=False, help_text="判定结果（code 为 not_eligible 时）"
    )


class ClaimEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", read_only=True)
    changes = serializers.JSONField(
        read_only=True,
        help_text=(
            "修改（edit）为 字段 → [原值, 新值]；资金账目（owed、paid、failed、recovery、"
            "recovered）为该笔账目：amount、part、payment、recovery"
        ),
    )

    class Meta:
        model = ClaimEvent
        fields = [
            "id",
            "actor",
            "at",
            "action",
            "from_status",
            "to_status",
            "reason",
            "changes",
        ]
        read_only_fields = fields


# --- A person's subsidy history (the registry's person API, claims.registry_apis) ------
class UsedTradeLevelSerializer(serializers.Serializer):
    trade = serializers.CharField(help_text="职业(工种)名称")
    level = serializers.CharField(help_text="等级名称")
    unit = serializers.CharField(help_text="申报单位名称")
    year = serializers.IntegerField()
    status = serializers.CharField()


class SubsidyHistorySerializer(serializers.Serializer):
    year = serializers.IntegerField()
    counted_this_year = serializers.IntegerField(
        help_text="该年度已计次的培训补贴（含审核中）"
    )
    annual_limit = serializers.IntegerField(allow_null=True)
    remaining_this_year = serializers.IntegerField(allow_null=True)
    used = UsedTradeLevelSerializer(many=True, help_text="已享受或申请中的职业·等级")


class TraineeDetailSerializer(TraineeSerializer):
    history = serializers.SerializerMethodField()
    view = serializers.SerializerMethodField(
        help_text="full：完整记录；limited：本单位以外的有限信息"
    )

    class Meta(TraineeSerializer.Meta):
        fields = [*TraineeSerializer.Meta.fields, "history", "view"]
        read_only_fields = fields

    @extend_schema_field({"type": "string", "enum": ["full"]})
    def get_view(self, trainee: Trainee) -> str:
        return "full"

    @extend_schema_field(SubsidyHistorySerializer)
    def get_history(self, trainee: Trainee) -> dict[str, Any]:
        history: SubsidyHistory = self.context["history"]
        return SubsidyHistorySerializer(history).data


class TraineeLimitedDetailSerializer(TraineeLimitedSerializer):
    """A person outside the reader's unit with their subsidy history (issue 14, 3):
    the masked number, the name, this year's count and the trades and levels already
    subsidised — what the limits of 五(二) need."""

    history = serializers.SerializerMethodField()
    view = serializers.SerializerMethodField(
        help_text="full：完整记录；limited：本单位以外的有限信息"
    )

    class Meta(TraineeLimitedSerializer.Meta):
        fields = [*TraineeLimitedSerializer.Meta.fields, "history", "view"]
        read_only_fields = fields

    @extend_schema_field({"type": "string", "enum": ["limited"]})
    def get_view(self, trainee: Trainee) -> str:
        return "limited"

    @extend_schema_field(SubsidyHistorySerializer)
    def get_history(self, trainee: Trainee) -> dict[str, Any]:
        history: SubsidyHistory = self.context["history"]
        return SubsidyHistorySerializer(history).data


# --- Evidence (issue 16) -----------------------------------------------------------------
class DocumentUploadSerializer(serializers.Serializer):
    """``POST /api/claims/{id}/documents/`` (multipart): what the document is and the
    file. The file's type is read from its content (``claims.evidence``), never from
    its name or the Content-Type sent."""

    kind = serializers.ChoiceField(
        choices=DocumentKind.choices,
        help_text="材料类别：roster 花名册、attendance 签到表、certificate 证书、"
        "employment 劳动合同或就业证明、id_card 身份证复印件、other 其他",
    )
    file = serializers.FileField(
        allow_empty_file=True,  # refused by the checker, with its own message
        help_text="PDF、JPEG或PNG，不超过10 MB；图片会重新编码以去除元数据",
    )


class DocumentSerializer(serializers.ModelSerializer):
    """A stored document as the API names it (api-contract.md)."""

    class Meta:
        model = Document
        fields = ["id", "kind", "sha256", "size", "content_type"]
        read_only_fields = fields
