"""Forms of the registry pages: find a person by ID number, register a new one, change
a person's facts."""

from __future__ import annotations

import re
from typing import Any

from django import forms

from altay_skills.plain_text import multi_line_text, single_line_text, stated_reason
from programs.models import Unit
from trainees.id_numbers import InvalidIdNumber, parse_id_number
from trainees.models import Group, Household, MessageLanguage, Residence
from trainees.phones import validate_phone

PHONE = re.compile(r"[0-9][0-9 -]{4,18}[0-9]", re.ASCII)


class IdNumberField(forms.CharField):
    """An 18-character resident ID; the message says what is wrong, in Chinese."""

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("label", "身份证号码")
        kwargs.setdefault("max_length", 30)
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.widget.attrs.update(
            {
                "autocomplete": "off",
                "spellcheck": "false",
                "class": "form-control id-number",
                "placeholder": "18位身份证号码，末位可为X",
            }
        )

    def clean(self, value: object) -> str:
        raw = super().clean(value)
        if not raw:
            return raw
        try:
            return parse_id_number(raw).number
        except InvalidIdNumber as exc:
            raise forms.ValidationError(exc.message, code="invalid_id_number") from None


class IdNumberForm(forms.Form):
    id_number = IdNumberField()


class TraineeRegistrationForm(forms.Form):
    id_number = IdNumberField()
    name = forms.CharField(label="姓名", max_length=50, validators=[single_line_text])
    household = forms.ChoiceField(
        label="户籍类型", choices=Household.choices, widget=forms.RadioSelect
    )
    groups = forms.MultipleChoiceField(
        label="人员类别",
        choices=Group.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="可多选；决定可申报的项目（如项目9、10、以工代训）。",
    )
    phone = forms.CharField(label="联系电话", max_length=20, required=False)
    message_language = forms.ChoiceField(
        label="短信语言",
        choices=MessageLanguage.choices,
        initial=MessageLanguage.ZH_HANS,
        required=False,
        help_text="学员确认短信（是否本人参加培训）用此语言发送。",
    )
    residence_unit = forms.ModelChoiceField(
        label="常住地",
        queryset=Unit.objects.order_by("sort_order", "code"),
        required=False,
        empty_label="（未登记）",
        help_text="户籍地、常住地、求职就业地的人社部门均可为其申报补贴（五(二)）。",
    )
    job_seeking_unit = forms.ModelChoiceField(
        label="求职就业地",
        queryset=Unit.objects.order_by("sort_order", "code"),
        required=False,
        empty_label="（未登记）",
    )
    residence = forms.ChoiceField(
        label="常住地类型",
        choices=[("", "（未登记）"), *Residence.choices],
        required=False,
        help_text="新生代农民工（项目7）须常住地在城市、户籍地在乡村。",
    )
    months_in_town = forms.IntegerField(
        label="进城从事非农业生产月数",
        min_value=0,
        max_value=600,
        required=False,
        help_text="新生代农民工（项目7）须6个月及以上。",
    )

    def clean_message_language(self) -> str:
        """Left out of a post: the person's language as it was (Chinese when new)."""
        return str(
            self.cleaned_data.get("message_language")
            or self.initial.get("message_language")
            or MessageLanguage.ZH_HANS
        )

    def clean_months_in_town(self) -> int:
        return self.cleaned_data.get("months_in_town") or 0

    def places(self) -> dict[str, Any]:
        """The place facts, and the messages' language, as ``trainee_register``
        takes them."""
        data = self.cleaned_data
        return {
            "message_language": data["message_language"],
            "residence_unit": data["residence_unit"].pk
            if data["residence_unit"]
            else None,
            "job_seeking_unit": (
                data["job_seeking_unit"].pk if data["job_seeking_unit"] else None
            ),
            "residence": data["residence"],
            "months_in_town": data["months_in_town"],
        }

    def clean_name(self) -> str:
        return self.cleaned_data["name"].strip()

    def clean_phone(self) -> str:
        phone = self.cleaned_data["phone"].strip()
        if phone and not PHONE.fullmatch(phone):
            if re.fullmatch(r"[0-9 -]+", phone, re.ASCII):
                # digits only, but too few ("1399" was told it had other characters)
                raise forms.ValidationError(
                    "联系电话位数不足，请填写11位手机号码或带区号的固定电话"
                )
            raise forms.ValidationError("联系电话只能包含半角数字、空格和连字符")
        if phone:
            validate_phone(phone)
        return phone


class TraineeFactsForm(TraineeRegistrationForm):
    """Changing a registered person's facts: the number never changes; a reason is
    required and recorded (``trainee_update_facts``)."""

    id_number = None  # type: ignore[assignment]
    registered_by_unit = forms.ModelChoiceField(
        label="户籍地（登记单位）",
        queryset=Unit.objects.order_by("sort_order", "code"),
        empty_label=None,
        help_text="改为其他单位后，该单位的经办人负责此人的实名信息。",
    )
    reason = forms.CharField(
        label="修改理由",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        validators=[multi_line_text],
        error_messages={"required": "请填写修改理由"},
    )

    def clean_reason(self) -> str:
        return stated_reason(self.cleaned_data["reason"], missing="请填写修改理由")

    def changed_facts(self) -> dict[str, object]:
        """The facts the form changed, as ``trainee_update_facts`` takes them."""
        facts: dict[str, object] = {}
        for name in self.changed_data:
            if name == "reason":
                continue
            value = self.cleaned_data[name]
            if name in ("registered_by_unit", "residence_unit", "job_seeking_unit"):
                value = value.pk if value is not None else None
            elif name == "groups":
                value = list(value)
            facts[name] = value
        return facts


#: A page of this site: "/trainees/12/" or "/claims/7/", never another site or a query.
LOCAL_PATH = re.compile(r"/[A-Za-z0-9/_-]{0,199}", re.ASCII)


class IdNumberRevealForm(forms.Form):
    """Asking to see a person's full ID number: why, and from which page."""

    reason = forms.CharField(
        label="查看理由",
        max_length=500,
        widget=forms.TextInput(
            attrs={"placeholder": "如：核对身份证原件、银行退票核对", "size": 30}
        ),
        validators=[multi_line_text],
        error_messages={"required": "请填写查看完整身份证号码的理由"},
    )
    source = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean_reason(self) -> str:
        return stated_reason(
            self.cleaned_data["reason"], missing="请填写查看完整身份证号码的理由"
        )

    def clean_source(self) -> str:
        source = self.cleaned_data.get("source", "").strip()
        if source and not LOCAL_PATH.fullmatch(source):
            return ""
        return source

    def error_text(self) -> str:
        return "；".join(str(e) for errors in self.errors.values() for e in errors)
