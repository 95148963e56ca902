"""``{{ unit|local_name }}``: a reference row's name in the page's language (issue 17)."""

from django import template

from programs.models import LocalNames

register = template.Library()


@register.filter
def local_name(row: LocalNames | None) -> str:
    return row.local_name() if row is not None else ""
