"""Reads by Id: every value quoted by the one SOQL helper, at most 200 per query, every page read, lazily."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from connector.base import QueryPage
from connector.local.soql_parser import Comparison, parse
from connector.reader import query_all, records_by_ids


class PagedRecords:
    """A CRM double answering `WHERE Id IN (…)` from a dict, two records a page; it keeps the queries it got."""

    def __init__(self, records: dict[str, dict[str, Any]]) -> None:
        self.records = records
        self.queries: list[str] = []
        self.pages_read = 0

    def query(self, soql: str, *, include_deleted: bool = False) -> Iterator[QueryPage]:
        self.queries.append(soql)
        where = parse(soql).where  # the real parser: a badly quoted value fails here
        assert isinstance(where, Comparison) and isinstance(where.value, tuple)
        found = [self.records[str(v.value)] for v in where.value if str(v.value) in self.records]
        for start in range(0, max(len(found), 1), 2):
            self.pages_read += 1
            yield QueryPage(found[start : start + 2], len(found), start + 2 >= len(found))


def test_ids_are_read_200_a_query_and_every_page_of_each_answer_is_kept() -> None:
    crm = PagedRecords({f"003{n:04d}": {"Id": f"003{n:04d}", "Name": f"p{n}"} for n in range(450)})
    wanted = [f"003{n:04d}" for n in range(0, 450, 1)] + ["003gone"]
    found = records_by_ids(crm, "Contact", ["Name"], wanted)
    assert len(crm.queries) == 3  # 451 distinct Ids: 200 + 200 + 51
    assert set(found) == {f"003{n:04d}" for n in range(450)}  # an Id the CRM no longer has is simply absent
    assert found["0030449"] == {"Id": "0030449", "Name": "p449"}
    assert crm.queries[0].startswith("SELECT Id, Name FROM Contact WHERE Id IN ('0030000', ")


def test_a_value_with_a_quote_cannot_change_the_query() -> None:
    crm = PagedRecords({"x' OR Name != '": {"Id": "x' OR Name != '"}})
    found = records_by_ids(crm, "Contact", [], ["x' OR Name != '"])
    assert list(found) == ["x' OR Name != '"]  # read back as one literal value, not as SOQL


def test_query_all_stops_reading_pages_once_the_caller_has_what_it_needs() -> None:
    crm = PagedRecords({f"a{n}": {"Id": f"a{n}"} for n in range(10)})
    soql = "SELECT Id FROM Contact WHERE Id IN (" + ", ".join(f"'a{n}'" for n in range(10)) + ")"
    first = next(query_all(crm, soql))
    assert first == {"Id": "a0"} and crm.pages_read == 1
