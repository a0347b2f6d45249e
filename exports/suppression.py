"""Small-cell suppression with complementary suppression, for tables of counts tied by additive relations.

A table is a set of count cells and relations `total = part + part + ...` (a row total, a column total, a grant
roll-up over cohorts, "pre respondents = paired + pre-only").  Some cells are *hidden*: never published but
derivable (pre-only respondents are n pre minus n paired), so they take part in the arithmetic like any other.

1. Primary: every cell whose value is 1..k-1 is suppressed (hidden ones are protected the same way).
2. Complementary, relation by relation: a relation may not have exactly one unknown cell (subtraction would
   give it back), and when its total is published the unknown parts may not add up to 1..k-1 (that sum is
   itself a small count).  A violation suppresses one more published cell: the lightest (by `weight`, what
   readers lose), then parts before the total, then the smallest non-zero value (least information lost).
3. Audit: exact linear algebra over all relations at once (Gauss-Jordan on rationals): if any suppressed or
   protected cell is still determined by the published numbers (across several relations, which step 2
   cannot see), one more cell beside it is suppressed and the whole process repeats.

Zero is never suppressed: "nobody" is published, and a blanked zero would protect nothing, because counts
cannot be negative: a published total of 0 (or any combination of relations adding up to 0) tells a reader that
every blank inside it is 0, and those zeros then unlock plain subtraction elsewhere.  So zeros are published,
hidden zeros count as known, and every cell the audit treats as unknown is strictly positive.  For such cells
linear algebra is the whole story: if no combination of the relations pins a positive cell down, every nearby
value is feasible too, so the non-negativity of counts tells a reader nothing more.  Which suppressed cells were
primary is never published either, since that alone would say "this one is 1..k-1".
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from fractions import Fraction

Cell = Hashable


@dataclass
class CountTable:
    k: int
    values: dict[Cell, int] = field(default_factory=dict)
    hidden: set[Cell] = field(default_factory=set)
    relations: list[tuple[Cell, tuple[Cell, ...]]] = field(default_factory=list)
    weights: dict[Cell, int] = field(default_factory=dict)

    def add(self, cell: Cell, value: int, *, hidden: bool = False, weight: int = 1) -> None:
        """`weight` is what blanking this cell costs readers (a count that many statistics rest on costs more)."""
        if value < 0:
            raise ValueError(f"count {cell!r} is negative ({value})")
        if cell in self.values and self.values[cell] != value:
            raise ValueError(f"count {cell!r} added twice with different values")
        self.values[cell] = value
        self.weights[cell] = weight
        if hidden:
            self.hidden.add(cell)

    def relate(self, total: Cell, parts: Iterable[Cell]) -> None:
        """Declare `total = sum(parts)`; checked, because a wrong relation would protect nothing."""
        parts = tuple(parts)
        missing = [c for c in (total, *parts) if c not in self.values]
        if missing:
            raise KeyError(f"relation mentions cells never added: {missing!r}")
        if self.values[total] != sum(self.values[p] for p in parts):
            raise ValueError(f"relation does not add up: {total!r} != sum of {parts!r}")
        self.relations.append((total, parts))


def _small(value: int, k: int) -> bool:
    return 0 < value < k


def suppress(table: CountTable) -> frozenset[Cell]:
    """Every cell that must stay unknown: published cells to blank, and the hidden cells that are protected."""
    k = table.k
    if k < 2:
        raise ValueError("k must be at least 2")
    values, hidden = table.values, table.hidden
    suppressed = {c for c, v in values.items() if _small(v, k)}
    by_cell: dict[Cell, list[int]] = {}
    for i, (total, parts) in enumerate(table.relations):
        for c in (total, *parts):
            by_cell.setdefault(c, []).append(i)

    def unknown(c: Cell) -> bool:
        """What a reader cannot see or work out at a glance: blanks, and hidden cells that are not zero."""
        return c in suppressed or (c in hidden and values[c] != 0)

    def pick(relation: int) -> Cell:
        total, parts = table.relations[relation]
        candidates = [(c, c is total) for c in (*parts, total) if not unknown(c) and values[c] != 0]
        if not candidates:  # pragma: no cover - a violated relation always has a known non-zero member
            raise RuntimeError(f"no cell left to suppress in relation {total!r}")
        return min(candidates, key=lambda ct: (table.weights[ct[0]], ct[1], values[ct[0]], repr(ct[0])))[0]

    structural: set[Cell] = set()
    while True:
        changed = True
        while changed:
            changed = False
            for i, (total, parts) in enumerate(table.relations):
                members = (total, *parts)
                unknowns = [c for c in members if unknown(c)]
                if not any(c in suppressed for c in unknowns):
                    continue
                leaky_sum = not unknown(total) and _small(sum(values[c] for c in unknowns), k)
                if len(unknowns) == 1 or leaky_sum:
                    suppressed.add(pick(i))
                    changed = True
        blanks = suppressed | {c for c in hidden if values[c] != 0}
        determined = [c for c in _determined_unknowns(table, blanks) if c in suppressed and c not in structural]
        if not determined:
            return frozenset(suppressed)
        cell = sorted(determined, key=repr)[0]
        relation = _nearest_relation_with_known_cell(table, by_cell, cell, unknown)
        if relation is None:
            # Pinned down by blanks and zeros alone: only a zero can be (the relations hold for the true values),
            # and zeros are never blanked.  Kept as a guard; nothing published tells it, so nothing is left to blank.
            structural.add(cell)
        else:
            suppressed.add(pick(relation))


def _nearest_relation_with_known_cell(
    table: CountTable, by_cell: dict[Cell, list[int]], cell: Cell, unknown: Callable[[Cell], bool]
) -> int | None:
    """Breadth-first over relations from `cell`: the closest one that still has a published non-zero cell to blank.

    A determined cell whose own relations are all blank is pinned down further away (through a roll-up, say), so
    the blank that breaks the chain is sought along it.
    """
    seen_cells, seen_relations = {cell}, set()
    frontier = [cell]
    while frontier:
        following = []
        for c in frontier:
            for i in by_cell.get(c, []):
                if i in seen_relations:
                    continue
                seen_relations.add(i)
                total, parts = table.relations[i]
                members = (total, *parts)
                if any(not unknown(m) and table.values[m] != 0 for m in members):
                    return i
                following += [m for m in members if m not in seen_cells]
                seen_cells.update(members)
        frontier = following
    return None


def _determined_unknowns(table: CountTable, unknowns: set[Cell]) -> list[Cell]:
    """Unknown cells whose value follows exactly from the known ones through the relations."""
    columns = sorted(unknowns, key=repr)
    index = {c: i for i, c in enumerate(columns)}
    rows: list[dict[int, Fraction]] = []
    for total, parts in table.relations:
        row: dict[int, Fraction] = {}
        for c, sign in ((total, -1), *((p, 1) for p in parts)):
            if c in index:
                row[index[c]] = row.get(index[c], Fraction(0)) + sign
        row = {j: v for j, v in row.items() if v != 0}
        if row:
            rows.append(row)
    # Gauss-Jordan elimination on sparse rows; the constant side is irrelevant to *whether* a cell is determined.
    pivots: dict[int, dict[int, Fraction]] = {}
    for row in rows:
        for col, prow in pivots.items():
            if col in row:
                factor = row[col]
                for j, v in prow.items():
                    row[j] = row.get(j, Fraction(0)) - factor * v
                row = {j: v for j, v in row.items() if v != 0}
        if not row:
            continue
        col = min(row)
        lead = row[col]
        row = {j: v / lead for j, v in row.items()}
        for other_col, prow in pivots.items():
            if col in prow:
                factor = prow[col]
                for j, v in row.items():
                    prow[j] = prow.get(j, Fraction(0)) - factor * v
                pivots[other_col] = {j: v for j, v in prow.items() if v != 0}
        pivots[col] = row
    return [columns[col] for col, prow in pivots.items() if len(prow) == 1]
