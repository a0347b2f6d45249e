"""One rule for every value that goes into a log line: it stays on its line and says only what it is.

A sender controls delivery ids, source names in URLs, error texts that quote them, and more.  A newline in
one would split an "intake accepted" line in two, and the second half could be a forged entry ("log
forging"); a terminal escape could rewrite what an operator sees.  `loggable` escapes every control character
(C0, DEL, C1), the Unicode line and paragraph separators and the bidirectional overrides, and the backslash
itself so an escape in the log can always be told from one the value carried, and it caps the length.
"""

from __future__ import annotations

import unicodedata

LOG_VALUE_MAX = 200
_EXTRA = frozenset("\u2028\u2029\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _escape(char: str) -> str:
    if char == "\\":
        return "\\\\"
    if char in _EXTRA or unicodedata.category(char) == "Cc" or unicodedata.category(char) == "Cs":
        code = ord(char)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return char


def loggable(value: object, limit: int = LOG_VALUE_MAX) -> str:
    """`value` as text fit for one log line: control characters escaped, at most `limit` characters kept."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        text = text[:limit] + "…"
    if text.isprintable() and "\\" not in text:
        return text
    return "".join(_escape(char) for char in text)
