"""Every page of every role, in Chromium, on the demo data (issue 15, "Done when"):
logged in as one demo user of each role, the walk follows the links of each page it
reaches from the home page (the navigation, the lists, their detail pages) and fails on

- any answer of 400 or more (the page, its styles and scripts, its htmx requests),
- any error in the browser's console (a script error, a CSP refusal, a failed load),
- any English word in the page's visible text outside an allow-list of product names
  and codes (API, XLSX, PDF …) and the demo's own login names.

It runs under the settings ``make run`` uses (DEBUG=1) and the production ones (DEBUG
off): pytest-django turns DEBUG off, so each run sets it. The demo data is
``seed_demo``'s, made afresh for each run (a transactional test, so that the live
server sees it).

The API's docs (Swagger UI, ReDoc) are visited for answers and console errors only:
their controls are the tools' own English, and the schema's names are the API's.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from django.conf import settings as django_settings
from django.core.management import call_command

import pytest
from playwright.sync_api import Browser, Page

from tests.e2e.conftest import CONTEXT_ARGS

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

DEMO = json.loads(
    (Path(django_settings.BASE_DIR) / "programs/data/demo.json").read_text("utf-8")
)
PASSWORD = DEMO["password"]
#: One demo user of each role (demo.json), and a second county clerk's unit.
ROLES = tuple(
    os.environ.get(
        "PAGE_WALK_ROLES", "admin reviewer finance auditor clerk_654301 clerk_654321"
    ).split()
)

#: Standalone Latin words a Chinese page may show: product names, file types, codes.
ALLOWED_WORDS = {
    "API",
    "XLSX",
    "Excel",
    "WPS",
    "PDF",
    "CSV",
    "GBK",
    "UTF",
    "SHA",
    "PNG",
    "JPEG",
    "JSON",
    "HTTP",
    "HTTPS",
    "URL",
    "OpenAPI",
    "Swagger",
    "ReDoc",
    "Token",
    "Authorization",
    "CSRF",
    "LDAP",
}
#: Elements whose text is a code, not a word (the admin's code columns).
CODES = ".field-code, code, kbd"
#: The demo's login names (shown where a person is named by their account).
LOGIN_WORDS = {
    word
    for user in DEMO["users"] + DEMO["institution_staff"]
    for word in re.findall(r"[A-Za-z]{3,}", user["username"])
}
#: A word of three or more Latin letters; not a piece of a code (letters and digits
#: together, as in a credit code 91654301MA7755U8GE or a quarter 2020Q1).
WORD = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{3,}(?![A-Za-z0-9])")

#: Pages a walk does not open: they change something, or answer a file, not a page.
NOT_PAGES = re.compile(
    r"logout|/delete/|\.xlsx|\.pdf|\.csv|/export|/download|/xlsx/|/template"
    r"|/reveal|/api/(?!docs/$|redoc/$)"
)
#: How many pages of one shape (digits replaced) a role's walk opens, and in all.
PER_SHAPE = 2
PER_ROLE = 70
API_DOCS = ("/api/docs/", "/api/redoc/")


@dataclass
class Walk:
    role: str
    problems: list[str] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)


#: The page's title and visible text, codes left out, and the addresses of its links
#: (one round trip); null while the page may still ask for more (``LATE_REQUESTS``,
#: when given).
PAGE_READ = """([codes, late]) => {
  if (late && document.querySelector(late)) return null;
  const hidden = [...document.querySelectorAll(codes)];
  const before = hidden.map(e => e.style.visibility);
  hidden.forEach(e => { e.style.visibility = "hidden"; });
  const text = document.title + "\\n" + document.body.innerText;
  hidden.forEach((e, i) => { e.style.visibility = before[i]; });
  const links = [
    ...document.querySelectorAll("a[href]:not([download]):not([target=_blank])")
  ].map(e => e.getAttribute("href"));
  return {text, links};
}"""


def english_words(text: str) -> list[str]:
    allowed = {w.lower() for w in ALLOWED_WORDS | LOGIN_WORDS}
    return sorted({w for w in WORD.findall(text) if w.lower() not in allowed})


def shape(path: str) -> str:
    return re.sub(r"\d+", "N", path)


#: Seconds with no request in flight after which a page counts as settled: its htmx
#: panels asked for on load have answered. (Playwright's "networkidle" waits 500 ms
#: after the last one on every page: 4 of the walk's 9 minutes.)
QUIET = 0.15
#: The longest a page may take to settle.
SETTLE_LIMIT = 15.0
#: What asks for more once a page has loaded: htmx panels fetched on load or when
#: seen. A page with none of them, and nothing in flight when it has loaded, is
#: settled then (the site's pages: the quiet wait was 0.17 s of each page's 0.4);
#: the API's docs, whose own scripts fetch the schema, wait for the quiet.
LATE_REQUESTS = (
    '[hx-trigger*="load"], [hx-trigger*="revealed"], [hx-trigger*="intersect"]'
)


class Traffic:
    """The page's requests in flight (Playwright reports them as events, delivered
    while the test waits in a Playwright call)."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.open: set[Any] = set()
        page.on("request", self.started)
        page.on("requestfinished", self.ended)
        page.on("requestfailed", self.ended)

    def started(self, request: Any) -> None:
        self.open.add(request)

    def ended(self, request: Any) -> None:
        self.open.discard(request)

    def settle(self) -> None:
        """Wait until nothing has been in flight for ``QUIET`` seconds."""
        deadline = time.monotonic() + SETTLE_LIMIT
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            self.page.wait_for_timeout(25)  # lets the events in
            if self.open:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= QUIET:
                return
        raise AssertionError(
            f"{self.page.url}: requests still open after {SETTLE_LIMIT} s: "
            + ", ".join(sorted(r.url for r in self.open))
        )


def log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    if not page.get_by_label("用户名").count():
        raise AssertionError(f"no login form at {page.url}: {page.content()[:3000]}")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state("networkidle")
    assert "/accounts/login/" not in page.url, f"{username} could not log in"


def links_of(hrefs: list[str], page: Page, base: str) -> list[str]:
    """The pages of this site among a page's links (``NOT_PAGES`` left out)."""
    found = []
    for href in hrefs:
        if not href or href.startswith(("#", "javascript:", "mailto:")):
            continue
        url = urljoin(page.url, href)
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" != base:
            continue
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if not NOT_PAGES.search(path):
            found.append(path)
    return found


def walk_role(
    browser: Browser,
    base: str,
    username: str,
    screenshot: Callable[[Page, str], Path],
    label: str,
) -> Walk:
    walk = Walk(username)
    context = browser.new_context(**CONTEXT_ARGS)  # a session of its own
    context.set_default_timeout(15_000)
    page = context.new_page()
    current = {"path": "login"}

    def on_response(response: Any) -> None:
        if response.status >= 400:
            walk.problems.append(
                f"{current['path']}: {response.status} {response.request.method} "
                f"{response.url.removeprefix(base)}"
            )

    def on_console(message: Any) -> None:
        if message.type == "error":
            walk.problems.append(f"{current['path']}: console: {message.text}")

    page.on("response", on_response)
    page.on("console", on_console)
    page.on("pageerror", lambda e: walk.problems.append(f"{current['path']}: {e}"))
    traffic = Traffic(page)
    log_in(page, base, username)
    queue: deque[str] = deque(["/"])
    if username == "reviewer":
        queue.extend(API_DOCS)
    seen: set[str] = set()
    shapes: dict[str, int] = {}
    while queue and len(walk.pages) < PER_ROLE:
        path = queue.popleft()
        # a list's further pages (page numbers, keyset cursors) are one page to walk
        paged = "page=" in path or "cursor=" in path
        key = path.split("?")[0] if paged else path
        if key in seen or shapes.get(shape(key), 0) >= PER_SHAPE:
            continue
        seen.add(key)
        shapes[shape(key)] = shapes.get(shape(key), 0) + 1
        current["path"] = path
        response = page.goto(base + path)
        if path in API_DOCS or traffic.open:  # its scripts fetch once it has loaded
            traffic.settle()
        walk.pages.append(path)
        if response is None:
            walk.problems.append(f"{path}: no answer")
            continue
        if not response.headers.get("content-type", "").startswith("text/html"):
            continue
        if path not in API_DOCS:
            read = page.evaluate(PAGE_READ, [CODES, LATE_REQUESTS])
            if read is None:  # its htmx panels answer first
                traffic.settle()
                read = page.evaluate(PAGE_READ, [CODES, ""])
            words = english_words(read["text"])
            if words:
                walk.problems.append(f"{path}: English: {', '.join(words)}")
                screenshot(page, f"page-walk-{label}-{username}-{len(walk.pages)}")
            queue.extend(links_of(read["links"], page, base))
    context.close()
    return walk


@pytest.fixture(params=[True, False], ids=["debug", "production"])
def debug(request: pytest.FixtureRequest, settings: Any) -> bool:
    settings.DEBUG = request.param
    return bool(request.param)


@pytest.fixture
def demo(db: Any) -> None:
    call_command("seed_demo", verbosity=0)


@pytest.mark.long  # two and a half minutes each on a 2-core machine (CI's --durations)
def test_every_page_of_every_role_is_chinese_and_answers(
    debug: bool,
    demo: None,
    live_server: Any,
    browser: Browser,
    screenshot: Callable[[Page, str], Path],
) -> None:
    label = "debug" if debug else "production"
    walks = [
        walk_role(browser, live_server.url, username, screenshot, label)
        for username in ROLES
    ]
    # each role reached more than its home page
    for walk in walks:
        assert len(walk.pages) >= 3, (walk.role, walk.pages)
    report = [f"{w.role}: {p}" for w in walks for p in dict.fromkeys(w.problems)]
    visited = sum(len(w.pages) for w in walks)
    assert not report, f"{len(report)} problems on {visited} pages:\n" + "\n".join(
        report
    )
