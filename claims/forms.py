"""Forms of the claim pages. They parse and check the shape of input (dates, money,
choices); whether a claim is eligible is the rules' business, asked through services."""

from __future__ import annotations

from decimal import Decimal
from html import escape
from typing import Any

from django import forms
from django.urls import reverse
from django.utils.safestring import SafeString

from accounts.models import User
from altay_skills.errors import NotFound
from altay_skills.plain_text import multi_line_text, reason_problem, single_line_text
from claims.models import Claim, Employment
from claims.services import ClaimInput
from claims.validators import training_date
from claims.workflow import BUDGET_REASON, REVIEW_REASON, SPOT_CHECK_REASON
from programs.models import Institution, InstitutionKind, Level, Program, Trade
from trainees.forms import IdNumberField
from trainees.models import Trainee
from trainees.selectors import trainee_by_id_number, trainee_in_scope

#: The first digit of a code in the national occupational classification (2022).
TRADE_MAJOR_GROUPS = {
    "1": "第一大类 党的机关、国家机关、群众团体和社会组织、企事业单位负责人",
    "2": "第二大类 专业技术人员",
    "3": "第三大类 办事人员和有关人员",
    "4": "第四大类 社会生产服务和生活服务人员",
    "5": "第五大类 农、林、牧、渔业生产及辅助人员",
    "6": "第六大类 生产制造及有关人员",
    "7": "第七大类 军队人员",
    "8": "第八大类 不便分类的其他从业人员",
}

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
Choices = list[tuple[Any, Any]]


def program_choices() -> Choices:
    programs = Program.objects.filter(claimable=True).order_by("number")
    return [("", "请选择补贴项目")] + [
        (p.number, f"{p.number}. {p.name}（{p.section}）") for p in programs
    ]


def trade_choices() -> Choices:
    groups: dict[str, list[tuple[str, str]]] = {}
    for trade in Trade.objects.filter(active=True).order_by("code"):
        major = TRADE_MAJOR_GROUPS.get(trade.code[:1], "其他")
        groups.setdefault(major, []).append(
            (trade.code, f"{trade.name}（{trade.code}）")
        )
    return [("", "无（以工代训或项目11）"), *groups.items()]


def level_choices() -> Choices:
    return [("", "无（以工代训或项目11）")] + [
        (level.code, level.name) for level in Level.objects.order_by("sort_order")
    ]


def institution_choices(unit_id: str | None, *, empty: str) -> Choices:
    """The user's own unit first, then every other unit (a trainee may train anywhere);
    without a unit (reviewers), grouped by unit. Read as plain rows, not models: a
    prefecture has thousands of institutions and every claim form and the claim list
    offer them all (making a model of each was a fifth of the list page, issue 20)."""
    kinds = {kind: str(label) for kind, label in InstitutionKind.choices}  # once
    groups: dict[str, list[tuple[int, str]]] = {"本单位": []} if unit_id else {}
    institutions = Institution.objects.order_by(
        "unit__sort_order", "unit_id", "name"
    ).values_list("pk", "name", "kind", "admitted", "unit_id", "unit__name")
    for pk, name, kind, admitted, unit, unit_name in institutions:
        label = f"{name}（{kinds.get(kind, kind)}）"
        if not admitted:  # 七(三): a draft may name it; it is not submitted
            label += "（待认定）"
        if unit_id is None:
            group = unit_name
        elif unit == unit_id:
            group = "本单位"
        else:
            group, label = "其他单位", f"{label} · {unit_name}"
        groups.setdefault(group, []).append((pk, label))
    return [("", empty)] + [(name, opts) for name, opts in groups.items() if opts]


def grouped_options(choices: Choices, selected: str) -> SafeString:
    """The ``<optgroup>``s and ``<option>``s of grouped choices as HTML, ``selected``
    (the value as the query string carries it) marked: written here once rather than
    by the template per option (thousands of institutions on the claim list)."""
    html = []
    for group, options in choices:
        if not isinstance(options, list | tuple):
            continue  # the empty choice: the template writes its own
        html.append(f'<optgroup label="{escape(str(group))}">')
        html.extend(
            f'<option value="{escape(str(value))}"'
            f"{' selected' if str(value) == selected else ''}>"
            f"{escape(str(label))}</option>"
            for value, label in options
        )
        html.append("</optgroup>")
    # every value and label above went through html.escape (Django's own escaping)
    return SafeString("".join(html))  # nosec B703: each part escaped above


class ClaimForm(forms.Form):
    """The fields of ``ClaimInput``; the trainee by ID number or already chosen."""

    trainee = forms.IntegerField(required=False, widget=forms.HiddenInput)
    id_number = IdNumberField(label="培训人员身份证号码", required=False)
    program = forms.TypedChoiceField(label="补贴项目", coerce=int)
    trade = forms.ChoiceField(label="职业(工种)", required=False)
    level = forms.ChoiceField(label="职业技能等级", required=False)
    institution = forms.TypedChoiceField(label="培训机构/企业", coerce=int)
    employer = forms.TypedChoiceField(
        label="用人单位（企业）",
        coerce=int,
        required=False,
        empty_value=None,
        help_text="以工代训填吸纳就业的企业、合作社或扶贫车间；项目1、2、3、5、6填受训职工"
        "所在企业（由企业所在县(市)申报）；其他培训可留空。",
    )
    hire_date = forms.DateField(
        label="入职（录用）日期",
        widget=DATE_WIDGET,
        required=False,
        validators=[training_date],
        help_text="项目1（企业新录用员工岗前培训）填写，须在培训开始前一年内。",
    )
    training_start = forms.DateField(
        label="培训开始日期", widget=DATE_WIDGET, validators=[training_date]
    )
    training_end = forms.DateField(
        label="培训结束日期", widget=DATE_WIDGET, validators=[training_date]
    )
    project_based = forms.BooleanField(
        label="项目制培训",
        required=False,
        help_text="政府以项目形式向培训机构购买的培训。",
    )
    work_in_lieu_months = forms.IntegerField(
        label="以工代训月数",
        min_value=0,
        max_value=99,
        required=False,
        help_text="非以工代训填 0。",
    )
    passed = forms.BooleanField(label="培训合格", required=False)
    certificate_number = forms.CharField(
        label="证书编号",
        max_length=50,
        required=False,
        validators=[single_line_text],
        # a certificate is issued on passing: typing one ticks 培训合格 (app.js)
        widget=forms.TextInput(attrs={"data-implies-check": "id_passed"}),
    )
    employment = forms.ChoiceField(
        label="就业情况", choices=Employment.choices, initial=Employment.NONE
    )
    amount_requested = forms.DecimalField(
        label="申请金额（元）",
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        error_messages={
            "min_value": "申请金额应大于0元",
            "invalid": "申请金额应为数字，如 1800.00",
            "max_decimal_places": "申请金额精确到分：小数不超过2位",
            "max_digits": "申请金额过大",
            "max_whole_digits": "申请金额过大",
        },
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0.01"}),
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.resolved_trainee: Trainee | None = None
        fields = self.fields
        fields["program"].choices = program_choices()  # type: ignore[attr-defined]
        fields["trade"].choices = trade_choices()  # type: ignore[attr-defined]
        fields["level"].choices = level_choices()  # type: ignore[attr-defined]
        fields["institution"].choices = institution_choices(  # type: ignore[attr-defined]
            user.unit_id, empty="请选择培训机构或企业"
        )
        fields["employer"].choices = institution_choices(  # type: ignore[attr-defined]
            user.unit_id, empty="无"
        )
        fields["id_number"].widget.attrs.update(
            {
                "data-testid": "claim-id-number",
                # a valid number nobody has registered: the registration in place
                "hx-post": reverse("claim_trainee"),
                "hx-trigger": "input changed delay:600ms",
                "hx-target": "#trainee-register",
                "hx-swap": "innerHTML",
                "hx-sync": "this:replace",
            }
        )

    def clean_amount_requested(self) -> Decimal:
        # At most two decimals passed validation: this only writes 1500 as 1500.00.
        return self.cleaned_data["amount_requested"].quantize(Decimal("0.01"))

    def clean_work_in_lieu_months(self) -> int:
        return self.cleaned_data.get("work_in_lieu_months") or 0

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("training_start"), cleaned.get("training_end")
        if start and end and end < start:
            self.add_error("training_end", "培训结束日期不能早于开始日期")
        self._resolve_trainee(cleaned)
        return cleaned

    def _resolve_trainee(self, cleaned: dict[str, Any]) -> None:
        if "id_number" in self.errors:
            return
        number, pk = cleaned.get("id_number"), cleaned.get("trainee")
        if number:
            self.resolved_trainee = trainee_by_id_number(self.user, number)
            if self.resolved_trainee is None:
                self.add_error(
                    "id_number",
                    "该身份证号码尚未登记：请在“培训人员”一栏补充信息，点“登记并继续”",
                )
        elif pk:
            try:
                self.resolved_trainee = trainee_in_scope(self.user, pk)
            except NotFound:
                self.add_error("id_number", "所选培训人员不存在，请输入身份证号码")
        else:
            self.add_error("id_number", "请填写培训人员的身份证号码")

    def to_input(self, *, unit_id: str) -> ClaimInput:
        """The parsed input; call only when the form is valid."""
        data = self.cleaned_data
        assert self.resolved_trainee is not None
        return ClaimInput(
            trainee_id=self.resolved_trainee.pk,
            program_id=data["program"],
            institution_id=data["institution"],
            unit_id=unit_id,
            training_start=data["training_start"],
            training_end=data["training_end"],
            amount_requested=data["amount_requested"],
            trade_id=data["trade"] or None,
            level_id=data["level"] or None,
            employer_id=data["employer"],
            project_based=data["project_based"],
            work_in_lieu_months=data["work_in_lieu_months"],
            passed=data["passed"],
            certificate_number=data["certificate_number"].strip(),
            employment=data["employment"],
            hire_date=data.get("hire_date"),
        )

    @staticmethod
    def initial_for(claim: Claim) -> dict[str, Any]:
        """A stored claim as the form's initial values (the trainee by id, masked)."""
        return {
            "trainee": claim.trainee_id,
            "program": claim.program_id,
            "trade": claim.trade_id or "",
            "level": claim.level_id or "",
            "institution": claim.institution_id,
            "employer": claim.employer_id or "",
            "training_start": claim.training_start,
            "training_end": claim.training_end,
            "project_based": claim.project_based,
            "work_in_lieu_months": claim.work_in_lieu_months,
            "passed": claim.passed,
            "certificate_number": claim.certificate_number,
            "employment": claim.employment,
            "amount_requested": claim.amount_requested,
            "hire_date": claim.hire_date,
        }


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label="理由",
        max_length=500,
        required=False,
        validators=[multi_line_text],
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ReviewForm(ReasonForm):
    #: Approving past a fund's budget (七(五)) needs its own stated reason; the
    #: review comment never stands in for it (issue 12).
    budget_override_reason = forms.CharField(
        label="超预算核准理由",
        max_length=500,
        required=False,
        validators=[multi_line_text],
    )
    #: Approving a claim whose spot check found the documents inconsistent (材料不符)
    #: needs its own stated reason too; neither comment stands in for it (issue 12).
    spot_check_override_reason = forms.CharField(
        label="抽查不符仍予核准的理由",
        max_length=500,
        required=False,
        validators=[multi_line_text],
    )
    action = forms.ChoiceField(
        choices=[("approve", "核准"), ("reject", "驳回"), ("return", "退回")]
    )

    def clean(self) -> dict[str, Any]:
        """A rejection or a return states its reason (五(一)), as the API's
        ``RequiredReasonSerializer`` asks: the input is judged before the claim."""
        data = super().clean() or {}
        # the reasons asked for (an approval's comment is a comment, not a reason)
        asked = {
            "budget_override_reason": (BUDGET_REASON, False),
            "spot_check_override_reason": (SPOT_CHECK_REASON, False),
        }
        if data.get("action") in ("reject", "return"):
            asked["reason"] = (REVIEW_REASON, True)
        for name, (missing, required) in asked.items():
            if name not in data:  # refused by the field already
                continue
            problem = reason_problem(data[name], missing=missing, required=required)
            if problem:
                self.add_error(name, problem)
            else:
                data[name] = (data[name] or "").strip()
        return data
