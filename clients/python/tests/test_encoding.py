"""The bytes this client stores are the bytes sluice's Node side writes for the same job (msgpackr with
useRecords false and variableMapSize: src/serializer.ts); sluice's suite compares them with Node's own on
many more cases (test/integration/python-producer.test.ts). The hex here was printed by that encoder."""

from __future__ import annotations

import datetime

import msgpack
import pytest

from sluice_client import EncodeError, PayloadTooLargeError
from sluice_client.encoding import encode
from sluice_client.options import normalize_job_options


def stored_hex(**opts) -> str:
    stored = normalize_job_options(opts, 3).stored
    return encode(stored, "job options", 1 << 20).hex() if stored else ""


def test_options_match_nodes_bytes():
    assert stored_hex() == ""
    assert stored_hex(attempts=3) == "81a8617474656d70747303"
    assert stored_hex(backoff={"type": "exponential", "delay": 1000, "jitter": 0.25}) == (
        "81a76261636b6f666683a474797065ab6578706f6e656e7469616ca564656c6179cd03e8a66a6974746572cb3fd0000000000000"
    )
    assert stored_hex(remove_on_complete=True, remove_on_fail={"age": 3600}) == (
        "82ad6b656570436f6d706c6574656482a5636f756e7400a3616765ffaa6b6565704661696c656482a5636f756e74ffa3616765cd0e10"
    )
    assert stored_hex(delay=70000, group="tenant-1") == "82a564656c6179ce00011170a567726f7570a874656e616e742d31"


def test_integers_are_what_a_javascript_number_would_be():
    # Node reads 64-bit msgpack integers as BigInt: an int past 32 bits and within 2**53 goes out as a
    # float64, as msgpackr writes the same number.
    assert encode(2**40, "x", 100).hex() == "cb4270000000000000"
    assert encode(-(2**31) - 1, "x", 100).hex() == "cbc1e0000000200000"
    assert encode(2**32 - 1, "x", 100).hex() == "ceffffffff"
    assert encode(-(2**31), "x", 100).hex() == "d280000000"
    # Past 2**53 a float would round: a 64-bit integer, which Node reads as a BigInt (exact).
    assert encode(2**53 + 1, "x", 100).hex() == "cf0020000000000001"
    with pytest.raises(EncodeError, match="past 64 bits"):
        encode(2**64, "job data", 100)


def test_plain_data_round_trips():
    when = datetime.datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=datetime.timezone.utc)
    value = {"to": "ada", "n": [1, 2.5, None, True], "blob": b"\x00\x01", "t": ("a", "b"), "at": when}
    # The timestamp extension is the one msgpackr writes for a Date (d7ff...).
    assert encode({"d": when}, "x", 100).hex() == "81a164d7ff1d5353006553f100"
    back = msgpack.unpackb(encode(value, "job data", 1000), timestamp=3)
    assert back == {"to": "ada", "n": [1, 2.5, None, True], "blob": b"\x00\x01", "t": ["a", "b"], "at": when}


@pytest.mark.parametrize(
    "value, match",
    [
        ({1: "a"}, r"job data has a int key \(1\); a Node worker reads maps with string keys only"),
        ({"__proto__": 1}, "'__proto__' key"),
        ({"s": {1, 2}}, r"job data.s is a set; job data must be plain data"),
        (object(), "job data is a object"),
        (datetime.datetime(2024, 1, 1), "naive datetime"),
        ("bad\ud800", "surrogate"),
    ],
)
def test_what_would_not_come_back_is_refused(value, match):
    with pytest.raises(EncodeError, match=match):
        encode(value, "job data", 1000)


def test_deep_nesting_and_cycles_are_refused():
    cycle: list = []
    cycle.append(cycle)
    with pytest.raises(EncodeError, match="nested more than 64 levels deep; is the data circular"):
        encode(cycle, "job data", 1000)
    deep: list = []
    for _ in range(64):
        deep = [deep]
    encode(deep, "job data", 1000)


def test_payload_limit():
    with pytest.raises(PayloadTooLargeError, match="job data encodes to 1003 bytes, over the limit of 1000 bytes"):
        encode("x" * 1000, "job data", 1000)
