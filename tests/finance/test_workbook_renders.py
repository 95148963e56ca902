"""The finance workbook opens in a real spreadsheet program and prints readable:
LibreOffice renders it to PDF, poppler reads the pages back (text, word boxes) and
draws them to PNG for a person to look at (test-artifacts/screenshots)."""

import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

from django.conf import settings as django_settings

import pytest

from finance import services
from finance.exports import (
    DisbursementLine,
    FinanceWorkbook,
    FundSheet,
    SpotCheckLine,
    SummaryRow,
    write_finance_workbook,
)

pytestmark = [
    pytest.mark.skipif(
        shutil.which("soffice") is None,
        reason="needs LibreOffice (libreoffice-calc-nogui; .ci/run installs it)",
    ),
]
needs_poppler = pytest.mark.skipif(
    shutil.which("pdftotext") is None or shutil.which("pdftoppm") is None,
    reason="needs poppler-utils (pdftotext, pdftoppm; .ci/run installs it)",
)
ARTIFACTS = Path(django_settings.BASE_DIR) / "test-artifacts"
FUND = "职业技能提升行动专项资金"


def to_pdf(workbook: Path, folder: Path) -> Path:
    result = subprocess.run(
        [
            "soffice",
            "--headless",
            "--norestore",
            f"-env:UserInstallation=file://{folder / 'lo-profile'}",
            "--convert-to",
            "pdf",
            "--outdir",
            str(folder),
            str(workbook),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    pdf = folder / (workbook.stem + ".pdf")
    assert pdf.read_bytes().startswith(b"%PDF")
    return pdf


def pages_text(pdf: Path) -> list[str]:
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return text.split("\f")[:-1]  # pdftotext ends every page with a form feed


def printed_sizes(pdf: Path) -> list[list[float]]:
    """Per page, the printed size (pt) of each word of two or more Chinese
    characters: a Chinese character is as wide as its font is high."""
    boxes = subprocess.run(
        ["pdftotext", "-bbox", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    word = re.compile(
        r'xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">([^<]+)<'
    )
    pages = []
    for page in boxes.split("<page ")[1:]:
        sizes = [
            (float(x1) - float(x0)) / len(text)
            for x0, x1, text in word.findall(page)
            if re.fullmatch(r"[\u4e00-\u9fff]{2,}", text)
        ]
        pages.append(sizes)
    return pages


def keep_pages(pdf: Path, name: str) -> None:
    """The PDF and each page as a PNG, kept as CI artifacts (and looked at)."""
    shots = ARTIFACTS / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    shutil.copy(pdf, ARTIFACTS / f"{name}.pdf")
    subprocess.run(
        ["pdftoppm", "-r", "60", "-png", str(pdf), str(shots / name)], check=True
    )


def disbursement_line(n: int) -> DisbursementLine:
    institution = n % 3 == 0
    return DisbursementLine(
        claim_id=n,
        unit_name="阿勒泰市" if n < 60 else "布尔津县",
        payee_kind="培训机构/企业" if institution else "培训人员",
        payee_name="阿勒泰职业技术学院" if institution else f"学员{n}",
        id_number_masked="" if institution else "654301********1234",
        institution_name="阿勒泰地区职业技术学院继续教育与职业技能培训中心"
        if n % 5 == 0
        else "阿勒泰职业技术学院",
        credit_code="91654301MA0000001X",
        program="9 就业重点群体免费培训",
        trade="中式烹调师",
        level="四级/中级工",
        training_end="2020-03-31",
        amount=Decimal("1800.00"),
        advance=Decimal("720.00"),
        balance=Decimal("1080.00"),
    )


@needs_poppler
def test_a_long_fund_sheet_prints_readable_with_its_header_on_every_page(tmp_path):
    # given a workbook whose fund sheet holds 150 lines
    book = FinanceWorkbook(
        title="阿勒泰地区职业技能提升行动补贴资金拨付表",
        quarter="2020Q1",
        generated_at="2020-04-10 10:00",
        checksum="abc123",
        summary=[
            SummaryRow(
                "654301", "阿勒泰市", FUND, 150, 150, 90, *(Decimal("1000.00"),) * 3
            )
        ],
        funds=[
            FundSheet("special", FUND, [disbursement_line(n) for n in range(1, 151)])
        ],
        spot_checks=[
            SpotCheckLine(
                "阿勒泰市",
                7,
                "学员7",
                "654301********1234",
                "9 就业重点群体免费培训",
                Decimal("1800"),
                "已核准",
                "2020Q1-654301-42",
            )
        ],
    )
    workbook = tmp_path / "long.xlsx"
    write_finance_workbook(book, str(workbook))
    # when LibreOffice prints it to PDF
    pdf = to_pdf(workbook, tmp_path)
    keep_pages(pdf, "finance-workbook-long")
    pages = pages_text(pdf)
    sizes = printed_sizes(pdf)
    # then the fund sheet runs over several pages, in halves: who is paid, for what
    fund_pages = [i for i, text in enumerate(pages) if f"资金渠道：{FUND}" in text]
    assert len(fund_pages) >= 4 and len(fund_pages) % 2 == 0
    for number, index in enumerate(fund_pages):
        text = pages[index]
        # every page repeats the title row (quarter, fund, 金额单位) and the header
        assert "2020Q1" in text and "金额单位：元" in text
        assert "申报编号" in text
        if number % 2 == 0:
            assert "身份证号" in text and "统一社会信用代码" in text
            assert "核准金额" not in text
        else:
            assert "核准金额" in text and "应追回" in text and "（续）" in text
            assert "统一社会信用代码" not in text
        assert re.search(r"第\s*\d+\s*页\s*共\s*\d+\s*页", text)
    # every claim is on a page of each half: none is cut off at a page's edge
    left = "\n".join(pages[i] for i in fund_pages[0::2])
    right = "\n".join(pages[i] for i in fund_pages[1::2])
    assert left.count("654301********1234") == 100
    assert right.count("1,800.00") == 150
    assert "合计 150" in left + right
    # and every page prints at 9 pt or more (it printed at about 5 pt)
    for index, page_sizes in enumerate(sizes):
        assert page_sizes, f"page {index + 1} has no Chinese words"
        assert min(page_sizes) >= 9.0, (index + 1, min(page_sizes))
    # the summary and the spot checks carry their title rows too
    assert "阿勒泰地区职业技能提升行动补贴资金拨付表" in pages[0]
    assert "季度：2020Q1" in pages[-1] and "抽查" in pages[-1]


@pytest.mark.django_db
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
    pdf = to_pdf(workbook, tmp_path)
    # then it produced a PDF with a page for each of the workbook's sheets
    data = pdf.read_bytes()
    pages = re.findall(rb"/Type\s*/Page[^s]", data)
    assert len(pages) >= 4  # 汇总, the fund sheet's two halves, 抽查
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(pdf, ARTIFACTS / "finance-workbook.pdf")
