"""Helpers shared by more than one test tier (unit, integration, web); a helper one tier uses lives in that tier."""
