"""End to end in a real headless Chromium against `streamlit run app.py`, with the real embedding model.

Screenshots of every page are saved under test-artifacts/ in the repository root.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from kb.config import REPO_ROOT, Settings

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = REPO_ROOT / "test-artifacts"
START_TIMEOUT = 90  # seconds for streamlit to answer its health check
WAIT_MS = 60_000  # the longest any single page step may take (the first one loads the model)
DATA = Path(__file__).parent / "data"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit stopped with status {process.returncode}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as response:
            if response.status == 200:
                return
        time.sleep(0.5)
    raise TimeoutError(f"streamlit did not answer on {url} within {timeout}s")


@pytest.fixture
def app_env() -> dict[str, str]:
    """Extra KB_* settings for the app under test (a test parametrizes it to switch sign-in on)."""
    return {}


@pytest.fixture
def server(
    real_settings: Settings, mini_corpus: Path, tmp_path: Path, app_env: dict[str, str]
) -> Iterator[tuple[str, Settings]]:
    """`streamlit run app.py` over a store ingested from mini_corpus (plus a PDF) with the real model."""
    from kb.base import KnowledgeBase
    from tests.conftest import write

    pdf = mini_corpus / "Halden" / "strategier" / "kompetanseplan-2024-2027.pdf"
    pdf.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(DATA / "flersidig.pdf", pdf)
    write(
        mini_corpus,
        "Sarpsborg/erfaringer/intern-omstilling.md",
        "---\ntittel: Omstilling i omsorg\ntilgang: intern\n---\n# Omstilling i omsorg\n\n"
        "Solsikkeprosjektet flytter tolv årsverk til hjemmetjenesten i Sarpsborg.\n",
    )
    KnowledgeBase(real_settings).ingest([mini_corpus])
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update(
        KB_HOME=str(real_settings.home),
        KB_EMBED_MODEL="multilingual-e5-small",
        ANONYMIZED_TELEMETRY="False",
        HF_HUB_OFFLINE="1",
    )
    env.update(app_env)
    log = (tmp_path / "streamlit.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(REPO_ROOT / "app.py"),
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.fileWatcherType",
            "none",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/_stcore/health", process, START_TIMEOUT)
        yield f"http://127.0.0.1:{port}", real_settings
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        output = (tmp_path / "streamlit.log").read_text(encoding="utf-8", errors="replace")
        assert "Traceback" not in output, output[-3000:]


@pytest.fixture
def page(server: tuple[str, Settings], request: pytest.FixtureRequest) -> Iterator:  # type: ignore[type-arg]
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    ARTIFACTS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            args=FLAGS,
            headless=True,
            viewport={"width": 1400, "height": 1600},
        )
        context.set_default_timeout(WAIT_MS)
        page = context.new_page()
        try:
            yield page
        finally:
            with contextlib.suppress(Exception):
                # where a failure stopped, one file per test
                page.screenshot(path=str(ARTIFACTS / f"last-{request.node.name}.png"), full_page=True)
            context.close()


def open_page(page, url: str, path: str, title: str) -> None:  # type: ignore[no-untyped-def]
    """Open a page by its URL (`/spor`; Søk, the start page, is the root)."""
    page.goto(f"{url}/{path}")
    page.get_by_role("heading", name=title).wait_for()
    settle(page)


def settle(page) -> None:  # type: ignore[no-untyped-def]
    """Wait until Streamlit has finished the current run and no element is stale, then a moment for layout."""
    page.wait_for_function(
        """() => {
            const app = document.querySelector('[data-testid="stApp"]');
            return app && app.getAttribute('data-test-script-state') === 'notRunning'
                && !document.querySelector('[data-stale="true"]');
        }"""
    )
    page.wait_for_timeout(500)


def uploaded(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """Wait until the uploader lists `name` and has finished sending it to the server."""
    page.locator("[data-testid='stFileUploader']").get_by_text(name).first.wait_for()
    page.wait_for_function('() => !document.querySelector(\'[data-testid="stFileUploader"] [role="progressbar"]\')')
    settle(page)


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_search_ask_prepare_onboard_and_upload_in_a_browser(page, server) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    url, settings = server
    started = time.monotonic()

    print("step:", "Søk")  # shown when the test fails
    # Søk: a paraphrase finds the Sarpsborg case; its card opens the source at the passage
    first_page = time.monotonic()
    open_page(page, url, "", "Søk i erfaringene")
    first_page = time.monotonic() - first_page
    page.get_by_label("Hva leter du etter?").fill("hvordan fikk de nye medarbeiderne til å bli værende?")
    first_search = time.monotonic()
    page.keyboard.press("Enter")
    page.get_by_text("Introduksjonsprogram for nyansatte").first.wait_for()
    settle(page)
    # NOTE: reported, not asserted (#19): the first page after the server answers, and the first search of a
    # fresh session (model and store loaded by st.cache_resource); `settle` adds 0.5 s to each.
    timings = {"first_page_s": round(first_page, 2), "first_search_s": round(time.monotonic() - first_search, 2)}
    (ARTIFACTS / "timings.json").write_text(json.dumps(timings) + "\n", encoding="utf-8")
    print("timings:", timings)
    shot(page, "1-sok")
    page.get_by_role("button", name="Åpne kilde").first.click()
    page.get_by_text("Sitert avsnitt").wait_for()
    settle(page)
    shot(page, "2-kilde")
    page.get_by_role("button", name="← Tilbake").click()
    page.get_by_role("heading", name="Søk i erfaringene").wait_for()

    print("step:", "a PDF opens at its page")  # shown when the test fails
    # a PDF opens at its page
    page.get_by_label("Hva leter du etter?").fill("læreplasser lærlingordningen")
    page.keyboard.press("Enter")
    page.get_by_text("Halden · Strategi/plan").first.wait_for()
    settle(page)
    card = (
        page.locator("[data-testid='stVerticalBlock']")
        .filter(has_text="Halden · Strategi/plan")
        .filter(has=page.get_by_role("button", name="Åpne kilde"))
        .last
    )
    card.get_by_role("button", name="Åpne kilde").first.click()
    page.get_by_text("Sitert avsnitt").wait_for()
    expect(page.get_by_role("combobox", name="Side")).to_have_value("Side 3 av 3")
    settle(page)
    shot(page, "3-kilde-pdf")
    page.get_by_role("button", name="← Tilbake").click()

    print("step:", "Spør")  # shown when the test fails
    # Spør: a cited answer whose citation opens its source
    open_page(page, url, "spor", "Spør erfaringsbanken")
    page.get_by_placeholder("Still et spørsmål om erfaringene …").fill("Hvor mange lærlinger skal Sarpsborg ha?")
    page.keyboard.press("Enter")
    citation = page.locator("[data-testid='stExpander'] summary", has_text="[1]").first
    citation.wait_for()
    settle(page)
    citation.click()
    # NOTE: wait for the expander's button to show, then for the source view, before looking for the quote:
    # a failure then says which of the three did not happen.
    open_source = page.get_by_role("button", name="Åpne kilden").first
    open_source.wait_for(state="visible")
    open_source.click()
    page.get_by_role("button", name="← Tilbake").wait_for()
    settle(page)
    page.get_by_text("Sitert avsnitt").wait_for()
    settle(page)
    shot(page, "4-spor-kilde")
    page.get_by_role("button", name="← Tilbake").click()
    page.get_by_text("Hvor mange lærlinger skal Sarpsborg ha?").first.wait_for()
    settle(page)
    shot(page, "5-spor")

    print("step:", "Spør: a fact the base does not hold")  # shown when the test fails
    # The programme is in the base, what it cost is not: the answer says so and offers the closest documents.
    page.get_by_placeholder("Still et spørsmål om erfaringene …").fill(
        "Hva kostet introduksjonsprogrammet med fadder og mentorordning for nyansatte i Sarpsborg?"
    )
    page.keyboard.press("Enter")
    page.get_by_text("Fant ikke tallet du spør etter for Sarpsborg i erfaringsbanken.").wait_for()
    page.get_by_text("Kanskje relevant").first.wait_for()
    related = page.locator("[data-testid='stExpander'] summary", has_text="Introduksjonsprogram for nyansatte").last
    related.wait_for()
    settle(page)
    shot(page, "5b-spor-fant-ikke")

    print("step:", "an old link")  # shown when the test fails
    # a bookmark from before the page URLs (?side=spor) opens the page at its own URL
    page.goto(f"{url}/?side=spor")
    page.get_by_role("heading", name="Spør erfaringsbanken").wait_for()
    expect(page).to_have_url(f"{url}/spor")
    settle(page)

    print("step:", "Forbered samling")  # shown when the test fails
    # Forbered samling
    open_page(page, url, "samling", "Forbered samling")
    page.get_by_label("… eller skriv et tema").fill("heltidskultur")
    page.keyboard.press("Enter")
    page.get_by_text("Hvem har skrevet om temaet").wait_for()
    settle(page)
    shot(page, "6-forbered-samling")

    print("step:", "Kom i gang")  # shown when the test fails
    # Kom i gang
    open_page(page, url, "kom-i-gang", "Kom i gang")
    page.get_by_text("Samling om heltidskultur").first.wait_for()
    shot(page, "7-kom-i-gang")

    print("step:", "Legg til dokumenter")  # shown when the test fails
    # Legg til dokumenter: a wrong type is refused, a Markdown file is ingested and then found
    open_page(page, url, "legg-til", "Legg til dokumenter")
    page.locator("[data-testid='stSelectbox']").nth(1).click()
    page.get_by_role("option", name="Erfaring (delt case)").click()
    upload = page.locator("input[type='file']")
    upload.set_input_files(
        [
            {"name": "program.exe", "mimeType": "application/octet-stream", "buffer": b"MZ"},
            {
                "name": "seniorpermisjon.md",
                "mimeType": "text/markdown",
                "buffer": (
                    "# Seniorpermisjon i Sarpsborg\n\nVi har innført seniorpermisjon med tre ekstra fridager "
                    "for medarbeidere over 62 år, og flere står nå lenger i jobb.\n"
                ).encode(),
            },
        ]
    )
    uploaded(page, "seniorpermisjon.md")
    page.get_by_role("button", name="Last opp og les inn").click()
    page.get_by_text("er lagt til for Sarpsborg").wait_for()
    page.get_by_text("filtype som ikke støttes").wait_for()
    settle(page)
    shot(page, "8-legg-til")
    assert (settings.home / "uploads" / "Sarpsborg" / "erfaringer" / "seniorpermisjon.md").is_file()

    open_page(page, url, "", "Søk i erfaringene")
    page.get_by_label("Hva leter du etter?").fill("ekstra fridager for eldre arbeidstakere")
    page.keyboard.press("Enter")
    page.get_by_text("Seniorpermisjon i Sarpsborg").first.wait_for()
    settle(page)
    shot(page, "9-sok-opplastet")

    print("step:", "another writer holds the lock")  # shown when the test fails
    # another writer holds the lock: the upload says so instead of failing
    with (settings.store_dir / "write.lock").open("a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        try:
            open_page(page, url, "legg-til", "Legg til dokumenter")
            page.locator("input[type='file']").set_input_files(
                [{"name": "notat.txt", "mimeType": "text/plain", "buffer": b"Et kort notat om turnus."}]
            )
            uploaded(page, "notat.txt")
            page.get_by_role("button", name="Last opp og les inn").click()
            page.get_by_text("Kunnskapsbasen er opptatt").wait_for()
            settle(page)
            shot(page, "10-legg-til-opptatt")
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    assert not (settings.home / "uploads" / "Sarpsborg" / "strategier" / "notat.txt").exists()
    assert time.monotonic() - started < 180


@pytest.mark.parametrize("app_env", [{"KB_AUTH": "local"}])
def test_sign_in_and_per_municipality_access_in_a_browser(page, server) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    from kb.access.users import UserDirectory

    url, settings = server
    directory = UserDirectory(settings.users_path)
    for name, role, municipality in (("lise", "leser", "Halden"), ("kari", "bidragsyter", "Sarpsborg")):
        directory.add(name, role=role, municipality=municipality, name=name.title())
        directory.set_password(name, "riktig-hest-batteri")

    def sign_in(username: str, password: str) -> None:
        page.get_by_role("heading", name="Logg inn").wait_for()
        page.get_by_label("Brukernavn").fill(username)
        page.get_by_label("Passord").fill(password)
        page.get_by_role("button", name="Logg inn").click()
        settle(page)

    def search(query: str) -> None:
        page.get_by_label("Hva leter du etter?").fill(query)
        page.keyboard.press("Enter")
        settle(page)

    page.goto(url)
    expect(page.get_by_role("link", name="Spør")).to_have_count(0)  # no menu before sign-in
    sign_in("lise", "feil-passord-000")
    expect(page.get_by_text("Feil brukernavn eller passord.")).to_be_visible()
    shot(page, "logg-inn")
    sign_in("lise", "riktig-hest-batteri")
    page.get_by_role("heading", name="Søk i erfaringene").wait_for()
    expect(page.get_by_text("Lise (Halden, leser)")).to_be_visible()
    expect(page.get_by_text("Legg til dokumenter")).to_have_count(0)  # a reader does not upload
    search("Solsikkeprosjektet årsverk hjemmetjenesten")
    expect(page.get_by_text("Omstilling i omsorg")).to_have_count(0)  # Sarpsborg's internal note
    shot(page, "leser-fra-halden")

    expect(page.get_by_role("link", name="Spør")).to_be_visible()
    page.goto(f"{url}/legg-til")  # a new session: sign in again; the reader's link does not open the upload page
    sign_in("lise", "riktig-hest-batteri")
    page.get_by_role("heading", name="Søk i erfaringene").wait_for()
    expect(page.get_by_role("heading", name="Legg til dokumenter")).to_have_count(0)
    expect(page.locator("input[type='file']")).to_have_count(0)
    shot(page, "leser-legg-til")

    page.get_by_role("button", name="Logg ut").click()
    sign_in("kari", "riktig-hest-batteri")
    search("Solsikkeprosjektet årsverk hjemmetjenesten")
    expect(page.get_by_text("Omstilling i omsorg").first).to_be_visible()
    shot(page, "bidragsyter-fra-sarpsborg")
    page.goto(f"{url}/legg-til")  # a link to a page opens it once signed in
    sign_in("kari", "riktig-hest-batteri")
    page.get_by_role("heading", name="Legg til dokumenter").wait_for()
    expect(page.get_by_role("link", name="Legg til dokumenter")).to_be_visible()
