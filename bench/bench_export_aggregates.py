"""Export aggregates over many survey answers: GROUP BY in the database vs the same aggregation in Python.

Every side starts from the same table in the same database, in the same process, and must publish identical
statistics.  The project asks the database to pair and sum (`exports.aggregate.paired_summaries`).  It is measured
against two pure-Python aggregations of the same rows, both ending in the same pure functions
(`models.statistics.summarise_groups`):

- the models path: what an export computes without SQL, the repository's `SurveyResponse` models fed to
  `exports.aggregate.summaries_from_responses` (validation included: that is what reading records costs);
- the lean loop: bare (cohort, measure, phase, participant, value) tuples streamed into dicts, the fastest
  pure-Python reading we know, so the ratio against it is the database's own advantage and nothing else.

The lean loop and the project are timed `--repeat` times, alternating, and the best run of each is kept (the
machine may be shared; both get the same chance); the models path, far behind, once.  A last line times the
database only pairing the answers (the inner GROUP BY, with no sums): a floor for any query that pairs at read
time, so it bounds the ratio any such query could reach against the lean loop.  Table statistics are refreshed
after seeding (ANALYZE; VACUUM ANALYZE on Postgres), as autovacuum would have done on a live database.

    python bench/bench_export_aggregates.py            # 1,000,000 answers (target: project >= 5x faster)
    python bench/bench_export_aggregates.py --quick    # 20,000 answers, a smoke run
    python bench/bench_export_aggregates.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
        # on Postgres, in a scratch schema that is dropped afterwards
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, case, func, insert, select, text

from exports.aggregate import paired_summaries, summaries_from_responses
from models import default_catalogue
from models.statistics import prepost_statistics, summarise_groups
from store import tables
from store.database import make_engine, upgrade_database
from store.repository import RecordRepository


def seed(engine, answers: int, seed: int = 11) -> int:  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    measures = default_catalogue().measures
    per_person = 2 * len(measures)
    people = max(1, round(answers / (per_person * 0.92)))  # 8% of answers are skipped below
    per_cohort = 150
    now = datetime.now(UTC)
    rows, written = [], 0
    with engine.begin() as conn:
        for i in range(people):
            cohort = f"cohort:c{i // per_cohort}"
            participant = f"participant:p{i:07d}"
            for m in measures:
                base = rng.randint(int(m.scale_min), int(m.scale_max))
                for phase, value in (("pre", base), ("post", min(base + rng.choice((-1, 0, 1, 1)), int(m.scale_max)))):
                    if rng.random() < 0.08:  # some people skip a survey
                        continue
                    rows.append(
                        {
                            "key": f"r:{i}:{m.key}:{phase}",
                            "payload_hash": "0" * 64,
                            "updated_at": now,
                            "participant": participant,
                            "cohort": cohort,
                            "measure": m.key,
                            "phase": phase,
                            "value": float(max(value, int(m.scale_min))),
                            "collected_on": date(2025, 3, 1),
                        }
                    )
            if len(rows) >= 50_000:
                conn.execute(insert(tables.survey_responses), rows)
                written += len(rows)
                rows = []
        if rows:
            conn.execute(insert(tables.survey_responses), rows)
            written += len(rows)
    return written


def in_python(engine, catalogue):  # type: ignore[no-untyped-def]
    sr = tables.survey_responses
    groups: dict[tuple[str, str, str], dict[str, float]] = {}
    with engine.connect() as conn:
        result = conn.execute(select(sr.c.cohort, sr.c.measure, sr.c.phase, sr.c.participant, sr.c.value))
        for cohort, measure, phase, participant, value in result:
            groups.setdefault((cohort, measure, phase), {})[participant] = value
    return summarise_groups(groups, {m.key: m for m in catalogue.measures})


def in_python_models(engine, catalogue):  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        responses = RecordRepository(conn, "responses").iter_all(batch_size=5000)
        return summaries_from_responses(responses, catalogue)  # type: ignore[arg-type]


def pairing_only(engine) -> int:  # type: ignore[no-untyped-def]
    """The database pairing each respondent's answers and nothing else: the inner GROUP BY, counted."""
    sr = tables.survey_responses
    pairs = (
        select(
            func.max(case((sr.c.phase == "pre", sr.c.value))).label("pre"),
            func.max(case((sr.c.phase == "post", sr.c.value))).label("post"),
        )
        .group_by(sr.c.cohort, sr.c.measure, sr.c.participant)
        .subquery()
    )
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(pairs)).scalar_one())


def in_database(engine, catalogue):  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return paired_summaries(conn, None, None, None, catalogue)


def published(summaries, catalogue):  # type: ignore[no-untyped-def]
    """The numbers a funder would see, at the precision they are published with."""
    measures = {m.key: m for m in catalogue.measures}
    out = {}
    for key, summary in summaries.items():
        stats = prepost_statistics(summary, measures[key[1]])
        out[key] = tuple(
            round(getattr(stats, f), 6) if isinstance(getattr(stats, f), float) else getattr(stats, f)
            for f in stats.__slots__
        )
    return out


@contextmanager
def bench_engine(url: str | None) -> Iterator[Engine]:
    """A fresh, migrated database: a temporary SQLite file, or a scratch schema on the given server."""
    if url is None or url.startswith("sqlite"):
        with tempfile.TemporaryDirectory() as tmp:
            engine = make_engine(url or f"sqlite:///{Path(tmp) / 'bench.db'}")
            upgrade_database(engine)
            yield engine
            engine.dispose()
        return
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        upgrade_database(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def refresh_statistics(engine: Engine) -> str:
    """Planner statistics (and Postgres's visibility map, for index-only scans); returns the server version."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE survey_responses"))
            return "PostgreSQL " + str(conn.execute(text("SHOW server_version")).scalar_one())
        conn.execute(text("ANALYZE"))
        conn.commit()
        return "SQLite " + str(conn.execute(text("SELECT sqlite_version()")).scalar_one())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 answers instead of 1,000,000")
    parser.add_argument("--answers", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=None, help="timed runs per side, best kept (default 3; 1 quick)")
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    args = parser.parse_args(argv)
    answers = args.answers or (20_000 if args.quick else 1_000_000)
    repeat = max(1, args.repeat or (1 if args.quick else 3))
    catalogue = default_catalogue()
    with bench_engine(args.database_url) as engine:
        started = time.perf_counter()
        written = seed(engine, answers)
        version = refresh_statistics(engine)
        print(f"seeded {written:,} survey answers in {time.perf_counter() - started:.1f} s on {version}")
        in_database(engine, catalogue)  # warm the caches for every side alike
        base_runs, proj_runs, floor_runs = [], [], []
        for _ in range(repeat):
            t0 = time.perf_counter()
            baseline = in_python(engine, catalogue)
            t1 = time.perf_counter()
            project = in_database(engine, catalogue)
            t2 = time.perf_counter()
            pairing_only(engine)
            t3 = time.perf_counter()
            base_runs.append(t1 - t0)
            proj_runs.append(t2 - t1)
            floor_runs.append(t3 - t2)
        t0 = time.perf_counter()
        from_models = in_python_models(engine, catalogue)
        models_s = time.perf_counter() - t0
    expected = published(project, catalogue)
    same = published(baseline, catalogue) == expected and published(from_models, catalogue) == expected
    base_s, proj_s, floor_s = min(base_runs), min(proj_runs), min(floor_runs)
    print(f"{'aggregation over ' + format(written, ',') + ' answers':<64}{'seconds':>10}")
    print(f"{'baseline 1: models path (repository, summaries_from_responses)':<64}{models_s:>10.3f}")
    print(f"{'baseline 2: lean loop (tuples into dicts, summarise_groups)':<64}{base_s:>10.3f}")
    print(f"{'project: pair and sum in the database':<64}{proj_s:>10.3f}")
    print(f"{'ratio (models path / project)':<64}{models_s / proj_s:>9.1f}x")
    print(f"{'ratio (lean loop / project)':<64}{base_s / proj_s:>9.1f}x")
    print(
        f"{'floor: the database only pairing the answers':<64}{floor_s:>10.3f}"
        f"   (caps lean loop / any read-time pairing at {base_s / floor_s:.1f}x)"
    )
    print(f"groups: {len(project):,}; best of {repeat}; identical published numbers: {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
