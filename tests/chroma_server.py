"""Pytest plugin: a real `chroma run` server on a free loopback port, shared by the whole session.

Loaded from tests/conftest.py with `pytest_plugins = ["tests.chroma_server"]`. Tests that use it are marked
`integration`; the server starts only when one of them asks for the `chroma_server` fixture.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pytest

STARTUP_TIMEOUT = 60.0  # seconds; the Rust server is up in ~1 s, but a busy 2-core CI box can be slow


@dataclass(frozen=True)
class ChromaServer:
    """A running `chroma run` process."""

    url: str
    path: Path
    process: subprocess.Popen[bytes]
    log: Path

    def heartbeat(self) -> bool:
        """Whether the server answers its heartbeat."""
        return _heartbeat(self.url)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def chroma_executable() -> str:
    """The `chroma` command of the same environment as this Python (so the server matches chromadb)."""
    candidate = Path(sys.executable).parent / "chroma"
    if candidate.is_file():
        return str(candidate)
    pytest.skip("`chroma` command not found beside this Python; install chromadb in the venv")


def _heartbeat(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def start_server(path: Path, log: Path) -> ChromaServer:
    """Start `chroma run` on a free loopback port and wait for its heartbeat."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    handle = log.open("wb")
    process = subprocess.Popen(
        [chroma_executable(), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=handle,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,  # its own process group: stopping it never touches pytest
    )
    handle.close()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"chroma run exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        if _heartbeat(url):
            return ChromaServer(url=url, path=path, process=process, log=log)
        time.sleep(0.2)
    stop_server(process)
    raise RuntimeError(f"chroma run did not answer on {url} within {STARTUP_TIMEOUT:.0f}s")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    """Stop the server's process group: SIGTERM, then SIGKILL after 10 s."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    """A real Chroma server for the session (its data in a tmp dir), stopped at the end."""
    root = tmp_path_factory.mktemp("chroma-server")
    server = start_server(root / "data", root / "server.log")
    try:
        yield server
    finally:
        stop_server(server.process)


@pytest.fixture
def server_settings(chroma_server: ChromaServer, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Settings pointing at the session server, with this test's HOME and an emptied collection.

    The collection name follows from the settings, so every test names the same one; it is deleted first so
    each test starts from an empty store, as the embedded ones do in their own tmp_path.
    """
    from kb.config import Settings

    settings = Settings(home=tmp_path / "kbhome", embed_model="hash", chroma_url=chroma_server.url)
    reset_collections(settings)
    return settings


def reset_collections(settings) -> None:  # type: ignore[no-untyped-def]
    """Delete the collection (and its state collection) that `settings` name on the server."""
    import chromadb

    from kb.config import index_name

    url = urlparse(settings.chroma_url)
    client = chromadb.HttpClient(host=url.hostname or "127.0.0.1", port=url.port or 8000)
    name = index_name(settings)
    for collection in (name, f"{name}_state"):
        with contextlib.suppress(Exception):
            client.delete_collection(collection)
