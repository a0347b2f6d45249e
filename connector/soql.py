"""Writing SOQL safely: the one quoting helper every query the sync sends goes through.

The sync builds SOQL text for Salesforce (and for the local CRM, which speaks the same language); a value
spliced into that text must never end the string literal it sits in.  Reading SOQL (the parser the local CRM
executes) lives in connector/local/soql_parser.py, since only the local CRM needs it.
"""

from __future__ import annotations


def soql_quote(value: str) -> str:
    """A SOQL string literal: backslash and quote escaped, control characters spelled out (no injection)."""
    escaped = (
        value.replace("\\", "\\\\")
        .replace("'", "\\'")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
        .replace("\b", "\\b")
        .replace("\f", "\\f")
    )
    return f"'{escaped}'"
