"""Regenerate (or, with --check, verify) the org facts and the describe snapshots of every profile.

python -m mappings.snapshots.generate          # rewrite org_facts.json, then mappings/snapshots/<profile>/*.json
python -m mappings.snapshots.generate --check  # exit 1 if any file differs from what the sources give

`org_facts.json` comes from the reference metadata in `sources/` (`python -m mappings.snapshots.reference`
does that step alone); the snapshots come from those facts plus each profile's plugin.
"""

from __future__ import annotations

import argparse
import sys

from mappings.profile import PROFILE_NAMES, load_profile
from mappings.snapshots import snapshot_dir
from mappings.snapshots.build import build_snapshots, snapshot_text
from mappings.snapshots.facts import _org_facts
from mappings.snapshots.reference import GENERATED, build_org_facts, org_facts_text


def stale_files(write: bool) -> list[str]:
    stale = []
    facts = org_facts_text(build_org_facts())
    if not GENERATED.exists() or GENERATED.read_text("utf-8") != facts:
        stale.append(GENERATED.name)
        if write:
            GENERATED.write_text(facts, "utf-8")
            _org_facts.cache_clear()
    for name in PROFILE_NAMES:
        folder = snapshot_dir(name)
        wanted = {f"{obj}.json": snapshot_text(d) for obj, d in build_snapshots(load_profile(name)).items()}
        present = {p.name for p in folder.glob("*.json")} if folder.exists() else set()
        for extra in sorted(present - set(wanted)):
            stale.append(f"{name}/{extra}")
            if write:
                (folder / extra).unlink()
        for file, text in wanted.items():
            path = folder / file
            if not path.exists() or path.read_text("utf-8") != text:
                stale.append(f"{name}/{file}")
                if write:
                    folder.mkdir(parents=True, exist_ok=True)
                    path.write_text(text, "utf-8")
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="only report stale snapshots")
    args = parser.parse_args(argv)
    stale = stale_files(write=not args.check)
    for item in stale:
        print(("stale: " if args.check else "wrote: ") + item)
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
