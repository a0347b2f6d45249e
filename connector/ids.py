"""Salesforce record Ids: 15-character case-sensitive keys plus the 3-character case-safe checksum.

A 15-character Id differs from another only in letter case, which breaks case-insensitive joins and
spreadsheets; Salesforce therefore appends three characters that encode where the upper-case letters are.
We always store and return the 18-character form and accept either form on input, so an Id pasted from the
Salesforce UI (15 characters) still finds its record.
"""

from __future__ import annotations

import re

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ID15 = re.compile(r"^[0-9A-Za-z]{15}$")
_ID18 = re.compile(r"^[0-9A-Za-z]{18}$")


def checksum_suffix(id15: str) -> str:
    """Each 5-character chunk becomes one letter: bit i is set when character i is an upper-case letter."""
    suffix = []
    for start in (0, 5, 10):
        bits = 0
        for i, char in enumerate(id15[start : start + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << i
        suffix.append(_SUFFIX_ALPHABET[bits])
    return "".join(suffix)


def to_18(record_id: str) -> str:
    """The canonical 18-character Id; raises ValueError (MALFORMED_ID) for anything that is not an Id."""
    if _ID15.match(record_id):
        return record_id + checksum_suffix(record_id)
    if _ID18.match(record_id):
        head = record_id[:15]
        if checksum_suffix(head).lower() != record_id[15:].lower():
            raise ValueError(f"invalid Id checksum: {record_id}")
        # The suffix is case-insensitive by design; normalise it so the same record has one spelling.
        return head + checksum_suffix(head)
    raise ValueError(f"not a Salesforce Id: {record_id!r}")


def is_id(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        to_18(value)
    except ValueError:
        return False
    return True


def encode_base62(number: int, width: int) -> str:
    if number < 0 or number >= 62**width:
        raise ValueError(f"{number} does not fit in {width} base-62 digits")
    digits = []
    for _ in range(width):
        number, rem = divmod(number, 62)
        digits.append(BASE62[rem])
    return "".join(reversed(digits))


def make_id(key_prefix: str, sequence: int) -> str:
    """prefix (3) + pod "0L" + reserved "0" + a 9-digit base-62 sequence, then the checksum: 18 characters."""
    if len(key_prefix) != 3:
        raise ValueError(f"key prefix must be 3 characters: {key_prefix!r}")
    id15 = f"{key_prefix}0L0{encode_base62(sequence, 9)}"
    return id15 + checksum_suffix(id15)
