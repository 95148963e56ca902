"""No cap amount is written in code: the figures live in the data migration (design.md)."""

import io
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = [
    "accounts",
    "programs",
    "trainees",
    "claims",
    "quarters",
    "finance",
    "reporting",
    "altay_skills",
]
THE_DATA_MIGRATION = ROOT / "programs" / "migrations" / "0002_reference_data.py"
CAP_FIGURES = {"1800", "2700", "3000", "4000", "5000", "6000", "300"}


def literal_figures(path: Path) -> list[str]:
    found = []
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text("utf-8")).readline)
    for tok in tokens:
        text = tok.string
        if tok.type == tokenize.STRING:
            text = text.strip("\"'")
        elif tok.type != tokenize.NUMBER:
            continue
        normalised = text.rstrip("0").rstrip(".") if "." in text else text
        if normalised in CAP_FIGURES:
            found.append(f"{path.relative_to(ROOT)}:{tok.start[0]}: {tok.string}")
    return found


def test_no_cap_amount_is_a_literal_outside_the_data_migration():
    offenders = []
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if path != THE_DATA_MIGRATION:
                offenders += literal_figures(path)
    assert offenders == []


def test_the_scanner_finds_figures_where_they_are():
    assert (
        len(literal_figures(THE_DATA_MIGRATION)) == 7
    )  # 4000 5000 6000 1800×2 300 3000
