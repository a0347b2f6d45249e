"""Org settings a profile cannot know in advance, read from the org's own describe.

A profile declares them as flags with a `detect:` entry (`state_country_picklists: Account.BillingStateCode`):
the flag is on exactly when the org's describe of that object has that field.  Fields carry `when:`/`unless:`
on such a flag, so the profile itself says what each kind of org receives; the sync detects at its start and
`check-mapping` reports which way the org is set.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mappings.profile import Profile

DescribeSource = Callable[[str], Mapping[str, Any] | None]


@dataclass(frozen=True, slots=True)
class DetectedFlag:
    flag: str
    on: bool
    evidence: str  # "Account.BillingStateCode" — the field whose presence decided
    meaning: str  # the flag's description in the profile


def detect_flags(profile: Profile, describe: DescribeSource) -> list[DetectedFlag]:
    """Each detected flag of the profile, on or off for the org behind `describe` (None = no such object)."""
    found = []
    for flag, target in sorted(profile.detect.items()):
        object_name, field_name = target.split(".", 1)
        d = describe(object_name)
        names = {f.get("name") for f in (d or {}).get("fields", [])}
        found.append(DetectedFlag(flag, field_name in names, target, profile.flags.get(flag, "")))
    return found


def active_detected(profile: Profile, describe: DescribeSource) -> frozenset[str]:
    return frozenset(d.flag for d in detect_flags(profile, describe) if d.on)
