"""The producer side of a sluice queue, in Python: adds jobs that sluice's Node workers run. It runs the
same Lua scripts as sluice's own Queue (init once, then add), with the same checks before anything is
written; docs/wire-format.md says what travels and why."""

from __future__ import annotations

import math
import os
import threading
import time
from typing import Any, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import redis
import redis.exceptions

from .encoding import encode
from .errors import (
    BulkAddError,
    ClosedError,
    ConfigMismatchError,
    RedisOutOfMemoryError,
    RedisTimeoutError,
    RedisUnavailableError,
    ScriptError,
    StorageFormatError,
    ValidationError,
)
from .keys import DEFAULT_PREFIX, queue_keys
from .options import (
    DEFAULT_PRIORITY_LEVELS,
    MAX_PRIORITY_LEVELS,
    assert_integer,
    assert_job_name,
    normalize_job_options,
)
from .scripts import (
    CONSUMER_GROUP,
    STATUS_FORMAT_MISMATCH,
    STATUS_LEVELS_MISMATCH,
    STATUS_OK,
    STATUS_PARTITIONS_MISMATCH,
    load_scripts,
    pack_jobs,
    parse_add_reply,
)

# Jobs per add script call, as sluice's Queue sends them (src/queue.ts ADD_CHUNK): a call of 200 keeps
# Redis busy for about a millisecond, during which no worker's claim runs.
ADD_CHUNK = 200
DEFAULT_MAX_PAYLOAD_BYTES = 512 * 1024
DEFAULT_EVENTS_MAX_LEN = 10_000

JobSpec = Mapping[str, Any]


class Queue:
    """Adds jobs to the sluice queue `name`.

    ``Queue("emails", "redis://127.0.0.1:6379").add("welcome", {"to": "ada@example.com"}, delay=5000)``

    `priority_levels`, `prefix` and `max_payload_bytes` must be what the Node side uses. Pass `client` (a
    redis.Redis you made) instead of `url` to share a connection pool; close() leaves such a client open.
    Thread-safe as redis-py's client is.
    """

    def __init__(
        self,
        name: str,
        url: Optional[str] = None,
        prefix: str = DEFAULT_PREFIX,
        priority_levels: int = DEFAULT_PRIORITY_LEVELS,
        *,
        client: Optional[redis.Redis] = None,
        max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
        events_max_len: int = DEFAULT_EVENTS_MAX_LEN,
        lua_dir: Union[str, "os.PathLike[str]", None] = None,
    ) -> None:
        if (url is None) == (client is None):
            raise ValidationError(
                f"Queue({name!r}) needs exactly one of url='redis://host:port' or client=redis.Redis(...), "
                f"got {'both' if url is not None else 'neither'}"
            )
        self.levels = assert_integer("priority_levels", priority_levels, 1, MAX_PRIORITY_LEVELS)
        self.keys = queue_keys(name, prefix, self.levels)
        self.name = name
        self.max_payload_bytes = assert_integer("max_payload_bytes", max_payload_bytes, 1)
        self.events_max_len = assert_integer("events_max_len", events_max_len, 0)
        scripts = load_scripts(lua_dir)
        self.storage_format = scripts.format
        self._owns_client = client is None
        self._client: redis.Redis = self._connect(url) if client is None else client
        # register_script runs by EVALSHA and loads the script on NOSCRIPT (a restarted or flushed Redis).
        self._init_script = self._client.register_script(scripts.init)
        self._add_script = self._client.register_script(scripts.add)
        self._ready = False
        self._lock = threading.Lock()
        self._closed = False

    @staticmethod
    def _connect(url: object) -> redis.Redis:
        if not isinstance(url, str):
            raise ValidationError(f"url must be a string such as 'redis://127.0.0.1:6379', got {type(url).__name__}")
        try:
            return redis.Redis.from_url(url)
        except ValueError as error:
            raise ValidationError(f"url {url!r} is not a Redis URL ({error}); use redis://host:port/db, or rediss:// for TLS") from error

    def __enter__(self) -> "Queue":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Closes the connection this Queue made (not a client passed in). Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._owns_client:
            self._client.close()

    def add(self, name: str, data: Any = None, **opts: Any) -> str:
        """Adds one job; returns its id (a job_id that exists returns that id and changes nothing).

        Options: job_id (str, not all digits), delay (ms) or run_at (an aware datetime), priority (0 runs
        first, to priority_levels - 1; default the middle level), attempts (default 11), backoff
        ({'type': 'exponential' | 'fixed' | name, 'delay': ms, 'jitter': 0..1, 'max_delay': ms}),
        remove_on_complete / remove_on_fail (True, False, a count, or {'count', 'age' (s)}), timeout (ms per
        attempt), group (str).
        """
        return self.add_bulk([{"name": name, "data": data, "opts": opts}])[0]

    def add_bulk(self, jobs: Iterable[JobSpec]) -> List[str]:
        """Adds many jobs, each {'name': str, 'data': ..., 'opts': {...}}; returns their ids in order. Every job
        is validated and encoded before anything is written; then they go 200 per script call, each job
        atomic. Raises BulkAddError when some calls wrote and a later one failed."""
        called = time.monotonic()
        if self._closed:
            raise ClosedError(f"Queue '{self.name}' is closed; create a new instance to keep working")
        if isinstance(jobs, (str, bytes, Mapping)):
            raise ValidationError("add_bulk takes a list of {'name': ..., 'data': ..., 'opts': {...}}")
        prepared = [self._prepare(i, job) for i, job in enumerate(jobs)]
        if not prepared:
            return []
        self._init()
        added: List[Optional[str]] = []
        failed: List[Tuple[int, BaseException]] = []
        for start in range(0, len(prepared), ADD_CHUNK):
            chunk = prepared[start : start + ADD_CHUNK]
            if failed:
                # A chunk after a failed one is not sent: Redis is likely still failing, and what was not
                # written is simply listed for a retry.
                failed.extend((start + i, failed[0][1]) for i in range(len(chunk)))
                added.extend([None] * len(chunk))
                continue
            # ms since this call: delays count from the call, not from when Redis runs the chunk (lua/add.lua).
            spent = math.floor((time.monotonic() - called) * 1000)
            try:
                reply = self._call(self._add_script, self._add_keys(), [self.keys.base, self.events_max_len, spent, len(chunk), pack_jobs(chunk)])
            except Exception as error:  # noqa: BLE001 - a failed chunk is reported per job below
                failed.extend((start + i, error) for i in range(len(chunk)))
                added.extend([None] * len(chunk))
                continue
            added.extend(job_id for job_id, _duplicate in parse_add_reply(reply, len(chunk)))
        if failed:
            if all(job_id is None for job_id in added):
                raise failed[0][1]
            raise BulkAddError(added, failed)
        return [job_id for job_id in added if job_id is not None]

    def _prepare(self, index: int, job: Any) -> Sequence[Union[str, bytes, int]]:
        if not isinstance(job, Mapping):
            raise ValidationError(f"add_bulk: item {index} is a {type(job).__name__}, not a dict {{'name', 'data', 'opts'}}")
        for key in job:
            if key not in ("name", "data", "opts"):
                raise ValidationError(f"add_bulk: item {index} has an unknown key {key!r}; give 'name', 'data' and 'opts'")
        name = assert_job_name(job.get("name"))
        opts = job.get("opts") or {}
        if not isinstance(opts, Mapping):
            raise ValidationError(f"job options must be a dict, got {type(opts).__name__}")
        normalized = normalize_job_options(opts, self.levels)
        data = encode(job.get("data"), "job data", self.max_payload_bytes)
        stored = encode(normalized.stored, "job options", self.max_payload_bytes) if normalized.stored else b""
        # SCRIPTS.add.perJob order: jobId name data opts prio delay runAt group.
        return (normalized.job_id, name, data, stored, normalized.priority, normalized.delay, normalized.run_at, normalized.group)

    def _add_keys(self) -> List[str]:
        k = self.keys
        return [k.id, k.meta, k.delayed, k.events, k.ctl, *k.groups, *k.streams]

    def _init(self) -> None:
        """Creates the queue, or checks an existing one's priority levels and storage format, once per Queue
        (lua/init.lua, as sluice's Queue does before its first add)."""
        if self._ready:
            return
        with self._lock:
            if self._ready:
                return
            reply = self._call(self._init_script, [self.keys.meta, *self.keys.streams], [CONSUMER_GROUP, self.levels])
            status = int(reply[0])
            if status == STATUS_FORMAT_MISMATCH:
                recorded = int(reply[1])
                raise StorageFormatError(
                    f"queue '{self.keys.base}' was written in sluice's storage format {recorded}, and this client "
                    f"writes format {self.storage_format}; use the sluice_client version made for format {recorded} "
                    f"(docs/wire-format.md)",
                    found=recorded,
                )
            if status == STATUS_LEVELS_MISMATCH:
                raise ConfigMismatchError(
                    f"queue '{self.keys.base}' was created with priority levels {int(reply[1])} but this Queue says "
                    f"{self.levels}; pass priority_levels={int(reply[1])} (the same as priorityLevels on the Node side)"
                )
            if status == STATUS_PARTITIONS_MISMATCH:
                raise ConfigMismatchError(
                    f"queue '{self.keys.base}' is partitioned into {int(reply[1])} partitions; this client adds to "
                    f"unpartitioned queues only (docs/wire-format.md)"
                )
            if status != STATUS_OK:
                raise ScriptError(f"the init script replied {reply!r}: a bug, please report it")
            self._ready = True

    def _call(self, script: Any, keys: List[str], args: List[Any]) -> Any:
        try:
            return script(keys=keys, args=args)
        except redis.exceptions.TimeoutError as error:
            raise RedisTimeoutError(
                f"Redis did not answer in time ({error}); the jobs may or may not have been added. Retry with the "
                f"same job_id (it is deduplicated)"
            ) from error
        except redis.exceptions.ConnectionError as error:
            raise RedisUnavailableError(
                f"Redis is unreachable or the connection broke ({error}). Check that Redis is up, then retry; if the "
                f"connection broke mid-call the jobs may have been added: retry with the same job_id (it is deduplicated)"
            ) from error
        except redis.exceptions.ResponseError as error:
            if str(error).startswith("OOM ") or type(error).__name__ == "OutOfMemoryError":
                raise RedisOutOfMemoryError(
                    "Redis refused the write: its memory is at maxmemory and the policy is noeviction. Nothing was "
                    "written. Free memory (remove finished jobs, lower retention, raise maxmemory), then retry"
                ) from error
            raise

