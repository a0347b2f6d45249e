"""Running `ignite-sync` as a separate process, the way an admin does: a clean environment, real exit codes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def clean_env(**overrides: str) -> dict[str, str]:
    """This process's environment without any IGNITE_* setting (so a developer's shell cannot leak in)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IGNITE_")}
    env["COLUMNS"] = "200"
    env.update(overrides)
    return env


def command(*args: str) -> list[str]:
    return [sys.executable, str(ROOT / "service.py"), *args]


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command(*args), cwd=cwd, env=env or clean_env(), capture_output=True, text=True, timeout=120, check=False
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
