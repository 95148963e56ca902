"""The three languages of the pages trainees and the public read (issue 17): every string
of those pages has a translation in Uyghur and in Kazakh (Arabic script), and the
compiled catalogues (.mo, committed so that `make run` needs no gettext) say what
their sources (.po) say. The folders and modules checked are listed once, in
altay_skills.languages: a page merged into one of those folders is checked with them."""

from __future__ import annotations

import ast
import gettext
import importlib
import re
from pathlib import Path

from django.conf import settings
from django.utils.translation import to_locale
from django.utils.translation.template import templatize

import pytest

from altay_skills import languages

BASE = Path(settings.BASE_DIR)
HAN = re.compile(r"[\u3400-\u9fff\uff08\uff09\uff1a\uff0c\u3001\u3002]")


# --- the .po files, read without any package ------------------------------------------
def _unquote(lines: list[str]) -> str:
    return "".join(ast.literal_eval(line) for line in lines)


def po_entries(path: Path) -> list[dict[str, object]]:
    """Each entry of a .po file: msgid (``context\\x04msgid`` with a context), msgstr
    (a list of forms for a plural), flags, references (#:); obsolete entries (#~) are
    left out. Enough of the format for the files makemessages writes."""
    entries = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        lines = [line for line in block.splitlines() if line.strip()]
        if not lines or all(line.startswith("#~") for line in lines):
            continue
        entry: dict[str, object] = {"flags": set(), "references": []}
        key = None
        parts: dict[str, list[str]] = {}
        for line in lines:
            if line.startswith("#,"):
                entry["flags"] = {f.strip() for f in line[2:].split(",")}
            elif line.startswith("#:"):
                entry["references"] += line[2:].split()  # type: ignore[operator]
            elif line.startswith("#"):
                continue
            elif line.startswith('"'):
                parts[key].append(line)  # type: ignore[index]
            else:
                key, _, rest = line.partition(" ")
                parts[key] = [rest]
        msgid = _unquote(parts["msgid"])
        if "msgctxt" in parts:
            msgid = _unquote(parts["msgctxt"]) + "\x04" + msgid
        entry["msgid"] = msgid
        if "msgid_plural" in parts:
            forms = sorted(k for k in parts if k.startswith("msgstr["))
            entry["msgstr"] = [_unquote(parts[k]) for k in forms]
        else:
            entry["msgstr"] = _unquote(parts["msgstr"])
        entries.append(entry)
    return entries


def translated_pairs(path: Path) -> dict[object, str]:
    """A .po file's translations as gettext's catalogue keys them."""
    pairs: dict[object, str] = {}
    for e in po_entries(path):
        if not e["msgid"] or "fuzzy" in e["flags"]:  # type: ignore[operator]
            continue
        if isinstance(e["msgstr"], list):
            if any(e["msgstr"]):
                pairs.update({(e["msgid"], n): f for n, f in enumerate(e["msgstr"])})
        elif e["msgstr"]:
            pairs[e["msgid"]] = e["msgstr"]  # type: ignore[assignment]
    return pairs


def catalogue_folder(language: str) -> Path:
    return BASE / languages.VISITOR_CATALOGUES[language] / "LC_MESSAGES"


def compiled(language: str) -> gettext.GNUTranslations:
    with (catalogue_folder(language) / "django.mo").open("rb") as fh:
        return gettext.GNUTranslations(fh)


VISITOR_LANGUAGES = [code for code, _ in settings.LANGUAGES if code != "zh-hans"]


# --- the catalogues exist where Django looks ------------------------------------------
def test_the_visitor_languages_are_chinese_uyghur_and_kazakh_in_arabic_script():
    assert [code for code, _ in settings.LANGUAGES] == ["zh-hans", "ug", "kk-arab"]
    assert set(languages.VISITOR_CATALOGUES) == set(VISITOR_LANGUAGES)
    for language, folder in languages.VISITOR_CATALOGUES.items():
        assert folder == f"locale/{to_locale(language)}"  # ug, kk_Arab
        assert (BASE / folder / "LC_MESSAGES/django.po").exists()


@pytest.mark.parametrize(
    "folder", ["locale/ug", "locale/kk_Arab", "locale/packages/kk_Arab"]
)
def test_the_compiled_catalogue_matches_its_source(folder):
    """django.mo is `make messages`' msgfmt of django.po: same translations, no more."""
    messages = BASE / folder / "LC_MESSAGES"
    with (messages / "django.mo").open("rb") as fh:
        catalogue = gettext.GNUTranslations(fh)
    found = {k: v for k, v in catalogue._catalog.items() if k}  # type: ignore[attr-defined]
    assert found == translated_pairs(messages / "django.po")


def test_django_speaks_kazakh_in_the_arabic_script_not_the_cyrillic():
    """gettext falls back from kk_Arab to Django's and DRF's kk (Cyrillic) catalogues:
    locale/packages/kk_Arab, transliterated, comes first."""
    from django.utils import translation

    cyrillic = re.compile(r"[\u0400-\u04ff]")
    with translation.override("kk-arab"):
        for message in (
            "This field is required.",
            "Enter a valid value.",
            "Not found.",
            "A valid integer is required.",
        ):
            text = translation.gettext(message)
            assert not cyrillic.search(text), (message, text)
            assert re.search(r"[\u0600-\u06ff]", text), (message, text)
    for entry in po_entries(BASE / "locale/packages/kk_Arab/LC_MESSAGES/django.po"):
        forms = (
            entry["msgstr"] if isinstance(entry["msgstr"], list) else [entry["msgstr"]]
        )
        assert not any(cyrillic.search(f) for f in forms), entry["msgid"]


def test_the_transliteration_writes_kazakh_the_way_it_is_written_in_china():
    from altay_skills.management.commands.transliterate_kazakh import transliterate

    assert transliterate("Бұл мән міндетті.") == "بۇل ٴمان مىندەتتى."
    assert transliterate("Қазақша") == "قازاقشا"
    assert transliterate("%(limit_value)s, тіл?") == "%(limit_value)s، ٴتىل؟"


# --- every string of a visitor page has its translations ------------------------------
def visitor_templates() -> list[Path]:
    found = []
    for folder in languages.VISITOR_TEMPLATE_DIRS:
        found += sorted((BASE / folder).rglob("*.html"))
        found += sorted((BASE / folder).rglob("*.txt"))
    return found


GETTEXT_CALL = re.compile(
    r"\b(?:gettext|_)\(u?('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
)


def template_messages(path: Path) -> set[str]:
    """The msgids of a template, as makemessages finds them (Django's templatize)."""
    code = templatize(path.read_text(encoding="utf-8"), origin=str(path))
    return {ast.literal_eval(m.group(1)) for m in GETTEXT_CALL.finditer(code)}


def test_the_scan_finds_the_public_pages_and_their_strings():
    templates = {p.relative_to(BASE).as_posix() for p in visitor_templates()}
    assert "templates/public/base.html" in templates
    assert "templates/public/disclosure.html" in templates
    assert "资金使用情况" in template_messages(BASE / "templates/public/base.html")


def test_every_page_built_on_the_public_base_is_in_a_checked_folder():
    checked = set(visitor_templates())
    for path in (BASE / "templates").rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        if re.search(r"{%\s*extends\s+[\"']public/base\.html[\"']", text):
            assert path in checked, (
                f"{path.relative_to(BASE)} extends public/base.html: add its folder "
                "to altay_skills.languages.VISITOR_TEMPLATE_DIRS"
            )


def visible_chinese_outside_translation(text: str) -> list[str]:
    """Chinese typed into a visitor template outside {% translate %}: what a Uyghur
    or Kazakh reader would meet untranslated. Text marked lang="zh-hans" (an
    institution's registered name, the notice's quoted wording) is Chinese on purpose."""
    text = re.sub(r"{#.*?#}", "", text)
    text = re.sub(r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}", "", text, flags=re.S)
    text = re.sub(
        r"{%\s*blocktrans(?:late)?\b.*?{%\s*endblocktrans(?:late)?\s*%}",
        "",
        text,
        flags=re.S,
    )
    text = re.sub(r"{%.*?%}|{{.*?}}", "", text, flags=re.S)
    text = re.sub(r"<(\w+)[^>]*\blang=\"zh-hans\"[^>]*>.*?</\1>", "", text, flags=re.S)
    return HAN.findall(text)


@pytest.mark.parametrize(
    "path", visitor_templates(), ids=lambda p: p.relative_to(BASE).as_posix()
)
def test_a_visitor_template_types_no_chinese_outside_translate(path):
    assert not visible_chinese_outside_translation(path.read_text(encoding="utf-8"))


def visitor_messages() -> dict[str, str]:
    """Every msgid a visitor page shows, with where it comes from."""
    found: dict[str, str] = {}
    for path in visitor_templates():
        for msgid in template_messages(path):
            found.setdefault(msgid, path.relative_to(BASE).as_posix())
    for dotted in languages.VISITOR_CHOICES:
        module, _, name = dotted.rpartition(".")
        choices = getattr(importlib.import_module(module), name)
        for label in choices.labels:
            found.setdefault(label._args[0], dotted)
    return found


@pytest.mark.parametrize("language", VISITOR_LANGUAGES)
def test_every_string_of_the_visitor_pages_is_translated(language):
    catalogue = compiled(language)._catalog  # type: ignore[attr-defined]
    messages = visitor_messages()
    assert len(messages) > 50
    untranslated = sorted(
        f"{where}: {msgid}"
        for msgid, where in messages.items()
        if not catalogue.get(msgid)
    )
    assert not untranslated, f"no {language} translation:\n" + "\n".join(untranslated)


@pytest.mark.parametrize("language", VISITOR_LANGUAGES)
def test_every_catalogue_entry_of_a_visitor_module_is_translated(language):
    """The entries makemessages took from a visitor template or module (#: lines)."""
    sources = languages.VISITOR_TEMPLATE_DIRS + languages.VISITOR_SOURCE_FILES
    entries = po_entries(catalogue_folder(language) / "django.po")
    visitor = [
        e
        for e in entries
        if e["msgid"]
        and any(
            ref.startswith(sources)
            for ref in e["references"]  # type: ignore[attr-defined]
        )
    ]
    assert len(visitor) > 50
    missing = [
        e["msgid"]
        for e in visitor
        if not e["msgstr"] or "fuzzy" in e["flags"]  # type: ignore[operator]
    ]
    assert not missing


@pytest.mark.parametrize("language", VISITOR_LANGUAGES)
def test_a_translation_keeps_its_placeholders_and_markup(language):
    """%(quarter)s, <bdi dir="ltr"> … stay in the translation: a lost placeholder
    drops a figure; a lost isolate lets a number run into right-to-left text."""
    for e in po_entries(catalogue_folder(language) / "django.po"):
        if not e["msgstr"]:
            continue
        for pattern in (r"%\(\w+\)s", r"<bdi[^>]*>", r"</bdi>"):
            assert sorted(re.findall(pattern, e["msgid"])) == sorted(  # type: ignore[arg-type]
                re.findall(pattern, e["msgstr"])  # type: ignore[arg-type]
            ), e["msgid"]
