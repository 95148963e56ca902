"""Figures as the dashboards print them: yuan with thousands separators, percentages."""

from __future__ import annotations

from decimal import Decimal

from django import template

from claims.rules import yuan as _yuan

register = template.Library()


@register.filter
def yuan(value: Decimal | int | None) -> str:
    """1234.5 → "1,234.50"; None → "—"."""
    if value is None or value == "":
        return "—"
    return _yuan(Decimal(str(value)))


@register.filter
def pct(value: Decimal | None) -> str:
    return "—" if value is None else f"{value}%"


@register.filter
def thousands(value: int | None) -> str:
    return "—" if value is None else f"{int(value):,}"
