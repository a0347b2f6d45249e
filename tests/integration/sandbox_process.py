"""Serve the HTTPS sandbox over a local CRM from its own process (for tests that cut its connections).

`python sandbox_process.py DIR` prints one JSON line (url, ca_bundle, session_id, crm_url) and serves until
killed.  A separate process keeps the half-closed connections that the "reset" and "slow" faults leave behind
out of the test process.
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

from mappings.snapshots import load_describes
from sandbox.app import SandboxConfig
from sandbox.harness import SandboxHarness

if __name__ == "__main__":
    directory = Path(sys.argv[1])
    directory.mkdir(parents=True, exist_ok=True)
    harness = SandboxHarness(directory, load_describes(sys.argv[2]), SandboxConfig(slow_seconds=0.6))
    print(
        json.dumps(
            {
                "url": harness.url,
                "ca_bundle": str(harness.ca_bundle),
                "session_id": harness.session_id,
                "crm_url": f"sqlite:///{directory / 'crm0.db'}",
            }
        ),
        flush=True,
    )
    threading.Event().wait()
