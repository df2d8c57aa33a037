"""What production runs, and which release a level-3 rollback goes back to, from its promotions and
the rollbacks done since (appliance/logic/rollback.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from appliance.logic.rollback import LastGood, Release, last_good, running

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def promoted(name: str, minute: int) -> Release:
    return Release(artifact_id=f"art-{name}", image=f"reg/shop/api:{name}", commit_sha=name * 40,
                   report_id=f"rep-{name}", at=T0 + timedelta(minutes=minute))  # fmt: skip


def rolled_back_to(release: Release, minute: int, by: str) -> Release:
    return msgspec.structs.replace(release, at=T0 + timedelta(minutes=minute), by=by)


def good(release: Release) -> LastGood:
    return LastGood(artifact_id=release.artifact_id, image=release.image, commit_sha=release.commit_sha,
                    report_id=release.report_id)  # fmt: skip


Z, A, B = promoted("z", 0), promoted("a", 10), promoted("b", 20)


def test_before_any_promotion_production_runs_nothing_and_has_nothing_to_go_back_to() -> None:
    assert running([]) is None and last_good([]) is None
    assert last_good([Z]) is None  # one release: nothing earlier


def test_without_rollbacks_production_runs_the_newest_promotion_and_goes_back_one() -> None:
    assert running([A, Z, B]) == B
    assert last_good([B, A, Z]) == good(A)


def test_after_a_rollback_production_runs_what_it_went_back_to_and_the_next_goes_further_back() -> None:
    back = rolled_back_to(A, 30, by="inc-1")
    assert running([Z, A, B], [back]) == back
    assert last_good([Z, A, B], [back]) == good(Z)  # not B (rolled back from), not A (runs now)
    assert last_good([A, B], [back]) is None  # nothing promoted before A


def test_a_promotion_after_a_rollback_runs_again_and_goes_back_one() -> None:
    back, c = rolled_back_to(A, 30, by="inc-1"), promoted("c", 40)
    assert running([Z, A, B, c], [back]) == c
    assert last_good([Z, A, B, c], [back]) == good(B)


@given(
    st.lists(st.integers(0, 200), min_size=1, max_size=8, unique=True),
    st.lists(st.tuples(st.integers(0, 7), st.integers(0, 200)), max_size=4),
)
def test_the_release_to_go_back_to_never_runs_now_and_was_promoted_before_it(
    minutes: list[int], backs: list[tuple[int, int]]
) -> None:
    releases = [promoted(f"r{n}", minute) for n, minute in enumerate(minutes)]
    rolled = [
        rolled_back_to(releases[i % len(releases)], minute, by=f"inc-{n}")
        for n, (i, minute) in enumerate(backs)
    ]
    now = running(releases, rolled)
    assert now is not None and now.at == max(r.at for r in (*releases, *rolled))
    found = last_good(releases, rolled)
    first = min(r.at for r in releases if r.artifact_id == now.artifact_id)
    if found is None:
        assert all(r.at >= first for r in releases)
    else:
        assert found.artifact_id != now.artifact_id
        [chosen] = [r for r in releases if r.artifact_id == found.artifact_id]
        assert chosen.at < first
        assert all(not chosen.at < r.at < first for r in releases)  # the newest such release
