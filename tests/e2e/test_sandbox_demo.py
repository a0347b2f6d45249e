"""A newcomer points IGNITE_CRM=salesforce at the sandbox and runs the demo's sync through the real adapter."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def read_env(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {k.strip(): v.strip() for k, v in pairs}


@pytest.mark.slow
def test_demo_sync_runs_through_the_salesforce_adapter_against_the_sandbox(tmp_path: Path) -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith("IGNITE_")}
    base["COLUMNS"] = "200"
    sandbox = subprocess.Popen(
        [sys.executable, str(ROOT / "service.py"), "sandbox", "--port", str(free_port())],
        cwd=tmp_path,
        env=base,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        env_file = tmp_path / ".ignite-sandbox" / "sandbox.env"
        deadline = time.monotonic() + 30
        while not env_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert env_file.exists(), "the sandbox did not start"
        env = {**base, **read_env(env_file)}
        assert env["IGNITE_CRM"] == "salesforce"
        demo = subprocess.run(
            [sys.executable, str(ROOT / "service.py"), "demo", "--dir", "demo"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert demo.returncode == 0, demo.stderr
        assert "2. Sync to Salesforce at https://127.0.0.1" in demo.stdout
        assert "collections" in demo.stdout and "status succeeded" in demo.stdout
        count = subprocess.run(
            [sys.executable, str(ROOT / "service.py"), "crm", "query", "SELECT COUNT() FROM Contact", "--json"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert count.returncode == 0, count.stderr
        assert "96" in count.stdout
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=30)
