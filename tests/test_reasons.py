"""A reason says something (五(一) review with reasons; every refusal, return, failure,
finding and override a person explains): at least two characters, one of them a letter
of any script. "0", "x", "……" were accepted as the reason for a rejection or a bank
failure; an auditor reading the trail learns nothing from them. One rule
(``plain_text.reason_problem``) for the forms, the serializers and the services."""

from __future__ import annotations

import pytest

from altay_skills.errors import DomainError
from altay_skills.plain_text import checked_reason, reason_problem

MISSING = "驳回或退回须填写理由"


@pytest.mark.parametrize(
    "reason",
    ["0", "x", "……", "--", "。", "123", "1.", "？？", " 0 ", "\u3000x\u3000"],
)
def test_a_reason_that_says_nothing_is_refused_with_what_to_write(reason: str) -> None:
    problem = reason_problem(reason, missing=MISSING)

    assert problem is not None and problem.startswith(MISSING)
    assert "至少两个字" in problem
    with pytest.raises(DomainError) as refused:
        checked_reason(reason, missing=MISSING)
    assert refused.value.code == "reason_required"


@pytest.mark.parametrize(
    "reason",
    [
        "重复",
        "材料不实",
        "ok",
        "第2期",
        "证书编号有误，请核对后重新提交",
        "ئىسمى خاتا",  # Uyghur: "the name is wrong"
        "Аты қате",  # Kazakh (Cyrillic)
    ],
)
def test_a_short_reason_in_any_script_is_a_reason(reason: str) -> None:
    assert reason_problem(reason, missing=MISSING) is None
    assert checked_reason(f"  {reason}\n", missing=MISSING) == reason


@pytest.mark.parametrize("blank", ["", "   ", None, 0])
def test_a_missing_reason_says_it_is_missing(blank: object) -> None:
    assert reason_problem(blank, missing=MISSING) == MISSING


def test_an_optional_reason_may_be_left_out_but_not_say_nothing() -> None:
    assert reason_problem("  ", missing=MISSING, required=False) is None
    assert checked_reason("", missing=MISSING, required=False) == ""
    assert reason_problem("0", missing=MISSING, required=False) is not None
