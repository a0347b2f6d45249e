"""Composition root: builds Settings once, wires the adapters, exposes `create_app()` and the `ignite-sync` CLI.

Everything that reads the environment or picks an adapter happens here, so the rooms below stay testable
with plain values.
"""

from __future__ import annotations

from cli.app import app


def main() -> None:
    app()


if __name__ == "__main__":
    main()
