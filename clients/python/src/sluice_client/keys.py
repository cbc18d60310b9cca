"""Key names of a queue, as sluice's src/keys.ts builds them (the only place there that does). Every key of
a queue starts with `<prefix>:{<name>}:`: the braces are the Redis Cluster hash tag, so all of a queue's keys
live in one slot and one script may touch any of them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Tuple

from .errors import ValidationError
from .options import assert_well_formed

# 100 bytes: the name is part of every key (src/keys.ts MAX_QUEUE_NAME_BYTES).
MAX_QUEUE_NAME_BYTES = 100
DEFAULT_PREFIX = "sluice"
# JavaScript's \s, which src/keys.ts refuses in names and prefixes; Python's \s differs in a few characters.
_JS_SPACE = "\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_NAME_FORBIDDEN = re.compile(f"[{_JS_SPACE}\x00-\x1f\x7f-\x9f]")
_PREFIX_FORBIDDEN = re.compile(f"[{{}}{_JS_SPACE}]")


def validate_queue_name(name: Any) -> str:
    if not isinstance(name, str) or name == "":
        raise ValidationError(f"queue name must be a non-empty string, got {name!r}")
    if "{" in name or "}" in name:
        raise ValidationError(
            f"queue name '{name}' contains a brace; queue names may not contain '{{' or '}}' because the name "
            f"forms the Redis Cluster hash tag of every key of the queue"
        )
    assert_well_formed("queue name", name, "two names could be one queue")
    size = len(name.encode("utf-8"))
    if size > MAX_QUEUE_NAME_BYTES:
        raise ValidationError(f"queue name is {size} bytes long; the limit is {MAX_QUEUE_NAME_BYTES} bytes (it is part of every key)")
    if _NAME_FORBIDDEN.search(name):
        raise ValidationError(f"queue name {name!r} contains white space or a control character; use letters, digits, '-', '_', '.' or ':'")
    return name


def validate_prefix(prefix: Any) -> str:
    if not isinstance(prefix, str) or prefix == "" or _PREFIX_FORBIDDEN.search(prefix):
        raise ValidationError(f"prefix must be a non-empty string without braces or white space, got {prefix!r}")
    assert_well_formed(f"prefix '{prefix}'", prefix, "two prefixes would be one")
    return prefix


@dataclass(frozen=True)
class QueueKeys:
    base: str
    meta: str
    id: str
    delayed: str
    events: str
    ctl: str
    # The keys of group scheduling, in the order scripts take them (lua/includes/groups.lua).
    groups: Tuple[str, ...]
    # The level streams, level 0 first, then admit: every script takes them last.
    streams: Tuple[str, ...]


def queue_keys(name: str, prefix: str, levels: int) -> QueueKeys:
    base = f"{validate_prefix(prefix)}:{{{validate_queue_name(name)}}}:"
    return QueueKeys(
        base=base,
        meta=f"{base}meta",
        id=f"{base}id",
        delayed=f"{base}delayed",
        events=f"{base}events",
        ctl=f"{base}ctl",
        groups=tuple(f"{base}groups:{part}" for part in ("ready", "state", "throttled", "full", "active", "limits", "hold")),
        streams=tuple(f"{base}wait:{level}" for level in range(levels)) + (f"{base}admit",),
    )
