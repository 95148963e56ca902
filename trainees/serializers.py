"""The registry as the API shows it: the ID number only ever masked."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.fields import empty

from altay_skills.api import ReasonBody, reason_field
from altay_skills.plain_text import single_line_text
from trainees.id_numbers import InvalidIdNumber, parse_id_number
from trainees.models import Group, Household, MessageLanguage, Residence, Trainee
from trainees.phones import validate_phone


class IdNumberField(serializers.CharField):
    """An 18-character resident ID (GB 11643); every refusal has code invalid_id_number.

    No ``max_length``: a number of the wrong length is an invalid ID number, not a
    generic length error, so the contract's code holds for every bad number.
    """

    def run_validation(self, data: Any = empty) -> Any:
        if isinstance(data, str) and not data.strip():
            raise serializers.ValidationError(
                "请填写身份证号码", code="invalid_id_number"
            )
        return super().run_validation(data)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        try:
            return parse_id_number(value).number
        except InvalidIdNumber as exc:
            raise serializers.ValidationError(
                exc.message, code="invalid_id_number"
            ) from None


class PlacesSerializer(serializers.Serializer):
    """五(二) 户籍地、常住地、求职就业地 (the household's unit is the registering unit)
    and 三(二)7's residence and months of non-farm work in town."""

    residence_unit = serializers.CharField(
        max_length=10,
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="常住地单位代码，如 654322（可省略）",
    )
    job_seeking_unit = serializers.CharField(
        max_length=10,
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="求职就业地单位代码（可省略）",
    )
    residence = serializers.ChoiceField(
        choices=Residence.choices,
        required=False,
        allow_blank=True,
        help_text="常住地类型：urban（城市）或 rural（乡村）",
    )
    months_in_town = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=600,
        help_text="进城从事非农业生产的月数（新生代农民工须6个月及以上）",
    )
    message_language = serializers.ChoiceField(
        choices=MessageLanguage.choices,
        required=False,
        help_text="学员确认短信的语言：zh-hans（默认）、ug（维吾尔文）、kk-arab（哈萨克文）",
    )


class TraineeRegisterSerializer(PlacesSerializer):
    id_number = IdNumberField(help_text="18位居民身份证号码（末位可为X）")
    name = serializers.CharField(max_length=50, validators=[single_line_text])
    household = serializers.ChoiceField(choices=Household.choices)
    groups = serializers.ListField(
        child=serializers.ChoiceField(choices=Group.choices),
        default=list,
        max_length=len(Group.values),
    )
    phone = serializers.CharField(
        max_length=20,
        required=False,
        allow_blank=True,
        default="",
        validators=[single_line_text, validate_phone],
    )


class TraineeLookupSerializer(serializers.Serializer):
    id_number = IdNumberField(help_text="完整的18位身份证号码（精确查找）")


class TraineeHistoryQuerySerializer(serializers.Serializer):
    year = serializers.IntegerField(
        required=False,
        min_value=2000,
        max_value=2100,
        help_text="统计年度（按培训结束日期），默认今年",
    )


class TraineeSerializer(serializers.ModelSerializer):
    """A person: birth date and sex come from the number, which is never shown whole."""

    id_number_masked = serializers.CharField(read_only=True)
    residence = serializers.ChoiceField(
        choices=[("", "未登记"), *Residence.choices],
        read_only=True,
        help_text="常住地类型：urban、rural，未登记为空",
    )

    class Meta:
        model = Trainee
        fields = [
            "id",
            "id_number_masked",
            "name",
            "birth_date",
            "sex",
            "household",
            "groups",
            "phone",
            "message_language",
            "registered_by_unit",
            "residence_unit",
            "job_seeking_unit",
            "residence",
            "months_in_town",
            "created_at",
        ]
        read_only_fields = fields


class TraineeLimitedSerializer(serializers.ModelSerializer):
    """A person outside the reader's unit (issue 14, 3): what the limits need and no
    more — no phone, household, groups, birth date or sex. ``claims.serializers``
    adds the subsidy history."""

    id_number_masked = serializers.CharField(read_only=True)

    class Meta:
        model = Trainee
        fields = ["id", "id_number_masked", "name"]
        read_only_fields = fields


class IdNumberRevealRequestSerializer(ReasonBody):
    missing = "请填写查看完整身份证号码的理由"
    reason = reason_field("查看完整身份证号码的理由（必填，记入查看记录）")


class IdNumberRevealSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="培训人员 id")
    id_number = serializers.CharField(help_text="完整的18位身份证号码")


class TraineeFactsChangeSerializer(ReasonBody, PlacesSerializer):
    """``PATCH /api/trainees/{id}/``: the facts to change, each optional, and why."""

    missing = "请填写修改理由"
    reason = reason_field("修改理由（必填，记入变更记录）")
    name = serializers.CharField(
        max_length=50, required=False, validators=[single_line_text]
    )
    household = serializers.ChoiceField(choices=Household.choices, required=False)
    groups = serializers.ListField(
        child=serializers.ChoiceField(choices=Group.choices),
        required=False,
        max_length=len(Group.values),
    )
    phone = serializers.CharField(
        max_length=20,
        required=False,
        allow_blank=True,
        validators=[single_line_text, validate_phone],
    )
    registered_by_unit = serializers.CharField(
        max_length=10, required=False, help_text="户籍地（登记单位）代码，如 654301"
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        data = self.initial_data if isinstance(self.initial_data, dict) else {}
        fixed = sorted(set(data) - set(self.fields))
        if fixed:
            raise serializers.ValidationError(
                {name: ["该字段不能修改"] for name in fixed}, code="read_only_field"
            )
        return attrs
