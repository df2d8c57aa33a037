"""One probe attempt (httpGet, tcpSocket, exec) with the kubelet's failure messages."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import httpx


def _port(value: Any, container: dict[str, Any]) -> int:
    if isinstance(value, int) or str(value).isdigit():
        return int(value)
    for port in container.get("ports") or []:
        if port.get("name") == value:
            return int(port["containerPort"])
    raise ValueError(f"unable to find port {value!r} in container")


async def attempt(
    probe: dict[str, Any], container: dict[str, Any], pod_ip: str, env: dict[str, str], cwd: Path
) -> tuple[bool, str]:
    """(success, message); the message is what the Unhealthy event says after "<kind> probe failed: "."""
    timeout = float(probe.get("timeoutSeconds", 1))
    try:
        if "httpGet" in probe:
            return await _http(probe["httpGet"], container, pod_ip, timeout)
        if "tcpSocket" in probe:
            return await _tcp(probe["tcpSocket"], container, pod_ip, timeout)
        if "exec" in probe:
            return await _exec(probe["exec"].get("command") or [], env, cwd, timeout)
    except ValueError as exc:
        return False, str(exc)
    return False, "grpc probes are not supported by this node"


async def _http(
    spec: dict[str, Any], container: dict[str, Any], pod_ip: str, timeout: float
) -> tuple[bool, str]:
    host = spec.get("host") or pod_ip
    port = _port(spec.get("port"), container)
    path = spec.get("path") or "/"
    url = f"{str(spec.get('scheme', 'HTTP')).lower()}://{host}:{port}{path if path.startswith('/') else '/' + path}"
    headers = {h["name"]: h["value"] for h in spec.get("httpHeaders") or []}
    headers.setdefault("User-Agent", "kube-probe/1.27")
    try:
        async with httpx.AsyncClient(timeout=timeout, verify=False) as client:
            response = await client.get(url, headers=headers)
    except httpx.TimeoutException:
        return (
            False,
            f'Get "{url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)',
        )
    except httpx.HTTPError:
        return False, f'Get "{url}": dial tcp {host}:{port}: connect: connection refused'
    if 200 <= response.status_code < 400:
        return True, ""
    return False, f"HTTP probe failed with statuscode: {response.status_code}"


async def _tcp(
    spec: dict[str, Any], container: dict[str, Any], pod_ip: str, timeout: float
) -> tuple[bool, str]:
    host = spec.get("host") or pod_ip
    port = _port(spec.get("port"), container)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, TimeoutError):
        return False, f"dial tcp {host}:{port}: connect: connection refused"
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True, ""


async def _exec(command: list[str], env: dict[str, str], cwd: Path, timeout: float) -> tuple[bool, str]:
    if not command:
        return False, "exec probe has no command"
    try:
        proc = await asyncio.create_subprocess_exec(
            *command, cwd=str(cwd), env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    except OSError as exc:
        return False, f"exec: {command[0]!r}: {exc.strerror}"
    try:
        output, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return False, f"command {command!r} timed out"
    if proc.returncode == 0:
        return True, ""
    return False, f"command {command!r} exited with {proc.returncode}: {output.decode(errors='replace')}"
