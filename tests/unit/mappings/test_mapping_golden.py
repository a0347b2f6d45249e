"""Golden files: what every profile makes of every model (and of the edge cases), byte for byte.

The files live in tests/golden/mappings/<profile>/<case>.json.  After a deliberate change to a profile or to
the transform, regenerate them and review the diff:

    IGNITE_UPDATE_GOLDENS=1 .venv/bin/pytest tests/unit/mappings/test_mapping_golden.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from mapping_cases import CASES, RELATED

from mappings.profile import PROFILE_NAMES, load_profile
from mappings.registry import MODELS, model_name
from mappings.transform import to_crm

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "mappings"
UPDATE = os.environ.get("IGNITE_UPDATE_GOLDENS") == "1"


def render(profile: str, case: str) -> dict[str, Any]:
    spec = CASES[case]
    writes = to_crm(spec.instance, load_profile(profile), related=RELATED, flags=spec.flags)
    return {
        "model": model_name(spec.instance),
        "flags": list(spec.flags),
        "instance": spec.instance.model_dump(mode="json"),
        "writes": [w.as_dict() for w in writes],
    }


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_transform_matches_golden_file(profile: str, case: str) -> None:
    path = GOLDEN / profile / f"{case}.json"
    actual = json.dumps(render(profile, case), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, "utf-8")
    assert path.exists(), f"missing golden {path}; run with IGNITE_UPDATE_GOLDENS=1 and review it"
    assert path.read_text("utf-8") == actual


def test_golden_cases_cover_every_model() -> None:
    covered = {model_name(c.instance) for c in CASES.values()}
    assert covered == set(MODELS)


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_every_model_but_opt_in_ones_lands_somewhere_in_every_profile(profile: str) -> None:
    loaded = load_profile(profile)
    unmapped = {m for m in MODELS if not loaded.steps_for(m)}
    assert unmapped == set()


def test_no_stray_golden_files() -> None:
    expected = {f"{p}/{c}.json" for p in PROFILE_NAMES for c in CASES}
    present = {str(p.relative_to(GOLDEN)) for p in GOLDEN.rglob("*.json")}
    assert present <= expected, f"golden files without a case: {sorted(present - expected)}"
