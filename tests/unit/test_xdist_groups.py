"""The suite's parallel run keeps each `xdist_group` on one worker (`just test`: --dist loadgroup).

Tests that share a demo or NiceGUI's global state rely on it. pytest-xdist marks a grouped test by
suffixing its node id with `@<group>`; a pytest that ignores the suffix (9.2 does) silently spreads
a group over the workers, so this checks the suffix is there whenever the run groups.
"""

from __future__ import annotations

import pytest


@pytest.mark.xdist_group("groups-hold")
def test_a_grouped_test_carries_its_group_when_the_run_groups(request: pytest.FixtureRequest) -> None:
    if getattr(request.config.option, "loadgroup", False):
        assert request.node.nodeid.endswith("@groups-hold"), request.node.nodeid
    else:  # a run without --dist loadgroup: no suffix, and nothing is split either
        assert "@" not in request.node.nodeid
