"""Messages a user sees during and after an ingest are right and in Norwegian (#21, item 7)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from ingest.loaders import LoadError, load_path
from kb.cli.context import configure_logging
from kb.errors import EmptyIndexError
from tests.conftest import write


def test_search_while_the_first_ingest_runs_says_an_ingest_is_running(make_kb) -> None:
    kb = make_kb()
    with kb.write_lock(), pytest.raises(EmptyIndexError, match="en innlesing pågår"):
        make_kb().search("heltid")
    with pytest.raises(EmptyIndexError, match="kb ingest"):  # no ingest running: say what to do
        make_kb().search("heltid")


@pytest.mark.parametrize("suffix", [".md", ".txt"])
def test_a_broken_front_matter_is_reported_in_norwegian_with_its_line(tmp_path: Path, suffix: str) -> None:
    path = write(tmp_path, f"feil{suffix}", "---\nkommune: Halden\ntittel: [uavsluttet\ntilgang: intern\n---\nTekst.\n")
    with pytest.raises(LoadError) as caught:
        load_path(path)
    message = str(caught.value)
    assert "linje 4" in message and "forsiden" in message
    assert "expected" not in message and "flow" not in message  # none of the parser's English


def test_third_party_warnings_stay_off_the_screen_unless_verbose(caplog: pytest.LogCaptureFixture) -> None:
    configure_logging(False)
    assert not logging.getLogger("pypdf").isEnabledFor(logging.WARNING)
    assert not logging.getLogger("pypdf._reader").isEnabledFor(logging.WARNING)
    configure_logging(True)
    assert logging.getLogger("pypdf").isEnabledFor(logging.WARNING)
    configure_logging(False)
