"""Filters of the claim list, shared by the browser list and the REST API."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

import django_filters

from altay_skills.periods import QUARTER_MESSAGE, quarter_bounds
from claims.models import Claim, ClaimStatus


def known_quarter(value: str) -> None:
    """A quarter ``quarter_bounds`` knows: the API answers 400, the page says so."""
    if value.strip() and quarter_bounds(value.strip().upper()) is None:
        raise ValidationError(QUARTER_MESSAGE, code="invalid_quarter")


class ClaimFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ClaimStatus.choices, label="状态")
    program = django_filters.NumberFilter(field_name="program_id", label="项目")
    unit = django_filters.CharFilter(field_name="unit_id", label="单位")
    institution = django_filters.NumberFilter(
        field_name="institution_id", label="培训机构"
    )
    trainee = django_filters.NumberFilter(field_name="trainee_id", label="培训人员")
    quarter = django_filters.CharFilter(
        method="filter_quarter", label="季度（如2020Q1）", validators=[known_quarter]
    )
    q = django_filters.CharFilter(method="filter_search", label="姓名或身份证号")

    class Meta:
        model = Claim
        fields = ["status", "program", "unit", "institution", "trainee", "quarter"]

    def filter_quarter(
        self, qs: QuerySet[Claim], name: str, value: str
    ) -> QuerySet[Claim]:
        """The quarter in which the training ended."""
        bounds = quarter_bounds(value.strip().upper())
        if bounds is None:
            return qs.none()
        return qs.filter(training_end__range=bounds)

    def filter_search(
        self, qs: QuerySet[Claim], name: str, value: str
    ) -> QuerySet[Claim]:
        value = value.strip()
        if not value:
            return qs
        if re.fullmatch(r"[0-9]{17}[0-9Xx]", value, re.ASCII):
            return qs.filter(trainee__id_number=value.upper())
        return qs.filter(Q(trainee__name__icontains=value))
