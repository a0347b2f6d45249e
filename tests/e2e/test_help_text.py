"""Help a person can follow: flags look like flags, and prose is wrapped as paragraphs, not broken mid-sentence.

Rendered in a real process with its output piped, as a person sees it through `| less`: in-process test runners
switch Typer's Rich help off, so only a process shows what the command really prints.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

from tests.e2e.process import ROOT, clean_env

COMMANDS = [("sync",), ("export", "funder"), ("serve",), ("import",), ("intake", "sign")]
SEPARATOR = "=====help-of-next-command====="
RENDER = f"""
import sys
from cli.app import app
for command in {COMMANDS!r}:
    try:
        app([*command, "--help"])
    except SystemExit:
        pass
    print({SEPARATOR!r}, flush=True)
"""


def test_help_shows_flags_as_flags_and_prose_as_paragraphs(tmp_path: Path) -> None:
    """`--dry-run <bool>` made people type `--dry-run true`, which fails; help lines must not break mid-sentence."""
    env = clean_env(COLUMNS="80", PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-c", RENDER], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    pages = done.stdout.split(SEPARATOR)[: len(COMMANDS)]
    assert len(pages) == len(COMMANDS) and all("Usage:" in page for page in pages), done.stdout
    for command, page in zip(COMMANDS, pages, strict=True):
        assert "<bool>" not in page, command
        assert "service:create_app" not in page
        prose = page.split("\nArguments:")[0].split("\nOptions:")[0].splitlines()
        stranded = [a for a, b in itertools.pairwise(prose) if len(a.split()) == 1 and b.strip()]
        assert not stranded, (command, stranded)
        assert max(len(line) for line in page.splitlines()) <= 80, command
