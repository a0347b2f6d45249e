"""The composition root: what the settings say is what the sync, the worker and the web process get."""

from __future__ import annotations

from pathlib import Path

from settings import load_settings
from store.database import make_engine
from sync import jobs as job_kinds
from sync.erasure import ERASURE_JOB
from sync.intake import INTAKE_JOB
from wiring import Wiring


def test_a_sync_runs_with_the_profile_and_thresholds_the_settings_name() -> None:
    wiring = Wiring(
        load_settings(
            profile="nonprofit_cloud",
            crm_min_respondents=7,
            crm_individual_responses=True,
            crm_sync_health=False,
            crm_sync_health_max_issues=30,
        )
    )
    options = wiring.sync_options(full=True)
    assert (options.profile, options.min_respondents, options.individual_responses) == ("nonprofit_cloud", 7, True)
    assert (options.sync_health, options.max_issues, options.full) == (False, 30, True)
    assert wiring.sync_options("salesforce_core").profile == "salesforce_core"  # `sync --profile` wins


def test_the_worker_runs_every_job_kind_the_service_queues(tmp_path: Path) -> None:
    wiring = Wiring(load_settings(database_url=f"sqlite:///{tmp_path / 'service.db'}"))
    engine = make_engine(wiring.settings.database_url)
    with wiring.job_handlers(engine) as handlers:
        assert set(handlers) == {*job_kinds.ALL_KINDS, INTAKE_JOB, ERASURE_JOB}
    engine.dispose()


def test_nothing_is_opened_until_it_is_needed(tmp_path: Path) -> None:
    """Building the wiring (every command and web worker does) neither connects nor creates a CRM file."""
    crm_file = tmp_path / "crm.db"
    wiring = Wiring(load_settings(database_url=f"sqlite:///{tmp_path / 'x.db'}", local_crm_url=f"sqlite:///{crm_file}"))
    wiring.crm_factory()
    wiring.intake_crm_factory()
    wiring.close()
    assert list(tmp_path.iterdir()) == []
