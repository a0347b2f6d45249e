"""CSV files plus a Frictionless `datapackage.json`: what an analyst loads, byte-identical for the same data."""

from __future__ import annotations

import codecs
import io
import json
from datetime import date
from pathlib import Path

from exports.blanks import blank_meaning
from exports.csvfile import write_csv
from exports.notes import notes_markdown
from exports.report import FunderReport, Table, Value


def format_value(value: Value, style: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.{1 if style == 'pct' else 2 if style == 'money' else 3}f}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)  # formula-looking text is defused by write_csv, for every CSV the project writes


def table_csv(table: Table) -> bytes:
    buffer = io.StringIO()
    write_csv(
        buffer,
        [c.name for c in table.columns],
        ([format_value(row.get(c.name), c.style) for c in table.columns] for row in table.rows),
    )
    # A byte-order mark in front: Excel, where a program officer double-clicks the file, otherwise reads UTF-8
    # as the local code page and garbles names like "Clínica".  UTF-8 readers (pandas, frictionless) skip it.
    return codecs.BOM_UTF8 + buffer.getvalue().encode("utf-8")


def datapackage(report: FunderReport) -> dict[str, object]:
    slug = report.funder.key.split(":", 1)[1]
    resources = []
    for table in report.tables:
        fields = []
        for c in table.columns:
            spec: dict[str, object] = {"name": c.name, "type": c.type, "description": c.description}
            if c.name in table.primary_key:
                spec["constraints"] = {"required": True}
            fields.append(spec)
        resources.append(
            {
                "name": table.name,
                "path": f"{table.name}.csv",
                "profile": "tabular-data-resource",
                "title": table.title,
                "description": table.description,
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",  # with a byte-order mark, still UTF-8 (an IANA name, unlike utf-8-sig)
                "schema": {"fields": fields, "primaryKey": table.primary_key, "missingValues": [""]},
            }
        )
    return {
        "profile": "tabular-data-package",
        "name": f"ignite-outcomes-{slug}".replace("_", "-").replace(".", "-"),
        "title": f"Ignite outcomes for {report.funder.name}",
        "description": (
            f"Aggregate participation and pre/post outcomes. {blank_meaning(report.k)} Each row's 'suppressed' "
            "column names its suppressed cells. See README.md."
        ),
        "version": report.as_of.isoformat() if report.as_of else "0",
        "licenses": [{"name": "other-closed", "title": "Shared with the funder; not for redistribution"}],
        "resources": resources,
    }


def package_files(report: FunderReport) -> dict[str, bytes]:
    files = {f"{t.name}.csv": table_csv(t) for t in report.tables}
    files["datapackage.json"] = (json.dumps(datapackage(report), indent=2, ensure_ascii=False) + "\n").encode()
    files["README.md"] = notes_markdown(report).encode("utf-8")
    return files


def write_csv_package(report: FunderReport, out: Path) -> list[Path]:
    written = []
    for name, content in package_files(report).items():
        path = out / name
        path.write_bytes(content)
        written.append(path)
    return written
