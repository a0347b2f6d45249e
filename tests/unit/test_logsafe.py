"""Log values stay on their line: the one helper every log call that carries a sender's value goes through."""

from __future__ import annotations

import pytest

from models.logsafe import LOG_VALUE_MAX, loggable


@pytest.mark.parametrize(
    ("raw", "logged"),
    [
        ("msg_1\nINFO intake accepted", "msg_1\\x0aINFO intake accepted"),
        ("a\r\nb", "a\\x0d\\x0ab"),
        ("nul\x00", "nul\\x00"),
        ("\x1b[31mred", "\\x1b[31mred"),
        ("line\u2028sep", "line\\u2028sep"),
        ("rtl\u202eevil", "rtl\\u202eevil"),
        ("back\\x0aslash", "back\\\\x0aslash"),  # a literal backslash cannot pose as an escape
        ("lone\ud800", "lone\\ud800"),
        ("plain-id_123", "plain-id_123"),
        ("José", "José"),
    ],
)
def test_control_characters_in_a_logged_value_are_escaped(raw: str, logged: str) -> None:
    assert loggable(raw) == logged


def test_a_logged_value_is_capped() -> None:
    assert len(loggable("x" * 10_000)) == LOG_VALUE_MAX + 1
