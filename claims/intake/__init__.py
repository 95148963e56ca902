"""Spreadsheet intake: a clerk files many claims at once from an XLSX (issue 3, item 4).

Three steps, three service functions:

1. ``template_workbook`` (``template``) — the XLSX to fill in: Chinese headers,
   drop-downs from a hidden ``lists`` sheet, one example row (its ID cell starts with
   "示例" and is never imported).
2. ``import_check`` (``staging``) — the upload is defended *before* parsing
   (``archive.inspect_archive``: size, a real XLSX zip, uncompressed size, entry count,
   compression ratio, no macros, no DTD/entities), then read with openpyxl in read_only
   mode (``sheet.read_sheet``: formula cells refused, at most ``MAX_ROWS`` rows). Every
   row is parsed (``parse``) and judged by ``rules.decide`` on the facts
   ``services.claim_facts`` builds — the same rules and facts as the form — against the
   database *and* the earlier passing rows of the same file (``judge.check_sheet``): the
   catalogue, the people and their history are loaded once per file, never per row. The
   parsed sheet and the results are kept in a file under ``MEDIA_ROOT/imports/`` keyed
   by a random token, bound to the clerk, for one hour.
3. ``import_save`` (``save``) — the passing rows become drafts or are submitted, all or
   none: one transaction; people not yet registered are registered first
   (``trainees_register_new``, in ID-number order), every person of the file is locked
   in id order, the rows are judged again under the locks, then
   ``services.claims_create_batch`` writes the claims and their audit events. Any
   refusal rolls everything back and names the row.

``result_workbook`` (``result``) gives the clerk their rows back with 结果 / 原因, every
ID number in every cell masked, and a 参考码 per row (``references``, issue 15): the
copy, corrected and uploaded again, gets its numbers back for the same clerk within the
hour, so nobody retypes a number they already gave.

Step 2 runs off the web workers (``jobs``, issue 14): ``import_start`` defends and keeps
the upload and queues ``claims.tasks.check_import``, which runs ``import_job_run`` —
the same reading and judging, reporting progress on an ``ImportJob`` that the clerk's
page polls; one check at a time per clerk. Beat deletes expired staging files
(``import_purge_expired``).

A row whose ID number is not in the registry registers that person (name, 户籍类型 and
人员类别 from the row) in the same all-or-nothing transaction; for a person already in
the registry the row's name must match the registered one and the registry is never
changed from a spreadsheet.
"""

from claims.intake.archive import (
    MAX_ENTRIES,
    MAX_UPLOAD_BYTES,
    XLSX_MAIN,
    inspect_archive,
)
from claims.intake.errors import ImportRefused, ImportSaveFailed
from claims.intake.jobs import (
    CHECK_IMPORT_TASK,
    import_job,
    import_job_run,
    import_purge_expired,
    import_start,
)
from claims.intake.judge import RowResult, check_sheet
from claims.intake.references import issue_references, restore_id_numbers
from claims.intake.result import result_workbook
from claims.intake.save import SaveOutcome, import_save
from claims.intake.sheet import MAX_CELLS, SheetData, SheetRow, read_sheet
from claims.intake.staging import PAYLOAD_TTL, ImportBatch, import_batch, import_check
from claims.intake.template import (
    COLUMNS,
    DATA_SHEET,
    INSTITUTIONS_SHEET,
    LISTS_SHEET,
    MAX_ROWS,
    REFERENCE,
    column_key,
    template_workbook,
)

__all__ = [
    "CHECK_IMPORT_TASK",
    "COLUMNS",
    "DATA_SHEET",
    "INSTITUTIONS_SHEET",
    "LISTS_SHEET",
    "MAX_CELLS",
    "MAX_ENTRIES",
    "MAX_ROWS",
    "MAX_UPLOAD_BYTES",
    "PAYLOAD_TTL",
    "REFERENCE",
    "XLSX_MAIN",
    "ImportBatch",
    "ImportRefused",
    "ImportSaveFailed",
    "RowResult",
    "SaveOutcome",
    "SheetData",
    "SheetRow",
    "check_sheet",
    "column_key",
    "import_batch",
    "import_check",
    "import_job",
    "import_job_run",
    "import_purge_expired",
    "import_save",
    "import_start",
    "inspect_archive",
    "issue_references",
    "read_sheet",
    "restore_id_numbers",
    "result_workbook",
    "template_workbook",
]
