"""The local-CRM bench must keep running (its quick mode), so the performance target never rots unmeasured."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_local_crm_bench_quick_mode_prints_its_table() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_local_crm.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "baseline: raw executemany insert" in result.stdout
    assert "local CRM, second pass (unchanged)" in result.stdout
    assert "target: first pass >= 25% of baseline" in result.stdout
