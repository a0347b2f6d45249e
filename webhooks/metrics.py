"""Prometheus metrics of one app instance: request-path counters plus database-backed gauges read at scrape.

prometheus_client earns its place: it writes the exposition format correctly (escaping, types, HELP) and
is what every Prometheus scraper expects.  Each app gets its own registry, so tests and benches can build
many apps in one process without "duplicated timeseries" errors.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine

log = logging.getLogger("ignite.web")

# Returns {metric name: (help, label name(s), {label value(s): value})} for gauges read from the database; with
# several label names, the keys are tuples of label values in the same order.
Gauges = dict[str, tuple[str, str | tuple[str, ...], Mapping[Any, float]]]
GaugeSource = Callable[[Engine], Gauges]


class _DatabaseGauges(Collector):
    def __init__(self, engine: Engine, sources: list[GaugeSource]) -> None:
        self.engine = engine
        self.sources = sources

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for source in self.sources:
            try:
                gauges = source(self.engine)
            except Exception as exc:  # a scrape must not fail because one table is missing or locked
                log.warning("metrics source %s failed: %s", getattr(source, "__name__", source), type(exc).__name__)
                continue
            for name, (help_text, label, values) in gauges.items():
                labels = [label] if isinstance(label, str) else list(label)
                family = GaugeMetricFamily(name, help_text, labels=labels)
                for value, count in sorted(values.items()):
                    family.add_metric([value] if isinstance(label, str) else list(value), count)
                yield family


class IntakeMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.accepted = Counter(
            "ignite_intake_accepted", "Intake submissions accepted (202)", ["source"], registry=self.registry
        )
        self.duplicates = Counter(
            "ignite_intake_duplicates",
            "Repeated deliveries answered 200 with the first receipt",
            ["source"],
            registry=self.registry,
        )
        self.rejected = Counter(
            "ignite_intake_rejected", "Intake posts refused, by reason", ["source", "reason"], registry=self.registry
        )
        self.quarantined = Counter(
            "ignite_intake_quarantined",
            "Intake posts accepted but quarantined for review (honeypot or failed validation)",
            ["source"],
            registry=self.registry,
        )
        self.ack_seconds = Histogram(
            "ignite_intake_ack_seconds",
            "Time from request to answer on the intake webhook",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )
        self.commit_batch = Histogram(
            "ignite_intake_commit_batch_size",
            "Intake posts committed together in one transaction by the group-commit writer",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
            registry=self.registry,
        )
        self.commit_failures = Counter(
            "ignite_intake_commit_failures",
            "Intake write batches rolled back (their posts were answered 503, or retried one by one)",
            registry=self.registry,
        )
        self.imports = Counter(
            "ignite_ingest_rows",
            "Rows received by the ingest API, by kind and outcome",
            ["kind", "outcome"],
            registry=self.registry,
        )

    def watch_database(self, engine: Engine, sources: list[GaugeSource]) -> None:
        self.registry.register(_DatabaseGauges(engine, sources))


def inbox_gauges(engine: Engine) -> Gauges:
    from store.intake import InboxRepository

    with engine.connect() as connection:
        inbox = InboxRepository(connection)
        return {
            "ignite_intake_inbox": ("Intake inbox rows by status", "status", inbox.counts_by_status()),
            "ignite_intake_quarantined_waiting": (
                "Quarantined intake submissions waiting for staff review, by reason",
                "reason",
                {"honeypot": 0, "invalid": 0, **inbox.quarantined_by_reason()},
            ),
            "ignite_intake_outcomes": (
                "Delivered intake submissions by CRM outcome",
                "outcome",
                inbox.counts_by_outcome(),
            ),
        }


def job_gauges(engine: Engine) -> Gauges:
    from store.jobs import JobRepository

    with engine.connect() as connection:
        return {
            "ignite_jobs": ("Jobs in the durable queue by state", "state", JobRepository(connection).counts_by_state())
        }


def sync_gauges(engine: Engine) -> Gauges:
    """What the sync left out of the CRM, and when it last finished: what an alert on a silent gap watches.

    Alert on `ignite_sync_rows{status="rejected"}` rising, `ignite_jobs{state="dead"} > 0`, and
    `time() - ignite_sync_last_finished_timestamp_seconds{status="succeeded"}` beyond a day or two.
    """
    from store.ledger import LedgerRepository
    from store.runs import RunRepository

    with engine.connect() as connection:
        rows = {
            (object_name, status): n
            for object_name, by_status in LedgerRepository(connection).counts().items()
            for status, n in by_status.items()
        }
        last = RunRepository(connection).last_finished()
    return {
        "ignite_sync_rows": ("Rows in the sync ledger by CRM object and status", ("object", "status"), rows),
        "ignite_sync_last_finished_timestamp_seconds": (
            "When the last sync run of each outcome finished (Unix time)",
            "status",
            {status: at.timestamp() for status, at in last.items()},
        ),
    }
