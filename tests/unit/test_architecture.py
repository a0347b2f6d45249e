"""The house plan's import rules, enforced: arrows point down the list of rooms, never up."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# room -> rooms it may import (besides itself).  The composition root (wiring.py), the web entry (service.py) and
# cli/ may import anything; settings.py only what SETTINGS_MAY_IMPORT says.
ALLOWED = {
    "models": set(),
    "mappings": {"models"},
    "connector": set(),
    "sandbox": {"connector"},
    "store": {"models"},
    "ingest": {"models", "store"},
    "demo": {"models", "store"},
    "sync": {"models", "mappings", "connector", "store"},
    "exports": {"models", "store", "mappings"},
    "webhooks": {"models", "mappings", "connector", "store", "sync", "ingest", "exports"},
}
PROJECT = set(ALLOWED) | {"service", "settings", "cli", "wiring"}
# Settings are read by everything above the rooms; they check plain values, and a value that needs a room's own
# rules (the intake sources) is checked where it is built, in the composition root.
SETTINGS_MAY_IMPORT = {"models", "store"}
IO_LIBRARIES = {
    "sqlalchemy", "fastapi", "starlette", "simple_salesforce", "requests", "urllib3", "httpx", "anyio", "alembic",
    "uvicorn", "psycopg", "tenacity", "standardwebhooks", "socket", "sqlite3", "subprocess", "urllib",
}  # fmt: skip


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def room_files(room: str) -> list[Path]:
    return sorted((ROOT / room).rglob("*.py"))


@pytest.mark.parametrize("room", sorted(ALLOWED))
def test_rooms_import_only_rooms_below_them(room: str) -> None:
    bad = []
    for path in room_files(room):
        for module in imported_modules(path) & PROJECT - {room} - ALLOWED[room]:
            bad.append(f"{path.relative_to(ROOT)} imports {module}")
    assert not bad, "upward or sideways imports:\n" + "\n".join(bad)


def test_settings_import_nothing_above_the_store() -> None:
    imported = imported_modules(ROOT / "settings.py") & PROJECT - SETTINGS_MAY_IMPORT
    assert not imported, f"settings.py imports {sorted(imported)}"


def test_models_import_no_io_library() -> None:
    bad = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in room_files("models")
        for module in imported_modules(path) & IO_LIBRARIES
    ]
    assert not bad, "\n".join(bad)


def test_rooms_use_absolute_imports_so_the_room_rules_can_see_them() -> None:
    relative = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for room in ALLOWED
        for path in room_files(room)
        for node in ast.walk(ast.parse(path.read_text("utf-8")))
        if isinstance(node, ast.ImportFrom) and node.level > 0
    ]
    assert not relative, "relative imports hide which room they reach:\n" + "\n".join(relative)


def test_only_the_connector_speaks_simple_salesforce() -> None:
    """The CRM library stays behind the connector port, so its one SOQL quoting helper (`connector/soql.py`) is
    the only way a value reaches a query.  Every other room, the command line and the roots are checked (the
    sandbox serves Salesforce's REST API over the local CRM and needs no client)."""
    files = [path for room in sorted(set(ALLOWED) - {"connector"}) for path in room_files(room)]
    files += room_files("cli") + [ROOT / f"{name}.py" for name in ("wiring", "service", "settings")]
    bad = [
        f"{path.relative_to(ROOT)} imports simple_salesforce"
        for path in files
        if "simple_salesforce" in imported_modules(path)
    ]
    assert not bad, "\n".join(bad)


def test_the_web_process_loads_neither_the_cli_nor_the_export_writers() -> None:
    """Every web worker imports `service`; Typer, Rich's CLI pieces and the PDF/XLSX libraries are only needed
    by the command line and by an export being built, and cost a large share of the service's start-up."""
    import subprocess
    import sys

    probe = (
        "import sys, service; "
        "print(sorted(m for m in ('typer', 'reportlab', 'xlsxwriter', 'cli', 'cli.app') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]", done.stdout
