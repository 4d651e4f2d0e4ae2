import pytest

from ingest.chunking import chunk_sections, split_sentences
from ingest.types import Section


@pytest.mark.parametrize(
    "sentences",
    [
        # abbreviations and dates inside a sentence
        ["Vi brukte bl.a. fiskebolle.", "Møtet var 12. mars i Halden.", "Neste gang blir f.eks. i Råde!"],
        # an abbreviation after a bracket or a quote
        ["Samlingene varer 4–5 timer (kl. 09.00–14.00).", "Vi bruker «f.eks. fiskebollen».", "Vi går på omgang."],
        # titles and names
        ["Hun jobber ved St. Olavs hospital med Dr. Hansen.", "Neste samling er i Halden."],
    ],
)
def test_abbreviations_and_dates_do_not_end_a_sentence(sentences: list[str]) -> None:
    assert split_sentences(" ".join(sentences)) == sentences


def test_chunks_follow_pages_and_never_cut_mid_sentence() -> None:
    sentence = "Dette er en setning om heltidskultur i kommunen. "
    sections = [
        Section(text="Mål\n\n" + sentence * 30, heading="Mål", page=1),
        Section(text="Tiltak\n\n" + sentence * 5, heading="Tiltak", page=2),
    ]
    chunks = chunk_sections(sections, source="a.pdf", metadata={"content_hash": "h"}, chunk_size=400, overlap=60)
    assert all(len(c.text) <= 400 + 60 + 2 for c in chunks)
    assert all(c.text.rstrip().endswith(".") for c in chunks)
    assert {c.metadata["page"] for c in chunks} == {1, 2}
    assert all(c.metadata["page"] == 2 for c in chunks if "Tiltak" in c.text)
    assert chunks[-1].metadata["n_chunks"] == len(chunks)


def test_ids_are_stable_and_change_with_the_file_version() -> None:
    sections = [Section(text="En kort tekst.", heading="A")]
    one = chunk_sections(sections, source="a.md", metadata={"content_hash": "v1"})
    again = chunk_sections(sections, source="a.md", metadata={"content_hash": "v1"})
    other = chunk_sections(sections, source="a.md", metadata={"content_hash": "v2"})
    assert [c.id for c in one] == [c.id for c in again]
    assert one[0].id != other[0].id


def test_short_heading_sections_merge_with_what_follows() -> None:
    sections = [
        Section(text="Innledning", heading="Innledning"),
        Section(text="Mål\n\nMålet er 40 lærlinger.", heading="Mål"),
    ]
    chunks = chunk_sections(sections, source="a.md", metadata={}, chunk_size=1000)
    assert len(chunks) == 1


def test_a_chunk_carries_the_roles_of_every_section_it_holds() -> None:
    # A short case packs into one chunk: a search for results or for lessons must find it by either section.
    sections = [
        Section(text="Utfordringen\n\nFor mange sluttet det første året.", heading="Utfordringen"),
        Section(text="Resultater\n\nTurnover falt fra 31 til 17 prosent.", heading="Resultater"),
        Section(text="Dette lærte vi\n\nFadderen må ha tid.", heading="Dette lærte vi"),
        Section(text="Kontakt\n\nHR-avdelingen.", heading="Kontakt"),
    ]
    (chunk,) = chunk_sections(sections, source="a.md", metadata={}, chunk_size=1000)
    assert chunk.metadata["sections"] == "background,result,lesson"
    assert {k for k, v in chunk.metadata.items() if k.startswith("role_") and v} == {
        "role_background",
        "role_result",
        "role_lesson",
    }
    (plain,) = chunk_sections([Section(text="Kontakt\n\nHR.", heading="Kontakt")], source="b.md", metadata={})
    assert plain.metadata["sections"] == "" and not any(k.startswith("role_") for k in plain.metadata)
