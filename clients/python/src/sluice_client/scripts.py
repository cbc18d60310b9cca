"""The two Lua scripts a producer runs, read from sluice's lua/ files: init (create or check the queue) and
add. Includes are expanded exactly as src/redis/lua.ts loadLua does, so the script sent is byte for byte the
one sluice's own Queue runs by EVALSHA (a test in sluice's suite compares the SHA-1s).

Where lua/ is found, first match wins: the `lua_dir` argument, $SLUICE_LUA_DIR, the copy shipped inside
this package (sluice_client/lua, put there when a wheel is built: hatch_build.py), the repository this
package sits in (clients/python/src/sluice_client -> ../../../../lua)."""

from __future__ import annotations

import os
import re
import struct
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, List, Sequence, Set, Union

from .errors import ScriptError, StorageFormatError

# The storage formats this client writes correctly (docs/wire-format.md). A format is a promise about the
# stored layout of a job; a script of another format may take other arguments or store other fields.
KNOWN_FORMATS = frozenset({3})

# lua/includes/status.lua
STATUS_OK = 1
STATUS_DUPLICATE = 2
STATUS_LEVELS_MISMATCH = -6
STATUS_FORMAT_MISMATCH = -8
STATUS_PARTITIONS_MISMATCH = -12

# The consumer group of every stream (src/redis/store.ts GROUP).
CONSUMER_GROUP = "sluice"

# add's per-job values in the order of SCRIPTS.add.perJob (src/redis/scripts.ts).
ADD_PER_JOB = ("jobId", "name", "data", "opts", "prio", "delay", "runAt", "group")

_INCLUDE = re.compile(r"--@include\s+([A-Za-z0-9_-]+)\s*", re.ASCII)
_FORMAT = re.compile(r"^local FORMAT = (\d+)\s*$", re.MULTILINE)

LuaDir = Any  # a pathlib.Path or an importlib.resources Traversable: both have joinpath, is_file, read_bytes


def _read(path: LuaDir) -> str:
    # Bytes then decode: read_text would turn CRLF into LF, and the SHA would no longer be Node's.
    return path.read_bytes().decode("utf-8")


def _expand(source: str, lua_dir: LuaDir, done: Set[str], stack: Sequence[str]) -> str:
    lines = []
    for line in source.split("\n"):
        match = _INCLUDE.fullmatch(line)
        if match is None:
            lines.append(line)
            continue
        include = match.group(1)
        if include in stack:
            raise ScriptError(f"lua include cycle: {' -> '.join([*stack, include])}")
        if include in done:
            lines.append(f"-- ({include} already included)")
            continue
        done.add(include)
        body = _read(lua_dir.joinpath("includes", f"{include}.lua"))
        lines.append(_expand(body, lua_dir, done, [*stack, include]))
    return "\n".join(lines)


def load_lua(name: str, lua_dir: LuaDir) -> str:
    """lua/<name>.lua with its `--@include` lines expanded from lua/includes/, each include once."""
    return _expand(_read(lua_dir.joinpath(f"{name}.lua")), lua_dir, set(), [name])


def find_lua_dir(explicit: Union[str, os.PathLike, None] = None) -> LuaDir:
    candidates: List[Any] = []
    if explicit is not None:
        candidates.append(Path(explicit))
    elif os.environ.get("SLUICE_LUA_DIR"):
        candidates.append(Path(os.environ["SLUICE_LUA_DIR"]))
    else:
        candidates.append(resources.files("sluice_client").joinpath("lua"))
        candidates.append(Path(__file__).resolve().parents[4] / "lua")
    for candidate in candidates:
        if candidate.joinpath("add.lua").is_file() and candidate.joinpath("init.lua").is_file():
            return candidate
    looked = ", ".join(str(candidate) for candidate in candidates)
    raise ScriptError(
        f"sluice's Lua scripts were not found (looked in: {looked}); run from a checkout of the sluice "
        f"repository, install a wheel built as clients/python/README.md says (it ships lua/), or point "
        f"lua_dir= or $SLUICE_LUA_DIR at the lua/ folder of the sluice version your workers run"
    )


def script_format(init_source: str) -> int:
    """The storage format lua/init.lua creates and accepts (its `local FORMAT = N`)."""
    match = _FORMAT.search(init_source)
    if match is None:
        raise ScriptError("lua/init.lua has no 'local FORMAT = N' line; these scripts are not sluice's, or are of a version this client predates")
    return int(match.group(1))


@dataclass(frozen=True)
class Scripts:
    init: str
    add: str
    format: int


def load_scripts(lua_dir: Union[str, os.PathLike, None] = None) -> Scripts:
    """Reads init and add, and refuses scripts of a storage format this client does not know."""
    found = find_lua_dir(lua_dir)
    init = load_lua("init", found)
    fmt = script_format(init)
    if fmt not in KNOWN_FORMATS:
        raise StorageFormatError(
            f"the Lua scripts in {found} are of sluice's storage format {fmt}, and this client writes format "
            f"{', '.join(str(f) for f in sorted(KNOWN_FORMATS))}; use a sluice_client version made for format {fmt} "
            f"(docs/wire-format.md), or the lua/ folder of a sluice version of a format it knows",
            found=fmt,
        )
    return Scripts(init=init, add=load_lua("add", found), format=fmt)


def _as_bytes(value: Union[str, bytes, int]) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, int):
        return str(value).encode("ascii")
    return value.encode("utf-8")


def pack_jobs(jobs: Iterable[Sequence[Union[str, bytes, int]]]) -> bytes:
    """The per-job values as one ARGV value (src/redis/scripts.ts packJobs): each value a 4-byte big-endian
    length then its bytes (text in UTF-8, numbers in decimal), job after job."""
    parts = []
    for job in jobs:
        for value in job:
            raw = _as_bytes(value)
            parts.append(struct.pack(">I", len(raw)))
            parts.append(raw)
    return b"".join(parts)


def text(value: Any) -> str:
    """A reply value as text: redis-py gives bytes, or str with decode_responses=True."""
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def parse_add_reply(reply: Any, count: int) -> List[tuple]:
    """add's reply: per job its id, then OK (created) or DUPLICATE (that job_id exists: nothing changed)."""
    if not isinstance(reply, list) or len(reply) != 2 * count:
        raise ScriptError(f"the add script replied {reply!r} for {count} jobs; expected {count} (id, status) pairs: a bug, please report it")
    out = []
    for i in range(0, len(reply), 2):
        status = int(reply[i + 1])
        if status not in (STATUS_OK, STATUS_DUPLICATE):
            raise ScriptError(f"the add script replied status {status} for job {text(reply[i])!r}: a bug, please report it")
        out.append((text(reply[i]), status == STATUS_DUPLICATE))
    return out

