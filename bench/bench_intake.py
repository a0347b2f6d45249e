"""Intake webhook latency and throughput on loopback: signed posts against `ignite-sync serve`'s app versus a
bare FastAPI endpoint that answers 202 and does nothing, both under uvicorn (one worker each, run one after
the other so they never share the 2 cores), driven by the same client at 50 concurrent connections.

Targets (issue 7): p95 under 50 ms, and at least 30% of the bare endpoint's throughput.  Bodies are signed
with the `standardwebhooks` library before the clock starts, so the client measures the server, not HMAC.
Every accepted post is committed (row + job) before its 202; the service's group-commit writer lets concurrent
posts share a commit, and the table says how many posts each commit carried on average.
Browser-scheme posts (issue 15) are measured too: form-encoded bodies as a web page sends them, with an
allowed Origin, a signed form token and the honeypot, answered 303 to the thank-you page (same targets).
Run `python bench/bench_intake.py` (3000 posts) or `--quick` (300, used by the test suite); `--database-url`
measures against another database (e.g. an empty Postgres schema) instead of a fresh SQLite file.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import httpx
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from standardwebhooks import Webhook

from store.database import make_engine, upgrade_database
from store.encryption import new_key
from webhooks.form_tokens import FORM_TOKEN_FIELD, FormTokens

CONCURRENCY = 50
SECRET = "whsec_" + base64.b64encode(os.urandom(32)).decode()
FORM_KEY = base64.b64encode(os.urandom(32)).decode()
SITE = "https://www.example.org"
Requests = list[tuple[bytes, dict[str, str]]]


def bare_app() -> FastAPI:
    """The baseline: same framework and server, no verification, no database."""
    app = FastAPI()

    @app.post("/webhooks/intake/{source}")
    async def accept(source: str) -> JSONResponse:
        return JSONResponse({"receipt_id": "rcpt_bare", "status": "accepted"}, status_code=202)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(target: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", target, "--factory", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--log-level", "warning", "--no-access-log", "--app-dir", str(Path(__file__).parent)]
    process = subprocess.Popen(command, env={**os.environ, **env})
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return process, base
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{target} did not start on {base}")


def signed_requests(count: int) -> list[tuple[bytes, dict[str, str]]]:
    webhook = Webhook(SECRET)
    requests = []
    for n in range(count):
        body = json.dumps(
            {
                "first_name": "Zoë",
                "last_name": f"Okafor-García {n}",
                "email": f"person.{n}@bench.example.org",
                "organization": "Finger Lakes Community Health",
                "role": "clinician",
                "message": "We would like to bring Ignite to our three clinics next spring.",
            },
            separators=(",", ":"),
        ).encode()
        msg_id = f"msg_{uuid.uuid4().hex}"
        now = datetime.now(UTC)
        headers = {
            "content-type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": webhook.sign(msg_id, now, body.decode()),
        }
        requests.append((body, headers))
    return requests


def browser_requests(count: int) -> Requests:
    """What a person's browser posts from the program's site: form-encoded, Origin set, a token from 10 s ago."""
    tokens = FormTokens(FORM_KEY.encode())
    issued = time.time() - 10
    requests = []
    for n in range(count):
        fields = {
            FORM_TOKEN_FIELD: tokens.issue("website-form", issued),
            "first_name": "Zoë",
            "last_name": f"Okafor-García {n}",
            "email": f"person.{n}@bench.example.org",
            "organization": "Finger Lakes Community Health",
            "message": "We would like to bring Ignite to our three clinics next spring.",
            "consent_to_contact": "true",
            "website_url": "",
        }
        headers = {
            "content-type": "application/x-www-form-urlencoded",
            "origin": SITE,
            "accept": "text/html,application/xhtml+xml",
        }
        requests.append((urlencode(fields).encode(), headers))
    return requests


def drive(
    base: str, requests: Requests, path: str = "/webhooks/intake/website", ok: int = 202
) -> tuple[list[float], float, int]:
    """50 threads, each holding one keep-alive connection (stdlib http.client: a thin, fast client)."""
    host, port = base.removeprefix("http://").split(":")
    latencies: list[float] = []
    accepted = [0]
    queue = list(reversed(requests))
    lock = threading.Lock()

    def one_connection() -> None:
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            while True:
                with lock:
                    if not queue:
                        return
                    body, headers = queue.pop()
                started = time.perf_counter()
                connection.request("POST", path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    accepted[0] += response.status == ok
        finally:
            connection.close()

    threads = [threading.Thread(target=one_connection) for _ in range(CONCURRENCY)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, time.perf_counter() - started, accepted[0]


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000 if len(values) > 1 else 0.0


def commits(base: str) -> tuple[float, float]:
    """(commits, posts) the intake writer has made so far, from its /metrics histogram; zeros for the bare app."""
    text = httpx.get(f"{base}/metrics", timeout=10).text
    found = {
        name: float(value)
        for name, value in re.findall(r"^ignite_intake_commit_batch_size_(count|sum) (\S+)$", text, re.MULTILINE)
    }
    return found.get("count", 0.0), found.get("sum", 0.0)


def measure(
    name: str,
    target: str,
    env: dict[str, str],
    count: int,
    make: Callable[[int], Requests] = signed_requests,
    path: str = "/webhooks/intake/website",
    ok: int = 202,
) -> dict[str, float]:
    process, base = start(target, env)
    try:
        drive(base, make(min(count, 100)), path, ok)  # warm-up: connections, imports, caches
        before = commits(base)
        latencies, elapsed, accepted = drive(base, make(count), path, ok)
        after = commits(base)
    finally:
        process.terminate()
        process.wait(timeout=10)
    if accepted != count:
        raise SystemExit(f"{name}: only {accepted} of {count} posts were accepted")
    batches = after[0] - before[0]
    return {
        "rps": count / elapsed,
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
        "p99": percentile(latencies, 99),
        "per_commit": (after[1] - before[1]) / batches if batches else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 posts instead of 3000 (the test suite's mode)")
    parser.add_argument("--count", type=int, default=None)
    parser.add_argument("--database-url", default=None, help="an empty database to use instead of a SQLite file")
    parser.add_argument(
        "--plaintext", action="store_true", help="store submissions unencrypted (no IGNITE_ENCRYPTION_KEYS)"
    )
    args = parser.parse_args()
    count = args.count or (300 if args.quick else 3000)

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'service.db'}"
        engine = make_engine(url)
        database = engine.dialect.name
        upgrade_database(engine)
        engine.dispose()
        sources = {
            "website": {"scheme": "standard-webhooks", "secrets": [SECRET], "rate_limit": "100000/second"},
            "website-form": {
                "scheme": "browser",
                "allowed_origins": [SITE],
                "rate_limit": "100000/second",
                "client_rate_limit": "100000/second",  # every bench post comes from 127.0.0.1
            },
        }
        env = {
            "IGNITE_DATABASE_URL": url,
            "IGNITE_INTAKE_SOURCES": json.dumps(sources),
            "IGNITE_LOG_LEVEL": "WARNING",
            "IGNITE_INTAKE_FORM_KEY": FORM_KEY,
        }
        # Measured as deployed: submissions encrypted at rest (store/encryption.py) unless --plaintext.
        env["IGNITE_ENCRYPTION_KEYS"] = "" if args.plaintext else new_key()
        bare = measure("bare", "bench_intake:bare_app", env, count)
        project = measure("intake", "service:create_app", env, count)
        form_path = "/webhooks/intake/website-form"
        browser = measure("browser", "service:create_app", env, count, browser_requests, form_path, 303)

    ratio = project["rps"] / bare["rps"]
    print(
        f"intake webhook, {count} signed posts, {CONCURRENCY} concurrent connections, loopback, uvicorn x1, "
        f"{database}, encryption at rest {'off' if args.plaintext else 'on'}"
    )
    print(f"{'':<22}{'req/s':>10}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}")
    for name, row in (("bare 202 (baseline)", bare), ("intake (project)", project), ("browser form 303", browser)):
        print(f"{name:<22}{row['rps']:>10.0f}{row['p50']:>10.1f}{row['p95']:>10.1f}{row['p99']:>10.1f}")
    print(f"throughput ratio (project / baseline): {ratio:.2f}  (target >= 0.30)")
    print(f"browser-form ratio (browser / baseline): {browser['rps'] / bare['rps']:.2f}  (target >= 0.30)")
    print(f"posts per commit (group commit, average): {project['per_commit']:.1f}")
    print(f"p95 {project['p95']:.1f} ms (target < 50 ms): {'met' if project['p95'] < 50 else 'NOT met'}")
    print(f"browser-form p95 {browser['p95']:.1f} ms (target < 50 ms): {'met' if browser['p95'] < 50 else 'NOT met'}")


if __name__ == "__main__":
    main()
