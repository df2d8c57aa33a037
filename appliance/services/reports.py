"""Bug reports from people (the console's free text): recorded in the audit trail, for anyone to read.

Any logged-in user may report (viewers too); the report is an audit row, `action` "report bug",
`object` "bug:<where it was seen>", the text in `detail` with credentials redacted (a pasted API
token, `password=...`, a Bearer header, a webhook secret).
"""

from __future__ import annotations

import re

from appliance.logic.redact import REDACTED, redact_text
from appliance.services.access import Principal
from appliance.services.context import Context
from appliance.services.errors import Invalid

MAX_TEXT = 2000
API_TOKEN = re.compile(r"\bpat-[A-Za-z0-9_-]{8,}")


async def bug(ctx: Context, who: Principal, *, text: str, where: str = "/") -> str:
    """Record a bug report; returns the audit object it was recorded under."""
    text = " ".join(text.split())
    if not text:
        raise Invalid("a bug report needs a description")
    if len(text) > MAX_TEXT:
        raise Invalid(f"a bug report is at most {MAX_TEXT} characters; this one has {len(text)}")
    secrets = (ctx.secrets.alertmanager, ctx.secrets.gitlab, ctx.secrets.argocd)
    text = API_TOKEN.sub(REDACTED, redact_text(text, known=secrets))
    object = f"bug:{where or '/'}"
    async with ctx.store.transaction() as tx:
        await tx.add_audit(
            at=ctx.clock.now(),
            actor=who.name,
            action="report bug",
            object=object,
            outcome="recorded",
            links={},
            detail=text,
        )
    return object
