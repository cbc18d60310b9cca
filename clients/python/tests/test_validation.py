"""What sluice's Queue refuses, this client refuses before anything is written, with a message that says what
to do (src/options.ts, src/keys.ts). No Redis is reached: an unreachable url proves nothing was sent."""

from __future__ import annotations

import datetime

import pytest

from sluice_client import Queue, ValidationError
from sluice_client.options import normalize_job_options

NOWHERE = "redis://127.0.0.1:1"


def refused(match: str, **opts):
    with pytest.raises(ValidationError, match=match):
        normalize_job_options(opts, 3)


@pytest.mark.parametrize(
    "name, match",
    [
        ("", "non-empty string"),
        ("a{b}", "contains a brace"),
        ("a b", "white space or a control character"),
        ("tab\there", "white space or a control character"),
        ("nbsp\u00a0", "white space or a control character"),
        ("bom\ufeff", "white space or a control character"),
        ("c1\u0085", "white space or a control character"),
        ("x" * 101, "101 bytes long; the limit is 100"),
        ("é" * 51, "102 bytes long"),
        ("lone\ud800", "lone surrogate"),
    ],
)
def test_queue_names_are_checked(name, match):
    with pytest.raises(ValidationError, match=match):
        Queue(name, NOWHERE)


def test_queue_settings_are_checked():
    with pytest.raises(ValidationError, match="exactly one of url"):
        Queue("q")
    with pytest.raises(ValidationError, match="priority_levels must be an integer from 1 to 32"):
        Queue("q", NOWHERE, priority_levels=33)
    with pytest.raises(ValidationError, match="prefix must be a non-empty string without braces"):
        Queue("q", NOWHERE, prefix="a{b")
    with pytest.raises(ValidationError, match="url 'http://x' is not a Redis URL"):
        Queue("q", "http://x")
    with pytest.raises(ValidationError, match="max_payload_bytes must be an integer >= 1"):
        Queue("q", NOWHERE, max_payload_bytes=0)


def test_job_ids():
    refused("all digits; such ids are reserved for generated ids. Prefix it, e.g. 'order-123'", job_id="123")
    refused("1 to 256 characters", job_id="")
    refused("1 to 256 characters", job_id="x" * 257)
    refused("1 to 256 characters", job_id=42)
    refused("lone surrogate", job_id="a\udc00")
    # 256 UTF-16 units as JavaScript counts them: 128 emoji are 256 units, 129 are too many.
    assert normalize_job_options({"job_id": "😀" * 128}, 3).job_id == "😀" * 128
    refused("1 to 256 characters", job_id="😀" * 129)
    # Only ASCII digits are reserved (JavaScript's \d); a trailing newline is not all digits.
    assert normalize_job_options({"job_id": "١٢٣"}, 3).job_id == "١٢٣"
    assert normalize_job_options({"job_id": "123\n"}, 3).job_id == "123\n"


def test_numbers():
    refused("delay must be an integer >= 0, got -1", delay=-1)
    refused("delay must be an integer >= 0, got 1.5", delay=1.5)
    refused("delay must be an integer >= 0, got True", delay=True)
    refused("priority must be an integer from 0 to 2, got 3", priority=3)
    refused("attempts must be an integer from 1 to 1000000", attempts=0)
    refused("timeout must be at most 2147483647 ms", timeout=2**31)
    refused("give either delay or run_at, not both", delay=5, run_at=datetime.datetime.now(datetime.timezone.utc))
    refused("run_at must be a timezone-aware datetime", run_at=datetime.datetime.now())
    assert normalize_job_options({"delay": 250.0}, 3).delay == 250


def test_backoff_and_retention():
    refused("backoff must be", backoff="exponential")
    refused("backoff {'type': 'fixed'} needs a delay in ms", backoff={"type": "fixed"})
    refused(r"backoff\['jitter'\] must be a finite number from 0 to 1", backoff={"type": "exponential", "jitter": 2})
    refused("backoff has an unknown field 'maxDelay'", backoff={"type": "exponential", "maxDelay": 5})
    refused("remove_on_complete has an unknown field 'days'", remove_on_complete={"days": 1})
    refused(r"remove_on_fail\['count'\] must be an integer >= 0", remove_on_fail={"count": -2})
    refused("remove_on_complete must be True, False, a count", remove_on_complete="yes")


def test_names_and_groups():
    queue = Queue("q", NOWHERE)
    with pytest.raises(ValidationError, match="job name must be a string of 1 to 256 characters"):
        queue.add("", {})
    with pytest.raises(ValidationError, match="group must be a string of 1 to 256 characters"):
        queue.add("n", {}, group="")
    with pytest.raises(ValidationError, match="unknown job option 'jobId'; known ones are: job_id, delay"):
        queue.add("n", {}, jobId="x")
    with pytest.raises(ValidationError, match="add_bulk: item 1 has an unknown key 'options'"):
        queue.add_bulk([{"name": "a"}, {"name": "b", "options": {}}])
    with pytest.raises(ValidationError, match="add_bulk takes a list"):
        queue.add_bulk({"name": "a"})
    queue.close()


def test_defaults_store_nothing():
    job = normalize_job_options({}, 3)
    assert (job.job_id, job.priority, job.delay, job.run_at, job.group, job.stored) == ("", 1, -1, -1, "", {})
    assert normalize_job_options({}, 8).priority == 3
    # Options that equal the defaults are left out, as compactOptions leaves them out.
    same = normalize_job_options(
        {"attempts": 11, "backoff": {"type": "exponential"}, "remove_on_complete": {"count": 1000, "age": 86400}, "remove_on_fail": False},
        3,
    )
    assert same.stored == {}
