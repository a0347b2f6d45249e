"""A problem names the record, the field and the rule, so a person can fix the source row without guessing."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError


@dataclass(frozen=True, slots=True)
class Problem:
    record: str
    field: str
    rule: str

    def __str__(self) -> str:
        return f"{self.record} {self.field}: {self.rule}"


def problems_from_validation_error(record: str, error: ValidationError) -> list[Problem]:
    """Every error pydantic found, not just the first, each with a dotted field path."""
    problems = []
    for item in error.errors(include_url=False):
        field = ".".join(str(part) for part in item["loc"]) or "(record)"
        message = item["msg"]
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        problems.append(Problem(record=record, field=field, rule=message))
    return problems
