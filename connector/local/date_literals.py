"""SOQL's relative date literals (`TODAY`, `LAST_N_DAYS:30`…): their names and the days each one covers.

The parser recognises the names; the local CRM's query compiler turns a literal into a half-open range of
days when the query runs, so `LAST_N_DAYS:3` means the same whole UTC days as it does in an org.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

DATE_LITERALS = frozenset(
    {
        "YESTERDAY",
        "TODAY",
        "TOMORROW",
        "LAST_WEEK",
        "THIS_WEEK",
        "NEXT_WEEK",
        "LAST_MONTH",
        "THIS_MONTH",
        "NEXT_MONTH",
        "LAST_90_DAYS",
        "NEXT_90_DAYS",
        "THIS_QUARTER",
        "LAST_QUARTER",
        "NEXT_QUARTER",
        "THIS_YEAR",
        "LAST_YEAR",
        "NEXT_YEAR",
    }
)
DATE_LITERALS_N = frozenset(
    {
        "LAST_N_DAYS",
        "NEXT_N_DAYS",
        "N_DAYS_AGO",
        "LAST_N_WEEKS",
        "NEXT_N_WEEKS",
        "LAST_N_MONTHS",
        "NEXT_N_MONTHS",
        "LAST_N_YEARS",
        "NEXT_N_YEARS",
    }
)


@dataclass(frozen=True, slots=True)
class DateLiteral:
    """`TODAY`, `LAST_N_DAYS:30`…: resolved to a half-open date range when the query runs."""

    name: str
    n: int | None = None


def _add_months(day: dt.date, months: int) -> dt.date:
    total = day.year * 12 + day.month - 1 + months
    year, month = divmod(total, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def date_range(literal: DateLiteral, today: dt.date) -> tuple[dt.date, dt.date]:
    """The half-open range [start, end) of days a relative date literal covers (weeks start on Sunday).

    LAST_N_DAYS:n includes today, as Salesforce documents; NEXT_N_DAYS:n starts tomorrow.
    """
    name, n = literal.name, literal.n or 0
    one = dt.timedelta(days=1)
    week_start = today - dt.timedelta(days=(today.weekday() + 1) % 7)
    month_start = today.replace(day=1)
    quarter_start = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    year_start = dt.date(today.year, 1, 1)
    ranges: dict[str, tuple[dt.date, dt.date]] = {
        "YESTERDAY": (today - one, today),
        "TODAY": (today, today + one),
        "TOMORROW": (today + one, today + 2 * one),
        "LAST_WEEK": (week_start - 7 * one, week_start),
        "THIS_WEEK": (week_start, week_start + 7 * one),
        "NEXT_WEEK": (week_start + 7 * one, week_start + 14 * one),
        "LAST_MONTH": (_add_months(month_start, -1), month_start),
        "THIS_MONTH": (month_start, _add_months(month_start, 1)),
        "NEXT_MONTH": (_add_months(month_start, 1), _add_months(month_start, 2)),
        "LAST_90_DAYS": (today - 90 * one, today + one),
        "NEXT_90_DAYS": (today + one, today + 91 * one),
        "LAST_QUARTER": (_add_months(quarter_start, -3), quarter_start),
        "THIS_QUARTER": (quarter_start, _add_months(quarter_start, 3)),
        "NEXT_QUARTER": (_add_months(quarter_start, 3), _add_months(quarter_start, 6)),
        "LAST_YEAR": (year_start.replace(year=today.year - 1), year_start),
        "THIS_YEAR": (year_start, year_start.replace(year=today.year + 1)),
        "NEXT_YEAR": (year_start.replace(year=today.year + 1), year_start.replace(year=today.year + 2)),
        "LAST_N_DAYS": (today - n * one, today + one),
        "NEXT_N_DAYS": (today + one, today + (n + 1) * one),
        "N_DAYS_AGO": (today - n * one, today - (n - 1) * one),
        "LAST_N_WEEKS": (week_start - 7 * n * one, week_start),
        "NEXT_N_WEEKS": (week_start + 7 * one, week_start + 7 * (n + 1) * one),
        "LAST_N_MONTHS": (_add_months(month_start, -n), month_start),
        "NEXT_N_MONTHS": (_add_months(month_start, 1), _add_months(month_start, n + 1)),
        "LAST_N_YEARS": (year_start.replace(year=today.year - n), year_start),
        "NEXT_N_YEARS": (year_start.replace(year=today.year + 1), year_start.replace(year=today.year + n + 1)),
    }
    return ranges[name]
