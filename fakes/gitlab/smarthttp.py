"""Git smart HTTP at `/<namespace>/<project>.git/...`, served by `git http-backend` as a CGI program.

    GET  .../info/refs?service=git-upload-pack|git-receive-pack   ref advertisement
    POST .../git-upload-pack                                       fetch, clone
    POST .../git-receive-pack                                      push

Basic auth as GitLab: any username, a token as password; none or a wrong one is 401 with
`WWW-Authenticate: Basic realm="GitLab"`, an unknown project 404, a token without the scope 403.
The request body streams into the CGI's stdin while its stdout streams back. Repositories live at
`repositories/<project id>.git` (renames keep them), so PATH_INFO is rewritten to that path.
After a receive-pack the refs are compared with those before it: each change goes through
`Instance.ref_changes` (push hooks, merge request updates), as GitLab's post-receive does.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from typing import Any

from fakes.common.accesslog import AccessLog
from fakes.common.asgi import Receive, Scope, Send
from fakes.gitlab import auth
from fakes.gitlab.git import ZERO
from fakes.gitlab.instance import Instance
from fakes.gitlab.store import Project, User

log = logging.getLogger(__name__)
ROUTE = re.compile(r"^/(?P<repo>[^?]+?)(?:\.git)?/(?P<rest>info/refs|git-upload-pack|git-receive-pack)$")
CHUNK = 65536


def match(path: str) -> tuple[str, str] | None:
    found = ROUTE.match(path)
    return (found["repo"], found["rest"]) if found else None


async def _text(send: Send, status: int, text: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = text.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()), *(headers or [])]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


async def serve(
    inst: Instance, access: AccessLog, scope: Scope, receive: Receive, send: Send, repo_path: str, rest: str
) -> None:
    method = scope["method"]
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
    query = scope.get("query_string", b"").decode("latin-1")
    pushing = rest == "git-receive-pack" or (rest == "info/refs" and "service=git-receive-pack" in query)
    identity, what = "anonymous", f"repo {repo_path} {'push' if pushing else 'fetch'}"

    def record(status: int) -> None:
        access.record(identity=identity, method=method, path=scope["path"], object=what, outcome=status)

    user = inst.user_for_token(auth.basic_password(headers))
    if user is None:
        await _text(send, 401, "HTTP Basic: Access denied. The provided password or token is incorrect.\n",
                    [(b"www-authenticate", b'Basic realm="GitLab"')])  # fmt: skip
        record(401)
        return
    identity = user.username
    project = inst.store.project(repo_path)
    if project is None:
        await _text(send, 404, "The project you were looking for could not be found or you don't have permission to view it.\n")  # fmt: skip
        record(404)
        return
    what = f"repo {inst.store.project_path(project)} {'push' if pushing else 'fetch'}"
    allowed = auth.may_push if pushing else auth.may_fetch
    if not allowed(inst.scopes(user)):
        verb = "push code to" if pushing else "download code from"
        await _text(send, 403, f"You are not allowed to {verb} this project.\n")
        record(403)
        return
    repo = inst.repo(project)
    before = repo.refs() if rest == "git-receive-pack" else {}
    pushed: list[str] = []

    def settle() -> None:
        # Runs before the push's answer reaches the client, so a REST call made
        # right after `git push` returns already sees the new default branch,
        # pipelines and webhooks.
        after = repo.refs()
        changes = [(ref, before.get(ref, ZERO), after.get(ref, ZERO))
                   for ref in sorted(set(before) | set(after)) if before.get(ref) != after.get(ref)]  # fmt: skip
        if changes:
            pushed.extend(ref for ref, _, _ in changes)
            inst.ref_changes(project, user, changes)

    hold = settle if rest == "git-receive-pack" else None
    status = await _cgi(inst, project, user, scope, receive, send, rest, query, headers, hold)
    if pushed:
        what = f"{what} {','.join(pushed)}"
    record(status)


async def _cgi(
    inst: Instance, project: Project, user: User, scope: Scope, receive: Receive, send: Send,
    rest: str, query: str, headers: dict[str, str], settle: Callable[[], None] | None,
) -> int:  # fmt: skip
    """Run git http-backend; with `settle`, hold the whole answer until git exits and settle() ran."""
    env = inst.repo(project).env(
        GIT_PROJECT_ROOT=str(inst.repos_dir), GIT_HTTP_EXPORT_ALL="1", PATH_INFO=f"/{project.id}.git/{rest}",
        QUERY_STRING=query, REQUEST_METHOD=scope["method"], CONTENT_TYPE=headers.get("content-type", ""),
        REMOTE_USER=user.username, REMOTE_ADDR=(scope.get("client") or ("127.0.0.1", 0))[0],
        SERVER_PROTOCOL="HTTP/1.1", GATEWAY_INTERFACE="CGI/1.1",
        GIT_COMMITTER_NAME=user.name, GIT_COMMITTER_EMAIL=user.email,
    )  # fmt: skip
    for header, name in (("content-length", "CONTENT_LENGTH"), ("content-encoding", "HTTP_CONTENT_ENCODING"),
                         ("git-protocol", "HTTP_GIT_PROTOCOL")):  # fmt: skip
        if header in headers:
            env[name] = headers[header]
    proc = await asyncio.create_subprocess_exec(
        "git", "http-backend", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    feeder = asyncio.create_task(_feed(receive, proc.stdin))
    errors = asyncio.create_task(proc.stderr.read())
    head = b""
    while b"\r\n\r\n" not in head and b"\n\n" not in head:
        chunk = await proc.stdout.read(CHUNK)
        if not chunk:
            break
        head += chunk
    sep = b"\r\n\r\n" if b"\r\n\r\n" in head else b"\n\n"
    header_block, _, body = head.partition(sep)
    status, out = 200, []
    for line in header_block.decode("latin-1").splitlines():
        name, _, value = line.partition(":")
        if name.strip().lower() == "status":
            status = int(value.split()[0]) if value.split() and value.split()[0].isdigit() else 500
        elif name.strip():
            out.append((name.strip().lower().encode(), value.strip().encode("latin-1")))
    if not header_block:
        status = 500
    if settle is not None:
        held = [body]
        while chunk := await proc.stdout.read(CHUNK):
            held.append(chunk)
        await proc.wait()
        await feeder
        settle()
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": b"".join(held), "more_body": False})
    else:
        await send({"type": "http.response.start", "status": status, "headers": out})
        if body:
            await send({"type": "http.response.body", "body": body, "more_body": True})
        while chunk := await proc.stdout.read(CHUNK):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        await proc.wait()
        await feeder
    if message := (await errors).decode("utf-8", "replace").strip():
        log.info("git http-backend (%s %s): %s", scope["method"], rest, message)
    return status


async def _feed(receive: Receive, stdin: Any) -> None:
    try:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            if message.get("body"):
                stdin.write(message["body"])
                await stdin.drain()
            if not message.get("more_body"):
                break
    except (BrokenPipeError, ConnectionResetError):
        pass
    finally:
        stdin.close()
