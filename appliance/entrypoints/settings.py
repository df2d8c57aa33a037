"""Read settings once, at the edge: CLI flags > PATHOPS_* environment > a target config file > defaults.

Secrets that are not given are generated on first start and kept in `<data_dir>/secrets.json`
(mode 0600), so webhook senders can be configured once and restarts keep working.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec
import yaml

from appliance.contracts.settings import Settings

SECRET_FIELDS = ("alertmanager_secret", "gitlab_secret", "argocd_secret", "callback_key")
INT_FIELDS = {"port", "evidence_timeout_s", "fix_timeout_s", "mr_timeout_s", "max_attempts"}


class SettingsError(ValueError):
    pass


def load(overrides: Mapping[str, Any] | None = None, *, environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for field in msgspec.structs.fields(Settings):
        raw = env.get(f"PATHOPS_{field.name.upper()}")
        if raw not in (None, ""):
            values[field.name] = _convert(field.name, raw)
    values |= {k: v for k, v in (overrides or {}).items() if v is not None}
    target = str(values.get("target") or "embedded")
    if target not in ("embedded", "stack"):
        values = _from_file(Path(target)) | values
    values.setdefault("data_dir", Path(".pathops"))
    values["data_dir"] = Path(values["data_dir"]).resolve()
    values |= _secrets(values["data_dir"], {k: values.get(k) for k in SECRET_FIELDS})
    try:
        return msgspec.convert(values, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise SettingsError(f"settings: {exc}") from None


def _convert(name: str, raw: str) -> Any:
    if name in INT_FIELDS:
        try:
            return int(raw)
        except ValueError:
            raise SettingsError(f"PATHOPS_{name.upper()} must be a whole number, not {raw!r}") from None
    return raw


def _from_file(path: Path) -> dict[str, Any]:
    """A config target: YAML with a `pathops:` section of settings (the rest is for the adapters)."""
    if not path.is_file():
        raise SettingsError(f"--target {path}: not 'embedded', 'stack' or a readable config file")
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise SettingsError(f"{path}: not valid YAML: {exc}") from None
    section = doc.get("pathops", {}) if isinstance(doc, dict) else None
    if not isinstance(section, dict):
        raise SettingsError(f"{path}: `pathops:` must be a mapping of settings")
    known = {f.name for f in msgspec.structs.fields(Settings)}
    unknown = sorted(set(section) - known)
    if unknown:
        raise SettingsError(f"{path}: unknown setting(s) under pathops: {', '.join(unknown)}")
    return dict(section)


def _secrets(data_dir: Path, given: dict[str, Any]) -> dict[str, str]:
    path = data_dir / "secrets.json"
    stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    missing = [k for k in SECRET_FIELDS if not given.get(k) and not stored.get(k)]
    if missing:
        stored |= {k: secrets.token_urlsafe(32) for k in missing}
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(stored, f, indent=2)
    return {k: str(given.get(k) or stored[k]) for k in SECRET_FIELDS}
