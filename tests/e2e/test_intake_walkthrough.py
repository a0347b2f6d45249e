"""The README's intake walk-through, as a person runs it: serve, sign, post, run the worker, find the Lead."""

from __future__ import annotations

import json
import shlex
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.process import clean_env, command, free_port, run_cli


def cli(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, cwd=cwd, env=env)


@pytest.mark.slow
def test_a_signed_lead_posted_to_the_served_app_reaches_the_local_crm_after_a_worker_run(tmp_path: Path) -> None:
    env = clean_env()
    secret = cli("intake", "new-secret", cwd=tmp_path, env=env).stdout.strip()
    assert secret.startswith("whsec_")
    env["IGNITE_INTAKE_SOURCES"] = json.dumps({"website": {"scheme": "standard-webhooks", "secrets": [secret]}})
    port = free_port()
    server = subprocess.Popen(
        command("serve", "--port", str(port)),
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        lead = tmp_path / "lead.json"
        lead.write_text(
            json.dumps(
                {"last_name": "O'Brien", "email": "renee.obrien@example.org", "organization": "Lakeshore Clinic"}
            )
        )
        signed = cli("intake", "sign", str(lead), "--secret", secret, cwd=tmp_path, env=env).stdout.split()
        words = [w for w in shlex.split(" ".join(signed)) if w != "-H"]
        headers = dict(w.split(":", 1) for w in words)
        headers["content-type"] = "application/json"
        first = httpx.post(f"{base}/webhooks/intake/website", content=lead.read_bytes(), headers=headers)
        assert first.status_code == 202, first.text
        again = httpx.post(f"{base}/webhooks/intake/website", content=lead.read_bytes(), headers=headers)
        assert again.status_code == 200 and again.json()["receipt_id"] == first.json()["receipt_id"]
    finally:
        server.terminate()
        server.wait(timeout=30)

    worker = cli("worker", "--once", cwd=tmp_path, env=env)
    assert worker.returncode == 0 and "1 succeeded" in worker.stdout, worker.stdout + worker.stderr
    assert "renee.obrien@example.org" not in worker.stderr  # logs carry an email hash, never the address
    leads = cli("crm", "query", "SELECT LastName, Company, Email FROM Lead", "--json", cwd=tmp_path, env=env)
    assert leads.returncode == 0, leads.stderr
    rows = json.loads(leads.stdout)
    records = rows["records"] if isinstance(rows, dict) else rows
    assert [(r["LastName"], r["Company"], r["Email"]) for r in records] == [
        ("O'Brien", "Lakeshore Clinic", "renee.obrien@example.org")
    ]
