"""`status` counts what the CRM holds: one per record, with summaries that only add fields shown apart."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

import demo
from mappings.profile import PROFILE_NAMES
from sync.runner import run_sync, summary_steps, sync_status
from tests.sync_options import options
from wiring import open_local_crm


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_status_counts_each_crm_record_once_and_summaries_apart(engine: Engine, tmp_path: Path, profile: str) -> None:
    demo.seed(engine, demo.generate(16))
    crm = open_local_crm(f"sqlite:///{tmp_path / 'crm.db'}", profile)
    assert run_sync(engine, crm, options(profile)).status == "succeeded"

    status = sync_status(engine, profile=profile)

    for object_name, counts in status["objects"].items():
        held = crm.query_all(f"SELECT Id FROM {object_name}")
        assert counts.get("synced", 0) == len(held), object_name
    assert set(status["summaries"]) == summary_steps(profile)
    for step, counts in status["summaries"].items():
        assert counts["synced"] > 0 and counts["object"] in status["objects"], step
