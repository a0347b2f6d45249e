"""The README's walk-throughs after `make demo`, run as written: every fenced `sh` block, copied from README.md.

Issue 16: a new user follows the README top to bottom after `make demo`, copy-pasting each command; every one
must work.  So each `sh` block is read from README.md and run by bash, `set -e`, in a fresh copy of a demo
folder, with `ignite-sync` on PATH (a shim running this checkout's service.py, and a `.venv/bin/activate` that
puts it there, as `make demo` leaves them).  A new README block is run by default; a block that cannot run
here is listed below with the reason, so skipping one is a visible choice.

A block that says `cd ignite-demo` starts where `make demo` ran (the repository root); every other block starts
in the demo's folder, where the Quick start leaves the reader.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.process import ROOT, clean_env, run_cli

README = ROOT / "README.md"
DEMO_DIR = "ignite-demo"

# Blocks not run, by their first line, and why.  Each must still be in the README (tested below).
SKIPPED_BLOCKS = {
    "make demo": "the set-up itself (this test runs `ignite-sync demo` once instead); `make test` is the suite",
    "SECRET=$(ignite-sync intake new-secret)": "needs a server in the background and curl; "
    "tests/e2e/test_intake_walkthrough.py runs this walk-through",
    "ignite-sync sandbox --port 8443": "needs the sandbox running in a second terminal; "
    "tests/e2e/test_sandbox_demo.py runs this walk-through",
}
# Commands left out of a block that is run, by how they start, and why.
SKIPPED_COMMANDS = {
    "sf ": "the Salesforce CLI and a live org",
}


@dataclass(frozen=True)
class Block:
    section: str
    line: int
    text: str

    @property
    def first(self) -> str:
        """The block's first command, without its comment: how SKIPPED_BLOCKS names it."""
        line = next(line for line in self.text.splitlines() if line.strip())
        return re.sub(r"\s+#\s.*$", "", line).strip()

    @property
    def starts_at_root(self) -> bool:
        return any(line.split("#")[0].strip() == f"cd {DEMO_DIR}" for line in self.text.splitlines())


def readme_blocks() -> list[Block]:
    """Every ```sh block of the README with the heading it sits under."""
    blocks: list[Block] = []
    section = ""
    lines = README.read_text("utf-8").splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("#"):
            section = line.lstrip("#").strip()
        if line.strip() == "```sh":
            end = lines.index("```", index + 1)
            blocks.append(Block(section, index + 1, "\n".join(lines[index + 1 : end])))
            index = end
        index += 1
    return blocks


def script(block: Block) -> str:
    """The block as bash runs it, with the skipped commands (and their continuation lines) left out."""
    kept: list[str] = []
    skipping = False
    for line in block.text.splitlines():
        starts = not skipping
        if starts:
            skipping = any(line.strip().startswith(prefix) for prefix in SKIPPED_COMMANDS)
        if skipping:
            kept.append(f"# skipped by the test: {line.strip()}")
            skipping = line.rstrip().endswith("\\")
            continue
        kept.append(line)
    return "set -e -o pipefail -x\n" + "\n".join(kept) + "\n"


RUN = [b for b in readme_blocks() if b.first not in SKIPPED_BLOCKS]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demo per module, the size `make demo` makes (its story needs a cohort running past the grant year); blocks
    get copies."""
    where = tmp_path_factory.mktemp("made") / DEMO_DIR
    result = run_cli("demo", "--dir", str(where), cwd=where.parent)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return where


def checkout_with_demo(demo: Path, root: Path) -> Path:
    """A folder laid out as after `make demo`: `.venv/bin/{activate,ignite-sync}` and `ignite-demo/`."""
    bin_dir = root / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    shim = bin_dir / "ignite-sync"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{ROOT / "service.py"}" "$@"\n')
    shim.chmod(0o755)
    (bin_dir / "activate").write_text(f'export PATH="{bin_dir}:$PATH"\n')
    copy = root / DEMO_DIR
    shutil.copytree(demo, copy)
    env_file = copy / ".env"  # the demo wrote absolute paths to its databases: point them at the copy
    env_file.write_text(env_file.read_text("utf-8").replace(str(demo), str(copy)), "utf-8")
    return bin_dir


@pytest.mark.slow
@pytest.mark.parametrize(
    "block", RUN, ids=[f"line{b.line}-{re.sub(r'[^a-z]+', '-', b.first.lower())[:40]}" for b in RUN]
)
def test_a_readme_walkthrough_block_runs_as_written_on_the_demos_data(block: Block, demo: Path, tmp_path: Path) -> None:
    bin_dir = checkout_with_demo(demo, tmp_path)
    env = clean_env()
    env["PATH"] = f"{bin_dir}:{env.get('PATH', '')}"
    cwd = tmp_path if block.starts_at_root else tmp_path / DEMO_DIR
    result = subprocess.run(
        ["bash", "-c", script(block)], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, (
        f"README.md line {block.line} ({block.section}) failed; the last command bash traced is the one:\n"
        f"{result.stderr[-3000:]}\n--- stdout ---\n{result.stdout[-2000:]}"
    )


def test_every_skipped_block_is_still_in_the_readme_and_some_blocks_run() -> None:
    firsts = {block.first for block in readme_blocks()}
    assert set(SKIPPED_BLOCKS) <= firsts, sorted(set(SKIPPED_BLOCKS) - firsts)
    assert RUN, "no README block is run"
