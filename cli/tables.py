"""Tables that stay readable in 80 columns and when piped: API names wrap instead of being cut to `pmdm_…`.

Rich shrinks columns to fit the terminal (80 columns when piped) and, by default, cuts long words with an
ellipsis, which turned seven PMM objects into seven identical `pmdm__…` cells.  Here names fold onto a second
line instead, numbers never wrap, and a namespace prefix is dropped where the short name is still unambiguous.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from rich import box
from rich.table import Table

_NAMESPACED = re.compile(r"^(?P<ns>[A-Za-z][A-Za-z0-9]*)__(?P<rest>.+__[A-Za-z]+)$")


def short_names(names: Iterable[str]) -> dict[str, str]:
    """Each API name → what to print: `pmdm__ServiceDelivery__c` → `ServiceDelivery__c` when no other name
    shown would print the same (a custom object of the org's own with that name keeps the prefix on both)."""
    names = list(dict.fromkeys(names))
    short = {}
    for name in names:
        match = _NAMESPACED.match(name)
        short[name] = match.group("rest") if match else name
    printed: dict[str, list[str]] = {}
    for name, label in short.items():
        printed.setdefault(label, []).append(name)
    return {name: (label if len(printed[label]) == 1 else name) for name, label in short.items()}


def table(
    title: str | None,
    *columns: str,
    numeric: Iterable[str] = (),
    caption: str | None = None,
    whole: Mapping[str, Iterable[str]] | None = None,
) -> Table:
    """A table whose text columns fold long words and whose `numeric` columns are right-aligned and unbroken;
    `whole` names columns whose values (API names) should be kept on one line when at all possible."""
    numbers = set(numeric)
    widths = {name: min(max((len(v) for v in values), default=0), 24) for name, values in (whole or {}).items()}
    out = Table(title=title, caption=caption, box=box.SIMPLE_HEAD, title_justify="left")
    for name in columns:
        if name in numbers:
            out.add_column(name, justify="right", no_wrap=True, min_width=len(name))
        else:
            out.add_column(name, overflow="fold", min_width=widths.get(name, min(len(name), 8)))
    return out


def busy_columns(
    columns: Iterable[str], rows: Iterable[Mapping[str, int]], *, always: Iterable[str] = ()
) -> tuple[list[str], list[str]]:
    """Split count columns into those with a non-zero value somewhere (shown) and the rest (named once in a
    caption): eight always-zero problem columns are what pushed the object names out of 80 columns."""
    rows = list(rows)
    keep = set(always)
    shown = [c for c in columns if c in keep or any(row.get(c, 0) for row in rows)]
    return shown, [c for c in columns if c not in shown]
