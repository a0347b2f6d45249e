"""Help a person can follow: flags look like flags, and prose is wrapped as paragraphs, not broken mid-sentence."""

from __future__ import annotations

import itertools

import pytest
from typer.testing import CliRunner

from cli.app import app


@pytest.mark.parametrize("command", [("sync",), ("export", "funder"), ("serve",), ("import",), ("intake", "sign")])
def test_help_shows_flags_as_flags_and_prose_as_paragraphs(command: tuple[str, ...]) -> None:
    """`--dry-run <bool>` made people type `--dry-run true`, which fails; help lines must not break mid-sentence."""
    result = CliRunner().invoke(app, [*command, "--help"], terminal_width=80)
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output, command
    assert "service:create_app" not in result.output
    prose = result.output.split("\nArguments:")[0].split("\nOptions:")[0].splitlines()
    stranded = [a for a, b in itertools.pairwise(prose) if len(a.split()) == 1 and b.strip()]
    assert not stranded, (command, stranded)
    assert max(len(line) for line in result.output.splitlines()) <= 80
