from ingest import metadata
from ingest.loaders import load_path
from ingest.types import Section, SourceDocument
from tests.conftest import DATA


def doc(text: str = "tekst", **kwargs: object) -> SourceDocument:
    return SourceDocument(sections=(Section(text=text, heading=kwargs.pop("heading", "")),), **kwargs)  # type: ignore[arg-type]


def test_front_matter_wins_over_folders() -> None:
    meta = metadata.resolve(load_path(DATA / "med_front_matter.md"), "Halden/samlinger/x.md")
    assert meta["municipality"] == "Moss"
    assert meta["doc_type"] == "erfaring"  # «case» is a shared case
    assert meta["title"] == "Heltidskultur i Moss"
    assert meta["date"] == "2024-02-15" and meta["date_num"] == 20240215
    assert meta["themes"] == "heltidskultur, arbeidstid"
    assert meta["tema_heltidskultur"] is True and meta["tema_arbeidstid"] is True


def test_folders_give_municipality_and_type_with_norwegian_letters() -> None:
    meta = metadata.resolve(doc(heading="Plan"), "Østfold fylkeskommune/strategier/plan.md")
    assert meta["municipality"] == "Østfold fylkeskommune"
    assert meta["doc_type"] == "strategi"
    assert metadata.resolve(doc(), "Råde/samlinger/a.md")["doc_type"] == "samlingsnotat"
    assert metadata.resolve(doc(), "Råde/erfaringer/a.md")["doc_type"] == "erfaring"
    assert metadata.resolve(doc(), "Råde/diverse/a.md")["doc_type"] == "annet"
    assert metadata.resolve(doc(), "Nettverket/samlinger/a.md")["municipality"] == "Læringsnettverket"


def test_properties_then_text_then_file_name() -> None:
    with_props = metadata.resolve(
        doc(heading="Første overskrift", properties={"title": "Egenskap", "date": "2023-01-02"}), "A/b/c.md"
    )
    assert (with_props["title"], with_props["date"]) == ("Egenskap", "2023-01-02")
    from_text = metadata.resolve(doc(heading="Første overskrift"), "A/samlinger/2024-03-07-samling-om-ledelse.md")
    assert (from_text["title"], from_text["date"]) == ("Første overskrift", "2024-03-07")
    from_name = metadata.resolve(doc(), "A/b/2024-03-07-samling-om-ledelse.md")
    assert from_name["title"] == "Samling om ledelse"


def test_period_in_name_gives_period_and_date() -> None:
    meta = metadata.resolve(doc(heading="Kompetansestrategi"), "Sarpsborg/strategier/kompetansestrategi-2024-2027.md")
    assert meta["period"] == "2024–2027"
    assert meta["date"] == "2024-01-01"


def test_themes_are_inferred_when_not_given() -> None:
    text = "Vi rekrutterer sykepleiere. Rekrutteringen gikk bra. Lærlinger fikk fagbrev."
    assert metadata.infer_themes(text)[:2] == ["rekruttering", "lærlinger"]


def test_a_type_folder_says_what_a_file_is_not_whose_it_is() -> None:
    # `kb ingest corpus/Sarpsborg` gives sources such as «strategier/plan.md»
    text = "Sarpsborg kommune har 5 000 ansatte. I Sarpsborg satser vi på heltid."
    meta = metadata.resolve(doc(text, heading="Plan"), "strategier/plan.md")
    assert (meta["municipality"], meta["doc_type"]) == ("Sarpsborg", "strategi")
    assert metadata.resolve(doc("Ingen navn her.", heading="Plan"), "samlinger/a.md")["municipality"] == ""
    assert metadata.resolve(doc(), "Moss/2024/erfaringer/a.md")["doc_type"] == "erfaring"


def test_a_flat_file_is_filed_under_the_municipality_its_text_is_about() -> None:
    own = (
        "Kompetanseplan for Indre Østfold kommune. Vi lærte av Moss kommune. Indre Østfold kommunes mål er "
        "heltid. I Indre Østfold har vi 3 000 ansatte."
    )
    assert metadata.resolve(doc(own), "plan.md")["municipality"] == "Indre Østfold"
    county = "Gjenopprettingen av Østfold fylkeskommune. Kompetanseforum Østfold, Østfold, Østfold og Moss kommune."
    assert metadata.named_in_text("Digisprint i Østfold fylkeskommune", county) == "Østfold fylkeskommune"
    # «Hos»/«Hver» stand before «kommune» without being a name
    assert metadata.named_in_text("", "Hos Aurskog-Høland kommune. Hver kommune. Aurskog-Høland") == "Aurskog-Høland"


def test_a_text_naming_several_municipalities_belongs_to_the_network() -> None:
    note = "Sted: Sarpsborg kommune. Halden kommune delte. Råde kommune delte. Sarpsborg kommune delte."
    assert metadata.named_in_text("Samling om heltid", note) == metadata.NETWORK
    assert metadata.named_in_text("Notat", "Sarpsborg kommune og Halden kommune.") == ""  # neither stands out
    assert metadata.named_in_text("Notat", "Vi besøkte Halden kommune.") == ""  # once is not enough


def test_an_internal_file_is_never_filed_by_what_its_text_mentions() -> None:
    text = "Halden kommune, Halden kommune, Halden kommune."
    internal = SourceDocument(sections=(Section(text=text),), front_matter={"tilgang": "intern"})
    assert metadata.resolve(internal, "notat.md")["municipality"] == ""
    assert metadata.resolve(internal, "Råde/notat.md")["municipality"] == "Råde"  # its folder still owns it
    assert metadata.resolve(internal, "nye/notat.md")["municipality"] == "nye"
    assert metadata.resolve(doc(text), "notat.md")["municipality"] == "Halden"


def test_a_flat_file_takes_its_type_from_its_title() -> None:
    assert metadata.resolve(doc(heading="Kompetanseplan 2024–2027"), "a.md")["doc_type"] == "strategi"
    assert metadata.resolve(doc(heading="Samling om kompetansestrategien"), "a.md")["doc_type"] == "samlingsnotat"
    assert metadata.resolve(doc(), "referat-fra-nettverket.md")["doc_type"] == "samlingsnotat"
    assert metadata.resolve(doc(heading="Planlegging av turnus"), "a.md")["doc_type"] == "annet"
    assert metadata.resolve(doc(heading="Kompetanseplan"), "Råde/diverse/a.md")["doc_type"] == "strategi"


def test_a_top_folder_not_written_as_a_name_is_a_filing_place_not_an_owner() -> None:
    text = "Kompetanseplan for Moss kommune. I Moss har vi 2 500 ansatte."
    for folder in ("nye", "2024", "import", "Mottatt 2025"):
        assert metadata.resolve(doc(text), f"{folder}/plan.md")["municipality"] == "Moss", folder
    assert metadata.resolve(doc(text), "moss/plan.md")["municipality"] == "Moss"  # the name as the text writes it
    # a capitalised folder is the owner, even when the text names another municipality more
    assert metadata.resolve(doc(text), "Råde/plan.md")["municipality"] == "Råde"
    assert (
        metadata.resolve(doc("Vi i Halden kommune lærte av Moss kommune og Moss kommune."), "Halden/a.md")[
            "municipality"
        ]
        == "Halden"
    )
    assert metadata.resolve(doc("Ingen navn."), "nye/a.md")["municipality"] == "nye"
    assert metadata.resolve(doc(text), "Nettverket/a.md")["municipality"] == metadata.NETWORK
