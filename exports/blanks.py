"""What a blank cell means, worded once for every file of an export.

A blank is either suppressed (small-cell protection) or not applicable (nobody answered, no spread to compute a
statistic from); the files used to say it differently (the workbook's Summary sheet said every blank was
suppressed), so a funder reading two of them could not tell which was true.  Every writer takes its sentence
from here.
"""

from __future__ import annotations


def blank_meaning(k: int, blank: str = "A blank cell") -> str:
    """The sentence that says what `blank` (a blank cell, a dash) means, for minimum cell size `k`."""
    return (
        f"{blank} is either suppressed (a count of fewer than {k} people, a statistic computed from one, or a "
        "cell blanked so that another small cell cannot be worked out) or not applicable (no respondents, or no "
        "spread to compute from)."
    )


# How a table's description refers to that sentence (the notes carry it in full).
BLANKS_IN_TABLES = "a blank cell is suppressed or not applicable (see the notes)"
