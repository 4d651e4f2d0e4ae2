"""The token gate in front of `chroma run`: the header check, and a real server behind a real gate."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from kb.access.chroma_gate import make_app, token_ok
from kb.base import KnowledgeBase
from kb.config import REPO_ROOT, Settings
from kb.errors import KBError, StoreUnavailableError
from tests.chroma_server import ChromaServer, free_port, stop_server

TOKEN = "nettverk-Token_42!"
HEARTBEAT = "/api/v2/heartbeat"


# --- fast: no server ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Authorization": f"Bearer {TOKEN}"}, True),  # what TokenAuthClientProvider sends by default
        ({"authorization": f"bearer {TOKEN}"}, True),
        ({"X-Chroma-Token": TOKEN}, True),  # its other transport header
        ({"Authorization": "Bearer feil", "X-Chroma-Token": TOKEN}, True),
        ({}, False),
        ({"Authorization": TOKEN}, False),  # no scheme
        ({"Authorization": f"Basic {TOKEN}"}, False),
        ({"Authorization": f"Bearer {TOKEN[:-1]}"}, False),  # a prefix is not the token
        ({"Authorization": f"Bearer {TOKEN}x"}, False),
        ({"X-Chroma-Token": ""}, False),
        ({"X-Chroma-Token": "nettverk-tøken"}, False),  # non-ASCII must not crash compare_digest
    ],
)
def test_token_ok(headers: dict[str, str], expected: bool) -> None:
    assert token_ok(headers, TOKEN) is expected


def test_empty_token_matches_nothing() -> None:
    assert not token_ok({}, "")
    assert not token_ok({"X-Chroma-Token": ""}, "")


def test_gate_refuses_alike_and_reports_a_dead_upstream() -> None:
    app = make_app(f"http://127.0.0.1:{free_port()}", TOKEN)
    with TestClient(app) as client:
        missing = client.get(HEARTBEAT)
        wrong = client.post("/api/v2/tenants", headers={"Authorization": "Bearer feil"}, json={"name": "x"})
        down = client.get(HEARTBEAT, headers={"X-Chroma-Token": TOKEN})
    assert missing.status_code == wrong.status_code == 401
    assert missing.json() == wrong.json()  # never says which part was wrong
    assert missing.json()["error"] == "AuthError" and "KB_CHROMA_TOKEN" in missing.json()["message"]
    assert down.status_code == 502 and "chroma run" in down.json()["message"]


def test_gate_will_not_start_without_token(capsys: pytest.CaptureFixture[str]) -> None:
    from kb.access.chroma_gate import main

    with pytest.raises(KBError, match="KB_CHROMA_TOKEN"):
        make_app("http://127.0.0.1:1", "  ")
    with pytest.raises(SystemExit) as info:
        main(["--port", str(free_port())])  # KB_CHROMA_TOKEN is unset by the isolated_env fixture
    assert info.value.code == 2 and "KB_CHROMA_TOKEN" in capsys.readouterr().err


@pytest.mark.parametrize(("status", "refused"), [(401, True), (403, True), (500, False)])
def test_plain_refusal_is_recognised(status: int, refused: bool) -> None:
    """A 401/403 without Chroma's error body (another proxy) still reads as a refused token."""
    from chromadb.api.base_http_client import BaseHTTPClient

    from kb.store.chroma import _token_refused

    response = httpx.Response(status, text="nei", request=httpx.Request("GET", "http://127.0.0.1/api/v2/heartbeat"))
    with pytest.raises(Exception) as info:
        BaseHTTPClient._raise_chroma_error(response)
    assert _token_refused(info.value) is refused


# --- a real `chroma run` behind a real gate ----------------------------------------------------------------
@dataclass(frozen=True)
class Gate:
    """A running `python -m kb.access.chroma_gate`."""

    url: str
    process: subprocess.Popen[bytes]


def start_gate(upstream: str, token: str, workdir: Path, port: int | None = None) -> Gate:
    """Start the gate's real entry point with the token in its environment, and wait until it forwards."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    env = {key: value for key, value in os.environ.items() if not key.startswith("KB_")}
    env.update(KB_CHROMA_TOKEN=token, PYTHONPATH=str(REPO_ROOT))
    log = (workdir / f"gate-{port}.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kb.access.chroma_gate",
            "--upstream",
            upstream,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=workdir,  # no stray .env is read
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError((workdir / f"gate-{port}.log").read_text(errors="replace"))
        try:
            if httpx.get(url + HEARTBEAT, headers={"X-Chroma-Token": token}, timeout=2).status_code == 200:
                return Gate(url=url, process=process)
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    stop_server(process)
    raise RuntimeError(f"the gate did not answer on {url}")


@pytest.fixture(scope="module")
def gate(chroma_server: ChromaServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gate]:
    """The gate on a free port, forwarding to the session's Chroma server (shared by this module's tests)."""
    running = start_gate(chroma_server.url, TOKEN, tmp_path_factory.mktemp("gate"))
    try:
        yield running
    finally:
        stop_server(running.process)


@pytest.mark.integration
def test_knowledge_base_through_gate(
    gate: Gate, server_settings: Settings, chroma_server: ChromaServer, mini_corpus: Path
) -> None:
    settings = server_settings.model_copy(update={"chroma_url": gate.url, "chroma_token": TOKEN})
    kb = KnowledgeBase(settings)
    report = kb.ingest([mini_corpus])
    assert len(report.added) == 5 and not report.skipped, report
    hits = kb.search("heltidsandelen i sykehjemmene", k=3)
    assert hits[0].source == "Halden/erfaringer/heltidskultur.md"
    # the chunks really are in the server behind the gate
    import chromadb

    from kb.config import index_name

    host, port = chroma_server.url.removeprefix("http://").split(":")
    direct = chromadb.HttpClient(host=host, port=int(port)).get_collection(index_name(settings))
    assert direct.count() == kb.store.count() > 0


@pytest.mark.integration
@pytest.mark.parametrize("token", [None, "feil-token"])
def test_wrong_or_missing_token_is_refused(gate: Gate, server_settings: Settings, token: str | None) -> None:
    settings = server_settings.model_copy(update={"chroma_url": gate.url, "chroma_token": token})
    with pytest.raises(StoreUnavailableError, match="avviste tokenet") as info:
        KnowledgeBase(settings)
    assert "KB_CHROMA_TOKEN" in str(info.value) and TOKEN not in str(info.value)


@pytest.mark.integration
def test_token_changed_while_running(chroma_server: ChromaServer, server_settings: Settings, tmp_path: Path) -> None:
    """A gate restarted with a new token refuses a client that opened the store with the old one."""
    first = start_gate(chroma_server.url, TOKEN, tmp_path)
    settings = server_settings.model_copy(update={"chroma_url": first.url, "chroma_token": TOKEN})
    kb = KnowledgeBase(settings)
    assert kb.store.count() == 0
    stop_server(first.process)
    port = int(first.url.rsplit(":", 1)[1])
    second = start_gate(chroma_server.url, "et-nytt-token", tmp_path, port=port)
    try:
        with pytest.raises(StoreUnavailableError, match="KB_CHROMA_TOKEN"):
            kb.store.count()
    finally:
        stop_server(second.process)


@pytest.mark.integration
def test_raw_requests(gate: Gate) -> None:
    collections = "/api/v2/tenants/default_tenant/databases/default_database/collections"
    assert httpx.get(gate.url + HEARTBEAT).status_code == 401
    assert httpx.get(gate.url + collections, headers={"Authorization": "Bearer feil"}).status_code == 401
    ok = httpx.get(gate.url + HEARTBEAT, headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200 and "nanosecond heartbeat" in ok.json()
    listed = httpx.get(gate.url + collections, headers={"X-Chroma-Token": TOKEN})
    assert listed.status_code == 200 and isinstance(listed.json(), list)
    # Chroma's own errors pass through unchanged
    missing = httpx.get(gate.url + "/api/v2/tenants/finnes%20ikke", headers={"X-Chroma-Token": TOKEN})
    assert missing.status_code == 404 and missing.json() == {
        "error": "NotFoundError",
        "message": "Tenant [finnes ikke] not found",
    }
