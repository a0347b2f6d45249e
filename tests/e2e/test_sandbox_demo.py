"""A newcomer points IGNITE_CRM=salesforce at the sandbox and runs the demo's sync through the real adapter."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.process import clean_env, command, free_port, run_cli


def read_env(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {k.strip(): v.strip() for k, v in pairs}


@pytest.mark.slow
def test_demo_sync_runs_through_the_salesforce_adapter_against_the_sandbox(tmp_path: Path) -> None:
    base = clean_env()
    sandbox = subprocess.Popen(
        command("sandbox", "--port", str(free_port())),
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
        demo = run_cli("demo", "--dir", "demo", cwd=tmp_path, env=env)
        assert demo.returncode == 0, demo.stderr
        assert "2. Sync to Salesforce at https://127.0.0.1" in demo.stdout
        assert "collections" in demo.stdout and "status succeeded" in demo.stdout
        count = run_cli("crm", "query", "SELECT COUNT() FROM Contact", "--json", cwd=tmp_path, env=env)
        assert count.returncode == 0, count.stderr
        assert "96" in count.stdout
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=30)
