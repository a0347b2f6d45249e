"""Exports end to end: read a funder's scope from the database, build the report, write the chosen formats.

The smallest cell (`k`, IGNITE_EXPORT_MIN_CELL) and the program's time zone (IGNITE_PROGRAM_TIMEZONE) are
always given by the caller: their defaults live in settings.py only.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path

from sqlalchemy import Engine

from exports.aggregate import funder_keys, load_funder, load_funder_data
from exports.report import FunderReport, build_report
from models import MeasureCatalogue, default_catalogue

FORMATS = ("xlsx", "csv", "html", "pdf")


class UnknownFunderError(LookupError):
    def __init__(self, key: str) -> None:
        super().__init__(f"no funder with key {key!r} in the service database")
        self.key = key


def parse_formats(text: str | Iterable[str]) -> list[str]:
    """'xlsx,csv' -> ['xlsx', 'csv']; an unknown name is an error that lists the known ones."""
    names = [t.strip().lower() for t in (text.split(",") if isinstance(text, str) else text) if t.strip()]
    unknown = sorted(set(names) - set(FORMATS))
    if unknown:
        raise ValueError(f"unknown export format(s) {', '.join(unknown)}; choose from {', '.join(FORMATS)}")
    if not names:
        raise ValueError(f"give at least one export format ({', '.join(FORMATS)})")
    return [f for f in FORMATS if f in names]


def funder_key(text: str) -> str:
    """Accept 'funder:acme' or just 'acme'."""
    return text if text.startswith("funder:") else f"funder:{text}"


def build_funder_report(
    engine: Engine,
    key: str,
    *,
    k: int,
    timezone: str,
    catalogue: MeasureCatalogue | None = None,
) -> FunderReport:
    """`timezone` is the program's calendar: where the grant periods' dates begin and end."""
    catalogue = catalogue or default_catalogue()
    with engine.connect() as conn:
        funder = load_funder(conn, key)
        if funder is None:
            raise UnknownFunderError(key)
        grants = load_funder_data(conn, key, catalogue, timezone)
    return build_report(funder, grants, catalogue, k)


def write_report(report: FunderReport, out: Path, formats: Sequence[str] = FORMATS) -> list[Path]:
    """The writers (ReportLab, XlsxWriter) load on the first export, not when the web process starts: most web
    workers never build an export, and these libraries were a large share of the service's import time."""
    from exports.writers.csvpackage import write_csv_package
    from exports.writers.html import write_html
    from exports.writers.pdf import write_pdf
    from exports.writers.xlsx import write_xlsx

    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    if "xlsx" in formats:
        written.append(write_xlsx(report, out / "outcomes.xlsx"))
    if "csv" in formats:
        written += write_csv_package(report, out)
    if "html" in formats:
        written.append(write_html(report, out / "summary.html"))
    if "pdf" in formats:
        written.append(write_pdf(report, out / "summary.pdf"))
    return written


def export_funder(
    engine: Engine,
    key: str,
    out: Path,
    formats: Sequence[str] = FORMATS,
    *,
    k: int,
    timezone: str,
    catalogue: MeasureCatalogue | None = None,
) -> list[Path]:
    report = build_funder_report(engine, funder_key(key), k=k, timezone=timezone, catalogue=catalogue)
    return write_report(report, out, formats)


def funder_dir_name(key: str) -> str:
    """`funder:acme` -> `acme`: folder names stay portable (no ':' on Windows)."""
    return key.split(":", 1)[1]


def export_all_funders(engine: Engine, demo_dir: Path, *, k: int, timezone: str) -> dict[str, Path]:
    """Every funder's export under `<demo_dir>/exports/<funder>/`; returns funder key -> folder (for the demo)."""
    with engine.connect() as conn:
        keys = funder_keys(conn)
    folders = {}
    for key in keys:
        folder = demo_dir / "exports" / funder_dir_name(key)
        export_funder(engine, key, folder, k=k, timezone=timezone)
        folders[key] = folder
    return folders


def zip_files(paths: Iterable[Path], as_of: date | None) -> bytes:
    """The files in one zip, entries sorted by name and stamped with the data's date: same data, same bytes."""
    stamp = (*(as_of.timetuple()[:3] if as_of else (2000, 1, 1)), 0, 0, 0)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(paths, key=lambda p: p.name):
            info = zipfile.ZipInfo(path.name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def export_zip(report: FunderReport) -> bytes:
    """All formats in one zip, for the download endpoint."""
    with tempfile.TemporaryDirectory() as tmp:
        return zip_files(write_report(report, Path(tmp)), report.as_of)


def zip_name(key: str) -> str:
    """The file name a funder's zip travels under (download endpoint and CRM attachment alike)."""
    return f"ignite-outcomes-{funder_dir_name(key)}.zip"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
