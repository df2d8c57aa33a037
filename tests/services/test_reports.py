from __future__ import annotations

import pytest

from appliance.bootstrap import Appliance
from appliance.contracts.entities import Role
from appliance.services import queries, reports
from appliance.services.access import Principal
from appliance.services.errors import Invalid

VIEWER = Principal(name="vera", role=Role.VIEWER)


async def test_a_bug_report_is_an_audit_row_anyone_can_file(appliance: Appliance) -> None:
    object = await reports.bug(
        appliance.ctx, VIEWER, text="  the  approve button\ndoes nothing ", where="/shop"
    )

    assert object == "bug:/shop"
    (row,) = await queries.audit(appliance.ctx, object="bug:/shop")
    assert (row.actor, row.action, row.outcome) == ("vera", "report bug", "recorded")
    assert row.detail == "the approve button does nothing"
    assert row.at == appliance.ctx.clock.now()


async def test_credentials_in_a_report_are_redacted(appliance: Appliance) -> None:
    text = "login fails with pat-AbC123_xyz-0000000 and SHOP_DB_PASSWORD=hunter2 and am-secret"

    await reports.bug(appliance.ctx, VIEWER, text=text)

    [row] = await queries.audit(appliance.ctx, object="bug:/")
    assert row.detail == "login fails with *** and SHOP_DB_PASSWORD=*** and ***"


@pytest.mark.parametrize(
    ("text", "message"), [("   ", "needs a description"), ("x" * 2001, "at most 2000 characters")]
)
async def test_an_empty_or_huge_report_is_refused_and_nothing_is_recorded(
    appliance: Appliance, text: str, message: str
) -> None:
    with pytest.raises(Invalid, match=message):
        await reports.bug(appliance.ctx, VIEWER, text=text)

    assert await queries.audit(appliance.ctx, object="bug:/") == []
