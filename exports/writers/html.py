"""A one-page HTML summary with an inline SVG chart: what a program officer reads first, no scripts, no links out."""

from __future__ import annotations

from html import escape
from pathlib import Path

from reportlab.pdfbase.pdfmetrics import stringWidth

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

_PRE, _POST = "#9DB4CC", "#1F5F99"


# The page's font stack; SVG text inherits it.  Labels are laid out with a conservative width model of it
# (`text_width`), since the browser picks the font: Helvetica's metrics widened by a quarter cover the wide
# sans-serif faces a system-ui stack falls back to (DejaVu Sans, the widest common one, is 16% wider at most).
FONT_STACK = "system-ui,sans-serif"
WIDTH_MARGIN = 1.25
CHART_WIDTH = 640
LABEL_SIZE, SMALL_SIZE = 12, 10


def text_width(text: str, size: float) -> float:
    """At most how wide `text` is at `size` px in the page's fonts (see `WIDTH_MARGIN`)."""
    return float(stringWidth(text, "Helvetica", size)) * WIDTH_MARGIN


def _lines(text: str, width: float, size: float) -> list[str]:
    """`text` broken at spaces into lines that fit `width` by `text_width` (a label is never cut)."""
    lines: list[str] = []
    for word in text.split():
        if lines and text_width(f"{lines[-1]} {word}", size) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines or [""]


def measure_label(line: MeasureLine) -> str:
    return f"{line.label} ({line.scale_min:g}–{line.scale_max:g})"


def svg_chart(summary: GrantSummary, width: int = CHART_WIDTH, bar_height: int = 12) -> str:
    """Horizontal paired bars (before / after) per measure, each drawn on its measure's own scale.

    Each measure's label sits on its own line(s) above its bars, left-aligned across the whole width, so the
    longest label fits whatever the browser's font (a label beside the bars had a fixed column and was clipped).
    A bar starts at the scale's lowest answer and a pale track shows the whole scale, so the same mean draws the
    same length in every grant's chart.  A blank mean gets a word where its bar would be ('suppressed', or 'no
    paired answers'), never a bar of zero length, which would read as a mean at the bottom of the scale.
    """
    lines = summary.measures
    gap, leading = 12, LABEL_SIZE + 3
    # room for the number printed after a full-length bar
    value_w = max((text_width(f"{m.scale_max:.2f}", SMALL_SIZE) for m in lines), default=0.0) + 6
    plot_w = width - value_w
    labels = [_lines(measure_label(m), width, LABEL_SIZE) for m in lines]
    height = 26 + sum(len(label) * leading + 4 + 2 * bar_height + gap for label in labels)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'font-family="{FONT_STACK}" aria-label="Mean answer before and after, {escape(summary.name)}">',
        f'<rect x="0" y="6" width="10" height="10" fill="{_PRE}"/>'
        f'<text x="14" y="15" font-size="11">Before</text>'
        f'<rect x="70" y="6" width="10" height="10" fill="{_POST}"/>'
        f'<text x="84" y="15" font-size="11">After</text>'
        f'<text x="130" y="15" font-size="{SMALL_SIZE}" fill="#666">bar length: share of each measure\'s scale'
        "</text>",
    ]
    y = 26
    for m, label in zip(lines, labels, strict=True):
        for text in label:
            y += leading
            parts.append(f'<text x="0" y="{y - 3}" font-size="{LABEL_SIZE}">{escape(text)}</text>')
        y += 4
        lo, hi = m.scale_min, m.scale_max
        parts.append(f'<rect x="0" y="{y}" width="{plot_w:.1f}" height="{2 * bar_height - 1}" fill="#F2F2F2"/>')
        if m.mean_pre is None and m.mean_post is None:  # one word for the pair (both rest on n paired)
            parts.append(
                f'<text x="4" y="{y + bar_height + 4}" font-size="{SMALL_SIZE}" fill="#666">'
                f"{m.blank_reason('mean_pre')}</text>"
            )
            y += 2 * bar_height + gap
            continue
        for i, (value, colour, column) in enumerate(
            ((m.mean_pre, _PRE, "mean_pre"), (m.mean_post, _POST, "mean_post"))
        ):
            by = y + i * bar_height
            if value is None:
                parts.append(
                    f'<text x="4" y="{by + bar_height - 2}" font-size="{SMALL_SIZE}" fill="#666">'
                    f"{m.blank_reason(column)}</text>"
                )
                continue
            # A mean at the scale's lowest answer still gets a sliver: an empty row would read as missing.
            w = max(plot_w * (value - lo) / (hi - lo), 1.0)
            parts.append(
                f'<rect class="bar" x="0" y="{by}" width="{w:.1f}" height="{bar_height - 1}" fill="{colour}"/>'
            )
            parts.append(f'<text x="{w + 4:.1f}" y="{by + bar_height - 2}" font-size="{SMALL_SIZE}">{value:.2f}</text>')
        y += 2 * bar_height + gap
    parts.append("</svg>")
    return "".join(parts)


def render_html(report: FunderReport) -> str:
    as_of = report.as_of.isoformat() if report.as_of else "n/a"
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Ignite outcomes for {escape(report.funder.name)}</title>",
        "<style>body{font-family:" + FONT_STACK + ";max-width:56rem;margin:2rem auto;color:#222}"
        "table{border-collapse:collapse;margin:.5rem 0 1rem}th,td{border:1px solid #ccc;padding:.25rem .5rem;"
        "text-align:right}td+td{white-space:nowrap}th:first-child,td:first-child{text-align:left}.muted{color:#666;font-size:.85rem}"
        "</style></head><body>",
        f"<h1>Ignite outcomes for {escape(report.funder.name)}</h1>",
        f'<p class="muted">Data as of {escape(as_of)}. {escape(blank_meaning(report.k, "A dash"))} '
        "Change = mean of (after - before) "
        "over respondents who answered both, with its 95% confidence interval; d<sub>z</sub> = paired effect size. "
        f"{escape(CHANGE_AS_PRINTED)}</p>",
    ]
    for g in grant_summaries(report):
        out += [
            f"<h2>{escape(g.name)}</h2>",
            f'<p class="muted">{escape(g.period)} · {g.cohorts} cohort(s)</p>',
            f"<p>Enrolled <b>{fmt(g.enrolled)}</b> · completed <b>{fmt(g.completed)}</b> · "
            f"attendance <b>{fmt(g.attendance_rate, 1, '%')}</b></p>",
        ]
        message = empty_message(g)
        if message is not None:
            out.append(f"<p><i>{escape(message)}</i></p>")
            continue
        out += [
            svg_chart(g),
            "<table><tr><th>Measure</th><th>n paired</th><th>Before</th><th>After</th>"
            "<th>Change [95% CI]</th><th>d<sub>z</sub></th><th>Improved</th></tr>",
        ]
        for m in g.measures:
            better = "higher is better" if m.higher_is_better else "lower is better"
            out.append(
                f'<tr><td>{escape(m.label)} <span class="muted">({better})</span></td><td>{fmt(m.n_paired)}</td>'
                f"<td>{fmt(m.mean_pre)}</td><td>{fmt(m.mean_post)}</td><td>{escape(change_text(m))}</td>"
                f"<td>{fmt(m.d_z)}</td><td>{fmt(m.pct_improved, 0, '%')}</td></tr>"
            )
        out.append("</table>")
    out.append("<h2>Notes</h2>")
    for heading, text in notes(report):
        out.append(f'<p class="muted"><b>{escape(heading)}.</b> {escape(text)}</p>')
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def write_html(report: FunderReport, path: Path) -> Path:
    path.write_text(render_html(report), encoding="utf-8")
    return path
