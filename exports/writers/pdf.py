"""The one-page PDF summary, drawn with ReportLab (vector chart, no system libraries, deterministic bytes)."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from exports.notes import notes
from exports.report import FunderReport
from exports.writers.summary import GrantSummary, change_text, fmt, grant_summaries

_PRE, _POST = colors.HexColor("#9DB4CC"), colors.HexColor("#1F5F99")


def chart(summary: GrantSummary, width: float = 6.5 * inch) -> Drawing:
    lines = summary.measures
    height = 40 + 26 * max(len(lines), 1)
    drawing = Drawing(width, height)
    bars = HorizontalBarChart()
    bars.x, bars.y = 190, 20
    bars.width, bars.height = width - 210, height - 40
    # ReportLab draws the first category at the bottom; reverse so the chart reads top-down like the table.
    ordered = list(reversed(lines))
    # Within a group ReportLab stacks series bottom-up too: after first puts before on top.
    bars.data = [[m.mean_post or 0 for m in ordered], [m.mean_pre or 0 for m in ordered]]
    bars.categoryAxis.categoryNames = [m.label[:44] for m in ordered]
    bars.categoryAxis.labels.fontSize = 7
    bars.valueAxis.valueMin = 0
    bars.valueAxis.labels.fontSize = 7
    bars.bars[0].fillColor, bars.bars[1].fillColor = _POST, _PRE
    bars.barSpacing, bars.groupSpacing = 1, 6
    drawing.add(bars)
    legend = Legend()
    legend.x, legend.y = width - 120, height - 4
    legend.fontSize = 7
    legend.colorNamePairs = [(_PRE, "Before"), (_POST, "After")]
    legend.alignment = "right"
    legend.columnMaximum = 1
    drawing.add(legend)
    return drawing


def write_pdf(report: FunderReport, path: Path) -> Path:
    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=7, leading=8.5)
    doc = SimpleDocTemplate(
        str(path),
        pagesize=LETTER,
        leftMargin=0.75 * inch,
        rightMargin=0.75 * inch,
        topMargin=0.6 * inch,
        bottomMargin=0.6 * inch,
        title=f"Ignite outcomes for {report.funder.name}",
        author="ignite-sync",
        invariant=1,
    )
    as_of = report.as_of.isoformat() if report.as_of else "n/a"
    story: list[object] = [
        Paragraph(f"Ignite outcomes for {escape(report.funder.name)}", styles["Title"]),
        Paragraph(
            f"Data as of {as_of}. A dash means suppressed (fewer than {report.k} people, or blanked so another "
            "small cell cannot be worked out) or not applicable.",
            small,
        ),
    ]
    for g in grant_summaries(report):
        story += [
            Paragraph(escape(g.name), styles["Heading2"]),
            Paragraph(
                f"{g.period} · {g.cohorts} cohort(s) · enrolled {fmt(g.enrolled)} · completed {fmt(g.completed)} · "
                f"attendance {fmt(g.attendance_rate, 1, '%')}",
                styles["BodyText"],
            ),
            # A grant whose cohorts have no survey answers yet (planned, or just started) has nothing to chart.
            chart(g)
            if g.measures
            else Paragraph("No outcome measures have been collected for these cohorts yet.", small),
        ]
        rows = [["Measure", "n paired", "Before", "After", "Change [95% CI]", "d_z", "Improved"]]
        rows += [
            [
                Paragraph(escape(m.label), small),
                fmt(m.n_paired),
                fmt(m.mean_pre),
                fmt(m.mean_post),
                change_text(m),
                fmt(m.d_z),
                fmt(m.pct_improved, 0, "%"),
            ]
            for m in g.measures
        ]
        table = Table(rows, repeatRows=1)
        table.setStyle(
            TableStyle(
                [
                    ("FONTSIZE", (0, 0), (-1, -1), 7.5),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#E8EEF4")),
                    ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                    ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
                ]
            )
        )
        story += [table, Spacer(1, 6)]
    for heading, text in notes(report):
        story.append(Paragraph(f"<b>{escape(heading)}.</b> {escape(text)}", small))
    doc.build(story)
    return path
