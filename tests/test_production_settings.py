"""Production settings (issue 6, item 8): ``check --deploy`` clean, secure cookies, HSTS,
a Content-Security-Policy the pages keep to, no debug pages, gunicorn with whitenoise."""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import include, path

import pytest

from accounts.models import Role
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parent.parent
HOST = "altay.example.cn"
#: The policy every page but the two API docs pages carries (settings.py).
SITE_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "style-src-attr": "'unsafe-inline'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
    "base-uri": "'self'",
    "object-src": "'none'",
}


def production_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DEBUG",
            "SECRET_KEY",
            "AUDIT_KEY",
            "DATABASE_URL",
            "REDIS_URL",
            "STATIC_ROOT",
            "DJANGO_ALLOW_ASYNC_UNSAFE",  # the browser tests set it; deploy must not
        }
    }
    env.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(48)[:50],
        AUDIT_KEY=secrets.token_urlsafe(48),
        ALLOWED_HOSTS=HOST,
        DJANGO_SETTINGS_MODULE="altay_skills.settings",
    )
    env.update(extra)
    return env


def run(args: list[str], env: dict[str, str], timeout: int = 120) -> Any:
    return subprocess.run(
        args,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def policy_of(header: str) -> dict[str, str]:
    directives = (part.strip().split(None, 1) for part in header.split(";"))
    return {d[0]: d[1] if len(d) > 1 else "" for d in directives if d}


# --- Settings --------------------------------------------------------------------------------
def test_check_deploy_has_no_warnings_under_the_production_settings():
    result = run(
        [
            sys.executable,
            "manage.py",
            "check",
            "--deploy",
            "--fail-level",
            "WARNING",
        ],
        production_env(),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_settings_make_cookies_secure_and_turn_on_hsts():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "s.SESSION_COOKIE_HTTPONLY, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, "
        "s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD, s.X_FRAME_OPTIONS, "
        "s.SECURE_REFERRER_POLICY, s.SECURE_CROSS_ORIGIN_OPENER_POLICY, "
        "s.SECURE_CONTENT_TYPE_NOSNIFF, s.STORAGES['staticfiles']['BACKEND'])"
    )
    result = run([sys.executable, "-c", code], production_env())
    assert result.returncode == 0, result.stderr
    values = result.stdout.split()
    debug, session, csrf, httponly, redirect, hsts, subdomains, preload = values[:8]
    assert debug == "False"
    assert session == csrf == httponly == redirect == subdomains == preload == "True"
    assert int(hsts) >= 365 * 24 * 3600
    assert values[8:] == [
        "DENY",
        "same-origin",
        "same-origin",
        "True",
        "whitenoise.storage.CompressedManifestStaticFilesStorage",
    ]


def test_collectstatic_works_with_debug_off(tmp_path):
    result = run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        production_env(STATIC_ROOT=str(tmp_path)),
    )
    assert result.returncode == 0, result.stderr
    assert list((tmp_path / "vendor" / "bootstrap").glob("bootstrap.min.*.css"))
    assert list(tmp_path.rglob("*.map"))  # the vendor source maps are collected too
    assert (tmp_path / "staticfiles.json").is_file()


# --- Pages, in process ----------------------------------------------------------------------
@pytest.mark.django_db
def test_every_page_carries_the_content_security_policy(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert policy_of(response["Content-Security-Policy"]) == SITE_POLICY
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/docs/", "/api/redoc/"])
def test_the_api_docs_pages_add_only_what_their_inline_script_needs(client, url):
    response = client.get(url)
    assert response.status_code == 200
    policy = policy_of(response["Content-Security-Policy"])
    assert policy["script-src"] == "'self' 'unsafe-inline'"
    assert policy["style-src"] == "'self' 'unsafe-inline'"
    for directive in ("default-src", "connect-src", "img-src", "object-src"):
        assert policy[directive] == SITE_POLICY[directive]
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe-eval" not in response["Content-Security-Policy"]


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug with a secret in its message: 654301199001011234")


urlpatterns = [path("boom/", boom), path("", include("altay_skills.urls"))]


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_with_debug_off_errors_are_the_chinese_pages_not_debug_pages(client, settings):
    settings.DEBUG = False
    client.raise_request_exception = False
    missing = client.get("/no-such-page/")
    assert missing.status_code == 404
    body = missing.content.decode()
    assert "未找到该页面或记录" in body
    assert "URLconf" not in body and "Django" not in body
    assert "Content-Security-Policy" in missing.headers

    broken = client.get("/boom/")
    assert broken.status_code == 500
    body = broken.content.decode()
    assert "系统出现错误" in body
    assert "Traceback" not in body and "654301199001011234" not in body


# --- gunicorn + whitenoise, DEBUG off ----------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fetch(
    port: int,
    path: str,
    *,
    https: bool = True,
    method: str = "GET",
    body: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, http.client.HTTPMessage, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        sent = {"Host": HOST, **(headers or {})}
        if https:  # what the TLS reverse proxy adds
            sent["X-Forwarded-Proto"] = "https"
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


@pytest.fixture(scope="module")
def gunicorn_site(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, dict[str, str]]:
    """A migrated SQLite with an auditor, and the collected static files, made once for
    this module's gunicorn tests (half a minute each on a 2-core machine, CI's
    --durations): the directory and the keys they were made with."""
    site = tmp_path_factory.mktemp("gunicorn_site")
    env = production_env(
        DATABASE_URL=f"sqlite:///{site / 'db.sqlite3'}",
        STATIC_ROOT=str(site / "static"),
        MEDIA_ROOT=str(site / "media"),
    )
    manage = [sys.executable, "manage.py"]
    for step in (
        ["migrate", "--noinput", "-v0"],
        ["collectstatic", "--noinput", "-v0"],
        [
            "create_staff_user",
            "auditor1",
            "--role",
            Role.AUDITOR,
            "--password",
            "Pw-for-the-gunicorn-test-2019",
        ],
    ):
        result = run(manage + step, env, timeout=180)
        assert result.returncode == 0, result.stderr
    return site, {key: env[key] for key in ("SECRET_KEY", "AUDIT_KEY")}


@pytest.fixture
def gunicorn(tmp_path: Path, gunicorn_site: tuple[Path, dict[str, str]]) -> Any:
    """gunicorn -c gunicorn.conf.py on a loopback port, DEBUG off, its own copy of the
    migrated SQLite (a test's lockouts and sign-ins stay its own), the static files
    shared (read only)."""
    site, keys = gunicorn_site
    shutil.copyfile(site / "db.sqlite3", tmp_path / "db.sqlite3")
    port = free_port()
    env = production_env(
        ALLOWED_HOSTS=HOST,
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        STATIC_ROOT=str(site / "static"),
        MEDIA_ROOT=str(tmp_path / "media"),
        PORT=str(port),
        BIND_HOST="127.0.0.1",
        **keys,
    )
    log = (tmp_path / "gunicorn.log").open("w+")
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    server = subprocess.Popen(
        [gunicorn, "-c", "gunicorn.conf.py"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    pytest.fail(f"gunicorn did not start:\n{log.read()}")
                time.sleep(0.2)
        yield port, server, log
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=35)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=5)
        log.close()


def test_gunicorn_serves_the_app_and_its_static_files_with_debug_off(gunicorn):
    port, server, log = gunicorn

    # plain http is sent to https
    status, headers, _ = fetch(port, "/accounts/login/", https=False)
    assert status == 301
    assert headers["Location"] == f"https://{HOST}/accounts/login/"

    # behind the proxy: the page, its policy, HSTS, a Secure CSRF cookie
    status, headers, body = fetch(port, "/accounts/login/?next=/claims/")
    assert status == 200
    page = body.decode()
    assert "用户登录" in page
    assert policy_of(headers["Content-Security-Policy"]) == SITE_POLICY
    assert headers["Strict-Transport-Security"] == (
        "max-age=31536000; includeSubDomains; preload"
    )
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    csrf_cookie = next(
        c for c in headers.get_all("Set-Cookie") or [] if c.startswith("csrftoken=")
    )
    assert "Secure" in csrf_cookie and "SameSite=Lax" in csrf_cookie

    # a static file: hashed name, far-future cache, compressed by whitenoise
    css = re.search(r'href="(/static/app/app\.[0-9a-f]{12}\.css)"', page)
    assert css, "the page links its CSS by its hashed name (manifest storage)"
    status, headers, _ = fetch(port, css.group(1), headers={"Accept-Encoding": "gzip"})
    assert status == 200
    assert "max-age=315360000" in headers["Cache-Control"]
    assert "immutable" in headers["Cache-Control"]
    assert headers["Content-Encoding"] == "gzip"

    # signing in: the session cookie is Secure and HttpOnly
    token = csrf_cookie.split(";", 1)[0].split("=", 1)[1]
    form = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert form
    status, headers, _ = fetch(
        port,
        "/accounts/login/",
        method="POST",
        body=(
            f"csrfmiddlewaretoken={form.group(1)}&username=auditor1"
            "&password=Pw-for-the-gunicorn-test-2019"
        ),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={token}",
            "Origin": f"https://{HOST}",
            "Referer": f"https://{HOST}/accounts/login/",
        },
    )
    assert status == 302, status
    session = next(
        c for c in headers.get_all("Set-Cookie") or [] if c.startswith("sessionid=")
    )
    assert "Secure" in session and "HttpOnly" in session and "SameSite=Lax" in session

    # no debug page: an unknown address is the Chinese 404
    status, headers, body = fetch(port, "/no-such-page/")
    assert status == 404
    assert "未找到该页面或记录" in body.decode() and "URLconf" not in body.decode()

    # the access log carries no query strings (they can hold ID numbers)
    fetch(port, "/trainees/?q=654301199001011234")
    server.send_signal(signal.SIGTERM)
    assert server.wait(timeout=35) == 0  # a graceful stop
    log.seek(0)
    written = log.read()
    # (JSON lines with DEBUG off, issue 19)
    access = [
        json.loads(line)
        for line in written.splitlines()
        if line.startswith('{"') and '"gunicorn.access"' in line
    ]
    logins = {
        (a["method"], str(a["status"]))
        for a in access
        if a["path"] == "/accounts/login/"
    }
    assert ("GET", "200") in logins
    assert "654301199001011234" not in written and "next=" not in written


def test_gunicorn_s_access_and_error_logs_mask_id_numbers(gunicorn):
    """Issue 14 (1): gunicorn writes its access log itself, outside Django's logging:
    the path, the User-Agent and the referrer of a request are masked there too."""
    port, server, log = gunicorn
    number = "654301199501013773"  # valid: check character and birth date

    # given a 404 whose path is an ID number, and a User-Agent and referrer holding one
    status, _, _ = fetch(
        port,
        f"/trainees/{number}/",
        headers={
            "User-Agent": f"probe/1.0 ({number})",
            "Referer": f"https://{HOST}/trainees/{number}/",
        },
    )
    assert status in {302, 404}
    # and a run of 18 digits that is no ID number (a wrong check character)
    fetch(port, "/trainees/654301199501013774/")

    # when the server stops and its log is read
    server.send_signal(signal.SIGTERM)
    assert server.wait(timeout=35) == 0
    log.seek(0)
    written = log.read()

    # then the number is masked wherever it was written, and only that number
    assert number not in written
    assert "/trainees/654301********3773/" in written
    assert "probe/1.0 (654301********3773)" in written
    assert "/trainees/654301199501013774/" in written


def test_gunicorn_writes_json_lines_naming_the_request(gunicorn):
    """Issue 19: with DEBUG off every line is JSON — gunicorn's access line and the
    application's own — and both carry the request id the response answered; the
    application's names the route and the duration; ID numbers are masked in every field."""
    import json

    port, server, log = gunicorn
    number = "654301199501013773"
    status, headers, _ = fetch(port, f"/trainees/{number}/")
    request_id = headers["X-Request-ID"]
    assert status in {302, 404} and len(request_id) == 32
    # an id the proxy gave is kept; junk is replaced
    _, headers, _ = fetch(port, "/healthz", headers={"X-Request-ID": "proxy-1234abcd"})
    _, kept, _ = fetch(
        port, "/accounts/login/", headers={"X-Request-ID": "proxy-1234abcd"}
    )
    _, replaced, _ = fetch(port, "/accounts/login/", headers={"X-Request-ID": "<x y>"})
    assert kept["X-Request-ID"] == "proxy-1234abcd"
    assert replaced["X-Request-ID"] != "<x y>"

    server.send_signal(signal.SIGTERM)
    assert server.wait(timeout=35) == 0
    log.seek(0)
    lines = [
        json.loads(line) for line in log.read().splitlines() if line.startswith("{")
    ]
    mine = [line for line in lines if line.get("request_id") == request_id]
    by_logger = {line["logger"]: line for line in mine}
    assert set(by_logger) >= {"gunicorn.access", "altay_skills.requests"}, mine
    access, application = (
        by_logger["gunicorn.access"],
        by_logger["altay_skills.requests"],
    )
    assert access["path"] == application["path"] == "/trainees/654301********3773/"
    assert application["route"].endswith("trainee_detail")
    assert application["status"] == status
    assert isinstance(application["duration_ms"], float)
    assert number not in json.dumps(lines)


# --- The browser keeps to the policy ------------------------------------------------------------
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
});
"""
#: ReDoc's footer logo comes from cdn.redoc.ly: blocked on purpose, nothing leaves the
#: server (it shows its text instead).
EXPECTED_BLOCKS = {"https://cdn.redoc.ly/redoc/logo-mini.svg"}


def test_gunicorn_answers_the_api_in_json_and_locks_out_per_client(gunicorn):
    """Issue 14, items 5, 7 and 8 under gunicorn with DEBUG off: a deep or a 6 MB body,
    a token's POST to a missing path — JSON 400, 413, 404; five failed sign-ins through
    the proxy lock out that client only; a token opens the API and ends at logout."""
    import json

    port = gunicorn[0]

    def api(path: str, body: str = "", **headers: str) -> tuple[int, Any]:
        status, sent_headers, raw = fetch(
            port,
            path,
            method="POST" if body else "GET",
            body=body or None,
            headers={"Content-Type": "application/json", **headers},
        )
        assert sent_headers["Content-Type"].startswith("application/json"), raw[:200]
        return status, json.loads(raw)

    def sign_in(password: str, client: str) -> tuple[int, Any]:
        body = json.dumps({"username": "auditor1", "password": password})
        return api("/api/auth/token/", body, **{"X-Forwarded-For": client})

    deep = api("/api/auth/token/", "[" * 1000 + "]" * 1000)
    assert (deep[0], deep[1]["code"]) == (400, "parse_error")
    # 6 MB declared: the answer comes before a byte of the body is sent (as the proxy,
    # which buffers the whole body, would then pass it on)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        raw.sendall(
            (
                f"POST /api/auth/token/ HTTP/1.1\r\nHost: {HOST}\r\n"
                "X-Forwarded-Proto: https\r\nContent-Type: application/json\r\n"
                f"Content-Length: {6 * 1024 * 1024}\r\nConnection: close\r\n\r\n"
            ).encode()
        )
        answer = b""
        while chunk := raw.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), head
    assert b"application/json" in head
    assert json.loads(body)["code"] == "request_too_large"

    failures = [sign_in("wrong", "203.0.113.66")[0] for _ in range(5)]
    locked = sign_in("Pw-for-the-gunicorn-test-2019", "203.0.113.66")
    other = sign_in("Pw-for-the-gunicorn-test-2019", "203.0.113.9")
    assert failures == [400, 400, 400, 400, 429]  # the fifth failure locks out
    assert (locked[0], locked[1]["code"]) == (429, "locked_out")
    assert other[0] == 200

    auth = {"Authorization": f"Token {other[1]['token']}"}
    missing = api("/api/no-such-thing/", "{}", **auth)
    units = api("/api/units/", **auth)
    assert (missing[0], missing[1]["code"]) == (404, "not_found")
    assert units[0] == 200 and len(units[1]) == 9
    ended, _, _ = fetch(port, "/api/auth/logout/", method="POST", headers=auth)
    after = api("/api/units/", **auth)
    assert (ended, after[0], after[1]["code"]) == (204, 401, "authentication_failed")


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_main_pages_cause_no_csp_violation_in_chromium(
    live_server, trainee, institution
):
    from playwright.sync_api import expect, sync_playwright

    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, CHROMIUM_ENV, CONTEXT_ARGS

    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    UserFactory(
        username="csp_clerk",
        role=Role.COUNTY_CLERK,
        unit_id="654301",
        password="pw-Altay-2019",
    )
    base = live_server.url
    violations: list[str] = []

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, env=CHROMIUM_ENV
        )
        try:
            context = browser.new_context(**CONTEXT_ARGS)
            context.set_default_timeout(15_000)
            context.add_init_script(RECORD_VIOLATIONS)
            page = context.new_page()
            page.on(
                "console",
                lambda m: (
                    violations.append(f"{page.url}: {m.text}")
                    if "Content Security Policy" in m.text
                    and not any(b in m.text for b in EXPECTED_BLOCKS)
                    else None
                ),
            )

            def collect() -> None:
                page.wait_for_load_state("networkidle")
                for v in page.evaluate("window.__cspViolations"):
                    if not any(v.endswith(b) for b in EXPECTED_BLOCKS):
                        violations.append(f"{page.url}: {v}")

            page.goto(f"{base}/accounts/login/")
            collect()
            page.get_by_label("用户名").fill("csp_clerk")
            page.get_by_label("密码").fill("pw-Altay-2019")
            page.get_by_role("button", name="登录").click()
            expect(page.get_by_test_id("current-user")).to_be_visible()
            collect()

            # the claim form: htmx swaps in the decision panel as fields change
            page.goto(f"{base}/claims/new/?trainee={trainee.pk}")
            expect(page.get_by_test_id("chosen-trainee")).to_be_visible()
            page.select_option("#id_program", "9")
            page.select_option("#id_trade", "4-03-02-01")
            page.select_option("#id_level", "intermediate")
            page.select_option("#id_institution", str(institution.pk))
            page.fill("#id_training_start", "2020-03-01")
            page.fill("#id_training_end", "2020-03-31")
            page.check("#id_passed")
            page.fill("#id_certificate_number", "CSP-0001")
            page.select_option("#id_employment", "employed")
            page.fill("#id_amount_requested", "1800")
            page.locator("#id_amount_requested").blur()
            decision = page.get_by_test_id("decision")
            expect(decision).to_have_attribute("data-eligible", "true")
            collect()
            for url in ("/claims/", "/trainees/", "/public/disclosure/"):
                page.goto(f"{base}{url}")
                collect()

            # Swagger UI and ReDoc lay the whole schema out in the page's script:
            # seconds on a busy machine (CI saw ReDoc still "Loading ..." after 5)
            page.goto(f"{base}/api/docs/")
            expect(page.locator(".swagger-ui .info")).to_be_visible(timeout=30_000)
            collect()
            page.goto(f"{base}/api/redoc/")
            expect(
                page.locator(
                    "h1", has_text="阿勒泰地区职业技能提升补贴申报系统 API"
                ).first
            ).to_be_visible(timeout=30_000)
            collect()
        finally:
            browser.close()
    assert violations == []
