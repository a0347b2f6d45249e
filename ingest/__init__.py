"""Importing program data (CSV, JSON, JSON Lines): validate every row, keep the good ones, report the bad ones.

Used by `ignite-sync import` and the ingest API, so both report rows the same way: `file:line field: rule`;
both store through `import_and_queue_sync`, which queues the sync in the same transaction.
"""

from ingest.handoff import import_and_queue_sync
from ingest.importer import ImportReport, import_file, import_rows
from ingest.reader import SourceRow, read_rows

__all__ = ["ImportReport", "SourceRow", "import_and_queue_sync", "import_file", "import_rows", "read_rows"]
