"""Job data and options as msgpack that sluice's Node side (msgpackr, src/serializer.ts) reads back as the
value that was added.

Numbers follow what msgpackr writes for a JavaScript number, not what msgpack-python writes for an int:
msgpackr decodes every 64-bit integer (uint 64, int 64) as a BigInt, so an int between 2**32 and 2**53
(a timestamp in ms, say) written as msgpack-python does would reach a Node handler as a BigInt, which
throws when mixed with numbers. Such ints go out as float64, exact up to 2**53, as msgpackr itself writes
them. Ints past 2**53 stay 64-bit integers: Node reads them as BigInt, which is the only way JavaScript
holds them exactly.
"""

from __future__ import annotations

import datetime
from typing import Any

import msgpack

from .errors import EncodeError, PayloadTooLargeError

# Nesting deeper than this is almost surely a cycle (src/serializer.ts MAX_DEPTH).
MAX_DEPTH = 64
_INT32_MIN = -(2**31)
_UINT32_END = 2**32
_EXACT_FLOAT = 2**53


def _plain(value: Any, path: str, depth: int) -> Any:
    """`value` as msgpack-python should pack it, or EncodeError naming the first part that cannot be."""
    if value is None or isinstance(value, (bool, float)):
        return value
    if isinstance(value, int):
        if _INT32_MIN <= value < _UINT32_END:
            return value
        if -_EXACT_FLOAT <= value <= _EXACT_FLOAT:
            return float(value)
        if -(2**63) <= value < 2**64:
            return value
        raise EncodeError(f"{path} is an int past 64 bits ({value}); msgpack holds at most 64-bit integers: send it as a string")
    if isinstance(value, str):
        _check_text(value, path)
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
            raise EncodeError(
                f"{path} is a naive datetime; a Node worker gets a Date, an instant: give it a timezone "
                f"(datetime.now(timezone.utc), or dt.replace(tzinfo=...))"
            )
        return value
    if depth > MAX_DEPTH:
        raise EncodeError(f"{path} is nested more than {MAX_DEPTH} levels deep; is the data circular?")
    if isinstance(value, (list, tuple)):
        return [_plain(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value)]
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise EncodeError(
                    f"{path} has a {type(key).__name__} key ({key!r}); a Node worker reads maps with string keys "
                    f"only: convert the keys to str"
                )
            if key == "__proto__":
                raise EncodeError(f"{path} has a '__proto__' key; msgpack decoding in Node renames it to protect prototypes: rename the key")
            _check_text(key, f"{path} key")
            out[key] = _plain(item, f"{path}.{key}", depth + 1)
        return out
    kind = type(value).__name__
    raise EncodeError(
        f"{path} is a {kind}; job data must be plain data: None, bool, int, float, str, bytes, list, tuple, "
        f"dict with str keys, or a timezone-aware datetime (convert a set to a list, an object to a dict)"
    )


def _check_text(text: str, path: str) -> None:
    for index, char in enumerate(text):
        if "\ud800" <= char <= "\udfff":
            raise EncodeError(f"{path} has a surrogate (\\u{ord(char):04X} at index {index}); UTF-8 cannot hold it: use well-formed Unicode")


def encode(value: Any, what: str, max_bytes: int) -> bytes:
    """Encodes `value` for storage; `what` names it in errors ("job data")."""
    plain = _plain(value, what, 0)
    try:
        packed = msgpack.packb(plain, use_bin_type=True, datetime=True)
    except (ValueError, TypeError, OverflowError) as error:
        raise EncodeError(f"{what} cannot be encoded with msgpack: {error}") from error
    if len(packed) > max_bytes:
        raise PayloadTooLargeError(what, len(packed), max_bytes)
    return packed
