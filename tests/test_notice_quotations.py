"""What the rules quote as the notice's words is in the notice.

A session 24 policy review found ``finance.rules`` quoting “先培训后补贴 … 可按不超过补贴
资金总额的40% … 培训结束经审核合格后拨付剩余资金” as 五(二) — words that are not in
阿行办发〔2019〕50号 — and a rule resting on them. The notice is kept beside the code
(``docs/notice-2019-50.txt``, a copy of the published text); every Chinese run of six or
more characters that follows a clause reference (``五(二) …``) in a rules module, a model
or a services module must be found in it (punctuation and widths normalised), unless
it is listed below as a name the code gives, not a quotation.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTICE = ROOT / "docs" / "notice-2019-50.txt"
SCANNED = sorted(
    p
    for pattern in ("*/rules.py", "*/models.py", "*/services.py", "*/payouts.py")
    for p in ROOT.glob(pattern)
    if ".venv" not in p.parts
)
#: Labels the code gives a clause's subject, not quotations of its words.
NAMES_NOT_QUOTES = {
    "企业高技能人才",  # 三(一)3's subject, the notice's heading says 高技能人才
    "困难企业职工",  # 三(一)5's subject
    "每年11月中旬至次年10月底",  # 六(二)'s dates; the published text lost its dash
}
CLAUSE = r"[一二三四五六七八]\([一二三四五六七八]\)\d*(?:、\d+)*"
QUOTED = re.compile(
    "(" + CLAUSE + r")[ :]+([\u4e00-\u9fff0-9%—…“”()、,:;。]+(?:\n\s*(?:#:?|#)?\s*"
    r"[\u4e00-\u9fff0-9%—…“”()、,:;。]+)*)"
)


def flat(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def quotations(path: Path) -> list[tuple[str, str]]:
    text = unicodedata.normalize("NFKC", path.read_text(encoding="utf-8"))
    found = []
    for match in QUOTED.finditer(text):
        joined = re.sub(r"\n\s*(?:#:?)?\s*", "", match[2])
        for run in re.split(r"…+|“|”|,|;|。", joined):
            run = run.strip(",、:;。() ")
            if len(re.sub(r"[^\u4e00-\u9fff]", "", run)) >= 6:
                found.append((match[1], run))
    return found


def test_the_notice_is_kept_beside_the_code() -> None:
    text = NOTICE.read_text(encoding="utf-8")
    assert "阿行办发〔2019〕50号" in text
    assert "可先行拨付40%比例的培训补贴资金" in text


@pytest.mark.parametrize("path", SCANNED, ids=lambda p: str(p.relative_to(ROOT)))
def test_what_is_quoted_as_the_notice_is_in_it(path: Path) -> None:
    notice = flat(NOTICE.read_text(encoding="utf-8"))
    missing = [
        f"{clause} {run}"
        for clause, run in quotations(path)
        if run not in NAMES_NOT_QUOTES and flat(run) not in notice
    ]
    assert not missing, missing


def test_a_misquotation_is_caught(tmp_path: Path) -> None:
    """The check itself: the words session 24 found are refused."""
    made_up = tmp_path / "rules.py"
    made_up.write_text(
        '"""五(二) 可按不超过补贴资金总额的40%先行拨付."""\n', encoding="utf-8"
    )
    notice = flat(NOTICE.read_text(encoding="utf-8"))
    assert [r for _, r in quotations(made_up) if flat(r) not in notice] == [
        "可按不超过补贴资金总额的40%先行拨付"
    ]
