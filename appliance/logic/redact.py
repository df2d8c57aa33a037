"""Redaction of credentials in evidence: texts (logs, event messages) and objects (Kubernetes YAML).

What is replaced by `***`:
  - values under credential-looking keys (`password`, `secret`, `token`, `key`, `credentials`...
    as the key's last word: `DB_PASSWORD`, `apiKey`, `SECRET_KEY`), in objects and as `name=value`
    or `name: value` in texts; env entries (`{name, value}`) whose name looks like one;
  - the value of an env entry whose `valueFrom` is a `secretKeyRef` (the reference itself stays);
  - `Authorization:` header values and `Bearer` / `Basic` credentials;
  - the userinfo of URLs (`postgres://shop:pw@db/shop` -> `postgres://***@db/shop`);
  - any of the `known` secret values the caller passes (its own tokens and keys);
  - `kubectl.kubernetes.io/last-applied-configuration` (a copy of the object, env values included).

Kubernetes' reference fields (`key` of a selector or of a `secretKeyRef`, `secretName`...) stay: they
name a credential, they do not hold one. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "***"
CREDENTIAL_WORDS = frozenset(
    {"password", "passwd", "pwd", "pass", "passphrase", "secret", "token", "key", "apikey", "credential"}
    | {"credentials", "authorization", "bearer", "privatekey", "cookie"}
)
REFERENCE_KEYS = frozenset({"key", "secretname", "secretkeyref", "secretref", "configmapkeyref"})
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_AUTH_HEADER = re.compile(r"(?i)\b(authorization\s*[:=]\s*)(?:(bearer|basic|token)\s+)?[^\s,;\"']+")
_SCHEME_CREDENTIAL = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}")
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@'\"]+(?::[^/\s@'\"]*)?@")
_ASSIGNMENT = re.compile(
    r"""(?P<name>\b[A-Za-z_][A-Za-z0-9_.-]*)(?P<q1>["']?)(?P<sep>\s*(?<![:=])(?:=|:)(?![=/])\s*)"""
    r"""(?:(?P<q2>["'])(?P<quoted>[^"'\n]*)(?P=q2)|(?P<bare>[^\s"',;&}\]]+))"""
)


def words(name: str) -> list[str]:
    """`DB_PASSWORD` -> [db, password]; `apiKey` -> [api, key]; `SECRET_KEY2` -> [secret, key, 2]."""
    return [w.lower() for w in _WORDS.findall(name)]


def is_credential_key(name: str) -> bool:
    """Whether a key or variable name says its value is a credential (its last word does)."""
    found = [w for w in words(name) if not w.isdigit()]
    if not found:
        return False
    return found[-1] in CREDENTIAL_WORDS or "".join(found[-2:]) in CREDENTIAL_WORDS


def redact_text(text: str, known: Iterable[str] = ()) -> str:
    """`text` with every credential it shows replaced by `***` (see the module's list)."""
    for value in sorted({k for k in known if len(k) >= 4}, key=len, reverse=True):
        text = text.replace(value, REDACTED)
    text = _AUTH_HEADER.sub(lambda m: m.group(1) + (f"{m.group(2)} " if m.group(2) else "") + REDACTED, text)
    text = _SCHEME_CREDENTIAL.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _USERINFO.sub(lambda m: f"{m.group(1)}{REDACTED}@", text)
    return _ASSIGNMENT.sub(_assignment, text)


def _assignment(match: re.Match[str]) -> str:
    bare = (match.group("bare") or "").lower()
    if not is_credential_key(match.group("name")) or bare in ("bearer", "basic", REDACTED):
        return match.group(0)
    head = match.group("name") + match.group("q1") + match.group("sep")
    if match.group("q2"):
        return f"{head}{match.group('q2')}{REDACTED}{match.group('q2')}"
    return head + REDACTED


def redact_object(value: Any, known: Iterable[str] = ()) -> Any:
    """A redacted copy of a JSON-like value (dicts, lists, scalars); the input is not changed."""
    return _object(value, tuple(known))


def _object(value: Any, known: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        return redact_text(value, known)
    if isinstance(value, list | tuple):
        return [_object(v, known) for v in value]
    if not isinstance(value, Mapping):
        return value
    if _is_env_entry(value):
        return _env_entry(value, known)
    secret_kind = value.get("kind") == "Secret"
    out: dict[str, Any] = {}
    for key, item in value.items():
        name = str(key)
        if name == LAST_APPLIED or (secret_kind and name in ("data", "stringData")):
            out[name] = _hide(item)
        elif name.lower() not in REFERENCE_KEYS and is_credential_key(name) and _is_scalar(item):
            out[name] = REDACTED
        else:
            out[name] = _object(item, known)
    return out


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool) and value != ""


def _hide(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: REDACTED for k in value}
    return REDACTED if value not in (None, "") else value


def _is_env_entry(value: Mapping[str, Any]) -> bool:
    return isinstance(value.get("name"), str) and ("value" in value or "valueFrom" in value)


def _env_entry(entry: Mapping[str, Any], known: tuple[str, ...]) -> dict[str, Any]:
    out = {str(k): _object(v, known) for k, v in entry.items()}
    from_secret = isinstance(entry.get("valueFrom"), Mapping) and "secretKeyRef" in entry["valueFrom"]
    if "value" in out and _is_scalar(entry["value"]) and (from_secret or is_credential_key(entry["name"])):
        out["value"] = REDACTED
    return out
