"""Adding jobs against a real Redis: what the add script stored is what sluice's workers read
(docs/wire-format.md, "What the script writes"). Node reading it is sluice's test/integration/python-producer."""

from __future__ import annotations

import datetime
import os

import msgpack
import pytest
import redis

from sluice_client import (
    BulkAddError,
    ClosedError,
    ConfigMismatchError,
    Queue,
    RedisOutOfMemoryError,
    RedisUnavailableError,
    StorageFormatError,
)
from conftest import _free_port


@pytest.fixture()
def queue(redis_url, queue_name):
    with Queue(queue_name, redis_url) as q:
        yield q


def key(q: Queue, suffix: str) -> str:
    return q.keys.base + suffix


def events(r: redis.Redis, q: Queue) -> list:
    """Every (type, job id, value) in the events stream, in order (lua/includes/events.lua). An entry repeats
    the field '' (one per group of events), so it is read raw: redis-py would fold it into a dict."""
    raw_client = redis.Redis(connection_pool=r.connection_pool)
    raw_client.set_response_callback("XRANGE", lambda response, **_: response)
    out = []
    for _entry, fields in raw_client.xrange(key(q, "events")):
        kind = None
        for i in range(0, len(fields), 2):
            if fields[i] == b"":
                kind = fields[i + 1].decode()
            else:
                out.append((kind, fields[i].decode(), fields[i + 1].decode()))
    return out


def test_init_creates_the_queue_as_sluice_does(queue, r):
    queue.add("first", None)
    assert r.hgetall(key(queue, "meta")) == {b"levels": b"3", b"active": b"0", b"fmt": b"3"}
    for stream in queue.keys.streams:
        assert [g["name"] for g in r.xinfo_groups(stream)] == [b"sluice"]


def test_a_generated_id_is_one_fresh_stream_entry(queue, r):
    job_id = queue.add("welcome", {"to": "ada"})
    assert job_id.isdigit()
    entries = r.xrange(key(queue, "wait:1"))
    assert [e[0] for e in entries] == [f"{job_id}-0".encode()]
    fields = entries[0][1]
    assert fields[b"name"] == b"welcome"
    assert msgpack.unpackb(fields[b"data"]) == {"to": "ada"}
    assert fields[b"opts"] == b""
    assert not r.exists(key(queue, f"job:{job_id}"))
    assert events(r, queue) == [("added", job_id, "welcome")]


def test_a_job_id_is_added_once(queue, r):
    assert queue.add("charge", {"cents": 500}, job_id="order-7", attempts=3) == "order-7"
    assert queue.add("charge", {"cents": 999}, job_id="order-7") == "order-7"
    assert r.hget(key(queue, "job:order-7"), "state") == b"queued"
    (entry_id, fields), = r.xrange(key(queue, "wait:1"))
    assert fields[b"id"] == b"order-7"
    assert msgpack.unpackb(fields[b"data"]) == {"cents": 500}
    assert msgpack.unpackb(fields[b"opts"]) == {"attempts": 3}
    # Only the first add is an event: the duplicate changed nothing.
    assert events(r, queue) == [("added", "order-7", "charge")]


def test_delay_run_at_priority_and_group(queue, r):
    before = int(r.time()[0]) * 1000
    delayed = queue.add("later", 1, delay=60_000)
    score = r.zscore(key(queue, "delayed"), delayed)
    assert before + 60_000 <= score <= before + 62_000
    assert r.hget(key(queue, f"job:{delayed}"), "state") == b"delayed"
    assert msgpack.unpackb(r.hget(key(queue, f"job:{delayed}"), "opts")) == {"delay": 60_000}

    at = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
    scheduled = queue.add("at", 2, run_at=at)
    assert r.zscore(key(queue, "delayed"), scheduled) == int(at.timestamp() * 1000)

    urgent = queue.add("urgent", 3, priority=0)
    assert [e[0] for e in r.xrange(key(queue, "wait:0"))] == [f"{urgent}-0".encode()]

    grouped = queue.add("tenant-job", 4, group="tenant-1", priority=2)
    assert r.hget(key(queue, f"job:{grouped}"), "grp") == b"tenant-1"
    assert r.zrange(key(queue, "group:tenant-1:wait"), 0, -1) == [grouped.encode()]
    assert msgpack.unpackb(r.hget(key(queue, f"job:{grouped}"), "opts")) == {"group": "tenant-1"}


def test_add_bulk_sends_200_per_call_and_keeps_order(queue, r):
    ids = queue.add_bulk([{"name": "n", "data": i, "opts": {"job_id": f"j-{i}"} if i % 100 == 0 else {}} for i in range(450)])
    assert len(ids) == 450
    assert ids[0] == "j-0" and ids[100] == "j-100"
    assert [int(i) for i in ids[1:100]] == list(range(int(ids[1]), int(ids[1]) + 99))
    assert r.xlen(key(queue, "wait:1")) == 450
    assert len(events(r, queue)) == 450
    assert queue.add_bulk([]) == []


def test_levels_and_format_recorded_in_redis_are_checked(redis_url, queue_name, r):
    with Queue(queue_name, redis_url, priority_levels=5) as five:
        five.add("x", None)
    with Queue(queue_name, redis_url) as three, pytest.raises(ConfigMismatchError, match="was created with priority levels 5 but this Queue says 3; pass priority_levels=5"):
        three.add("x", None)
    other = queue_name + "-old"
    r.hset(f"sluice:{{{other}}}:meta", mapping={"levels": 3, "fmt": 2})
    with Queue(other, redis_url) as old, pytest.raises(StorageFormatError, match="written in sluice's storage format 2, and this client writes format 3") as caught:
        old.add("x", None)
    assert caught.value.found == 2
    # Nothing was added to the queue of the other format.
    assert not r.exists(f"sluice:{{{other}}}:wait:1")


def test_events_can_be_off_and_scripts_reload_after_a_flush(redis_url, queue_name, r):
    with Queue(queue_name, redis_url, events_max_len=0) as q:
        q.add("a", None)
        r.script_flush()
        q.add("b", None)
        assert not r.exists(key(q, "events"))
        assert r.xlen(key(q, "wait:1")) == 2


def test_a_client_passed_in_is_used_and_left_open(redis_url, queue_name):
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    q = Queue(queue_name, client=client, prefix="other")
    job_id = q.add("a", {"x": 1}, job_id="text-replies")
    assert job_id == "text-replies"
    q.close()
    with pytest.raises(ClosedError, match="is closed; create a new instance"):
        q.add("a", None)
    assert client.exists(f"other:{{{queue_name}}}:job:text-replies") == 1
    client.close()


def test_redis_down_is_unavailable():
    with Queue("q", f"redis://127.0.0.1:{_free_port()}") as q, pytest.raises(RedisUnavailableError, match="Redis is unreachable"):
        q.add("a", None)


@pytest.mark.skipif(bool(os.environ.get("REDIS_URL")), reason="changes maxmemory: only on the private redis-server")
def test_out_of_memory_and_a_bulk_that_fails_half_way(redis_url, queue_name, r):
    class FailsAfterTheFirstCall(Queue):
        calls = 0

        def _call(self, script, keys, args):
            self.calls += 1
            if self.calls == 3:  # init, the first chunk, then Redis runs out of memory
                r.config_set("maxmemory", 1)
            return super()._call(script, keys, args)

    try:
        with FailsAfterTheFirstCall(queue_name, redis_url) as q:
            with pytest.raises(BulkAddError, match="add_bulk wrote 200 of 500 jobs; 300 were not written") as caught:
                q.add_bulk([{"name": "n", "data": i} for i in range(500)])
            assert [job_id is None for job_id in caught.value.added] == [False] * 200 + [True] * 300
            assert [index for index, _ in caught.value.failed] == list(range(200, 500))
            assert isinstance(caught.value.failed[0][1], RedisOutOfMemoryError)
            with pytest.raises(RedisOutOfMemoryError, match="Nothing was written"):
                q.add("n", None)
    finally:
        r.config_set("maxmemory", 0)
    assert r.xlen(f"sluice:{{{queue_name}}}:wait:1") == 200
