"""GitLab REST v4: the Scm port (`GitLabScm`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from appliance.adapters.gitlab.scm import GitLabScm

if TYPE_CHECKING:
    from appliance.ports.scm import Scm

    def _conforms(adapter: GitLabScm) -> Scm:
        return adapter  # mypy checks that GitLabScm implements the Scm port


__all__ = ["GitLabScm"]
