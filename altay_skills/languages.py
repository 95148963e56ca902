"""Which language a page answers in (issues 17 and 19).

The staff pages and the staff API answer in Chinese whatever the browser prefers: a
clerk whose browser asked for English once got "This field is required." inside Chinese
pages. The pages trainees and the public read (``/public/…``, ``/t/…``) and their APIs
(``/api/public/…``, ``/api/confirmations/…``) follow the visitor's choice among three
languages: 简体中文, ئۇيغۇرچە (Uyghur, ``ug``) and قازاقشا (Kazakh in the Arabic-based
script used in China, ``kk-arab``; Django's own ``kk`` is Cyrillic, wrong for Altay).

The visitor chooses with the switcher (a plain link carrying ``?lang=``, remembered in
the language cookie), else the browser's ``Accept-Language``, else Chinese.
``VISITOR_PREFIXES`` is the one list of those paths.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.conf.locale import LANG_INFO
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.cache import patch_vary_headers

#: The paths whose visitors choose their language; every other path is Chinese.
VISITOR_PREFIXES = ("/public/", "/t/", "/api/public/", "/api/confirmations/")
#: The query parameter the switcher's links carry.
LANGUAGE_PARAMETER = "lang"
#: How long the chosen language is remembered (a year, in seconds).
COOKIE_AGE = 365 * 24 * 3600

#: Kazakh in the Arabic-based script, for Django's LANG_INFO (``get_language_info``,
#: ``{% get_language_info %}``): registered by ``register_languages`` at start-up.
KAZAKH_ARABIC = {
    "bidi": True,
    "code": "kk-arab",
    "name": "Kazakh (Arabic script)",
    "name_local": "قازاقشا",
    "name_translated": "哈萨克文",
}


def register_languages() -> None:
    """Teach Django the ``kk-arab`` language (AltaySkillsConfig.ready)."""
    LANG_INFO.setdefault("kk-arab", KAZAKH_ARABIC)


def is_visitor_path(path: str) -> bool:
    return path.startswith(VISITOR_PREFIXES)


def _supported(code: str) -> str | None:
    code = code.strip().lower()
    return code if code in dict(settings.LANGUAGES) else None


def visitor_language(request: HttpRequest) -> tuple[str, str | None]:
    """The language of a visitor's page and the one they just chose by a link, if any."""
    chosen = _supported(request.GET.get(LANGUAGE_PARAMETER, ""))
    if chosen:
        return chosen, chosen
    # the cookie, then Accept-Language, then LANGUAGE_CODE
    return translation.get_language_from_request(request, check_path=False), None


class LanguageMiddleware:
    """In place of Django's LocaleMiddleware: Chinese everywhere but on visitor paths."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        visitor = is_visitor_path(request.path_info)
        chosen = None
        if visitor:
            language, chosen = visitor_language(request)
        else:
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language  # type: ignore[attr-defined]
        response = self.get_response(request)
        if visitor:
            patch_vary_headers(response, ("Accept-Language", "Cookie"))
        if chosen:
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                chosen,
                max_age=COOKIE_AGE,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        response.headers.setdefault("Content-Language", language)
        return response


def visitor_languages(request: HttpRequest) -> dict[str, Any]:
    """Template context: the switcher's links on a visitor page (the same address and
    query, another language) and whether the page reads right to left."""
    if not is_visitor_path(request.path_info):
        return {}
    current = translation.get_language()
    links = []
    for code, _name in settings.LANGUAGES:
        query = request.GET.copy()
        query[LANGUAGE_PARAMETER] = code
        info = translation.get_language_info(code)
        links.append(
            {
                "code": code,
                "name": info["name_local"],
                "bidi": info["bidi"],
                "url": f"{request.path}?{urlencode(sorted(query.items()))}",
                "current": code == current,
            }
        )
    return {"visitor_languages": links}


#: The template folders of the pages trainees and the public read (the one list:
#: tests/test_translations.py checks every string in them has a translation in each
#: visitor language, and that every template extending public/base.html is in one).
VISITOR_TEMPLATE_DIRS = (
    "templates/public",
    "templates/confirmations",
    "templates/trainee",
    "templates/sms",
)
#: Python modules whose gettext strings are read on those pages (their catalogue
#: entries must be translated too), besides the choice labels the pages show.
VISITOR_SOURCE_FILES = (
    "reporting/selectors.py",
    "quarters/public_views.py",
    "quarters/forms.py",
    "quarters/throttles.py",
    "claims/confirmations.py",
    "claims/confirmation_views.py",
    "altay_skills/api.py",
)
#: The choice classes whose labels those pages show, as "module.Class".
VISITOR_CHOICES = (
    "programs.models.Fund",
    "programs.models.InstitutionKind",
    "claims.models.ConfirmationStatus",
)
#: The catalogues of the visitor languages other than Chinese (the source language).
VISITOR_CATALOGUES = {"ug": "locale/ug", "kk-arab": "locale/kk_Arab"}
