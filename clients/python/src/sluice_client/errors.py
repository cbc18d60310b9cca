"""Every error this client raises is a SluiceError with a stable ``code``, the same codes as sluice's own
(src/errors.ts), one subclass per failure a caller handles differently. Messages say what was wrong and
what to do about it."""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple


class SluiceError(Exception):
    code = "ERR_SLUICE"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationError(SluiceError):
    """An option, a queue name, a job id or an argument was not acceptable. Nothing was written."""

    code = "ERR_SLUICE_VALIDATION"


class EncodeError(SluiceError):
    """The job data cannot be stored as msgpack that a Node worker reads back as it was. Nothing was written."""

    code = "ERR_SLUICE_ENCODE"


class PayloadTooLargeError(SluiceError):
    """The encoded job data (or options) is larger than the queue's ``max_payload_bytes``. Nothing was written."""

    code = "ERR_SLUICE_PAYLOAD_TOO_LARGE"

    def __init__(self, what: str, size: int, limit: int) -> None:
        super().__init__(
            f"{what} encodes to {size} bytes, over the limit of {limit} bytes; store large blobs elsewhere "
            f"(object storage, a database) and put a reference in the job, or raise max_payload_bytes "
            f"(and maxPayloadBytes of the Node queue)"
        )
        self.size = size
        self.limit = limit


class ConfigMismatchError(SluiceError):
    """The queue in Redis was created with settings this instance contradicts (priority_levels)."""

    code = "ERR_SLUICE_CONFIG_MISMATCH"


class StorageFormatError(ConfigMismatchError):
    """The queue in Redis, or the Lua scripts this client loaded, are of a storage format it does not know."""

    def __init__(self, message: str, found: Optional[int] = None) -> None:
        super().__init__(message)
        self.found = found


class ScriptError(SluiceError):
    """The Lua scripts could not be found or loaded, or a script replied with something this client does not
    understand."""

    code = "ERR_SLUICE_SCRIPT"


class ClosedError(SluiceError):
    """The Queue was closed; create a new one."""

    code = "ERR_SLUICE_CLOSED"


class RedisUnavailableError(SluiceError):
    """Redis could not be reached or the connection broke."""

    code = "ERR_SLUICE_REDIS_UNAVAILABLE"


class RedisTimeoutError(SluiceError):
    """Redis did not answer in time: the command may or may not have run."""

    code = "ERR_SLUICE_REDIS_TIMEOUT"


class RedisOutOfMemoryError(SluiceError):
    """Redis refused the write at maxmemory (policy noeviction). Nothing was written."""

    code = "ERR_SLUICE_REDIS_OOM"


class BulkAddError(SluiceError):
    """add_bulk wrote some of its chunks and not others. ``added`` holds, in input order, the id of each job
    that was written and None for each that was not; ``failed`` the input indexes that were not written, each
    with its error: retry exactly those (with job ids, a retry of a job that was written after all is
    deduplicated)."""

    code = "ERR_SLUICE_BULK_PARTIAL"

    def __init__(self, added: Sequence[Optional[str]], failed: Sequence[Tuple[int, BaseException]]) -> None:
        written = sum(1 for job_id in added if job_id is not None)
        first = str(failed[0][1]) if failed else "unknown"
        super().__init__(
            f"add_bulk wrote {written} of {len(added)} jobs; {len(failed)} were not written (first error: {first}). "
            f"error.added holds the written jobs' ids and error.failed the indexes to retry"
        )
        self.added: List[Optional[str]] = list(added)
        self.failed: List[Tuple[int, BaseException]] = list(failed)
