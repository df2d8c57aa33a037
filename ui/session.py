"""Who is at the console: the logged-in user of a browser tab, and the appliance it talks to.

The appliance is installed once at startup (`install`, called by `ui.asgi.build` and the UI tests).
A login checks the API token through `appliance.services.access.authenticate` and keeps only the
user's name, role and the token's digest in NiceGUI's server-side `app.storage.user`; the token
itself is never stored or shown.
"""

from __future__ import annotations

from dataclasses import dataclass

from nicegui import app

from appliance.bootstrap import Appliance
from appliance.contracts.entities import Role
from appliance.services import access
from appliance.services.access import Principal
from appliance.services.actions import RULES
from appliance.services.context import Context
from appliance.services.errors import Unauthorized
from appliance.services.tokens import digest

_KEY = "pathops"  # the entry of app.storage.user that holds the login
_installed: list[Appliance] = []


@dataclass(frozen=True)
class Console:
    appliance: Appliance
    who: Principal

    @property
    def ctx(self) -> Context:
        return self.appliance.ctx

    def can(self, kind: str, action: str) -> bool:
        """Whether this user's role may take `action` on a `kind` (the same rules the services check)."""
        rule = RULES.get((kind, action))
        return rule is not None and self.who.role in rule[1]


def install(appliance: Appliance) -> None:
    """Make `appliance` the one the console's pages talk to."""
    _installed[:] = [appliance]


def installed() -> Appliance:
    if not _installed:
        raise RuntimeError("no appliance installed for the console (ui.session.install)")
    return _installed[0]


async def login(name: str, token: str) -> Console:
    """Check `token` for user `name`; remember the login for this browser. Raises Unauthorized."""
    appliance = installed()
    who = await access.authenticate(appliance.ctx, f"Bearer {token.strip()}", action="console login")
    if who.name != name.strip():
        raise await access.deny(
            appliance.ctx,
            actor=name.strip() or "anonymous",
            action="console login",
            reason="the token belongs to another user",
            error=Unauthorized,
        )
    app.storage.user[_KEY] = {"name": who.name, "role": str(who.role), "token": digest(token.strip())}
    return Console(appliance=appliance, who=who)


def logout() -> None:
    app.storage.user.pop(_KEY, None)


def current_console() -> Console | None:
    """The logged-in user of this browser tab, or None (call inside a page or its handlers)."""
    if not _installed:
        return None
    entry = app.storage.user.get(_KEY)
    if not isinstance(entry, dict) or not entry.get("name"):
        return None
    try:
        role = Role(str(entry.get("role")))
    except ValueError:
        return None
    return Console(appliance=_installed[0], who=Principal(name=str(entry["name"]), role=role))


async def verified_console() -> Console | None:
    """Like `current_console`, and the token is still known for that user (pages call this on load)."""
    console = current_console()
    if console is None:
        return None
    who = await access.known(console.ctx, str(app.storage.user[_KEY].get("token", "")))
    if who is None or who.name != console.who.name:
        logout()
        return None
    return Console(appliance=console.appliance, who=who)
