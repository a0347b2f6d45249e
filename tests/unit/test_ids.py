"""Salesforce Ids: the case-safe suffix must match what Salesforce computes, or pasted Ids would not resolve."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.ids import BASE62, checksum_suffix, is_id, make_id, to_18


@pytest.mark.parametrize(
    ("id15", "id18"),
    [
        pytest.param("a0D30000001n7Pi", "a0D30000001n7PiEAI", id="custom-object"),
        pytest.param("001A0000006Vm9r", "001A0000006Vm9rIAC", id="account"),
        pytest.param("0030000000abcde", "0030000000abcdeAAA", id="all-lower-case"),
        pytest.param("ZZZZZZZZZZZZZZZ", "ZZZZZZZZZZZZZZZ555", id="all-upper-case"),
    ],
)
def test_suffix_matches_salesforce(id15: str, id18: str) -> None:
    assert to_18(id15) == id18
    assert to_18(id18) == id18


def test_suffix_letter_case_is_not_significant() -> None:
    assert to_18("a0D30000001n7PieaI") == "a0D30000001n7PiEAI"


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param("", id="empty"),
        pytest.param("003-bad", id="punctuation"),
        pytest.param("a0D30000001n7PiAAA", id="wrong-suffix"),
        pytest.param("a0D30000001n7P", id="fourteen-characters"),
    ],
)
def test_non_ids_are_rejected(bad: str) -> None:
    with pytest.raises(ValueError):
        to_18(bad)
    assert not is_id(bad)


@given(st.integers(min_value=0, max_value=62**9 - 1))
def test_generated_ids_carry_prefix_and_valid_suffix(sequence: int) -> None:
    record_id = make_id("003", sequence)
    assert len(record_id) == 18 and record_id.startswith("003")
    assert record_id[15:] == checksum_suffix(record_id[:15])
    assert to_18(record_id[:15]) == record_id


def test_generated_ids_sort_in_creation_order() -> None:
    ids = [make_id("001", n) for n in (1, 9, 10, 35, 36, 61, 62, 3843, 3844)]
    assert ids == sorted(ids)
    assert set(BASE62) >= set("".join(i[6:15] for i in ids))
