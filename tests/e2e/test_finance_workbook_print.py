"""Finance downloads the disbursement workbook from the rollup page in Chromium and
prints it (issue 15, "Done when"): LibreOffice prints the downloaded file to PDF, each
page is drawn to a PNG under test-artifacts/screenshots/ (looked at), and the pages
are read back: the title row and the header on every page, 9 pt or more.

Under the settings ``make run`` uses (DEBUG=1) and the production ones.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from django.core.management import call_command

import pytest
from playwright.sync_api import Page

from finance.models import Rollup
from tests.e2e.conftest import SCREENSHOTS
from tests.finance.test_workbook_renders import pages_text, printed_sizes, to_pdf

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(
        shutil.which("soffice") is None or shutil.which("pdftoppm") is None,
        reason="needs LibreOffice and poppler-utils (.ci/run installs them)",
    ),
]


@pytest.mark.parametrize("debug", [True, False], ids=["debug", "production"])
def test_finance_downloads_and_prints_the_workbook(
    debug: bool, settings: Any, tmp_path: Path, live_server: Any, page: Page
) -> None:
    settings.DEBUG = debug
    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("seed_demo", stdout=(tmp_path / "seed.txt").open("w"))
    rollup = Rollup.objects.filter(status="ready").order_by("-quarter").first()
    assert rollup is not None, "seed_demo makes ready rollups"
    label = "debug" if debug else "production"
    # finance logs in and opens the rollup
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("用户名").fill("finance")
    page.get_by_label("密码").fill("altay-demo-2019")
    page.get_by_role("button", name="登录").click()
    page.goto(f"{live_server.url}/rollups/{rollup.pk}/")
    page.screenshot(path=str(SCREENSHOTS / f"finance-print-{label}-1-rollup.png"))
    # downloads the workbook
    with page.expect_download() as download:
        page.get_by_test_id("download-workbook").click()
    workbook = tmp_path / "download.xlsx"
    download.value.save_as(workbook)
    assert workbook.read_bytes()[:2] == b"PK"
    # prints it
    pdf = to_pdf(workbook, tmp_path)
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "60",
            "-png",
            str(pdf),
            str(SCREENSHOTS / f"finance-print-{label}-2-page"),
        ],
        check=True,
    )
    pages = pages_text(pdf)
    assert len(pages) >= 4  # 汇总, a fund sheet's two halves, 抽查
    for number, text in enumerate(pages, 1):
        assert f"季度：{rollup.quarter}" in text or rollup.quarter in text, number
        assert re.search(r"第\s*\d+\s*页\s*共\s*\d+\s*页", text), number
    fund_pages = [t for t in pages if "资金渠道：" in t]
    assert fund_pages and all("申报编号" in t for t in fund_pages)
    for number, sizes in enumerate(printed_sizes(pdf), 1):
        assert sizes and min(sizes) >= 9.0, (number, min(sizes or [0]))
