"""Job options: their validation and the stored form, mirroring sluice's src/options.ts
(normalizeJobOptions, compactOptions) for the options this client supports. The script trusts what it is
given (a priority past the queue's levels, say, is not checked in Lua), so these checks are part of what
makes a job added from here as safe as one added from Node. Option names are Python's (job_id,
remove_on_complete); what is stored uses sluice's names (keepCompleted), see docs/wire-format.md."""

from __future__ import annotations

import datetime
import math
import re
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional

from .errors import ValidationError

DEFAULT_ATTEMPTS = 11
DEFAULT_BACKOFF: Dict[str, Any] = {"type": "exponential", "delay": 1000, "jitter": 0.5}
DEFAULT_KEEP_COMPLETED: Dict[str, int] = {"count": 1000, "age": 86_400}
KEEP_ALL: Dict[str, int] = {"count": -1, "age": -1}
DEFAULT_PRIORITY_LEVELS = 3
MAX_PRIORITY_LEVELS = 32
# Node's timers take at most 2**31 - 1 ms (src/bounds.ts MAX_TIMER_MS); retries wait at most as long.
MAX_TIMER_MS = 2**31 - 1
MAX_RETRY_DELAY_MS = MAX_TIMER_MS
MAX_SAFE_INTEGER = 2**53 - 1
MAX_ATTEMPTS = 1_000_000

JOB_OPTION_NAMES = (
    "job_id", "delay", "run_at", "priority", "attempts", "backoff",
    "remove_on_complete", "remove_on_fail", "timeout", "group",
)
_DIGITS = re.compile(r"[0-9]+")
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def utf16_length(text: str) -> int:
    """The length JavaScript gives `text` (UTF-16 units): sluice's 256-character bounds count these."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def assert_well_formed(what: str, text: str, collision: str) -> None:
    """Refuses `text` with a surrogate (src/bounds.ts assertWellFormed): Redis receives UTF-8, where it
    would become U+FFFD, and redis-py cannot encode it at all."""
    for index, char in enumerate(text):
        if "\ud800" <= char <= "\udfff":
            raise ValidationError(
                f"{what} has a lone surrogate (\\u{ord(char):04X} at index {index}); Redis would store it as U+FFFD, "
                f"so {collision}: use well-formed Unicode"
            )


def _show(value: Any) -> str:
    return repr(value)


def _as_integer(value: Any) -> Optional[int]:
    """`value` as an int when it is an integral number (not a bool), as Number.isInteger sees it."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def assert_integer(name: str, value: Any, minimum: int, maximum: int = MAX_SAFE_INTEGER) -> int:
    number = _as_integer(value)
    if number is None or number < minimum or number > maximum:
        allowed = f"an integer >= {minimum}" if maximum == MAX_SAFE_INTEGER else f"an integer from {minimum} to {maximum}"
        raise ValidationError(f"{name} must be {allowed}, got {_show(value)}")
    return number


def assert_duration(name: str, value: Any, minimum: int) -> int:
    number = _as_integer(value)
    if number is not None and number > MAX_TIMER_MS:
        raise ValidationError(f"{name} must be at most {MAX_TIMER_MS} ms (Node's timer limit), got {number}")
    return assert_integer(name, value, minimum, MAX_TIMER_MS)


def _assert_number(name: str, value: Any, minimum: float, maximum: float) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < minimum or value > maximum:
        raise ValidationError(f"{name} must be a finite number from {minimum} to {maximum}, got {_show(value)}")
    # An integral float is the integer msgpackr writes for the same JavaScript number.
    return int(value) if isinstance(value, float) and value.is_integer() else value


def assert_job_name(name: Any) -> str:
    if not isinstance(name, str) or not 1 <= utf16_length(name) <= 256:
        raise ValidationError(f"job name must be a string of 1 to 256 characters, got {_show(name)}")
    assert_well_formed("job name", name, "two names could be one")
    return name


def assert_group_name(group: Any) -> str:
    if not isinstance(group, str) or not 1 <= utf16_length(group) <= 256:
        raise ValidationError(f"group must be a string of 1 to 256 characters, got {_show(group)}")
    assert_well_formed(f"group '{group}'", group, "two groups would be one")
    return group


def assert_job_id(job_id: Any) -> str:
    if not isinstance(job_id, str) or not 1 <= utf16_length(job_id) <= 256:
        raise ValidationError(f"job_id must be a string of 1 to 256 characters, got {_show(job_id)}")
    if _DIGITS.fullmatch(job_id):
        raise ValidationError(
            f"job_id '{job_id}' is all digits; such ids are reserved for generated ids. Prefix it, e.g. 'order-{job_id}'"
        )
    assert_well_formed("job_id", job_id, "two ids could be one job")
    return job_id


def default_priority(levels: int) -> int:
    return (levels - 1) // 2


def _normalize_keep(name: str, value: Any, fallback: Dict[str, int]) -> Dict[str, int]:
    if value is None:
        return fallback
    if value is True:
        return {"count": 0, "age": -1}
    if value is False:
        return dict(KEEP_ALL)
    if _as_integer(value) is not None or isinstance(value, float):
        return {"count": assert_integer(name, value, 0), "age": -1}
    if not isinstance(value, Mapping):
        raise ValidationError(f"{name} must be True, False, a count, or {{'count': n, 'age': seconds}}, got {type(value).__name__}")
    for key in value:
        if key not in ("count", "age"):
            raise ValidationError(f"{name} has an unknown field {key!r}; use {{'count': n, 'age': seconds}} (age in seconds)")
    return {
        "count": -1 if value.get("count") is None else assert_integer(f"{name}['count']", value["count"], 0),
        "age": -1 if value.get("age") is None else assert_integer(f"{name}['age']", value["age"], 0),
    }


def _normalize_backoff(value: Any) -> Dict[str, Any]:
    if not isinstance(value, Mapping) or not isinstance(value.get("type"), str) or value["type"] == "":
        raise ValidationError(
            "backoff must be {'type': 'exponential' | 'fixed' | <a strategy name registered on the Worker>, 'delay': ms}, "
            f"got {_show(value)}"
        )
    for key in value:
        if key not in ("type", "delay", "jitter", "max_delay"):
            raise ValidationError(f"backoff has an unknown field {key!r}; known ones are: type, delay, jitter, max_delay")
    delay = None if value.get("delay") is None else _assert_number("backoff['delay']", value["delay"], 0, MAX_RETRY_DELAY_MS)
    jitter = None if value.get("jitter") is None else _assert_number("backoff['jitter']", value["jitter"], 0, 1)
    kind = value["type"]
    if kind == "fixed":
        if delay is None:
            raise ValidationError("backoff {'type': 'fixed'} needs a delay in ms")
        return {"type": "fixed", "delay": delay, **({} if jitter is None else {"jitter": jitter})}
    if kind == "exponential":
        max_delay = None
        if value.get("max_delay") is not None:
            max_delay = _assert_number("backoff['max_delay']", value["max_delay"], 0, MAX_RETRY_DELAY_MS)
        out: Dict[str, Any] = {"type": "exponential", "delay": 1000 if delay is None else delay, "jitter": 0.5 if jitter is None else jitter}
        if max_delay is not None:
            out["maxDelay"] = max_delay
        return out
    return {"type": kind, **({} if delay is None else {"delay": delay})}


@dataclass(frozen=True)
class NormalizedJob:
    """A job's options as the add script takes them (docs/wire-format.md, "The per-job values")."""

    job_id: str
    """'' to let Redis generate an id."""
    priority: int
    delay: int
    """ms to wait, or -1."""
    run_at: int
    """absolute ms, or -1."""
    group: str
    """'' for none."""
    stored: Dict[str, Any]
    """The options that differ from the defaults, under their stored names and in compactOptions' order."""


def normalize_job_options(options: Mapping[str, Any], levels: int) -> NormalizedJob:
    """Validates a job's options and returns what the add script takes; raises ValidationError naming the
    option, the value and what is allowed. Nothing is written before every job of a call has passed."""
    for key in options:
        if key not in JOB_OPTION_NAMES:
            raise ValidationError(f"unknown job option {key!r}; known ones are: {', '.join(JOB_OPTION_NAMES)}")
    opts = {key: value for key, value in options.items() if value is not None}
    job_id = assert_job_id(opts["job_id"]) if "job_id" in opts else ""
    if "delay" in opts and "run_at" in opts:
        raise ValidationError("give either delay or run_at, not both")
    delay = assert_integer("delay", opts["delay"], 0) if "delay" in opts else -1
    run_at = -1
    if "run_at" in opts:
        when = opts["run_at"]
        if not isinstance(when, datetime.datetime) or when.tzinfo is None or when.tzinfo.utcoffset(when) is None:
            raise ValidationError(f"run_at must be a timezone-aware datetime (e.g. datetime.now(timezone.utc) + timedelta(hours=1)), got {_show(when)}")
        run_at = (when - _EPOCH) // datetime.timedelta(milliseconds=1)
    priority = default_priority(levels) if "priority" not in opts else assert_integer("priority", opts["priority"], 0, levels - 1)
    attempts = DEFAULT_ATTEMPTS if "attempts" not in opts else assert_integer("attempts", opts["attempts"], 1, MAX_ATTEMPTS)
    backoff = DEFAULT_BACKOFF if "backoff" not in opts else _normalize_backoff(opts["backoff"])
    keep_completed = _normalize_keep("remove_on_complete", opts.get("remove_on_complete"), DEFAULT_KEEP_COMPLETED)
    keep_failed = _normalize_keep("remove_on_fail", opts.get("remove_on_fail"), KEEP_ALL)
    timeout = assert_duration("timeout", opts["timeout"], 1) if "timeout" in opts else None
    group = assert_group_name(opts["group"]) if "group" in opts else ""

    # compactOptions: only what differs from the defaults, in this order (a test compares the bytes with Node's).
    stored: Dict[str, Any] = {}
    if attempts != DEFAULT_ATTEMPTS:
        stored["attempts"] = attempts
    if not _same(backoff, DEFAULT_BACKOFF):
        stored["backoff"] = backoff
    if keep_completed != DEFAULT_KEEP_COMPLETED:
        stored["keepCompleted"] = keep_completed
    if keep_failed != KEEP_ALL:
        stored["keepFailed"] = keep_failed
    if timeout is not None:
        stored["timeout"] = timeout
    if delay > 0:
        stored["delay"] = delay
    if group:
        stored["group"] = group
    return NormalizedJob(job_id=job_id, priority=priority, delay=delay, run_at=run_at, group=group, stored=stored)


def _same(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """compactOptions compares by JSON.stringify: the same keys in the same order with the same values."""
    return list(a.items()) == list(b.items())
