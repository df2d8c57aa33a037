"""Alerts as Alertmanager 0.25 keeps them: label-set fingerprints, merging, validation, matchers, times.

Fingerprints are prometheus/common's `LabelSet.Fingerprint()`: FNV-1a 64 over the sorted label
names and values, each followed by the separator byte 0xff, printed as 16 hex digits. Times print
as Go does: RFC 3339 with trailing zeros of the fraction trimmed in webhooks (time.Time), with
milliseconds in the v2 API (strfmt.DateTime); the zero time is 0001-01-01T00:00:00Z.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

ZERO = datetime(1, 1, 1, tzinfo=UTC)
FAR = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
DATE_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$"
)
_FNV_OFFSET, _FNV_PRIME, _MASK = 14695981039346656037, 1099511628211, (1 << 64) - 1


class AlertError(ValueError):
    """An alert Alertmanager refuses (400); the message is Alertmanager's."""


def fingerprint(labels: dict[str, str]) -> str:
    h = _FNV_OFFSET
    for name in sorted(labels):
        for byte in name.encode() + b"\xff" + labels[name].encode() + b"\xff":
            h = ((h ^ byte) * _FNV_PRIME) & _MASK
    return f"{h:016x}"


def add(t: datetime, seconds: float) -> datetime:
    """`t + seconds`, saturating at the ends of the calendar instead of overflowing."""
    try:
        return t + timedelta(seconds=seconds)
    except OverflowError:
        return FAR if seconds > 0 else ZERO


def parse_time(value: Any, field: str) -> datetime:
    if not isinstance(value, str):
        raise AlertError(f"{field} in body must be of type date-time: {value!r}")
    match = DATE_TIME.match(value)
    try:
        if match is None:
            raise ValueError(value)
        y, mo, d, h, mi, s, frac, zone = match.groups()
        tz = UTC if zone in ("Z", "z") else _offset(zone)
        micro = int((frac or "0")[:6].ljust(6, "0"))
        return datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), micro, tzinfo=tz)
    except ValueError:
        raise AlertError(f"{field} in body must be of type date-time: {value!r}") from None


def _offset(zone: str) -> timezone:
    sign = 1 if zone[0] == "+" else -1
    return timezone(sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))


def go_time(t: datetime) -> str:
    """time.Time's JSON: RFC 3339 with nanoseconds, trailing zeros trimmed."""
    if t == ZERO:
        return "0001-01-01T00:00:00Z"
    text = t.strftime("%Y-%m-%dT%H:%M:%S")
    if t.microsecond:
        text += f".{t.microsecond:06d}".rstrip("0")
    return text + _zone(t)


def api_time(t: datetime) -> str:
    """strfmt.DateTime's JSON: RFC 3339 with milliseconds, in UTC."""
    t = t.astimezone(UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + f".{t.microsecond // 1000:03d}Z"


def _zone(t: datetime) -> str:
    offset = t.utcoffset() or timedelta(0)
    if not offset:
        return "Z"
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


@dataclass(frozen=True)
class Alert:
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime
    ends_at: datetime
    generator_url: str
    updated_at: datetime
    timeout: bool = False  # ends_at was not given: it is now + resolve_timeout

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.labels)

    def resolved_at(self, t: datetime) -> bool:
        return self.ends_at != ZERO and self.ends_at <= t

    def merge(self, other: Alert) -> Alert:
        """types.Alert.Merge: the younger update wins, the earliest start stays."""
        if other.updated_at < self.updated_at:
            return other.merge(self)
        res = other
        if self.starts_at < other.starts_at:
            res = replace(res, starts_at=self.starts_at)
        if other.resolved_at(other.updated_at):
            if self.resolved_at(self.updated_at) and self.ends_at > other.ends_at:
                res = replace(res, ends_at=self.ends_at)
        elif self.ends_at > other.ends_at and not self.timeout:
            res = replace(res, ends_at=self.ends_at)
        return res


def _label_set(value: Any, field: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise AlertError(f"{field} in body must be a map of strings")
    return dict(value)


def _check(labels: dict[str, str], what: str) -> None:
    for name, value in labels.items():
        if not LABEL_NAME.match(name):
            raise AlertError(f"invalid {what}: invalid name {name!r}")
        try:
            value.encode()
        except UnicodeEncodeError:
            raise AlertError(f"invalid {what}: invalid value {value!r}") from None


def postable(item: Any, *, now: datetime, resolve_timeout: float) -> Alert:
    """One postable alert as the v2 API takes it (postAlertsHandler + Alert.Validate)."""
    if not isinstance(item, dict):
        raise AlertError("alerts in body must be objects")
    if "labels" not in item:
        raise AlertError("labels in body is required")
    labels = {k: v for k, v in _label_set(item["labels"], "labels").items() if v != ""}
    annotations = _label_set(item.get("annotations"), "annotations")
    generator = item.get("generatorURL", "")
    if not isinstance(generator, str) or any(ord(c) < 0x20 or ord(c) == 0x7F for c in generator):
        raise AlertError("generatorURL in body must be of type uri")
    starts = parse_time(item["startsAt"], "startsAt") if item.get("startsAt") is not None else ZERO
    ends = parse_time(item["endsAt"], "endsAt") if item.get("endsAt") is not None else ZERO
    if starts == ZERO:
        starts = now if ends == ZERO else ends
    timeout = ends == ZERO
    if timeout:
        ends = add(now, resolve_timeout)
    if ends < starts:
        raise AlertError("start time must be before end time")
    _check(labels, "label set")
    if not labels:
        raise AlertError("at least one label pair required")
    _check(annotations, "annotations")
    return Alert(labels, annotations, starts, ends, generator, now, timeout)


# --- matchers (the `filter` query parameter) -----------------------------------------------------
MATCHER = re.compile(r"^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$", re.S)


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str
    value: str
    pattern: re.Pattern[str] | None = None

    def matches(self, labels: dict[str, str]) -> bool:
        got = labels.get(self.name, "")
        if self.pattern is not None:
            return bool(self.pattern.fullmatch(got)) == (self.op == "=~")
        return (got == self.value) == (self.op == "=")


def parse_matcher(text: str) -> Matcher:
    match = MATCHER.match(text.strip().removeprefix("{").removesuffix("}"))
    if match is None:
        raise AlertError(f"bad matcher format: {text}")
    name, op, value = match.groups()
    if value.startswith('"'):
        if len(value) < 2 or not value.endswith('"'):
            raise AlertError(f"bad matcher format: {text}")
        value = re.sub(r"\\(.)", r"\1", value[1:-1])
    pattern = None
    if op in ("=~", "!~"):
        try:
            pattern = re.compile(f"(?:{value})")
        except re.error as exc:
            raise AlertError(f"invalid regular expression {value!r}: {exc}") from None
    return Matcher(name, op, value, pattern)
