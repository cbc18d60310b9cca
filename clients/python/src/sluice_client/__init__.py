"""Add jobs to sluice queues from Python. sluice is a job queue for Node.js on Redis Streams; this package
is its producer side only: jobs added here are run by sluice's Node workers. See clients/python/README.md
and docs/wire-format.md in the sluice repository."""

from .errors import (
    BulkAddError,
    ClosedError,
    ConfigMismatchError,
    EncodeError,
    PayloadTooLargeError,
    RedisOutOfMemoryError,
    RedisTimeoutError,
    RedisUnavailableError,
    ScriptError,
    SluiceError,
    StorageFormatError,
    ValidationError,
)
from .queue import Queue
from .scripts import KNOWN_FORMATS

__all__ = [
    "BulkAddError",
    "ClosedError",
    "ConfigMismatchError",
    "EncodeError",
    "KNOWN_FORMATS",
    "PayloadTooLargeError",
    "Queue",
    "RedisOutOfMemoryError",
    "RedisTimeoutError",
    "RedisUnavailableError",
    "ScriptError",
    "SluiceError",
    "StorageFormatError",
    "ValidationError",
]
