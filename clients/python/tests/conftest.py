"""One private redis-server for the whole test session, on a free loopback port with a temp dir of its own
(as sluice's own harness does): no mocks, and nothing of a shared Redis is touched. $REDIS_URL uses that
Redis instead. Without redis-server on PATH the tests fail, saying so: they never skip."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from typing import Iterator

import pytest
import redis


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    if shutil.which("redis-server") is None:
        pytest.fail(
            "redis-server is not on PATH; these tests need a real Redis: install it (Debian/Ubuntu: apt-get install "
            "redis-server; macOS: brew install redis), or set REDIS_URL",
            pytrace=False,
        )
    workdir = tempfile.mkdtemp(prefix="sluice-py-redis-")
    last_error = None
    # A port found free can be taken before redis binds it: try a few.
    for _ in range(5):
        port = _free_port()
        process = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", workdir],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"redis://127.0.0.1:{port}"
        client = redis.Redis.from_url(url)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and process.poll() is None:
            try:
                client.ping()
                break
            except redis.exceptions.ConnectionError as error:
                last_error = error
                time.sleep(0.02)
        else:
            process.kill()
            process.wait()
            client.close()
            continue
        client.close()
        try:
            yield url
        finally:
            process.terminate()
            process.wait(timeout=10)
            shutil.rmtree(workdir, ignore_errors=True)
        return
    shutil.rmtree(workdir, ignore_errors=True)
    pytest.fail(f"redis-server did not start on a free port in 5 tries (last error: {last_error})", pytrace=False)


@pytest.fixture()
def r(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture()
def queue_name() -> str:
    """A queue no other test uses."""
    return f"py-{uuid.uuid4().hex[:8]}"
