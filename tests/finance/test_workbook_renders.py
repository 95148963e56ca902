"""The finance workbook opens in a real spreadsheet program: LibreOffice renders it."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from finance import services

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        shutil.which("soffice") is None,
        reason="needs LibreOffice (libreoffice-calc-nogui; .ci/run installs it)",
    ),
]


def test_libreoffice_renders_the_finance_workbook(
    closed_quarter, reviewer, tmp_path, settings, django_capture_on_commit_callbacks
):
    # given a ready rollup and its workbook
    settings.MEDIA_ROOT = tmp_path / "media"
    with django_capture_on_commit_callbacks(execute=True):
        rollup = services.rollup_request(quarter="2020Q1", actor=reviewer)
    rollup.refresh_from_db()
    workbook = Path(settings.MEDIA_ROOT) / rollup.workbook
    # when LibreOffice converts it headless
    result = subprocess.run(
        [
            "soffice",
            "--headless",
            "--norestore",
            f"-env:UserInstallation=file://{tmp_path / 'lo-profile'}",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(workbook),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # then it produced a PDF with a page for each of the workbook's sheets
    pdf = tmp_path / (workbook.stem + ".pdf")
    assert result.returncode == 0, result.stderr
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    pages = re.findall(rb"/Type\s*/Page[^s]", data)
    assert len(pages) >= 3  # 汇总, one fund sheet, 抽查
    keep = Path(settings.BASE_DIR) / "test-artifacts" / "finance-workbook.pdf"
    keep.parent.mkdir(exist_ok=True)
    shutil.copy(pdf, keep)
