"""The import's two refusals, and how a row's problem reads to the clerk."""

from __future__ import annotations

from altay_skills.errors import DomainError


class ImportRefused(DomainError):
    """The file is refused as a whole (400): nothing is read further, nothing stored."""

    def __init__(self, message: str) -> None:
        super().__init__("import_refused", message)


class ImportSaveFailed(DomainError):
    """Saving refused a row: the whole file was rolled back (409)."""

    status_code = 409

    def __init__(self, row: int | None, problems: list[dict[str, str]]) -> None:
        where = f"第{row}行" if row else "保存时"
        reasons = "；".join(problem_text(p) for p in problems)
        super().__init__(
            "import_save_failed",
            f"{where}未能保存：{reasons}。本文件的申报一条也未保存。",
        )
        self.row = row
        self.problems = problems


def problem_text(problem: dict[str, str]) -> str:
    clause = problem.get("clause")
    return f"{problem['message']}（{clause}）" if clause else problem["message"]
