"""Training classes over the API: bodies parsed for shape only (the services judge),
and the class sent back with its roster, sessions and allowed actions."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from accounts.models import User
from altay_skills.plain_text import multi_line_text, single_line_text
from claims.models import DocumentKind, Employment
from claims.serializers import ClaimSerializer
from claims.validators import training_date
from classes.models import ClassSession, ClassStatus, TrainingClass
from classes.permissions import actions_for
from classes.selectors import attended_hours_of, class_sessions, live_roster
from classes.services import ClassInput, ClassResult
from trainees.serializers import TraineeLimitedSerializer

HOURS: dict[str, Any] = {"max_digits": 6, "decimal_places": 1}
#: ids beyond the database's bigint are nobody (a 400, never an overflow)
ID: dict[str, Any] = {"min_value": 1, "max_value": 2**63 - 1}


class ClassInputSerializer(serializers.Serializer):
    institution = serializers.IntegerField(
        required=False, help_text="培训机构 id", **ID
    )
    program = serializers.IntegerField(
        help_text="项目编号 1…24", min_value=1, max_value=99
    )
    trade = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, max_length=20
    )
    level = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, max_length=30
    )
    unit = serializers.CharField(required=False, max_length=6, help_text="备案单位代码")
    project_based = serializers.BooleanField(default=False)
    planned_start = serializers.DateField(validators=[training_date])
    planned_end = serializers.DateField(validators=[training_date])
    hours = serializers.DecimalField(
        min_value=Decimal("0.5"), help_text="计划学时", **HOURS
    )
    location = serializers.CharField(max_length=200, validators=[single_line_text])
    teachers = serializers.ListField(
        child=serializers.CharField(max_length=50, validators=[single_line_text]),
        required=False,
        default=list,
        max_length=20,
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["planned_end"] < attrs["planned_start"]:
            raise serializers.ValidationError(
                {"planned_end": "计划结业日期早于开班日期"}, code="invalid_dates"
            )
        return attrs

    def class_input(self, user: User) -> ClassInput:
        """The body with the defaults of who sends it: institution staff file for
        their institution, a clerk for their unit."""
        v = self.validated_data
        institution = v.get("institution") or user.institution_id
        unit = v.get("unit") or user.unit_id
        if institution is None:
            raise serializers.ValidationError({"institution": "请选择培训机构"})
        if not unit:
            raise serializers.ValidationError({"unit": "请选择备案单位"})
        return ClassInput(
            institution_id=institution,
            program_id=v["program"],
            unit_id=unit,
            planned_start=v["planned_start"],
            planned_end=v["planned_end"],
            hours=v["hours"],
            location=v["location"],
            trade_id=v.get("trade") or None,
            level_id=v.get("level") or None,
            project_based=v["project_based"],
            teachers=list(v.get("teachers") or []),
        )


class RosterBodySerializer(serializers.Serializer):
    trainees = serializers.ListField(
        child=serializers.IntegerField(**ID),
        allow_empty=True,
        max_length=500,  # the policy term (50) is the service's refusal
        help_text="培训人员 id 列表",
    )


class ReturnBodySerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=2000, validators=[multi_line_text], help_text="退回理由（必填）"
    )


class SessionBodySerializer(serializers.Serializer):
    date = serializers.DateField()
    hours = serializers.DecimalField(
        min_value=Decimal("0.5"), max_value=Decimal(24), **HOURS
    )
    present = serializers.ListField(
        child=serializers.IntegerField(**ID), allow_empty=True, max_length=500
    )
    sign_in_sheet = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="该课次的签到表：已上传到本培训班、尚未关联课次的签到表材料 id（可选）",
        **ID,
    )


class ResultSerializer(serializers.Serializer):
    trainee = serializers.IntegerField(**ID)
    passed = serializers.BooleanField()
    certificate_number = serializers.CharField(
        max_length=50, allow_blank=True, default="", validators=[single_line_text]
    )
    level = serializers.CharField(
        max_length=30, allow_null=True, allow_blank=True, required=False
    )
    employment = serializers.ChoiceField(choices=Employment.choices)


class CompleteBodySerializer(serializers.Serializer):
    results: serializers.ListSerializer[Any] = serializers.ListSerializer(
        child=ResultSerializer(), allow_empty=False, max_length=500
    )

    def results_given(self) -> list[ClassResult]:
        return [
            ClassResult(
                trainee_id=r["trainee"],
                passed=r["passed"],
                certificate_number=r["certificate_number"],
                level_id=r.get("level") or None,
                employment=r["employment"],
            )
            for r in self.validated_data["results"]
        ]


class RosterLineSerializer(serializers.Serializer):
    trainee = TraineeLimitedSerializer()
    precheck = serializers.JSONField(help_text="按培训班如期结业预审的判定")
    attended_hours = serializers.SerializerMethodField()
    passed = serializers.BooleanField(allow_null=True)
    certificate_number = serializers.CharField()
    employment = serializers.CharField()
    claim = serializers.IntegerField(source="claim_id", allow_null=True)

    def get_attended_hours(self, line: Any) -> str:
        attended = self.context.get("attended", {})
        return str(attended.get(line.trainee_id, "0"))


class SessionSerializer(serializers.ModelSerializer):
    present = serializers.SerializerMethodField()

    class Meta:
        model = ClassSession
        fields = ["id", "date", "hours", "present", "recorded_at"]

    def get_present(self, session: ClassSession) -> list[int]:
        return sorted(p.pk for p in session.present.all())


class ClassDocumentUploadSerializer(serializers.Serializer):
    """``POST /api/classes/{id}/documents/`` (multipart): what the document is, the
    file, and for a sign-in sheet optionally the session it records."""

    kind = serializers.ChoiceField(
        choices=DocumentKind.choices,
        help_text="材料类别：roster 花名册、attendance 签到表、certificate 证书、"
        "employment 劳动合同或就业证明、id_card 身份证复印件、other 其他",
    )
    file = serializers.FileField(
        allow_empty_file=True,  # refused by the checker, with its own message
        help_text="PDF、JPEG或PNG，不超过10 MB；图片会重新编码以去除元数据",
    )
    session = serializers.IntegerField(
        required=False, help_text="签到表所记录的课次 id（可选）", **ID
    )


class ClassSerializer(serializers.ModelSerializer):
    status = serializers.ChoiceField(choices=ClassStatus.choices, read_only=True)
    roster = serializers.SerializerMethodField()
    sessions = serializers.SerializerMethodField()
    allowed_actions = serializers.SerializerMethodField()

    class Meta:
        model = TrainingClass
        fields = [
            "id",
            "status",
            "institution",
            "program",
            "trade",
            "level",
            "unit",
            "project_based",
            "planned_start",
            "planned_end",
            "hours",
            "location",
            "teachers",
            "created_by",
            "filed_at",
            "accepted_by",
            "accepted_at",
            "return_reason",
            "started_at",
            "completed_at",
            "roster",
            "sessions",
            "allowed_actions",
        ]
        read_only_fields = fields

    def get_roster(self, cls: TrainingClass) -> list[dict[str, Any]]:
        context = {"attended": attended_hours_of(cls.pk)}
        return list(
            RosterLineSerializer(live_roster(cls.pk), many=True, context=context).data
        )

    def get_sessions(self, cls: TrainingClass) -> list[dict[str, Any]]:
        return list(SessionSerializer(class_sessions(cls.pk), many=True).data)

    def get_allowed_actions(self, cls: TrainingClass) -> list[str]:
        request = self.context.get("request")
        if request is None:
            return []
        return actions_for(request.user, cls)


class ClassListSerializer(serializers.ModelSerializer):
    class Meta:
        model = TrainingClass
        fields = [
            "id",
            "status",
            "institution",
            "program",
            "trade",
            "level",
            "unit",
            "project_based",
            "planned_start",
            "planned_end",
            "hours",
        ]
        read_only_fields = fields


class CompletionSerializer(serializers.Serializer):
    """The completed class and the claims it created, each with its decision."""

    training_class = ClassSerializer()
    claims = ClaimSerializer(many=True)
