"""Reading back what a summary page prints: the strings of a ReportLab PDF and the rows of the HTML table."""

from __future__ import annotations

import base64
import re
import zlib
from decimal import Decimal
from html import unescape

_CHANGE = re.compile(r"([+-]\d+\.\d\d)(?: \[[^\]]*\])?")
_MEAN = re.compile(r"\d+\.\d\d")


def pdf_text(pdf: bytes) -> str:
    """The strings a PDF's pages show, from its ASCII85 + Flate content streams (enough to find a sentence)."""
    shown = []
    for raw in re.findall(rb"stream\r?\n(.*?)endstream", pdf, re.DOTALL):
        content = zlib.decompress(base64.a85decode(raw.strip().removesuffix(b"~>"))).decode("latin-1")
        shown += re.findall(r"\(((?:[^()\\]|\\.)*)\) Tj", content)
    return "\n".join(s.replace("\\(", "(").replace("\\)", ")") for s in shown)


def pdf_changes(pdf: bytes) -> list[tuple[Decimal, Decimal, Decimal]]:
    """(before, after, change) of every table row that prints all three: the cells are drawn in column order."""
    cells = pdf_text(pdf).split("\n")
    return [
        (Decimal(cells[i - 2]), Decimal(cells[i - 1]), Decimal(m.group(1)))
        for i, cell in enumerate(cells)
        if i >= 2 and (m := _CHANGE.fullmatch(cell)) and _MEAN.fullmatch(cells[i - 2]) and _MEAN.fullmatch(cells[i - 1])
    ]


def html_changes(html: str) -> list[tuple[Decimal, Decimal, Decimal]]:
    """(before, after, change) of every summary table row that prints all three."""
    out = []
    for row in re.findall(r"<tr>(.*?)</tr>", html):
        cells = [unescape(c) for c in re.findall(r"<td>(.*?)</td>", row)]
        if len(cells) >= 5 and _MEAN.fullmatch(cells[2]) and _MEAN.fullmatch(cells[3]):
            change = _CHANGE.fullmatch(cells[4])
            if change:
                out.append((Decimal(cells[2]), Decimal(cells[3]), Decimal(change.group(1))))
    return out
