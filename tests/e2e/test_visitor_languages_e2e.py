"""The public pages in Uyghur and in Kazakh (Arabic script), in Chromium (issue 17):
the page reads right to left (the computed ``direction``), the Arabic script is drawn
with the font the app serves (not a fallback, not boxes), numbers and amounts stay left
to right inside it, the switcher goes back to Chinese, and nothing fails to load (no
console error: a refused font or style sheet would show there). Under the settings
``make run`` uses (DEBUG=1) and the production ones; screenshots of each under
test-artifacts/screenshots/visitor-*.png (looked at: the script is joined and legible)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.management import call_command

import pytest
from playwright.sync_api import Browser, Page

from tests.e2e.conftest import CONTEXT_ARGS

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

#: Each language's page title on the disclosure page, and the switcher's own name.
TITLES = {
    "ug": "كەسپىي ماھارەت ئۆستۈرۈش ھەرىكىتى ياردەم پۇلىنىڭ ئىشلىتىلىش ئەھۋالى",
    "kk-arab": "كاسىپتىك شەبەرلىك ارتتىرۋ قيمىلى دەمەۋ قارجىسىنىڭ جۇمسالۋ جاعدايى",
}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(params=[True, False], ids=["debug", "production"])
def debug(request: pytest.FixtureRequest, settings: Any) -> bool:
    settings.DEBUG = request.param
    return bool(request.param)


@pytest.fixture
def demo(db: Any) -> None:
    call_command("seed_demo", verbosity=0)


def failures_of(page: Page) -> list[str]:
    """The console errors and failed loads of ``page``, as they come."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on(
        "response",
        lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    return errors


def font_of(page: Page, selector: str) -> dict[str, Any]:
    return page.evaluate(
        """(selector) => {
          const el = document.querySelector(selector);
          const style = getComputedStyle(el);
          return {direction: style.direction, family: style.fontFamily,
                  text: el.textContent.trim()};
        }""",
        selector,
    )


@pytest.mark.parametrize("language", ["ug", "kk-arab"])
def test_a_public_page_reads_right_to_left_in_the_arabic_script(
    language: str,
    debug: bool,
    demo: None,
    live_server: Any,
    browser: Browser,
    screenshot: Callable[[Page, str], Path],
) -> None:
    label = "debug" if debug else "production"
    for viewport, size in (("desktop", CONTEXT_ARGS["viewport"]), ("phone", PHONE)):
        context = browser.new_context(**{**CONTEXT_ARGS, "viewport": size})
        page = context.new_page()
        errors = failures_of(page)
        page.goto(f"{live_server.url}/public/disclosure/?quarter=all&lang={language}")
        page.evaluate("document.fonts.ready")

        root = page.evaluate(
            "({dir: getComputedStyle(document.documentElement).direction,"
            " lang: document.documentElement.lang})"
        )
        assert root == {"dir": "rtl", "lang": language}
        heading = font_of(page, "h1")
        assert heading["direction"] == "rtl"
        assert heading["text"] == TITLES[language]
        assert heading["family"].startswith('"Noto Naskh Arabic"')
        # the served font is the one drawing the text: loaded, and it has the letters
        loaded = page.evaluate(
            """() => [...document.fonts].filter(f => f.family.includes('Noto Naskh Arabic')
                 && f.status === 'loaded').length"""
        )
        assert loaded >= 1
        assert page.evaluate(
            "(text) => document.fonts.check('16px \"Noto Naskh Arabic\"', text)",
            TITLES[language],
        )
        # the mirrored layout: the title starts at the right edge of its container
        box = page.evaluate(
            """() => { const r = document.createRange();
                 r.selectNodeContents(document.querySelector('h1'));
                 const h = r.getBoundingClientRect();
                 const c = document.querySelector('main .container-xl').getBoundingClientRect();
                 return {gapRight: c.right - h.right, gapLeft: h.left - c.left}; }"""
        )
        assert box["gapRight"] < box["gapLeft"]
        # an amount stays left to right inside the right-to-left page
        amount = font_of(page, "[data-testid=total-amount]")
        assert amount["direction"] == "ltr"
        assert amount["text"].replace(",", "").replace(".", "").isdigit()
        # nothing pushes the page wider than the screen (tables scroll in their box)
        assert page.evaluate(
            "document.documentElement.scrollWidth <= window.innerWidth"
        ), viewport
        screenshot(page, f"visitor-{label}-{language}-{viewport}")
        assert not errors, errors
        context.close()


def test_the_switcher_goes_back_to_chinese_left_to_right(
    demo: None, live_server: Any, browser: Browser, settings: Any
) -> None:
    settings.DEBUG = True
    context = browser.new_context(**CONTEXT_ARGS)
    page = context.new_page()
    response = page.goto(f"{live_server.url}/public/programs/?lang=ug")
    assert response is not None and response.status == 200
    assert (
        page.evaluate("getComputedStyle(document.documentElement).direction") == "rtl"
    )
    page.click("#public-nav [data-language=zh-hans]") if page.is_visible(
        "#public-nav [data-language=zh-hans]"
    ) else page.goto(f"{live_server.url}/public/programs/?lang=zh-hans")
    page.wait_for_load_state()
    assert (
        page.evaluate("getComputedStyle(document.documentElement).direction") == "ltr"
    )
    assert page.inner_text("h1") == "补贴性培训项目目录"
    # remembered: the next page, asked without a language, is Chinese too
    page.goto(f"{live_server.url}/public/institutions/")
    assert page.evaluate("document.documentElement.lang") == "zh-hans"
    context.close()
