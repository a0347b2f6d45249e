"""Importing program data (CSV, JSON, JSON Lines): validate every row, keep the good ones, report the bad ones.

Used by `ignite-sync import` and the ingest API, so both report rows the same way: `file:line field: rule`.
"""

from ingest.importer import ImportReport, import_file, import_rows
from ingest.reader import SourceRow, read_rows

__all__ = ["ImportReport", "SourceRow", "import_file", "import_rows", "read_rows"]
