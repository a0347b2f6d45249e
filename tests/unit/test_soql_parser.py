"""The SOQL subset: what parses, into what, and how a mistake is reported (MALFORMED_QUERY with a position)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from connector.local.date_literals import DateLiteral, date_range
from connector.local.soql_parser import (
    BoolOp,
    Comparison,
    MalformedQueryError,
    Not,
    OrderItem,
    Value,
    parse,
)


def test_full_query_parses_into_a_typed_tree() -> None:
    query = parse(
        "select Id, Account.Name from Contact where (Email = 'a@b.org' or Email = null) and not Years__c >= 2.5 "
        "order by Account.Name desc nulls last, LastName limit 10 offset 5"
    )
    assert query.object_name == "Contact"
    assert [f.text for f in query.fields] == ["Id", "Account.Name"]
    assert isinstance(query.where, BoolOp) and query.where.op == "AND"
    left, right = query.where.operands
    assert isinstance(left, BoolOp) and left.op == "OR"
    assert isinstance(right, Not) and isinstance(right.operand, Comparison)
    assert right.operand.value == Value(Decimal("2.5"), right.operand.value.position)  # type: ignore[union-attr]
    assert query.order_by[0] == OrderItem(query.order_by[0].field, descending=True, nulls_last=True)
    assert query.order_by[1].nulls_last is None
    assert (query.limit, query.offset) == (10, 5)


def test_count_query() -> None:
    query = parse("SELECT COUNT() FROM Lead WHERE Status != 'Closed'")
    assert query.count_only and query.fields == ()


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        pytest.param("'it\\'s'", "it's", id="escaped-quote"),
        pytest.param("'back\\\\slash'", "back\\slash", id="escaped-backslash"),
        pytest.param("'line\\nbreak'", "line\nbreak", id="newline"),
        pytest.param("42", 42, id="integer"),
        pytest.param("-3.25", Decimal("-3.25"), id="decimal"),
        pytest.param("TRUE", True, id="boolean"),
        pytest.param("null", None, id="null"),
        pytest.param("2024-02-29", dt.date(2024, 2, 29), id="date"),
        pytest.param("2024-02-29T13:45:00Z", dt.datetime(2024, 2, 29, 13, 45, tzinfo=dt.UTC), id="datetime-utc"),
        pytest.param(
            "2024-02-29T13:45:00.000+02:00", dt.datetime(2024, 2, 29, 11, 45, tzinfo=dt.UTC), id="datetime-offset"
        ),
        pytest.param("TODAY", DateLiteral("TODAY"), id="relative-date"),
        pytest.param("LAST_N_DAYS:30", DateLiteral("LAST_N_DAYS", 30), id="relative-date-with-n"),
    ],
)
def test_literals(literal: str, expected: object) -> None:
    where = parse(f"SELECT Id FROM X WHERE F = {literal}").where
    assert isinstance(where, Comparison) and isinstance(where.value, Value)
    assert where.value.value == expected


def test_like_keeps_escaped_wildcards_literal() -> None:
    where = parse("SELECT Id FROM X WHERE F LIKE '50\\%\\_off%'").where
    assert isinstance(where, Comparison) and isinstance(where.value, Value)
    assert where.value.value == "50%_off%"
    assert where.value.like_pattern == "50\\%\\_off%"


def test_in_and_not_in_lists() -> None:
    where = parse("SELECT Id FROM X WHERE F NOT IN ('a', 'b') AND G IN (1)").where
    assert isinstance(where, BoolOp)
    first, second = where.operands
    assert isinstance(first, Comparison) and first.op == "NOT IN" and len(first.value) == 2  # type: ignore[arg-type]
    assert isinstance(second, Comparison) and second.op == "IN"


@pytest.mark.parametrize(
    ("soql", "column"),
    [
        pytest.param("SELECT Id FRM Contact", 11, id="misspelt-from"),
        pytest.param("SELECT FROM Contact", 8, id="no-fields"),
        pytest.param("SELECT Id FROM Contact WHERE", 29, id="dangling-where"),
        pytest.param("SELECT Id FROM Contact WHERE Name = 'open", 37, id="unterminated-string"),
        pytest.param("SELECT Id FROM Contact WHERE Name ~ 'x'", 35, id="unknown-operator"),
        pytest.param("SELECT Id FROM Contact LIMIT x", 30, id="limit-not-a-number"),
        pytest.param("SELECT Id FROM Contact WHERE D = LAST_N_DAYS", 45, id="n-literal-without-n"),
        pytest.param("SELECT Id FROM Contact garbage", 24, id="trailing-words"),
        pytest.param("SELECT COUNT() FROM Contact ORDER BY Name", 38, id="count-with-order"),
        pytest.param("SELECT Id FROM Contact WHERE (Name = 'x'", 41, id="unclosed-parenthesis"),
    ],
)
def test_errors_are_malformed_query_with_the_column(soql: str, column: int) -> None:
    with pytest.raises(MalformedQueryError) as info:
        parse(soql)
    assert info.value.code == "MALFORMED_QUERY"
    assert info.value.column == column, str(info.value)
    assert f"Column:{column}" in str(info.value)


def test_error_position_counts_lines() -> None:
    with pytest.raises(MalformedQueryError) as info:
        parse("SELECT Id\nFROM Contact\nWHERE Name = ")
    assert (info.value.row, info.value.column) == (3, 14)


WEDNESDAY = dt.date(2025, 5, 14)


@pytest.mark.parametrize(
    ("literal", "start", "end"),
    [
        pytest.param(DateLiteral("TODAY"), "2025-05-14", "2025-05-15", id="today"),
        pytest.param(DateLiteral("YESTERDAY"), "2025-05-13", "2025-05-14", id="yesterday"),
        pytest.param(DateLiteral("THIS_WEEK"), "2025-05-11", "2025-05-18", id="week-starts-sunday"),
        pytest.param(DateLiteral("LAST_MONTH"), "2025-04-01", "2025-05-01", id="last-month"),
        pytest.param(DateLiteral("THIS_QUARTER"), "2025-04-01", "2025-07-01", id="quarter"),
        pytest.param(DateLiteral("NEXT_YEAR"), "2026-01-01", "2027-01-01", id="next-year"),
        pytest.param(DateLiteral("LAST_N_DAYS", 7), "2025-05-07", "2025-05-15", id="last-n-days-includes-today"),
        pytest.param(DateLiteral("NEXT_N_DAYS", 2), "2025-05-15", "2025-05-17", id="next-n-days-starts-tomorrow"),
        pytest.param(DateLiteral("LAST_N_MONTHS", 13), "2024-04-01", "2025-05-01", id="months-across-years"),
    ],
)
def test_relative_date_ranges(literal: DateLiteral, start: str, end: str) -> None:
    assert date_range(literal, WEDNESDAY) == (dt.date.fromisoformat(start), dt.date.fromisoformat(end))
