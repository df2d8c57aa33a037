"""The scenario catalog: one YAML file per scenario (docs/scenarios.md), shipped as package data."""
