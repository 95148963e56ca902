"""The claim list page's table is drawn from display strings worked out in Python
(``claims.list_page``, issue 20). The loop it replaced — the claims' own attributes,
two includes, ``{% url %}`` and three filters a row — is kept here as the reference:
both are rendered over claims of every kind the list shows and must give the same
HTML, for a reviewer (with the unit column) and a clerk."""

from __future__ import annotations

import re
from typing import Any

from django.template import engines
from django.test import Client

import pytest

from accounts.models import User
from claims import services
from claims.list_page import list_page_rows
from claims.models import Claim
from claims.selectors import claims_listed, read_listed
from tests.claims.test_claim_list_rows import every_kind  # noqa: F401
from tests.factories import InstitutionFactory, TraineeFactory

pytestmark = pytest.mark.django_db

#: The page's loop before issue 20's rows, word for word.
BEFORE = """{% for c in claims %}
        <tr>
          <td><a href="{% url 'claim_detail' c.pk %}" class="fw-semibold">#{{ c.pk }}</a></td>
          <td class="text-nowrap">{{ c.trainee.name }}</td>
          <td class="id-number small">{{ c.trainee.id_number_masked }}</td>
          <td class="text-nowrap"><span title="{{ c.program.name }}">{{ c.program.number }}. {{ c.program.name|truncatechars:9 }}</span></td>
          <td class="text-nowrap">{% include "claims/_trade_level.html" %}</td>
          <td><span title="{{ c.institution.name }}">{{ c.institution.name|truncatechars:14 }}</span></td>
          {% if user.sees_all_units %}<td class="text-nowrap">{{ c.unit.name }}</td>{% endif %}
          <td class="text-nowrap">{{ c.training_end|date:"Y-m-d" }}</td>
          <td class="text-end money">{{ c.amount_requested|floatformat:2 }}</td>
          <td class="text-end money">{% if c.eligible %}{{ c.amount|floatformat:2 }}{% else %}<span class="text-danger" title="不符合补贴条件，不予核定" data-testid="not-decided-{{ c.pk }}">—</span>{% endif %}</td>
          <td class="text-nowrap">{% include "claims/_status_badge.html" with status=c.status label=c.get_status_display %}{% if c.status == "draft" and not c.eligible %} <span class="badge text-bg-danger-subtle text-danger-emphasis fw-normal" title="当前不符合补贴条件">不符合</span>{% endif %}</td>
        </tr>
{% endfor %}"""  # noqa: E501


def _rows_of(html: str) -> list[str]:
    """The table body's rows as a browser lays them out: each run of white space one
    space, none at the start or end of a row or cell (an include ends its output with
    its file's last line break)."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = re.findall(r"<tr>.*?</tr>", body, flags=re.S)
    return [
        re.sub(r" ?(</?t[rd][^>]*>) ?", r"\1", re.sub(r"\s+", " ", row)) for row in rows
    ]


@pytest.fixture
def odd_ones(
    every_kind: list[Claim],  # noqa: F811  (the fixture imported above)
    clerk: User,
    claim_input: Any,
) -> list[Claim]:
    """Beside every kind: work in lieu (no trade, months instead) and names long
    enough to be cut, with characters to escape."""
    enterprise = InstitutionFactory(
        kind="enterprise",
        unit_id="654301",
        insured=True,
        name='阿勒泰<地区>"第一"职业技能&培训\'学校有限公司',
    )
    person = TraineeFactory(groups=["hard_to_employ"], name="买买提·<b>")
    lieu = services.claim_create(
        data=claim_input(
            trainee_id=person.pk,
            trade_id=None,
            level_id=None,
            institution_id=enterprise.pk,
            employer_id=enterprise.pk,
            work_in_lieu_months=4,
        ),
        actor=clerk,
    )
    return [*every_kind, lieu]


@pytest.mark.parametrize("who", ["reviewer", "clerk"])
def test_the_page_draws_the_same_rows_as_the_loop_it_replaced(
    odd_ones: list[Claim], who: str, request: pytest.FixtureRequest
) -> None:
    user = request.getfixturevalue(who)
    client = Client()
    client.force_login(user)
    response = client.get("/claims/")
    assert response.status_code == 200
    drawn = _rows_of(response.content.decode())

    claims = read_listed(claims_listed(user).order_by("-created_at", "-pk"))
    reference = engines["django"].from_string(f"<tbody>{BEFORE}</tbody>")
    expected = _rows_of(reference.render({"claims": claims, "user": user}))
    assert drawn == expected
    # the comparison saw what can differ
    text = "".join(drawn)
    assert "以工代训 4 个月" in text and "&lt;b&gt;" in text
    assert (
        ">阿勒泰&lt;地区&gt;&quot;第一&quot;...</span>" in text
        and "有限公司</span>" not in text
    )  # cut
    # quotes escaped in an attribute too
    assert (
        'title="阿勒泰&lt;地区&gt;&quot;第一&quot;职业技能&amp;培训&#x27;学校有限公司"'
        in text
    )
    assert "not-decided-" in text and "不符合" in text
    assert list_page_rows(claims)[0]["pk"] == claims[0].pk


def test_an_empty_page_says_so(clerk: User) -> None:
    client = Client()
    client.force_login(clerk)
    body = client.get("/claims/").content.decode()
    assert "暂无申报。" in body and '<a href="/claims/' not in body.split("<tbody>")[1]
    filtered = client.get("/claims/?status=approved").content.decode()
    assert "没有符合筛选条件的申报。" in filtered
