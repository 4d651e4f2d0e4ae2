import json
from pathlib import Path

from click.testing import CliRunner

from kb.cli import cli

HIT_KEYS = {"source", "page", "municipality", "doc_type", "title", "date", "heading", "text", "score"}


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_search_json_shape(mini_corpus: Path) -> None:
    run("ingest", str(mini_corpus))
    hits = json.loads(run("search", "fadder nyansatte", "-k", "3", "--json"))
    assert 1 <= len(hits) <= 3
    assert set(hits[0]) >= HIT_KEYS
    assert hits[0]["source"] == "Sarpsborg/erfaringer/introduksjonsprogram.md"
    assert hits == sorted(hits, key=lambda h: -h["score"])


def test_search_filters_and_grouping(mini_corpus: Path) -> None:
    run("ingest", str(mini_corpus))
    hits = json.loads(run("search", "heltid", "--municipality", "Halden", "--type", "erfaring", "--json"))
    assert {(h["municipality"], h["doc_type"]) for h in hits} == {("Halden", "erfaring")}
    grouped = json.loads(run("search", "heltidskultur", "--group", "--json"))
    assert "Halden" in grouped and all(isinstance(v, list) for v in grouped.values())


def test_search_by_part_of_the_text(mini_corpus: Path) -> None:
    run("ingest", str(mini_corpus))
    everything = {h["source"] for h in json.loads(run("search", "heltid lærlinger", "-k", "10", "--json"))}
    assert "Sarpsborg/strategier/kompetansestrategi-2024-2027.md" in everything
    # Only texts with a «Resultater» section: the two cases, not the strategies' «Mål» or the note's «Metoder».
    results = json.loads(run("search", "heltid lærlinger", "-k", "10", "--part", "resultat", "--json"))
    assert {h["source"] for h in results} == {
        "Halden/erfaringer/heltidskultur.md",
        "Sarpsborg/erfaringer/introduksjonsprogram.md",
    }
    # the snippet starts where the part does: the case's «Resultater», not its «Utfordringen»
    shown = run("search", "heltid", "--part", "resultat", "--municipality", "Halden")
    assert "   Heltidsandelen økte til 52 prosent på to år." in shown and "lav heltidsandel" not in shown
    goals = json.loads(run("search", "lærlinger", "--part", "mål", "--json"))
    assert goals and all("/strategier/" in h["source"] for h in goals)
    wrong = CliRunner().invoke(cli, ["search", "heltid", "--part", "konklusjon"])
    assert wrong.exit_code == 2 and "tiltak" in wrong.output


def test_stats_and_remove(mini_corpus: Path) -> None:
    run("ingest", str(mini_corpus))
    stats = json.loads(run("stats", "--json"))
    assert stats["documents"] == 5
    assert stats["per_municipality"]["Sarpsborg"]["documents"] == 3
    assert "Fjernet" in run("remove", "Halden/erfaringer/heltidskultur.md")
    assert json.loads(run("stats", "--json"))["documents"] == 4
    missing = CliRunner().invoke(cli, ["remove", "finnes/ikke.md"])
    assert missing.exit_code == 1 and "Fant ikke" in missing.output


def test_search_on_empty_store_is_a_clean_error() -> None:
    result = CliRunner().invoke(cli, ["search", "noe"])
    assert result.exit_code == 1 and "kb ingest" in result.output and "Traceback" not in result.output


def test_store_option_chooses_the_folder(tmp_path: Path, mini_corpus: Path) -> None:
    run("--store", str(tmp_path / "annen"), "ingest", str(mini_corpus))
    assert (tmp_path / "annen").is_dir()
