"""The README is what an integration admin reads first: every setting it can be given is documented there."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from settings import Settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text("utf-8")


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_in_the_readme_configuration_table(name: str) -> None:
    assert f"`IGNITE_{name.upper()}`" in README or f"`IGNITE_{name.upper()}`," in README


def test_every_link_in_the_readme_points_at_a_file_in_the_repository() -> None:
    """A newcomer reads the README in a clone: a link to a file outside the repository is a dead end."""
    root = Path(__file__).resolve().parents[2]
    targets = re.findall(r"\]\(([^)#]+)\)", README)
    local = [t for t in targets if "://" not in t and not t.startswith("mailto:")]
    assert local, "the README links to the architecture document at least"
    missing = [t for t in local if not (root / t).resolve().is_relative_to(root) or not (root / t).exists()]
    assert not missing, f"README links that lead nowhere in a clone: {missing}"
    assert "../shared" not in README
