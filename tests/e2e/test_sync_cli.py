"""`ignite-sync sync | status | replay | worker` as an admin runs them: real processes, real files, JSON out."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.e2e.process import clean_env, run_cli


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = clean_env(
        IGNITE_DATABASE_URL=f"sqlite:///{cwd / 'demo' / 'ignite-sync.db'}",
        IGNITE_LOCAL_CRM_URL=f"sqlite:///{cwd / 'demo' / 'ignite-crm.db'}",
    )
    return run_cli(*args, cwd=cwd, env=env)


@pytest.mark.slow
def test_dry_run_then_sync_then_status_as_json(tmp_path: Path) -> None:
    assert run("demo", "--dir", "demo", "--participants", "16", cwd=tmp_path).returncode == 0  # seeds and syncs
    newcomer = tmp_path / "newcomer.csv"
    newcomer.write_text(
        "email,first_name,last_name,role,organization\nnoor.haddad@catskill-ridge.example,Noor,Haddad,clinician,"
        "org:catskill-ridge\n",
        encoding="utf-8",
    )
    assert run("import", "participants", str(newcomer), cwd=tmp_path).returncode == 0

    dry = run("sync", "--dry-run", "--json", cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    planned = json.loads(dry.stdout)
    assert planned["dry_run"] is True
    # The Contact records themselves; each also carries its engagement summary (step participant_summary).
    contacts = planned["steps"]["participant_contact"]
    assert (contacts["created"], contacts["unchanged"]) == (1, 16)
    assert set(planned["api_calls"]) <= {"total", "query"}  # reads only

    done = run("sync", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["status"] == "succeeded" and report["objects"]["Contact"]["created"] == 1
    assert report["api_calls"]["upsert"] >= 1

    again = json.loads(run("sync", "--json", cwd=tmp_path).stdout)
    assert again["api_calls"] == {"total": 0} and again["steps"]["participant_contact"]["unchanged"] == 17
    assert again["steps"]["participant_summary"]["unchanged"] == 17

    status = run("status", "--json", cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    summary = json.loads(status.stdout)
    assert summary["objects"]["Contact"] == {"synced": 17, "pending": 0}
    assert [r["status"] for r in summary["runs"]] == ["succeeded", "succeeded", "succeeded"]

    human = run("status", cwd=tmp_path)
    assert "ServiceDelivery__c" in human.stdout and "Last runs" in human.stdout  # namespace dropped: unambiguous


@pytest.mark.slow
def test_queued_sync_is_run_by_the_worker(tmp_path: Path) -> None:
    assert run("demo", "--dir", "demo", "--participants", "16", cwd=tmp_path).returncode == 0
    queued = run("sync", "--enqueue", "--json", cwd=tmp_path)
    assert queued.returncode == 0, queued.stderr
    assert "enqueued" in json.loads(queued.stdout)
    worker = run("worker", "--once", cwd=tmp_path)
    assert worker.returncode == 0, worker.stderr
    assert "1 succeeded" in worker.stdout
    assert json.loads(run("status", "--json", cwd=tmp_path).stdout)["jobs"] == {"succeeded": 1}
