"""The one-page PDF summary, drawn with ReportLab (vector chart, no system libraries, deterministic bytes).

One page is the promise: a program officer reads it first, forwards it, prints it.  The page holds, in order,
every grant's participation (cohorts, enrolled, completed, attendance) with its measures' before/after means,
mean change and 95% CI in one table, and one chart of all grants on each measure's own scale.  The layout is
tried from roomy to compact (smaller type, slimmer bars, the long notes cut to what the page needs) and the
first that fits one page is kept; a funder too big even for the most compact one keeps every grant's
participation and as many measure rows as fit, with a line saying the full figures are in the workbook and CSV
files.  Choosing by a real layout pass, not an estimate, is what makes "one page" hold for any data.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.graphics.shapes import Drawing, Group, Line, Rect, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Flowable, LayoutError, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from exports.blanks import blank_meaning
from exports.notes import notes
from exports.report import FunderReport
from exports.writers.summary import (
    CHANGE_AS_PRINTED,
    GrantSummary,
    MeasureLine,
    change_text,
    empty_message,
    fmt,
    grant_summaries,
)

_PRE, _POST = colors.HexColor("#9DB4CC"), colors.HexColor("#1F5F99")
BAR_COLOURS = (_PRE, _POST)
_GRID, _MUTED, _HEAD = colors.HexColor("#DDDDDD"), colors.HexColor("#666666"), colors.HexColor("#E8EEF4")
_FONT, _BOLD = "Helvetica", "Helvetica-Bold"
_MARGIN = 0.6 * inch
# The frame pads 6 points each side; the table and chart take exactly the width left.
CONTENT_WIDTH = LETTER[0] - 2 * _MARGIN - 12
_HGAP = 14.0  # between a chart's measure panels
# The notes a page that is short of room keeps: the rest are in the workbook's Notes sheet and the README.
_SHORT_NOTES = ("Data as of", "Small-cell suppression", "Values suppressed in this export")
FULL_FIGURES = (
    "Methods and definitions are in the Notes sheet of outcomes.xlsx and in README.md; the full figures per "
    "cohort and role are in outcomes.xlsx and the CSV files."
)


@dataclass(frozen=True)
class Density:
    """One way to lay the page out; `write_pdf` tries them in order and keeps the first that fits."""

    font: float  # table and body type
    bar: float  # height of one bar in the chart
    full_notes: bool
    # measure rows shown (None: all); every grant's own row is always shown
    measure_rows: int | None = None
    # grants shown (None: all): only for a funder with so many grants that their own rows alone overflow
    grants: int | None = None
    chart: bool = True


_DENSITIES = (
    Density(font=8, bar=6, full_notes=True),
    Density(font=7, bar=4.5, full_notes=True),
    Density(font=7, bar=4, full_notes=False),
    Density(font=6.5, bar=3.2, full_notes=False),
    Density(font=6.5, bar=2.6, full_notes=False),
    Density(font=6, bar=2.6, full_notes=False),
)


def _fit(text: str, width: float, font: str, size: float) -> str:
    """The text cut (with an ellipsis) to the width it may take in the chart."""
    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def wrap(text: str, width: float, font: str, size: float) -> list[str]:
    """The text broken at spaces into lines no wider than `width` (a chart title is never cut short: a reader
    would lose the scale and direction that end it); only a single word wider than the whole line is cut."""
    lines: list[str] = []
    for word in text.split():
        joined = f"{lines[-1]} {word}" if lines else word
        if lines and stringWidth(joined, font, size) <= width:
            lines[-1] = joined
        else:
            lines.append(_fit(word, width, font, size))
    return lines or [""]


def tag(index: int) -> str:
    """A grant's short name on the chart and in the table (A, B, ... Z, AA, ...): long grant names often share
    their first words, so a cut name alone would not tell the chart's rows apart."""
    out = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        out = chr(ord("A") + rest) + out
    return out


def _ticks(lo: float, hi: float) -> list[float]:
    step = 1.0 if hi - lo <= 10 else float(round((hi - lo) / 5))
    out, v = [], lo
    while v <= hi + 1e-9:
        out.append(v)
        v += step
    return out


def _num(value: float) -> str:
    return f"{value:g}"


def chart_font_size(bar: float) -> float:
    """The chart's type size for a bar height: smaller bars, smaller type, never below 5 points."""
    return max(5.0, min(6.5, bar + 2))


def panel_title(measure: MeasureLine) -> str:
    better = "higher is better" if measure.higher_is_better else "lower is better"
    return f"{measure.label} ({_num(measure.scale_min)}–{_num(measure.scale_max)}, {better})"


def panel_width(width: float, measures: int) -> float:
    """The width of one measure's panel in a chart `width` wide: three panels to a row, 14 points apart."""
    cols = min(3, max(measures, 1))
    return (width - (cols - 1) * _HGAP) / cols


def _panel(
    line_of: Sequence[MeasureLine | None],
    names: Sequence[str],
    measure: MeasureLine,
    width: float,
    bar: float,
    title_lines: int,
) -> tuple[Group, float]:
    """One measure: a before and an after bar per grant, from the scale's low end, on the measure's own axis.

    The title wraps onto as many lines as it needs (`title_lines`, the most any panel of the chart needs, so the
    plots of one row line up).  A blank mean gets a word where its bar would be ('suppressed', or 'no paired
    answers'), never a bar: a zero-length bar reads as a mean at the bottom of the scale.
    """
    size = chart_font_size(bar)
    lo, hi = measure.scale_min, measure.scale_max
    # The plot starts right of the grant names (or half the lowest tick's width, which is centred on it) and
    # leaves room on the right for the widest value printed beside a bar, so no text leaves the panel.
    label_w = stringWidth(_num(lo), _FONT, size - 0.5) / 2 if len(names) == 1 else min(64.0, width * 0.36)
    value_w = stringWidth(f"{hi:.2f}", _FONT, size) + 2.5
    plot_w = width - label_w - value_w
    per_point = plot_w / (hi - lo)
    gap = max(2.5, bar * 0.8)
    leading = size * 1.15
    title_h, axis_h = title_lines * leading + 4, size + 5
    height = title_h + len(names) * (2 * bar + gap) + axis_h
    g = Group()
    for i, text in enumerate(wrap(panel_title(measure), width, _BOLD, size)):
        g.add(String(0, height - size - i * leading, text, fontName=_BOLD, fontSize=size))
    top, bottom = height - title_h, axis_h
    for v in _ticks(lo, hi):
        x = label_w + (v - lo) * per_point
        g.add(Line(x, bottom, x, top, strokeColor=_GRID, strokeWidth=0.3))
        g.add(String(x, bottom - size - 1, _num(v), fontName=_FONT, fontSize=size - 0.5, textAnchor="middle"))
    g.add(Line(label_w, bottom, label_w + plot_w, bottom, strokeColor=_MUTED, strokeWidth=0.4))
    y = top
    for name, line in zip(names, line_of, strict=True):
        y -= gap / 2
        mid = y - bar
        if len(names) > 1:
            g.add(String(label_w - 3, mid - size / 3, _fit(name, label_w - 4, _FONT, size), fontName=_FONT,
                         fontSize=size, textAnchor="end"))  # fmt: skip
        if line is None:
            g.add(String(label_w + 2, mid - size / 3, "no answers", fontName=_FONT, fontSize=size, fillColor=_MUTED))
        elif line.mean_pre is None and line.mean_post is None:
            g.add(String(label_w + 2, mid - size / 3, line.blank_reason("mean_pre"), fontName=_FONT, fontSize=size,
                         fillColor=_MUTED))  # fmt: skip
        else:
            for i, (value, colour, column) in enumerate(((line.mean_pre, _PRE, "mean_pre"),
                                                         (line.mean_post, _POST, "mean_post"))):  # fmt: skip
                by = y - (i + 1) * bar
                text_size = max(4.5, min(size, bar + 1.5))
                if value is None:
                    g.add(String(label_w + 2, by + 0.5, line.blank_reason(column), fontName=_FONT,
                                 fontSize=text_size, fillColor=_MUTED))  # fmt: skip
                    continue
                # A mean at the scale's lowest answer still gets a sliver: an empty row would read as missing.
                w = max((value - lo) * per_point, 0.75)
                g.add(Rect(label_w, by, w, bar, fillColor=colour, strokeColor=None, strokeWidth=0))
                if bar >= 4:  # thinner bars have no room for a legible number; the table below has it
                    g.add(String(label_w + w + 1.5, by + 0.5, f"{value:.2f}", fontName=_FONT, fontSize=text_size))
        y -= 2 * bar + gap / 2
    return g, height


def outcome_chart(summaries: Sequence[GrantSummary], width: float = CONTENT_WIDTH, bar: float = 4.0) -> Drawing:
    """Every grant's before/after means, one panel per measure (three to a row), each on the measure's scale."""
    measures: dict[str, MeasureLine] = {}
    for s in summaries:
        for m in s.measures:
            measures.setdefault(m.key, m)
    charted = [s for s in summaries if s.measures]
    names = [f"{tag(i)}  {s.name}" for i, s in enumerate(summaries) if s.measures]
    cols = min(3, max(len(measures), 1))
    vgap, legend_h = 6.0, 12.0
    panel_w = panel_width(width, len(measures))
    title_lines = max(
        (len(wrap(panel_title(m), panel_w, _BOLD, chart_font_size(bar))) for m in measures.values()), default=1
    )
    panels = []
    for key, measure in measures.items():
        lines = [next((m for m in s.measures if m.key == key), None) for s in charted]
        panels.append(_panel(lines, names, measure, panel_w, bar, title_lines))
    rows = [panels[i : i + cols] for i in range(0, len(panels), cols)]
    row_heights = [max(h for _, h in row) for row in rows]
    height = legend_h + sum(row_heights) + vgap * max(len(rows) - 1, 0)
    drawing = Drawing(width, height)
    for i, (colour, text) in enumerate(((_PRE, "Before"), (_POST, "After"))):
        x = i * 48.0
        drawing.add(Rect(x, height - 7, 7, 7, fillColor=colour, strokeColor=None, strokeWidth=0))
        drawing.add(String(x + 10, height - 6.5, text, fontName=_FONT, fontSize=7))
    drawing.add(String(100, height - 6.5, "mean answer of paired respondents, on each measure's own scale",
                       fontName=_FONT, fontSize=6.5, fillColor=_MUTED))  # fmt: skip
    y = height - legend_h
    for row, row_h in zip(rows, row_heights, strict=True):
        y -= row_h
        for c, (group, h) in enumerate(row):
            group.translate(c * (panel_w + _HGAP), y + row_h - h)
            drawing.add(group)
        y -= vgap
    return drawing


def _grant_line(g: GrantSummary, key: str) -> str:
    return (
        f"<b>{key}{escape(g.name)}</b> · {escape(g.period)} · {g.cohorts} cohort(s) · enrolled <b>{fmt(g.enrolled)}</b>"
        f" · completed <b>{fmt(g.completed)}</b> · attendance <b>{fmt(g.attendance_rate, 1, '%')}</b>"
    )


def _table(summaries: Sequence[GrantSummary], d: Density, width: float) -> tuple[Table, int]:
    """Per grant a row of its participation, then its measures; returns the table and the measure rows left out."""
    cell = ParagraphStyle("cell", fontName=_FONT, fontSize=d.font, leading=d.font * 1.18)
    header: list[object] = ["Measure", "n paired", "Before", "After", "Change [95% CI]", "d_z", "Improved"]
    numbers = [0.085, 0.075, 0.075, 0.19, 0.065, 0.085]
    widths = [width * (1 - sum(numbers))] + [width * f for f in numbers]
    rows: list[list[object]] = [header]
    style: list[tuple[object, ...]] = [
        ("FONT", (0, 0), (-1, -1), _FONT, d.font),
        ("FONT", (0, 0), (-1, 0), _BOLD, d.font),
        ("BACKGROUND", (0, 0), (-1, 0), _HEAD),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, _GRID),
        ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 0.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
    ]
    budget = d.measure_rows
    left_out = 0
    for i, g in enumerate(summaries[: d.grants]):
        key = f"{tag(i)}&nbsp;&nbsp;" if len(summaries) > 1 else ""
        rows.append([Paragraph(_grant_line(g, key), cell), "", "", "", "", "", ""])
        at = len(rows) - 1
        style += [("SPAN", (0, at), (-1, at)), ("TOPPADDING", (0, at), (-1, at), 3)]
        message = empty_message(g)
        if message is not None:
            rows.append([Paragraph(f"<i>{escape(message)}</i>", cell), "", "", "", "", "", ""])
            style.append(("SPAN", (0, len(rows) - 1), (-1, len(rows) - 1)))
        for m in g.measures:
            if budget is not None and budget <= 0:
                left_out += 1
                continue
            budget = None if budget is None else budget - 1
            label = escape(m.label) + ("" if m.higher_is_better else " <font color='#666666'>(lower is better)</font>")
            rows.append(
                [
                    Paragraph(f"&nbsp;&nbsp;{label}", cell),
                    fmt(m.n_paired),
                    fmt(m.mean_pre),
                    fmt(m.mean_post),
                    change_text(m),
                    fmt(m.d_z),
                    fmt(m.pct_improved, 0, "%"),
                ]
            )
    table = Table(rows, colWidths=widths, repeatRows=0)
    table.setStyle(TableStyle(style))
    return table, left_out


def _story(report: FunderReport, summaries: Sequence[GrantSummary], d: Density, width: float) -> list[Flowable]:
    styles = getSampleStyleSheet()
    title = styles["Title"].clone("t", fontSize=d.font + 8, leading=d.font + 10, spaceAfter=2, spaceBefore=0)
    body = ParagraphStyle("body", fontName=_FONT, fontSize=d.font, leading=d.font * 1.25, spaceAfter=3)
    note = ParagraphStyle("note", fontName=_FONT, fontSize=d.font - 1, leading=(d.font - 1) * 1.2, spaceAfter=1.5)
    as_of = report.as_of.isoformat() if report.as_of else "n/a"
    story: list[Flowable] = [
        Paragraph(f"Ignite outcomes for {escape(report.funder.name)}", title),
        Paragraph(
            f"Data as of {as_of}. {escape(blank_meaning(report.k, 'A dash'))} Change = mean of (after - before) over "
            "respondents who answered both, with its 95% confidence interval; d_z = paired effect size. "
            f"{CHANGE_AS_PRINTED}",
            body,
        ),
    ]
    if d.chart and any(s.measures for s in summaries):
        story += [outcome_chart(summaries, width, d.bar), Spacer(1, 4)]
    table, left_out = _table(summaries, d, width)
    story.append(table)
    total = sum(len(s.measures) for s in summaries)
    shown = sum(len(s.measures) for s in summaries[: d.grants]) - left_out
    if shown < total or len(summaries[: d.grants]) < len(summaries):
        grants = f" of {len(summaries[: d.grants])} of {len(summaries)} grants" if d.grants is not None else ""
        story.append(
            Paragraph(
                f"<b>Not everything fits on one page: {shown} of {total} measure rows{grants} are shown. The full "
                "figures are in outcomes.xlsx and the CSV files (outcomes.csv).</b>",
                body,
            )
        )
    story.append(Spacer(1, 4))
    chosen = [(h, t) for h, t in notes(report) if d.full_notes or h in _SHORT_NOTES]
    for heading, text in chosen:
        story.append(Paragraph(f"<b>{escape(heading)}.</b> {escape(text)}", note))
    if not d.full_notes:
        story.append(Paragraph(escape(FULL_FIGURES), note))
    return story


def _render(report: FunderReport, summaries: Sequence[GrantSummary], d: Density) -> tuple[bytes, int]:
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=LETTER,
        leftMargin=_MARGIN,
        rightMargin=_MARGIN,
        topMargin=_MARGIN,
        bottomMargin=_MARGIN,
        title=f"Ignite outcomes for {report.funder.name}",
        author="ignite-sync",
        invariant=1,
    )
    try:
        doc.build(_story(report, summaries, d, CONTENT_WIDTH))
    except LayoutError:  # a chart taller than a whole page: this layout does not fit, like a second page
        return b"", 0
    return out.getvalue(), doc.page


def layout(report: FunderReport) -> tuple[bytes, Density]:
    """The one-page PDF and the layout it was drawn with: the first of `_DENSITIES` that fits, else a cut one."""
    summaries = grant_summaries(report)
    for d in _DENSITIES:
        pdf, pages = _render(report, summaries, d)
        if pages == 1:
            return pdf, d
    return _cut_to_one_page(report, summaries)


def write_pdf(report: FunderReport, path: Path) -> Path:
    path.write_bytes(layout(report)[0])
    return path


def _most(
    report: FunderReport, summaries: Sequence[GrantSummary], layout: Callable[[int], Density], top: int
) -> tuple[bytes, Density] | None:
    """The one-page PDF of `layout(n)` for the largest n in 0..top-1, by binary search over real layouts; None if
    not even `layout(0)` fits."""
    lo, hi, best = 0, top - 1, None
    while lo <= hi:
        mid = (lo + hi) // 2
        attempt, pages = _render(report, summaries, layout(mid))
        if pages == 1:
            best, lo = (attempt, layout(mid)), mid + 1
        else:
            hi = mid - 1
    return best


def _cut_to_one_page(report: FunderReport, summaries: Sequence[GrantSummary]) -> tuple[bytes, Density]:
    """Too big for the most compact layout: every grant's own row stays and measure rows go from the end; then the
    chart; then (only for hundreds of grants) the last grants.  The page says where the full figures are."""
    compact = _DENSITIES[-1]
    rows = sum(len(s.measures) for s in summaries)
    cuts: list[tuple[Callable[[int], Density], int]] = [
        (lambda n: replace(compact, measure_rows=n), rows),
        (lambda n: replace(compact, chart=False, measure_rows=n), rows),
        (lambda n: replace(compact, chart=False, measure_rows=0, grants=n), len(summaries)),
    ]
    for cut, top in cuts:
        found = _most(report, summaries, cut, top)
        if found is not None:
            return found
    last = replace(compact, chart=False, measure_rows=0, grants=0)
    return _render(report, summaries, last)[0], last
