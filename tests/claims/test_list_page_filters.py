"""The claim list page's institution filter: the options are written by
``claims.forms.grouped_options`` (issue 20), escaped, grouped as the form groups
them, the chosen one kept selected."""

from __future__ import annotations

import re

from django.test import Client

import pytest

from accounts.models import User
from tests.factories import InstitutionFactory

pytestmark = pytest.mark.django_db


def _options(html: str) -> list[tuple[str, str, bool]]:
    select = re.search(r'<select[^>]*name="institution".*?</select>', html, re.S)
    assert select, "the page has its institution filter"
    return [
        (value, label, bool(chosen))
        for value, chosen, label in re.findall(
            r'<option value="([^"]*)"( selected)?>([^<]*)</option>', select.group(0)
        )
    ]


def test_the_chosen_institution_stays_selected_and_names_are_escaped(
    clerk: User,
) -> None:
    own = InstitutionFactory(name='技校<b>"一"</b>', unit_id="654301")
    other = InstitutionFactory(name="外县学校", unit_id="654322", admitted=False)
    client = Client()
    client.force_login(clerk)
    html = client.get(f"/claims/?institution={own.pk}").content.decode()
    options = _options(html)
    assert (
        str(own.pk),
        "技校&lt;b&gt;&quot;一&quot;&lt;/b&gt;（职业培训机构）",
        True,
    ) in options
    chosen = [v for v, _, c in options if c]
    assert chosen == [str(own.pk)]
    assert any(v == str(other.pk) and "待认定" in label for v, label, _ in options)
    assert '<optgroup label="本单位">' in html and '<optgroup label="其他单位">' in html
    assert "<b>" not in html.split('name="institution"')[1].split("</select>")[0]


def test_nothing_is_selected_without_a_choice(clerk: User) -> None:
    InstitutionFactory(unit_id="654301")
    client = Client()
    client.force_login(clerk)
    options = _options(client.get("/claims/").content.decode())
    assert options and not any(chosen for _, _, chosen in options)
