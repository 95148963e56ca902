"""The text validator and the two format characters Uyghur and Kazakh legitimately
contain (issue 17): the zero-width non-joiner (U+200C) and the Arabic letter mark
(U+061C) pass between two Arabic-script letters and nowhere else; every other format,
bidi-override and isolate character is still refused, in Arabic-script text as well."""

from __future__ import annotations

import pytest

from altay_skills.plain_text import hidden_character_in, plain_text_problem

ZWNJ = "\u200c"
ALM = "\u061c"


@pytest.mark.parametrize(
    "text",
    [
        "ئالتاي",  # Uyghur, no mark at all
        f"مەكتەپ{ZWNJ}لەر",  # a non-joiner inside a word
        f"قازاق{ALM}شا",  # the Arabic letter mark inside a word
        f"كىتاب{ZWNJ}خانا ۋە مەك{ALM}تەپ",  # two words, a mark in each
        f"دەرىجە{ZWNJ}ٴلى",  # Kazakh: before the hamza of a front-vowel word
        f"مُ{ZWNJ}حمد",  # after a vowel sign on a letter
    ],
)
def test_the_marks_pass_inside_an_arabic_script_word(text):
    assert hidden_character_in(text) is None
    assert plain_text_problem(text) is None


@pytest.mark.parametrize(
    ("text", "found"),
    [
        (f"张{ZWNJ}三", "U+200C"),  # between Chinese characters
        (f"Ali{ZWNJ}m", "U+200C"),  # between Latin letters
        (f"{ZWNJ}ئالتاي", "U+200C"),  # at the start of a word
        (f"ئالتاي{ZWNJ}", "U+200C"),  # at the end
        (f"ئالتاي {ZWNJ}شەھىرى", "U+200C"),  # beside a space
        (f"ئالتاي{ZWNJ}1", "U+200C"),  # beside a digit
        (
            f"ئال{ZWNJ}{ZWNJ}تاي",
            "U+200C",
        ),  # two in a row: the first has a mark beside it
        (f"{ALM}12", "U+061C"),
        (f"张{ALM}三", "U+061C"),
        (f"ئال{ALM}تاي{ALM}", "U+061C"),  # the second one, at the end
    ],
)
def test_the_marks_are_refused_outside_an_arabic_script_word(text, found):
    assert hidden_character_in(text) == found
    assert found in plain_text_problem(text)


@pytest.mark.parametrize(
    "mark",
    [
        "\u200b",  # zero-width space
        "\u200d",  # zero-width joiner
        "\u200e",  # left-to-right mark
        "\u200f",  # right-to-left mark
        "\u202b",  # right-to-left embedding
        "\u202e",  # right-to-left override
        "\u2066",  # left-to-right isolate
        "\u2067",  # right-to-left isolate
        "\u2069",  # pop directional isolate
        "\ufeff",  # byte order mark
    ],
)
def test_other_format_and_bidi_characters_are_refused_inside_arabic_words_too(mark):
    assert hidden_character_in(f"ئال{mark}تاي") == f"U+{ord(mark):04X}"
