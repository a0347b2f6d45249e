"""The README is what an integration admin reads first: every setting it can be given is documented there."""

from __future__ import annotations

from pathlib import Path

import pytest

from settings import Settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text("utf-8")


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_in_the_readme_configuration_table(name: str) -> None:
    assert f"`IGNITE_{name.upper()}`" in README or f"`IGNITE_{name.upper()}`," in README
