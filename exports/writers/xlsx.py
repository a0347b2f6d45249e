"""The XLSX workbook program officers open: a summary with a native chart, one typed sheet per table, notes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import xlsxwriter

from exports.blanks import blank_meaning
from exports.columns import SUPPRESSED
from exports.notes import notes
from exports.report import ALL, FunderReport, Table
from exports.writers.summary import printed_change

_NUMBER_FORMATS = {"count": "0", "mean": "0.000", "pct": "0.0", "money": "#,##0.00", "date": "yyyy-mm-dd"}


def _created(report: FunderReport) -> datetime:
    """Workbook metadata carries the data's date, not the clock, so the same data gives the same file."""
    return datetime.combine(report.as_of or date(2000, 1, 1), time(), UTC).replace(tzinfo=None)


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _write_table(book: Any, table: Table, formats: dict[str, Any]) -> None:
    sheet = book.add_worksheet(table.title[:31])
    for col, column in enumerate(table.columns):
        sheet.write_string(0, col, column.name, formats["header"])
        sheet.write_comment(0, col, column.description)
        sheet.set_column(col, col, max(10, min(40, len(column.name) + 2)))
    for r, row in enumerate(table.rows, start=1):
        flagged = set(str(row.get(SUPPRESSED) or "").split(";")) - {""}
        for col, column in enumerate(table.columns):
            value = row.get(column.name)
            if value is None:
                if column.name in flagged:
                    sheet.write_blank(r, col, None, formats["suppressed"])
                continue
            if isinstance(value, bool | str):
                sheet.write_string(r, col, str(value))
            elif isinstance(value, date):
                sheet.write_datetime(r, col, datetime.combine(value, time()), formats["date"])
            else:
                sheet.write_number(r, col, value, formats.get(column.style, formats["mean"]))
    sheet.freeze_panes(1, 0)
    if table.rows:
        sheet.autofilter(0, 0, len(table.rows), len(table.columns) - 1)


def _summary_sheet(book: Any, report: FunderReport, formats: dict[str, Any]) -> None:
    """Per grant: the roll-up means before and after per measure, and a clustered column chart of them."""
    sheet = book.add_worksheet("Summary")
    sheet.set_column(0, 0, 44)
    sheet.set_column(1, 4, 14)
    sheet.write_string(0, 0, f"Ignite outcomes for {report.funder.name}", formats["title"])
    as_of = report.as_of.isoformat() if report.as_of else "n/a"
    sheet.write_string(1, 0, f"Data as of {as_of}. {blank_meaning(report.k)} Suppressed cells are shaded grey.")
    labels = {m.key: m.label for m in report.measures}
    outcomes = report.table("outcomes").rows
    row = 3
    for data in report.grants:
        grant = data.grant
        sheet.write_string(row, 0, f"{grant.name} ({grant.period_start} to {grant.period_end})", formats["header"])
        row += 1
        for col, head in enumerate(("Measure", "Mean before", "Mean after", "n paired", "Mean change")):
            sheet.write_string(row, col, head, formats["header"])
        first = row + 1
        for r in outcomes:
            if r["grant"] != grant.key or r["cohort"] != ALL:
                continue
            row += 1
            sheet.write_string(row, 0, labels.get(str(r["measure"]), str(r["measure"])))
            # The change on this sheet is Mean after minus Mean before as shown (three decimals), so the sheet adds
            # up; the Outcomes sheet keeps every statistic rounded from its unrounded value.
            pre, post, change = (r.get(c) for c in ("mean_pre", "mean_post", "mean_change"))
            shown = printed_change(_number(pre), _number(post), _number(change), 3)
            flagged = set(str(r.get(SUPPRESSED) or "").split(";"))
            for col, name in enumerate(("mean_pre", "mean_post", "n_paired", "mean_change"), start=1):
                value = float(shown) if name == "mean_change" and shown is not None else r.get(name)
                if isinstance(value, int | float):
                    sheet.write_number(row, col, value, formats["count" if name == "n_paired" else "mean"])
                elif name in flagged:  # grey only for suppressed: a blank not applicable stays white
                    sheet.write_blank(row, col, None, formats["suppressed"])
        last = row
        if last >= first:
            chart = book.add_chart({"type": "column"})
            for col, name in ((1, "Before"), (2, "After")):
                chart.add_series(
                    {
                        "name": name,
                        "categories": ["Summary", first, 0, last, 0],
                        "values": ["Summary", first, col, last, col],
                        "data_labels": {"value": True, "num_format": "0.0"},
                    }
                )
            chart.set_title({"name": f"Mean before and after: {grant.name}"})
            chart.set_y_axis({"name": "Mean answer", "min": 0})
            chart.set_legend({"position": "bottom"})
            chart.set_size({"width": 720, "height": 320})
            chart.show_blanks_as("gap")
            sheet.insert_chart(row + 2, 0, chart)
            row += 19
        row += 2


def write_xlsx(report: FunderReport, path: Path) -> Path:
    book = xlsxwriter.Workbook(str(path), {"in_memory": True})
    book.set_properties(
        {
            "title": f"Ignite outcomes for {report.funder.name}",
            "author": "ignite-sync",
            "created": _created(report),
            "comments": f"Small cells suppressed (k = {report.k}).",
        }
    )
    formats = {
        "title": book.add_format({"bold": True, "font_size": 14}),
        "header": book.add_format({"bold": True, "bg_color": "#E8EEF4", "border": 1}),
        "suppressed": book.add_format({"bg_color": "#D9D9D9"}),
        "wrap": book.add_format({"text_wrap": True, "valign": "top"}),
        **{style: book.add_format({"num_format": fmt}) for style, fmt in _NUMBER_FORMATS.items()},
    }
    _summary_sheet(book, report, formats)
    for table in report.tables:
        _write_table(book, table, formats)
    sheet = book.add_worksheet("Notes")
    sheet.set_column(0, 0, 28)
    sheet.set_column(1, 1, 110)
    for r, (heading, text) in enumerate(notes(report)):
        sheet.write_string(r, 0, heading, formats["header"])
        sheet.write_string(r, 1, text, formats["wrap"])
    book.close()
    return path
