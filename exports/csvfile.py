"""The one way the project writes a CSV file that a person may open in a spreadsheet.

A text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return runs as a formula when the file
is opened in Excel, LibreOffice or Google Sheets: a participant named `=HYPERLINK("https://evil.example")`
would become a link in a staff member's spreadsheet.  `safe_cell` puts an apostrophe in front of such text
(spreadsheets show the text as typed and do not evaluate it); a plain number such as `-0.35` is left alone.
Every human-facing CSV goes through `write_csv`: funder export tables and `failures --csv`.

Not for the Salesforce Bulk API's CSV (connector/salesforce/bulk.py, and the sandbox that imitates it): that
is a wire format read by Salesforce, where an apostrophe would be stored as part of the value.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from typing import IO

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def safe_cell(value: object) -> str:
    """The cell's text: empty for None, and formula-looking text defused with a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if text.startswith(FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def write_csv(stream: IO[str], header: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
    """Write the header and every row with `safe_cell` applied to each cell; how many rows were written."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow([safe_cell(name) for name in header])
    written = 0
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
        written += 1
    return written
