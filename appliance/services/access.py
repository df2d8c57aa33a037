"""Who may do what: users with roles and API tokens, webhook secrets, per-job callback tokens.

Every refusal is a typed error (401/403/409) and an audit record naming the reason, never the
credential itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

import msgspec

from appliance.contracts.entities import Role
from appliance.ports.store import CallbackTokenRow, Tx
from appliance.services.context import Context
from appliance.services.errors import Conflict, Forbidden, Invalid, ServiceError, Unauthorized
from appliance.services.tokens import bearer, digest, same


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    role: Role | None = None  # None for machines (webhook sources, CI jobs)
    kind: str = "user"  # user | webhook | job


async def deny(ctx: Context, *, actor: str, action: str, reason: str, error: type[Exception]) -> Exception:
    """Record a refusal in the audit trail and return the error to raise."""
    async with ctx.store.transaction() as tx:
        await tx.add_audit(
            at=ctx.clock.now(),
            actor=actor,
            action=action,
            object="access",
            outcome="denied",
            links={},
            detail=reason,
        )
    return error(reason)


async def authenticate(ctx: Context, authorization: str | None, *, action: str) -> Principal:
    token = bearer(authorization)
    if token is None:
        raise await deny(
            ctx, actor="anonymous", action=action, reason="missing bearer token", error=Unauthorized
        )
    async with ctx.store.read() as r:
        user = await r.user_for_token(digest(token))
    if user is None:
        raise await deny(
            ctx, actor="unknown-token", action=action, reason="unknown API token", error=Unauthorized
        )
    return Principal(name=user.name, role=user.role)


async def known(ctx: Context, token_digest: str) -> Principal | None:
    """The user an API token (given by its digest, as a session keeps it) still belongs to, or None."""
    async with ctx.store.read() as r:
        user = await r.user_for_token(token_digest)
    return None if user is None else Principal(name=user.name, role=user.role)


async def require_role(ctx: Context, who: Principal, roles: Iterable[Role], *, action: str) -> None:
    allowed = tuple(roles)
    if who.role not in allowed:
        names = " or ".join(str(r) for r in allowed)
        reason = f"{action} needs role {names}; {who.name} is {who.role}"
        raise await deny(ctx, actor=who.name, action=action, reason=reason, error=Forbidden)


async def webhook(
    ctx: Context, source: str, *, authorization: str | None = None, gitlab_token: str | None = None
) -> Principal:
    """Check a webhook's secret in the form its source really sends it."""
    given = gitlab_token if source == "gitlab" else bearer(authorization)
    expected = {
        "alertmanager": ctx.secrets.alertmanager,
        "gitlab": ctx.secrets.gitlab,
        "argocd": ctx.secrets.argocd,
    }[source]
    if given is None:
        header = "X-Gitlab-Token" if source == "gitlab" else "Authorization: Bearer"
        raise await deny(
            ctx, actor=source, action=f"webhook {source}", reason=f"missing {header}", error=Unauthorized
        )
    if not same(given, expected):
        raise await deny(
            ctx, actor=source, action=f"webhook {source}", reason="wrong webhook secret", error=Unauthorized
        )
    return Principal(name=source, kind="webhook")


async def consume_callback(
    ctx: Context,
    tx: Tx,
    authorization: str | None,
    *,
    action: str,
    jobs: Iterable[str],
    instance: str | None,
    body: bytes,
) -> CallbackTokenRow:
    """Check and spend a per-job callback token inside the caller's transaction.

    A token works once and until it expires, for the instance and the CI jobs it was minted for.
    The same request sent again (a retry after a lost reply) is a 409 that names the duplicate.
    """
    token = bearer(authorization)
    reason, error = "", cast(type[ServiceError], Unauthorized)
    row = await tx.callback_token(digest(token)) if token else None
    if token is None:
        reason = "missing callback token (Authorization: Bearer)"
    elif row is None:
        reason = "unknown callback token"
    elif row.expires_at <= ctx.clock.now():
        reason = "callback token expired"
    elif row.job not in set(jobs) or (instance is not None and row.instance != instance):
        reason, error = f"callback token was issued for {row.job} of {row.instance}", Forbidden
    elif row.used_at is not None:
        duplicate = row.request_digest == digest(body.decode(errors="replace"))
        reason = "duplicate callback: already accepted" if duplicate else "callback token already used"
        error = Conflict
    if reason:
        raise error(reason)  # the caller audits it once the transaction is rolled back
    assert row is not None
    await tx.use_callback_token(
        digest(token or ""), at=ctx.clock.now(), request_digest=digest(body.decode(errors="replace"))
    )
    return row


async def create_user(ctx: Context, who: Principal, *, name: str, role: Role) -> None:
    await require_role(ctx, who, [Role.OWNER], action="create user")
    async with ctx.store.transaction() as tx:
        if await tx.user(name) is not None:
            raise Conflict(f"user {name!r} exists")
        await tx.add_user(name=name, role=role, at=ctx.clock.now())
        await tx.add_audit(
            at=ctx.clock.now(),
            actor=who.name,
            action="create user",
            object=f"user:{name}",
            outcome="ok",
            links={},
            detail=f"role {role}",
        )


async def issue_token(ctx: Context, who: Principal, *, user: str, label: str) -> str:
    """A new API token for `user` (owners for anyone, others for themselves); shown once."""
    if user != who.name:
        await require_role(ctx, who, [Role.OWNER], action="issue token for another user")
    token = "pat-" + ctx.ids.token()
    async with ctx.store.transaction() as tx:
        if await tx.user(user) is None:
            raise Invalid(f"no user {user!r}")
        await tx.add_api_token(token_hash=digest(token), user=user, label=label, at=ctx.clock.now())
        await tx.add_audit(
            at=ctx.clock.now(),
            actor=who.name,
            action="issue token",
            object=f"user:{user}",
            outcome="ok",
            links={},
            detail=label,
        )
    return token


async def ensure_owner(ctx: Context, *, name: str) -> str | None:
    """First start: create owner `name` and return a fresh token for it; None if it already exists."""
    return await ensure_user(ctx, name=name, role=Role.OWNER)


async def ensure_user(ctx: Context, *, name: str, role: Role) -> str | None:
    """First start: create user `name` with `role` and return a fresh token; None if it exists."""
    async with ctx.store.transaction() as tx:
        if await tx.user(name) is not None:
            return None
        token = "pat-" + ctx.ids.token()
        await tx.add_user(name=name, role=role, at=ctx.clock.now())
        await tx.add_api_token(token_hash=digest(token), user=name, label="bootstrap", at=ctx.clock.now())
        await tx.add_audit(
            at=ctx.clock.now(),
            actor="pathops",
            action="create user",
            object=f"user:{name}",
            outcome="ok",
            links={},
            detail="first owner" if role == Role.OWNER else f"demo {role}",
        )
    return token
