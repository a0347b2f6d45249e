"""Each benchmark's --quick mode runs, so the scripts never rot (timings are printed, never asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_export_aggregate_bench_quick_mode_gives_identical_numbers() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_export_aggregates.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "identical published numbers: yes" in result.stdout
    assert "ratio (baseline / project)" in result.stdout
