"""Kazakh in the Arabic script for the strings of Django and DRF (issue 17).

``kk-arab`` pages found no catalogue of Django's own for ``kk_Arab``, and Python's
gettext then takes the base language's, ``kk``: Django's and DRF's Kazakh in the
Cyrillic script ("Бұл мән міндетті.") inside Arabic-script pages. This command writes
``locale/packages/kk_Arab/LC_MESSAGES/django.po`` (second in LOCALE_PATHS, so it wins
over the packages' own catalogues and loses to the project's): each message of the
installed packages' ``kk`` catalogues, transliterated letter by letter from the Cyrillic
to the Arabic-based script used in China (the hamza ٴ before a front-vowel word without
ە, ك or گ). A transliteration, not a translation: docs/translations.md lists it as
unreviewed. Run by ``make messages``; tests/test_translations.py checks the result.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path
from typing import Any

import django
from django.conf import settings
from django.core.management.base import BaseCommand

import rest_framework

CYRILLIC_TO_ARABIC = {
    "а": "ا", "ә": "ا", "б": "ب", "в": "ۆ", "г": "گ", "ғ": "ع", "д": "د", "е": "ە",
    "ё": "يو", "ж": "ج", "з": "ز", "и": "ي", "й": "ي", "к": "ك", "қ": "ق", "л": "ل",
    "м": "م", "н": "ن", "ң": "ڭ", "о": "و", "ө": "و", "п": "پ", "р": "ر", "с": "س",
    "т": "ت", "у": "ۋ", "ұ": "ۇ", "ү": "ۇ", "ф": "ف", "х": "ح", "һ": "ھ", "ц": "تس",
    "ч": "چ", "ш": "ش", "щ": "ش", "ъ": "", "ы": "ى", "і": "ى", "ь": "", "э": "ە",
    "ю": "يۋ", "я": "يا",
}  # fmt: skip
FRONT = set("әөүі")
HARD_FRONT = set("екг")  # a word with these shows its front vowels without the hamza
PUNCTUATION = {",": "،", "?": "؟", ";": "؛"}
WORD = re.compile(r"[А-Яа-яЁёӘәҒғҚқҢңӨөҰұҮүҺһІі]+")
#: Placeholders and markup keep their characters (and their commas).
PROTECTED = re.compile(r"%\(\w+\)[sdifr]|%[sdifr]|\{[^}]*\}|<[^>]*>|&\w+;")
SOURCES = (
    Path(django.__file__).parent / "conf/locale/kk/LC_MESSAGES/django.mo",
    Path(rest_framework.__file__).parent / "locale/kk/LC_MESSAGES/django.mo",
)


def transliterate_word(word: str) -> str:
    lower = word.lower()
    text = "".join(CYRILLIC_TO_ARABIC.get(c, c) for c in lower)
    if FRONT & set(lower) and not HARD_FRONT & set(lower):
        text = "\u0674" + text
    return text


def transliterate(message: str) -> str:
    out = []
    position = 0
    for match in PROTECTED.finditer(message):
        out.append(_plain(message[position : match.start()]))
        out.append(match.group(0))
        position = match.end()
    out.append(_plain(message[position:]))
    return "".join(out)


def _plain(text: str) -> str:
    text = WORD.sub(lambda m: transliterate_word(m.group(0)), text)
    if re.search(r"[\u0600-\u06ff]", text):
        text = "".join(PUNCTUATION.get(c, c) for c in text)
    return text


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def read_mo(path: Path) -> list[tuple[str, list[str]]]:
    """A compiled catalogue's entries as (original, translations): the original keeps
    its context (``ctx\\x04msgid``) and plural (``msgid\\x00msgid_plural``); plural
    translations are one per form. The GNU .mo layout, read as documented."""
    data = path.read_bytes()
    order = "<" if data[:4] == b"\xde\x12\x04\x95" else ">"
    _, count, originals, translations = struct.unpack(order + "4I", data[4:20])
    entries = []
    for index in range(count):
        length, offset = struct.unpack(order + "2I", data[originals + 8 * index :][:8])
        original = data[offset : offset + length].decode("utf-8")
        length, offset = struct.unpack(
            order + "2I", data[translations + 8 * index :][:8]
        )
        translated = data[offset : offset + length].decode("utf-8").split("\x00")
        if original and any(translated):
            entries.append((original, translated))
    return entries


def catalogue_text(messages: dict[str, list[str]]) -> str:
    lines = [
        "# Django's and DRF's Kazakh messages transliterated from the Cyrillic to the",
        "# Arabic-based script (manage.py transliterate_kazakh; do not edit by hand).",
        'msgid ""',
        'msgstr ""',
        '"Project-Id-Version: altay-skills\\n"',
        '"MIME-Version: 1.0\\n"',
        '"Content-Type: text/plain; charset=UTF-8\\n"',
        '"Content-Transfer-Encoding: 8bit\\n"',
        '"Language: kk_Arab\\n"',
        '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"',
        "",
    ]
    for key in sorted(messages):
        context, _, ids = key.rpartition("\x04")
        msgid, _, plural = ids.partition("\x00")
        if context:
            lines.append(f"msgctxt {_quote(context)}")
        lines.append(f"msgid {_quote(msgid)}")
        forms = messages[key]
        if plural:
            lines.append(f"msgid_plural {_quote(plural)}")
            forms = (forms + forms[-1:])[:2]  # nplurals=2
            lines += [f"msgstr[{n}] {_quote(form)}" for n, form in enumerate(forms)]
        else:
            lines.append(f"msgstr {_quote(forms[0])}")
        lines.append("")
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Write locale/packages/kk_Arab from Django's and DRF's Cyrillic Kazakh."

    def handle(self, *args: Any, **options: Any) -> None:
        messages: dict[str, list[str]] = {}
        for source in SOURCES:
            for original, translated in read_mo(source):
                messages[original] = [transliterate(t) for t in translated]
        folder = Path(settings.BASE_DIR) / "locale/packages/kk_Arab/LC_MESSAGES"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "django.po").write_text(catalogue_text(messages), encoding="utf-8")
        self.stdout.write(f"{len(messages)} messages written to {folder}/django.po")
