"""Scenarios: the YAML timelines the console plays and `pathops conformance` runs (docs/scenarios.md)."""
