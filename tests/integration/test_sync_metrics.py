"""/metrics tells monitoring what the sync left out of the CRM and when a sync last finished, so a gap is
never silent: an alert can watch refused rows, dead jobs and the age of the last good run."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from syncdata import PROFILE, local_crm, program, seed, title_required, with_first_participant_untitled

from service import create_app
from settings import load_settings
from store.jobs import utcnow
from sync.runner import run_sync
from tests.sync_options import options


def test_metrics_count_refused_and_blocked_rows_and_stamp_the_last_run(engine: Engine, tmp_path: Path) -> None:
    data = with_first_participant_untitled(program())
    seed(engine, data)
    crm, _ = local_crm(tmp_path, title_required())
    report = run_sync(engine, crm, options(PROFILE))

    settings = load_settings(database_url=engine.url.render_as_string(hide_password=False))
    with TestClient(create_app(settings, engine=engine)) as client:
        text = client.get("/metrics").text
    assert 'ignite_sync_rows{object="Contact",status="rejected"} 1.0' in text
    synced = 2 * (len(data["participants"]) - 1)  # each Contact's record and its engagement summary
    assert f'ignite_sync_rows{{object="Contact",status="synced"}} {synced}.0' in text
    blocked = re.search(r'ignite_sync_rows\{object="pmdm__ServiceDelivery__c",status="blocked"\} (\S+)', text)
    assert blocked is not None and float(blocked.group(1)) > 0
    stamp = re.search(rf'ignite_sync_last_finished_timestamp_seconds\{{status="{report.status}"\}} (\S+)', text)
    assert stamp is not None and abs(float(stamp.group(1)) - utcnow().timestamp()) < 300
