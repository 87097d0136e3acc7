"""A real gunicorn serving the app on a free local port, for tests that need HTTP and several processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.error import URLError
from urllib.request import ProxyHandler, build_opener

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_serving(base_url: str, server: subprocess.Popen, log: Path) -> None:
    opener = build_opener(ProxyHandler({}))  # loopback only, whatever proxy the environment names
    deadline = time.monotonic() + 30
    while True:
        if server.poll() is not None:
            pytest.fail(f"gunicorn exited with {server.returncode}:\n{log.read_text()}")
        try:
            with opener.open(f"{base_url}/login", timeout=5):
                return
        except (URLError, OSError):
            if time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not answer within 30 s:\n{log.read_text()}")
            time.sleep(0.05)


@contextmanager
def gunicorn(database_url: str, log: Path, workers: int, **env: str) -> Iterator[str]:
    """gunicorn with gunicorn.conf.py's production settings on 127.0.0.1; yields its base URL, then stops it."""
    port = free_port()
    environment = os.environ | {"DATABASE_URL": database_url, "SECRET_KEY": "test-server-secret", **env}
    command = [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", str(workers), "wsgi:app"]
    with log.open("wb") as output:
        server = subprocess.Popen(command, cwd=PROJECT_ROOT, env=environment, stdout=output, stderr=subprocess.STDOUT)
    try:
        base_url = f"http://127.0.0.1:{port}"
        _wait_until_serving(base_url, server, log)
        yield base_url
    finally:
        server.send_signal(signal.SIGINT)  # gunicorn's quick shutdown: the test is over, nothing to finish
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=5)
