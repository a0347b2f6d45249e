"""Describe snapshots: per profile, Salesforce describe JSON of every object the profile touches.

`load_describes(profile)` is the public loader (object API name → describe dict).  The files live in
`mappings/snapshots/<profile>/<Object>.json`; regenerate them with `python -m mappings.snapshots.generate`.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from mappings.profile import PROFILE_NAMES


def snapshot_dir(profile: str) -> Path:
    return Path(str(resources.files("mappings").joinpath("snapshots", profile)))


@cache
def _load(profile: str) -> dict[str, dict[str, Any]]:
    if profile not in PROFILE_NAMES:
        raise KeyError(f"unknown profile {profile!r}; known: {', '.join(PROFILE_NAMES)}")
    folder = snapshot_dir(profile)
    result = {}
    for path in sorted(folder.glob("*.json")):
        describe = json.loads(path.read_text("utf-8"))
        if describe.get("name") != path.stem:
            raise ValueError(f"{path} describes {describe.get('name')!r}, not {path.stem!r}")
        result[path.stem] = describe
    if not result:
        raise FileNotFoundError(f"no snapshots in {folder}")
    return result


def load_describes(profile: str) -> dict[str, dict[str, Any]]:
    """Object API name → describe JSON for a profile (a fresh copy each call, so callers may mutate it)."""
    return json.loads(json.dumps(_load(profile)))  # type: ignore[no-any-return]
