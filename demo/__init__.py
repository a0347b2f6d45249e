"""Deterministic, realistic, fictional Ignite program data for the demo, tests and benchmarks."""

from demo.generator import CohortBundle, DemoProgram, generate
from demo.seed import SeedSummary, seed

__all__ = ["CohortBundle", "DemoProgram", "SeedSummary", "generate", "seed"]
