"""Every benchmark script runs in its --quick mode, so none of them rots between `make bench` runs.

Each script runs once per module (the `quick_run` fixture keeps its output), however many of its lines the
tests below check: the scripts are the slow part, the checks are cheap.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
SCRIPTS = sorted(BENCH.glob("bench_*.py"))
QuickRun = Callable[[str], "subprocess.CompletedProcess[str]"]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> QuickRun:
    """`bench/<name>.py --quick` in a directory of its own, run the first time a test asks for it."""
    done: dict[str, subprocess.CompletedProcess[str]] = {}

    def run(name: str) -> subprocess.CompletedProcess[str]:
        if name not in done:
            done[name] = subprocess.run(
                [sys.executable, str(BENCH / f"{name}.py"), "--quick"],
                cwd=tmp_path_factory.mktemp(name),
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
        return done[name]

    return run


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_bench_quick_mode_runs_and_prints_a_ratio(script: Path, quick_run: QuickRun) -> None:
    result = quick_run(script.stem)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ratio" in result.stdout.lower(), result.stdout


def test_export_aggregate_bench_gives_identical_numbers_in_and_out_of_the_database(quick_run: QuickRun) -> None:
    result = quick_run("bench_export_aggregates")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "identical published numbers: yes" in result.stdout


def test_local_crm_bench_quick_mode_prints_its_table(quick_run: QuickRun) -> None:
    """The local-CRM bench must keep measuring against its baseline, so the performance target never rots."""
    result = quick_run("bench_local_crm")
    assert result.returncode == 0, result.stderr
    assert "baseline: raw executemany insert" in result.stdout
    assert "local CRM, second pass (unchanged)" in result.stdout
    assert "target: first pass >= 25% of baseline" in result.stdout
