"""The funder's one-page summary (PDF and HTML): one page whatever the funder's size, blanks never drawn as bars."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import date
from decimal import Decimal
from html import unescape
from itertools import product
from pathlib import Path

import pytest
from reportlab.graphics.shapes import Drawing, Group, Rect, String
from reportlab.pdfbase.pdfmetrics import stringWidth

from exports.aggregate import ROLES, CohortInfo, GrantData
from exports.report import FunderReport, build_report
from exports.writers.html import render_html, text_width
from exports.writers.pdf import (
    BAR_COLOURS,
    CONTENT_WIDTH,
    layout,
    outcome_chart,
    panel_title,
    panel_width,
    write_pdf,
)
from exports.writers.summary import CHANGE_AS_PRINTED, NO_COHORTS, grant_summaries
from models import Funder, Grant, Measure, MeasureCatalogue, default_catalogue
from models.statistics import Moments, PairedSummary
from tests.support.export_pages import html_changes, pdf_changes, pdf_text

CATALOGUE = default_catalogue()
K = 5
# Paired changes cycle through these steps (in the measure's better direction): mostly better, some worse.
STEPS = (1, 0, 1, -1, 2)


def _summary(measure: Measure, n_paired: int, seed: int, pre_only: int = 3, post_only: int = 2) -> PairedSummary:
    """Sufficient statistics of made-up answers that stay on the measure's scale, like a real cohort's."""
    lo, hi = int(measure.scale_min), int(measure.scale_max)
    better = 1 if measure.higher_is_better else -1
    pre = [float(lo + (3 * i + seed) % (hi - lo)) for i in range(n_paired + pre_only)]
    paired_post = [min(max(p + better * STEPS[(i + seed) % len(STEPS)], lo), hi) for i, p in enumerate(pre[:n_paired])]
    post = paired_post + [float(lo + (5 * i + seed) % (hi - lo + 1)) for i in range(post_only)]
    change = [b - a for a, b in zip(pre[:n_paired], paired_post, strict=True)]
    threshold = measure.threshold
    return PairedSummary(
        pre=Moments.of(pre),
        post=Moments.of(post),
        change=Moments.of(change),
        pre_paired=Moments.of(pre[:n_paired]),
        post_paired=Moments.of(paired_post),
        n_increased=sum(c > 0 for c in change),
        n_decreased=sum(c < 0 for c in change),
        n_no_change=sum(c == 0 for c in change),
        n_pre_at_threshold=sum(v >= threshold for v in pre) if threshold is not None else 0,
        n_post_at_threshold=sum(v >= threshold for v in post) if threshold is not None else 0,
    )


def _grant(i: int, *, cohorts: int = 2, small: tuple[str, ...] = (), measures: int = 6) -> GrantData:
    """A grant of `cohorts` cohorts of about 16 people; measures named in `small` have 3 paired people in all."""
    keys = [f"cohort:g{i}-{c}" for c in range(cohorts)]
    grant = Grant(
        key=f"grant:g{i}",
        funder="funder:f",
        name=f"Community health grant {i}",
        amount=Decimal(50000),
        period_start=date(2025, 1, 1),
        period_end=date(2025, 12, 31),
        cohorts=tuple(keys) or (f"cohort:g{i}-late",),  # a grant whose only cohort starts after its period
    )
    data = GrantData(
        grant=grant,
        cohorts=[CohortInfo(c, c, "Org", date(2025, 2, 1), date(2025, 6, 1), "completed", "virtual") for c in keys],
    )
    for n, (c, role) in enumerate(product(keys, ROLES)):
        for col, people in (("in_progress", 1), ("completed", 5 + n % 3), ("withdrawn", 1)):
            data.enrolment[(c, role, col)] = people
        data.attended[(c, role)] = 4 * (5 + n % 3)
    data.sessions_held = {c: 6 for c in keys}
    for n, c in enumerate(keys):
        for m in CATALOGUE.measures[:measures]:
            paired = (2 if n == 0 else 1) if m.key in small else 14 + n
            data.summaries[(c, m.key)] = _summary(m, paired, seed=i + n)
    data.latest = date(2025, 6, 1) if keys else None
    return data


def _report(grants: list[GrantData]) -> FunderReport:
    return build_report(Funder(key="funder:f", name="Fairview Foundation"), grants, CATALOGUE, K)


def _pages(pdf: bytes) -> int:
    """Pages of a ReportLab PDF (no object streams): the page tree's /Count, which must agree with the page dicts."""
    [count] = re.findall(rb"/Count (\d+) /Kids \[[^\]]*\] /Type /Pages", pdf)
    assert int(count) == len(re.findall(rb"/Type /Page\b(?!s)", pdf))
    return int(count)


def _shapes(node: Drawing | Group) -> list[object]:
    out: list[object] = []
    for shape in node.contents:
        out += _shapes(shape) if isinstance(shape, Group) else [shape]
    return out


def _bars(drawing: Drawing) -> list[Rect]:
    """The chart's bars: before/after rectangles inside its measure panels (the legend's swatches are not bars)."""
    panels = [s for s in drawing.contents if isinstance(s, Group)]
    return [s for p in panels for s in _shapes(p) if isinstance(s, Rect) and s.fillColor in BAR_COLOURS]


@pytest.mark.parametrize("grants", [1, 3, 6])
def test_the_pdf_summary_is_one_page_with_every_grant_and_measure_on_it(grants: int, tmp_path: Path) -> None:
    pdf = write_pdf(_report([_grant(i) for i in range(1, grants + 1)]), tmp_path / "summary.pdf").read_bytes()
    assert _pages(pdf) == 1
    text = pdf_text(pdf)
    assert all(f"Community health grant {i}" in text for i in range(1, grants + 1))
    assert text.count("Intent to leave within two years") >= grants  # the last measure row of every grant
    assert "Not everything fits" not in text  # a realistic funder is shown whole, not cut


def test_a_funder_too_big_for_one_page_gets_one_page_that_says_where_the_rest_is(tmp_path: Path) -> None:
    pdf = write_pdf(_report([_grant(i) for i in range(1, 16)]), tmp_path / "summary.pdf").read_bytes()
    assert _pages(pdf) == 1
    text = pdf_text(pdf)
    assert "Not everything fits on one page" in text and "The full figures are in outcomes.xlsx" in text
    assert "Community health grant 1" in text


def test_the_same_report_gives_byte_identical_pdf(tmp_path: Path) -> None:
    report = _report([_grant(i) for i in range(1, 4)])
    assert write_pdf(report, tmp_path / "a.pdf").read_bytes() == write_pdf(report, tmp_path / "b.pdf").read_bytes()


def test_a_suppressed_mean_is_labelled_never_drawn_as_a_bar() -> None:
    report = _report([_grant(1, small=("measure:burnout",)), _grant(2)])
    summaries = grant_summaries(report)
    burnout = next(m for m in summaries[0].measures if m.key == "measure:burnout")
    assert burnout.mean_pre is None and burnout.mean_post is None and "mean_pre" in burnout.suppressed
    chart = outcome_chart(summaries)
    means = [v for g in summaries for m in g.measures for v in (m.mean_pre, m.mean_post)]
    assert len(_bars(chart)) == sum(v is not None for v in means) == len(means) - 2
    labels = [s.text for s in _shapes(chart) if isinstance(s, String)]
    assert labels.count("suppressed") == 1


def test_chart_bars_are_drawn_on_the_measure_scale_so_grants_compare() -> None:
    summaries = grant_summaries(_report([_grant(1, measures=1), _grant(2, measures=1)]))
    chart = outcome_chart(summaries)
    texts = [s.text for s in _shapes(chart) if isinstance(s, String)]
    assert {"1", "7"} <= set(texts)  # the axis runs over the 1-7 scale, whatever the data's maximum
    bars = _bars(chart)
    lines = [m for g in summaries for m in g.measures]
    lengths = sorted(b.width for b in bars)
    values = sorted(v for m in lines for v in (m.mean_pre, m.mean_post) if v is not None)
    per_point = [w / (v - 1) for w, v in zip(lengths, values, strict=True)]
    assert max(per_point) - min(per_point) < 1e-6  # one length per scale point in every bar


def test_a_grant_without_cohorts_says_so_in_pdf_and_html(tmp_path: Path) -> None:
    report = _report([_grant(1), _grant(2, cohorts=0)])
    assert NO_COHORTS in pdf_text(write_pdf(report, tmp_path / "summary.pdf").read_bytes())
    html = render_html(report)
    section = html.split("Community health grant 2")[1]
    assert NO_COHORTS in section and "<table" not in section.split("<h2>Notes")[0]


def test_the_html_chart_labels_a_suppressed_mean_and_draws_no_bar_for_it() -> None:
    report = _report([_grant(1, small=("measure:burnout",), measures=5)])
    svg = render_html(report).split("<svg")[1].split("</svg>")[0]
    assert svg.count(">suppressed<") == 1
    bars = re.findall(r'<rect [^>]*class="bar"[^>]*width="([\d.]+)"', svg)
    assert len(bars) == 2 * 5 - 2 and all(float(w) > 0 for w in bars)


# The longest label a measure may have (Measure.label allows 80 characters), in words a catalogue could use.
LONGEST_LABEL = "Confidence that leaders and clinicians here settle disagreements fairly and openly"
FUNDER_SIZES = [1, 3, 6]  # grants: the sizes the PDF's layouts are made for (see pdf._DENSITIES)


def _catalogue(label: str | None) -> MeasureCatalogue:
    if label is None:
        return CATALOGUE
    first, *rest = CATALOGUE.measures
    return MeasureCatalogue(measures=(first.model_copy(update={"label": label}), *rest))


def _text_extent(s: String) -> tuple[float, float]:
    width = stringWidth(s.text, s.fontName, s.fontSize)
    left = s.x - {"start": 0.0, "middle": width / 2, "end": width}[s.textAnchor]
    return left, left + width


@pytest.mark.parametrize("label", [None, LONGEST_LABEL], ids=["catalogue", "longest-label"])
@pytest.mark.parametrize("grants", FUNDER_SIZES)
def test_every_pdf_chart_label_fits_its_panel_at_every_funder_size(grants: int, label: str | None) -> None:
    report = build_report(
        Funder(key="funder:f", name="Fairview Foundation"),
        [_grant(i) for i in range(1, grants + 1)],
        _catalogue(label),
        K,
    )
    pdf, density = layout(report)
    if label is None:  # a realistic funder is shown whole (a longest label may leave a measure row out)
        assert density.measure_rows is None and "Not everything fits" not in pdf_text(pdf)
    assert density.chart
    summaries = grant_summaries(report)
    chart = outcome_chart(summaries, CONTENT_WIDTH, density.bar)  # exactly the chart that page draws
    width = panel_width(CONTENT_WIDTH, len(summaries[0].measures))
    panels = [p for p in chart.contents if isinstance(p, Group)]
    assert len(panels) == len(summaries[0].measures)
    overflow = []
    for panel in panels:
        assert panel.transform[4] + width <= chart.width + 1e-6  # the panel itself stays inside the page's frame
        for s in (s for s in _shapes(panel) if isinstance(s, String)):
            left, right = _text_extent(s)
            if left < -1e-6 or right > width + 1e-6:
                overflow.append(f"{s.text!r} spans {left:.1f}..{right:.1f} of a {width:.1f} pt panel")
    assert not overflow, "\n".join(overflow)
    titles = [" ".join(s.text for s in _shapes(p) if isinstance(s, String) and s.fontName == "Helvetica-Bold")
              for p in panels]  # fmt: skip
    assert titles == [panel_title(m) for m in summaries[0].measures]  # every title whole, none cut with "…"


def _svg_texts(html: str) -> list[tuple[float, str, float, float]]:
    """(svg width, text, x, font size) of every text of every chart; the charts' text is all start-anchored."""
    out = []
    for svg in re.findall(r"<svg .*?</svg>", html, re.DOTALL):
        width = float(re.search(r'width="([\d.]+)"', svg).group(1))  # type: ignore[union-attr]
        for attrs, text in re.findall(r"<text ([^>]*)>(.*?)</text>", svg):
            assert "text-anchor" not in attrs
            x = float(re.search(r'\bx="([\d.-]+)"', attrs).group(1))  # type: ignore[union-attr]
            size = float(re.search(r'font-size="([\d.]+)"', attrs).group(1))  # type: ignore[union-attr]
            out.append((width, unescape(text), x, size))
    return out


@pytest.mark.parametrize("label", [None, LONGEST_LABEL], ids=["catalogue", "longest-label"])
@pytest.mark.parametrize("grants", FUNDER_SIZES)
def test_every_html_chart_label_fits_its_chart_by_a_conservative_width_model(grants: int, label: str | None) -> None:
    report = build_report(
        Funder(key="funder:f", name="Fairview Foundation"),
        [_grant(i) for i in range(1, grants + 1)],
        _catalogue(label),
        K,
    )
    html = render_html(report)
    texts = _svg_texts(html)
    overflow = [f"{t!r} at x={x}" for width, t, x, size in texts if x < 0 or x + text_width(t, size) > width]
    assert not overflow, "\n".join(overflow)
    shown = " ".join(t for _, t, _, size in texts if size == 12)  # the measure labels, wrapped or not
    measures = _catalogue(label).measures
    assert all(f"{m.label} ({m.scale_min:g}–{m.scale_max:g})" in shown for m in measures)


_MEASURE_TEXT = """<script>
const out = [];
let checked = 0;
for (const svg of document.querySelectorAll("svg")) {
  const width = svg.width.baseVal.value;
  for (const text of svg.querySelectorAll("text")) {
    const box = text.getBBox();
    checked += 1;
    if (box.x < -0.5 || box.x + box.width > width + 0.5) out.push(`${text.textContent} ${box.x}..${box.x + box.width}`);
  }
}
const pre = document.createElement("pre");
pre.id = "overflow";
pre.textContent = JSON.stringify({checked, out});
document.body.append(pre);
</script>"""


@pytest.mark.parametrize("grants", FUNDER_SIZES)
def test_no_html_chart_label_overflows_when_a_browser_renders_the_summary(grants: int, tmp_path: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed (apt-get install chromium): the width-model test checks the labels")
    html = render_html(_report([_grant(i) for i in range(1, grants + 1)]))
    page = tmp_path / "summary.html"
    page.write_text(html.replace("</body>", _MEASURE_TEXT + "</body>"), encoding="utf-8")
    dom = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    found = re.search(r'<pre id="overflow">(.*?)</pre>', dom, re.DOTALL)
    assert found, "the browser did not run the measuring script"
    result = json.loads(unescape(found.group(1)))
    assert result["checked"] == len(_svg_texts(html)) and not result["out"], result


def _paired(pre: list[float], post: list[float]) -> PairedSummary:
    change = [b - a for a, b in zip(pre, post, strict=True)]
    return PairedSummary(
        pre=Moments.of(pre),
        post=Moments.of(post),
        change=Moments.of(change),
        pre_paired=Moments.of(pre),
        post_paired=Moments.of(post),
        n_increased=sum(c > 0 for c in change),
        n_decreased=sum(c < 0 for c in change),
        n_no_change=sum(c == 0 for c in change),
    )


def test_a_page_prints_change_as_after_minus_before_as_printed_so_it_adds_up(tmp_path: Path) -> None:
    # Means 4.125 and 5.208 print as 4.12 and 5.21; the unrounded change 1.083 would print +1.08, which a reader
    # checking 5.21 - 4.12 = 1.09 would take for an arithmetic error.
    data = _grant(1, cohorts=1, measures=1)
    (key,) = data.summaries
    data.summaries[key] = _paired([4.0] * 21 + [5.0] * 3, [5.0] * 19 + [6.0] * 5)
    report = _report([data])
    rows = [(Decimal("4.12"), Decimal("5.21"), Decimal("1.09"))]
    assert html_changes(render_html(report)) == rows
    pdf = write_pdf(report, tmp_path / "summary.pdf").read_bytes()
    assert pdf_changes(pdf) == rows
    assert CHANGE_AS_PRINTED in " ".join(pdf_text(pdf).split())
