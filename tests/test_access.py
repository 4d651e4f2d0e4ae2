"""Who may see and change what: two municipalities' users against the embedded store and a real Chroma server.

Each reader path is checked (search in all three modes, documents and counts, answers, the facilitator view,
the source view and download, the CLI's JSON), then the writes (upload, replace, remove), sign-in and the
audit log.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.access import LOCAL_ADMIN, SIGN_IN_FAILED, User, UserDirectory, UserView
from kb.answer import ask, retrieve
from kb.base import KnowledgeBase
from kb.cli import cli
from kb.config import Settings
from kb.errors import AccessDeniedError, KBError
from kb.views import themes
from tests.conftest import write

BACKENDS = ["embedded", pytest.param("server", marks=pytest.mark.integration)]
PASSWORD = "riktig-hest-batteri"

KARI = User("kari", "bidragsyter", "Sarpsborg", "Kari Nordmann")
OLA = User("ola", "bidragsyter", "Råde", "Ola Nordmann")
LISE = User("lise", "leser", "Råde", "Lise Leser")

# Words that occur in exactly one internal document each.
SARPSBORG_SECRET = "Solsikkeprosjektet"
RADE_SECRET = "Tranebærmodellen"
SARPSBORG_INTERN = "Sarpsborg/erfaringer/omstilling-intern.md"
RADE_INTERN = "Råde/erfaringer/lonnsforhandling-intern.md"
SARPSBORG_OPEN = "Sarpsborg/erfaringer/heltid.md"
RADE_OPEN = "Råde/erfaringer/laerlinger.md"


@pytest.fixture(params=BACKENDS)
def shared_settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    """The network's store: embedded in tmp_path, or a real `chroma run` (its collection emptied first)."""
    if request.param == "server":
        return request.getfixturevalue("server_settings")  # type: ignore[no-any-return]
    return settings


@pytest.fixture
def network(shared_settings: Settings, tmp_path: Path) -> KnowledgeBase:
    """Two municipalities, each with one network document and one internal one, plus a session note."""
    root = tmp_path / "delt"
    write(
        root,
        SARPSBORG_OPEN,
        "---\ntittel: Heltid i hjemmetjenesten\ntema: [heltidskultur]\n---\n"
        "# Heltid i hjemmetjenesten\n\nSarpsborg innførte heltidsgrupper i hjemmetjenesten. Alle i gruppene har "
        "hundre prosent stilling og en turnus over seks uker. Sykefraværet i gruppene falt det første året.\n",
    )
    write(
        root,
        SARPSBORG_INTERN,
        f"---\ntittel: Omstilling i pleie og omsorg\ntilgang: intern\ntema: [heltidskultur]\n---\n"
        f"# Omstilling i pleie og omsorg\n\n{SARPSBORG_SECRET} flytter tolv årsverk fra Blåfjell sykehjem til "
        "hjemmetjenesten. Tillitsvalgte er orientert, men saken er ikke lagt fram politisk. Heltidsgruppene "
        "skal brukes når de ansatte flyttes.\n",
    )
    write(
        root,
        RADE_OPEN,
        "---\ntittel: Lærlinger i Råde\ntema: [lærlinger]\n---\n# Lærlinger i Råde\n\nRåde tar inn fire "
        "lærlinger i helsearbeiderfaget hvert år. Hver lærling får en fast veileder og en samtale hver måned.\n",
    )
    write(
        root,
        RADE_INTERN,
        f"---\ntittel: Lønnsforhandlinger for lærlinger\ntilgang: intern\ntema: [lærlinger]\n---\n"
        f"# Lønnsforhandlinger for lærlinger\n\n{RADE_SECRET} gir lærlinger som blir i Råde etter fagbrevet "
        "et lønnstillegg på 18 000 kroner. Tillegget er ikke avklart med arbeidsgiverforeningen.\n",
    )
    write(
        root,
        "Læringsnettverket/samlinger/2025-03-12-heltid.md",
        "---\ntittel: Samling om heltid og lærlinger\ndato: 2025-03-12\ntema: [heltidskultur, lærlinger]\n---\n"
        "# Samling om heltid og lærlinger\n\nNettverket delte erfaringer om heltidsgrupper og om hvordan "
        "lærlinger kan få fast jobb etter fagbrevet.\n",
    )
    kb = KnowledgeBase(shared_settings)
    report = kb.ingest([root], user="admin")
    assert not report.skipped and len(report.added) == 5
    return kb


def sources(hits: list) -> set[str]:  # type: ignore[type-arg]
    return {h.source for h in hits}


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_search_shows_the_network_and_only_the_own_internal_documents(network: KnowledgeBase, mode: str) -> None:
    kari, ola, lise = UserView(network, KARI), UserView(network, OLA), UserView(network, LISE)
    for view, own, other in ((kari, SARPSBORG_INTERN, RADE_INTERN), (ola, RADE_INTERN, SARPSBORG_INTERN)):
        found = sources(view.search(f"{SARPSBORG_SECRET} {RADE_SECRET} heltid lærlinger", k=50, mode=mode))
        assert own in found
        assert other not in found
        assert {SARPSBORG_OPEN, RADE_OPEN} <= found  # the other municipality's network documents are there
    # the secret word itself finds nothing of the other municipality's, even as the only query word
    assert SARPSBORG_INTERN not in sources(ola.search(SARPSBORG_SECRET, k=50, mode=mode))
    assert SARPSBORG_INTERN not in sources(lise.search(SARPSBORG_SECRET, k=50, mode=mode))
    assert RADE_INTERN in sources(lise.search(RADE_SECRET, k=50, mode=mode))  # a reader of Råde sees Råde's
    assert {SARPSBORG_INTERN, RADE_INTERN} <= sources(UserView(network, LOCAL_ADMIN).search("lønn omstilling", k=50))


def test_a_user_cannot_widen_the_scope_with_filters(network: KnowledgeBase) -> None:
    from kb.types import Filters

    ola = UserView(network, OLA)
    wide = Filters(municipalities=("Sarpsborg",), visible_to=None)
    assert SARPSBORG_INTERN not in sources(ola.search(SARPSBORG_SECRET, k=50, filters=wide))
    assert SARPSBORG_INTERN not in {d.source for d in ola.documents(visible_to=None)}


def test_documents_and_counts_leave_out_what_the_user_may_not_read(network: KnowledgeBase) -> None:
    kari, ola = UserView(network, KARI), UserView(network, OLA)
    assert {d.source for d in kari.documents()} == {d.source for d in network.documents()} - {RADE_INTERN}
    assert {d.source for d in ola.documents()} == {d.source for d in network.documents()} - {SARPSBORG_INTERN}
    assert ola.stats()["documents"] == 4
    assert ola.stats()["per_municipality"]["Sarpsborg"]["documents"] == 1
    assert kari.stats()["per_municipality"]["Råde"]["documents"] == 1
    assert network.stats()["documents"] == 5


def test_answers_never_cite_or_quote_another_municipalitys_internal_document(network: KnowledgeBase) -> None:
    ola = UserView(network, OLA)
    answer = ask(ola, f"Hva er {SARPSBORG_SECRET} og hvor mange årsverk flyttes fra Blåfjell?", generator=False)
    assert SARPSBORG_INTERN not in {c.source for c in answer.citations}
    assert "tolv årsverk" not in answer.text and "Blåfjell sykehjem" not in answer.text
    own = ask(UserView(network, KARI), f"Hva er {SARPSBORG_SECRET}?", generator=False)
    assert SARPSBORG_INTERN in {c.source for c in own.citations}


def test_refusals_do_not_reveal_words_of_another_municipalitys_internal_documents(network: KnowledgeBase) -> None:
    from kb.answer import novelty

    question = f"Hva skjer med {SARPSBORG_SECRET}?"
    assert novelty(UserView(network, OLA), question) > novelty(UserView(network, KARI), question)
    assert novelty(UserView(network, OLA), question) == novelty(UserView(network, LISE), question)


def test_facilitator_view_and_brief_leave_out_the_other_internal_documents(network: KnowledgeBase) -> None:
    ola = UserView(network, OLA)
    overview = themes.theme_overview(ola, "heltidskultur", [])
    listed = {d.source for docs in overview.municipalities.values() for d in docs}
    assert SARPSBORG_OPEN in listed
    assert SARPSBORG_INTERN not in listed
    evidence = {f.source for f in overview.challenges + overview.measures}
    assert SARPSBORG_INTERN not in evidence
    brief = themes.theme_brief(overview)
    assert "Omstilling i pleie og omsorg" not in brief and SARPSBORG_SECRET not in brief
    kari_overview = themes.theme_overview(UserView(network, KARI), "heltidskultur", [])
    assert SARPSBORG_INTERN in {d.source for docs in kari_overview.municipalities.values() for d in docs}


def test_source_view_and_download_are_refused_like_a_missing_document(network: KnowledgeBase) -> None:
    kari, ola = UserView(network, KARI), UserView(network, OLA)
    assert kari.chunks_of(SARPSBORG_INTERN)
    assert kari.original(SARPSBORG_INTERN) is not None
    assert ola.chunks_of(SARPSBORG_INTERN) == ola.chunks_of("Sarpsborg/finnes-ikke.md") == []
    assert ola.original(SARPSBORG_INTERN) is None
    assert ola.original(SARPSBORG_OPEN) is not None


def _users_file(settings: Settings) -> UserDirectory:
    directory = UserDirectory(settings.users_path)
    for user in (KARI, OLA, LISE):
        directory.add(user.username, role=user.role, municipality=user.municipality, name=user.name)
        directory.set_password(user.username, PASSWORD)
    return directory


def _env(settings: Settings) -> dict[str, str]:
    env = {
        "KB_HOME": str(settings.home),
        "KB_STORE": str(settings.store_dir),
        "KB_EMBED_MODEL": settings.embed_model,
        "KB_USERS_FILE": str(settings.users_path),
    }
    if settings.chroma_url:
        env["KB_CHROMA_URL"] = settings.chroma_url
    return env


def test_the_json_api_answers_as_the_signed_in_user(network: KnowledgeBase) -> None:
    _users_file(network.settings)
    runner = CliRunner()
    env = _env(network.settings)

    def cli_json(*args: str) -> object:
        result = runner.invoke(cli, list(args), env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    ola_hits = cli_json("--as-user", "ola", "search", SARPSBORG_SECRET, "-k", "20", "--json")
    assert SARPSBORG_INTERN not in {h["source"] for h in ola_hits}  # type: ignore[union-attr,index]
    kari_hits = cli_json("--as-user", "kari", "search", SARPSBORG_SECRET, "-k", "20", "--json")
    assert SARPSBORG_INTERN in {h["source"] for h in kari_hits}  # type: ignore[union-attr,index]
    grouped = cli_json("--as-user", "ola", "search", "heltid lærlinger", "--group", "--json")
    assert SARPSBORG_INTERN not in {h["source"] for hits in grouped.values() for h in hits}  # type: ignore[union-attr]
    answer = cli_json("--as-user", "ola", "ask", f"Hva er {SARPSBORG_SECRET}?", "--json")
    assert SARPSBORG_INTERN not in {c["source"] for c in answer["citations"]}  # type: ignore[index]
    stats = cli_json("--as-user", "ola", "stats", "--json")
    assert stats["documents"] == 4  # type: ignore[index]
    assert cli_json("stats", "--json")["documents"] == 5  # type: ignore[index]  # the CLI itself is admin
    refused = runner.invoke(cli, ["--as-user", "ola", "remove", SARPSBORG_OPEN], env=env)
    assert refused.exit_code != 0 and "administratorer" in refused.output
    exported = runner.invoke(cli, ["--as-user", "ola", "export", str(network.settings.home / "b.jsonl")], env=env)
    assert exported.exit_code != 0 and "administratorer" in exported.output
    unknown = runner.invoke(cli, ["--as-user", "nils", "search", "heltid"], env=env)
    assert unknown.exit_code != 0 and "Fant ingen bruker «nils»" in unknown.output


def test_a_reader_cannot_upload(network: KnowledgeBase) -> None:
    lise = UserView(network, LISE)
    with pytest.raises(AccessDeniedError, match="lesetilgang"):
        lise.stage_upload("Råde", "erfaringer", "nytt.md", b"# Nytt\n\nTekst om turnus.\n")
    with pytest.raises(AccessDeniedError):
        lise.ingest_uploads()
    with pytest.raises(AccessDeniedError):
        lise.remove(RADE_OPEN)


def test_a_contributor_cannot_add_or_replace_another_municipalitys_documents(network: KnowledgeBase) -> None:
    ola, kari = UserView(network, OLA), UserView(network, KARI)
    before = network.chunks_of(SARPSBORG_OPEN)
    with pytest.raises(AccessDeniedError, match="bare legge til dokumenter for Råde"):
        ola.stage_upload("Sarpsborg", "erfaringer", "heltid.md", b"# Overskrevet\n\nFeil tekst.\n", replace=True)
    with pytest.raises(AccessDeniedError):
        ola.remove(SARPSBORG_OPEN)
    assert network.chunks_of(SARPSBORG_OPEN) == before
    # the owner may replace it
    kari.stage_upload(
        "Sarpsborg",
        "erfaringer",
        "heltid.md",
        b"# Heltid i hjemmetjenesten\n\nNy versjon: heltidsgruppene er innf\xc3\xb8rt i alle soner.\n",
        replace=True,
    )
    report = kari.ingest_uploads()
    assert SARPSBORG_OPEN in report.updated
    assert "alle soner" in network.chunks_of(SARPSBORG_OPEN)[0][0]


def test_an_upload_cannot_claim_another_municipality_or_wider_readership_in_its_front_matter(
    network: KnowledgeBase,
) -> None:
    ola = UserView(network, OLA)
    forged = "---\nkommune: Sarpsborg\ntilgang: nettverket\n---\n# Turnusplan\n\nRåde prøver ut langvakter.\n"
    staged = ola.stage_upload("Råde", "erfaringer", "turnus.md", forged.encode(), visibility="intern")
    ola.ingest_uploads()
    meta = network.chunks_of(staged.source)[0][1]
    assert meta["municipality"] == "Råde" and meta["visibility"] == "intern"
    assert staged.source not in sources(UserView(network, KARI).search("langvakter turnusplan", k=50))
    # changing only the visibility is a new version too (the sidecar is part of the version hash)
    ola.stage_upload("Råde", "erfaringer", "turnus.md", forged.encode(), visibility="nettverket", replace=True)
    report = ola.ingest_uploads()
    assert staged.source in report.updated
    assert staged.source in sources(UserView(network, KARI).search("langvakter turnusplan", k=50))


def test_an_unknown_visibility_is_refused_not_guessed(network: KnowledgeBase, tmp_path: Path) -> None:
    root = tmp_path / "ny"
    write(root, "Råde/erfaringer/x.md", "---\ntilgang: bare for ledergruppen\n---\n# X\n\nTekst om turnus.\n")
    report = network.ingest([root])
    assert report.skipped and "ukjent tilgang" in report.skipped[0][1]
    assert "Råde/erfaringer/x.md" not in {d.source for d in network.documents()}


def test_a_newer_internal_version_does_not_mark_the_network_version_for_others(
    shared_settings: Settings, tmp_path: Path
) -> None:
    root = tmp_path / "versjoner"
    write(root, "Halden/strategier/kompetanseplan-2021-2024.md", "---\ndato: 2021-01-01\n---\n# Kompetanseplan\n\nA.\n")
    write(
        root,
        "Halden/strategier/kompetanseplan-2025-2028.md",
        "---\ndato: 2025-01-01\ntilgang: intern\n---\n# Kompetanseplan\n\nUtkast.\n",
    )
    kb = KnowledgeBase(shared_settings)
    kb.ingest([root])
    old = "Halden/strategier/kompetanseplan-2021-2024.md"
    assert {d.source: d.superseded_by for d in kb.documents()}[old]  # the admin sees the new version
    ola = UserView(kb, OLA)
    assert {d.source: d.superseded_by for d in ola.documents()}[old] == ""
    assert not any(h.superseded for h in ola.search("kompetanseplan", k=10))


def test_sign_in_refuses_a_wrong_password_and_an_unknown_name_alike(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = _users_file(settings)
    assert directory.authenticate("Kari ", PASSWORD) == directory.user("kari")
    calls: list[str] = []
    real = directory._hasher

    class CountingHasher:
        def verify(self, hash_: str, password: str) -> bool:
            calls.append(hash_)
            return real.verify(hash_, password)  # type: ignore[no-any-return]

        def hash(self, password: str) -> str:
            return real.hash(password)

    monkeypatch.setattr(directory, "_hasher", CountingHasher())
    messages = []
    for name, password in (("kari", "feil-passord-123"), ("nils", PASSWORD), ("kari", "")):
        with pytest.raises(AccessDeniedError) as caught:
            directory.authenticate(name, password)
        messages.append(str(caught.value))
    assert messages == [SIGN_IN_FAILED] * 3  # no hint which part was wrong
    assert len(calls) == 3  # an unknown name is checked against a hash too (argon2 compares in constant time)
    assert all(h.startswith("$argon2id$") for h in calls)


def test_repeated_failures_lock_the_name_for_a_while(settings: Settings) -> None:
    directory = _users_file(settings)
    for _ in range(5):
        with pytest.raises(AccessDeniedError):
            directory.authenticate("ola", "gjetting-gjetting")
    with pytest.raises(AccessDeniedError, match="For mange"):
        directory.authenticate("ola", PASSWORD)  # even the right password, until the window has passed
    assert directory.authenticate("kari", PASSWORD).username == "kari"  # other names are not affected


def test_users_file_holds_only_hashes_and_is_private(settings: Settings) -> None:
    directory = _users_file(settings)
    text = settings.users_path.read_text(encoding="utf-8")
    assert PASSWORD not in text and text.count("$argon2id$") == 3
    assert stat.S_IMODE(os.stat(settings.users_path).st_mode) == 0o600
    assert UserDirectory(settings.users_path).user("ola") == OLA  # read back the same
    with pytest.raises(KBError, match="minst 12 tegn"):
        directory.set_password("ola", "kort")
    with pytest.raises(KBError, match="må høre til en kommune"):
        directory.add("per", role="bidragsyter", municipality="")
    directory.remove("ola")
    with pytest.raises(AccessDeniedError):
        UserDirectory(settings.users_path).authenticate("ola", PASSWORD)


def test_oidc_identities_map_by_address_then_domain(settings: Settings) -> None:
    directory = _users_file(settings)
    directory.add("kari", role="bidragsyter", municipality="Sarpsborg", email="kari@sarpsborg.kommune.no")
    directory.domains["rade.kommune.no"] = "Råde"
    directory.save()
    fresh = UserDirectory(settings.users_path)
    assert fresh.for_identity("Kari@Sarpsborg.kommune.no") == fresh.user("kari")
    reader = fresh.for_identity("per@rade.kommune.no")
    assert reader is not None and reader.role == "leser" and reader.municipality == "Råde"
    assert fresh.for_identity("x@gmail.com") is None
    assert fresh.for_identity("") is None


def test_the_audit_log_records_every_change_with_who_made_it(network: KnowledgeBase) -> None:
    kari = UserView(network, KARI)
    kari.stage_upload("Sarpsborg", "erfaringer", "ny-rutine.md", b"# Ny rutine\n\nFadder for alle nyansatte.\n")
    kari.ingest_uploads()
    kari.stage_upload(
        "Sarpsborg", "erfaringer", "ny-rutine.md", b"# Ny rutine\n\nFadder i tre m\xc3\xa5neder.\n", replace=True
    )
    kari.ingest_uploads()
    UserView(network, LOCAL_ADMIN).remove("Sarpsborg/erfaringer/ny-rutine.md")
    lines = network.settings.audit_file.read_text(encoding="utf-8").splitlines()
    entries = [json.loads(line) for line in lines]
    mine = [(e["action"], e["user"]) for e in entries if e["source"] == "Sarpsborg/erfaringer/ny-rutine.md"]
    assert mine == [("add", "kari"), ("update", "kari"), ("remove", "lokal")]
    assert all(e["time"] for e in entries)
    removal = next(e for e in entries if e["action"] == "remove")
    assert removal["municipality"] == "Sarpsborg" and removal["visibility"] == "nettverket"
    # the uploaded file went with it: the next upload's ingest does not bring the document back
    kari.stage_upload("Sarpsborg", "erfaringer", "annen.md", b"# Annen\n\nTekst om turnus.\n")
    report = kari.ingest_uploads()
    assert report.added == ["Sarpsborg/erfaringer/annen.md"]
    assert "Sarpsborg/erfaringer/ny-rutine.md" not in {d.source for d in network.documents()}


def test_what_a_municipality_never_writes_is_counted_within_what_the_user_may_read(network: KnowledgeBase) -> None:
    # kb.answer.select.unwritten: whether Råde writes «tranebærmodell» is told by Råde's internal document only to
    # those who may read it; to Kari (Sarpsborg) Råde never writes it, as the documents she sees show.
    from kb.answer.select import _stems, unwritten

    topic = _stems(RADE_SECRET)
    assert unwritten(network, "Råde", topic, network.documents()) == frozenset()
    kari = UserView(network, KARI)
    assert unwritten(kari, "Råde", topic, kari.documents()) == topic


def test_an_answer_points_only_to_other_municipalities_documents_the_user_may_read(network: KnowledgeBase) -> None:
    # A question about one municipality whose topics another municipality's document is titled with is refused and
    # points to that document (kb.answer.select.elsewhere): never to an internal document the user may not read.
    question = "Hvordan har Sarpsborg jobbet med lønnsforhandlinger for lærlinger?"
    assert RADE_INTERN in {h.source for h in retrieve(network, question).elsewhere}  # all of it: the admin's view
    kari = UserView(network, KARI)
    assert RADE_INTERN not in {h.source for h in retrieve(kari, question).elsewhere}
    answer = ask(kari, question, generator=False)
    shown = {c.source for c in (*answer.citations, *answer.related)}
    assert RADE_INTERN not in shown and RADE_SECRET not in answer.text and "18 000" not in answer.text
