"""What a question asks, and the kinds of fact a sentence holds (kb.answer.question, kb.answer.facts)."""

from __future__ import annotations

import pytest

from ingest.roles import section_role
from kb.answer.facts import (
    about_year,
    asked_items,
    counts_of,
    dates,
    figure_elsewhere,
    figures,
    mentions_year,
    names,
    new_items,
    reports_change,
    sentence_role,
    states_day,
    unnamed,
    value_unit,
)
from kb.answer.question import (
    AMOUNT,
    COUNT,
    DATE,
    FIGURE,
    FREQUENCY,
    MEASURE,
    NAME,
    OVERVIEW,
    RESULT,
    SHARE,
    _stems,
    bokmål_wording,
    counts_in,
    is_comparison,
    plain_wording,
    question_parts,
    read_question,
    session_asked,
    stated_counts,
    what_is_asked_about,
    with_antecedent,
    without_result_words,
)
from kb.answer.sentences import is_action, sentence_spans
from kb.types import Hit


@pytest.mark.parametrize(
    ("question", "asks"),
    [
        ("Hvor mange lærlinger hadde Moss i 2022?", FIGURE),
        ("Hva koster lederkurset per deltaker?", FIGURE),
        ("Hvor stor andel av de ansatte jobber heltid?", FIGURE),
        ("kor mange tilsette har fått fagbrev?", FIGURE),  # nynorsk
        ("Når startet introduksjonsprogrammet?", DATE),
        ("Kva tid var samlinga om rekruttering?", DATE),
        ("Hvor lenge varer fadderordningen?", DATE),
        ("Hvilket år ble strategien vedtatt?", DATE),
        ("Hvilken plattform brukes til e-læring?", NAME),
        ("Hva heter mentorprogrammet?", NAME),
        ("Kven leiar nettverket?", NAME),
        ("Hva ble resultatet av prosjektet?", RESULT),
        ("Virket langvakter?", RESULT),
        ("Hvordan fikk de flere til å bli værende?", MEASURE),
        ("korleis har medlemene løfta den digitale kompetansen?", MEASURE),
        ("Hvilke tiltak har kommunen for seniorer?", MEASURE),
        ("Hva gjør dere når en ansatt slutter?", MEASURE),  # «når» inside the question is no date question
        ("Hva vet nettverket om seniorpolitikk?", OVERVIEW),
        # other ways to ask how it was done, and what came of it (bokmål and nynorsk)
        ("På hvilken måte har kommunen rekruttert sykepleiere?", MEASURE),  # a manner, not a name
        ("Kva tiltak har kommunen sett i verk for lærlingane?", MEASURE),  # nynorsk «kva» + noun: «which»
        ("Korleis gjekk det med årsturnusen?", RESULT),  # as «Hvordan gikk det med …?»
        ("Hva har kommunen fått ut av langvaktene?", RESULT),
        ("Har det hjulpet å innføre årsturnus?", RESULT),
        ("Ga kompetansekartleggingen noe resultat?", RESULT),
        ("Hva er gjort for å rekruttere lærere?", MEASURE),  # passive: what was done
        ("Kva vart gjort for seniorane?", MEASURE),
        ("heltid Sarpsborg tiltak", MEASURE),  # a search-box query asks what its noun names
        ("lærlinger Rakkestad resultater", RESULT),
        ("Hva vet nettverket om tiltak mot sykefravær?", OVERVIEW),  # a question word says what is asked
        ("Kan nettverket vedta felles tiltak?", OVERVIEW),  # and so does a question mark
        # a search-box query asks what its quantity or time noun names
        ("HR-vakt Halden antall henvendelser 2024", FIGURE),
        ("lederprogram Moss pris per deltaker", FIGURE),
        ("søknadsfrist lærlingplass Våler", OVERVIEW),  # a compound names a topic, not the asked time
        ("fagprøve Hvaler frist", DATE),
        ("Hva vet nettverket om lønn?", OVERVIEW),  # a topic that figures often describe is still a topic
    ],
)
def test_the_asked_type_comes_from_the_question_words(question: str, asks: str) -> None:
    assert read_question(question).asks == asks


def test_in_what_way_is_read_as_how() -> None:
    assert (
        plain_wording("På hvilken måte har Råde rekruttert sykepleiere?") == "Hvordan har Råde rekruttert sykepleiere?"
    )
    assert plain_wording("kan du si på kva måte dei gjorde det?") == "kan du si korleis dei gjorde det?"
    assert plain_wording("Hvilken måte er best?") == "Hvilken måte er best?"  # no «på»: left as asked


@pytest.mark.parametrize(
    ("question", "parts"),
    [
        (
            "Når startet piloten, og hvor mange var med på den første samlingen?",
            ("Når startet piloten", "hvor mange var med på den første samlingen?"),
        ),
        ("Kva er «Leder i liten kommune», og kven er med?", ("Kva er «Leder i liten kommune»", "kven er med?")),
        (
            "Sarpsborg tok imot flyktninger. Hvor mange fikk jobb?",
            ("Sarpsborg tok imot flyktninger. Hvor mange fikk jobb?",),
        ),
        ("Bemanningssenteret i Halden, hvor mange årsverk?", ("Bemanningssenteret i Halden, hvor mange årsverk?",)),
        ("Har noen klart det? Hva gjorde de?", ("Har noen klart det? Hva gjorde de?",)),  # a lead-in
        ("Hvordan gjorde de det, og hva ble effekten?", ("Hvordan gjorde de det, og hva ble effekten?",)),  # one story
        ("Hvem har kuttet innleien, og hvor mye sparte de?", ("Hvem har kuttet innleien, og hvor mye sparte de?",)),
        ("Hva gjør dere når en ansatt slutter?", ("Hva gjør dere når en ansatt slutter?",)),
        (  # a second question in a sentence of its own, without a question word
            "Hvor mange fra kommunen vår kan være med på samlingene? Går det an å ta med en tillitsvalgt?",
            ("Hvor mange fra kommunen vår kan være med på samlingene", "Går det an å ta med en tillitsvalgt?"),
        ),
        ("Hvordan gjorde Halden det? Vi sliter med turnover.", ("Hvordan gjorde Halden det? Vi sliter med turnover.",)),
    ],
)
def test_a_question_is_cut_where_it_asks_something_else(question: str, parts: tuple[str, ...]) -> None:
    assert question_parts(question) == parts


@pytest.mark.parametrize(
    ("question", "contact"),
    [
        ("Hvem kan jeg kontakte om heltid i Halden?", True),
        ("Kven er kontaktperson for lærlingane i Hvaler?", True),
        ("Hvem kan vi snakke med om langvakter?", True),
        ("hvem kontakter jeg for å bli med i nettverket?", True),  # evalsets/nye-kommuner nye-15
        ("Kven ringjer eg for å få vite meir om lærlingane?", True),
        ("Hvor raskt skal lederen ta kontakt når noen blir sykmeldt?", False),  # how one gets in touch
        ("Hva forventes av meg som kontaktperson i nettverket?", False),  # what a contact person does
    ],
)
def test_a_question_asking_whom_to_contact_is_told_from_one_about_contact(question: str, contact: bool) -> None:
    assert read_question(question).contact == contact


def test_years_and_comparison_are_read() -> None:
    question = read_question("Hvor mange lærlinger hadde kommunene i 2021 og 2023?")
    assert question.years == ("2021", "2023")
    assert question.comparison and question.typed


@pytest.mark.parametrize(
    ("question", "unit"),
    [
        ("Hvor mange lærlinger fikk tilskudd i 2024?", COUNT),  # a money word later does not make it an amount
        ("Hvor mange Grammy-priser har bandet fått?", COUNT),  # a prize, not a price
        ("Hvor mange kroner fikk hver lærling i tilskudd?", AMOUNT),
        ("Hva koster lederprogrammet?", AMOUNT),
        ("Hvor stor andel av lærlingene besto?", SHARE),
        ("HR-vakt Halden antall henvendelser 2024", COUNT),
    ],
)
def test_the_unit_of_a_figure_follows_what_is_counted(question: str, unit: str) -> None:
    assert read_question(question).unit == unit


@pytest.mark.parametrize(
    ("question", "counted"),
    [
        ("Hvor mange lærlinger fikk jobb?", "lærlinger"),
        ("Hvor mange ansatte sluttet i 2022?", "ansatte"),
        ("Hvor mange sluttet det første året?", "sluttet"),  # a verb: counted where a sentence uses it
        ("Hvor mange gikk av med pensjon i fjor?", ""),  # a strong verb: any figure
        ("Hvor mange deltok på samlingen om seniorpolitikk?", "deltok"),  # del+tok: the verb «delta»
    ],
)
def test_a_count_counts_the_noun_after_hvor_mange_or_who_did_what_the_verb_says(question: str, counted: str) -> None:
    assert read_question(question).counted == counted


def test_a_counted_verb_is_answered_by_the_figures_of_a_sentence_that_uses_it() -> None:
    # evalsets/nye-kommuner, asked as a new user: «Hvor mange sluttet det første året etter at Ny i Våler kom?»
    valer = "Andelen nyansatte som slutter det første året, har gått ned fra 24 prosent i 2022 til 11 prosent i 2024."
    assert counts_of(valer, "sluttet") == ("24", "11")
    assert counts_of(valer, "søkte") == ()
    assert counts_of("34 prosent av utlysningene fikk ingen søkere.", "søkte") == ("34",)
    assert counts_of("De 12 lærlingane slutta ikkje.", "sluttet") == ("12",)


def test_a_compound_strong_verb_is_answered_by_a_sentence_that_uses_the_verb_or_names_who_did() -> None:
    # «Hvor mange deltok på samlingen om seniorpolitikk?» was answered «I 2024 ble det gjennomført 212
    # seniorsamtaler.»: any figure of the note counted. «deltok» is «delta» in the past, as «overtok», «gjennomgikk».
    assert counts_of("Samlingen samlet 8 deltakere fra 6 kommuner.", "deltok") == ("8", "6")
    assert counts_of("Hele 48 ansatte deltok i piloten.", "deltok") == ("48",)
    assert counts_of("I 2024 ble det gjennomført 212 seniorsamtaler.", "deltok") == ()
    assert counts_of("Sarpsborg delte at 60 seniorer går ned i stilling.", "deltok") == ()  # «delte» is «dele»
    assert counts_of("12 ledere har gjennomgått kurset.", "gjennomgikk") == ("12",)
    # «deltok» is «var med»: a count after «med» tells how many took part
    pilot = "Vi startet en pilot med langvakter på to avdelinger med til sammen 48 ansatte."
    assert counts_of(pilot, "deltok") == ("48",)
    assert counts_of(pilot, "sluttet") == ()


def test_a_century_or_decade_is_no_year_the_answer_must_name() -> None:
    assert read_question("Hvor mange bodde i leiegård på begynnelsen av 1900-tallet?").years == ()
    assert read_question("Hvor mange lærlinger var det i 2024?").years == ("2024",)


def test_fractions_and_round_counts_in_words_are_figures() -> None:
    assert new_items(FIGURE, "Minst to tredeler av befolkningen bodde i leiegård.", "Hvor stor andel?", SHARE)
    assert new_items(FIGURE, "Bilen vil koste godt over én million kroner.", "Hvilken pris får bilen?", AMOUNT)
    assert "tredvetalls" in figures("Over et tredvetalls journalister har kommet til Oslo.")


def test_figures_after_antall_and_the_noun_count_it() -> None:
    # evalsets/nye-kommuner nye-30: «hvor mange sykepleierstillinger sto ubesatt før og etter …?»
    moss = "Ved utgangen av 2024 var antall ubesatte sykepleierstillinger redusert fra 34 til 11."
    assert counts_of(moss, "sykepleierstillinger") == ("34", "11")
    assert counts_of("Antallet lærlinger i kommunen økte til 11.", "lærlinger") == ("11",)
    # «antall» about another noun counts nothing of this one
    assert counts_of("Antall ansatte økte fra 480 til 500.", "lærlinger") == ()
    assert counts_of("Antall ansatte er 500, og 11 lærlinger har kontrakt.", "lærlinger") == ("11",)
    # a share of the noun tells how many of them («hvor mange nyansatte sluttet?»), a share of another does not
    valer = "I 2022 sluttet 24 prosent av de nyansatte i Våler kommune i løpet av det første året."
    assert counts_of(valer, "nyansatte") == ("24 prosent",)
    assert counts_of("Halvparten av lærlingene fikk jobb.", "lærlinger") == ("Halvparten",)
    assert counts_of("24 prosent av de ansatte jobber deltid.", "nyansatte") == ()
    # a nynorsk text counts a bokmål question's noun in its own spelling
    assert counts_of("Hvaler er ein øykommune med om lag 4 900 innbyggjarar.", "innbyggere") == ("4 900",)


def test_figures_dates_and_names_are_read_from_the_form_of_the_text() -> None:
    text = "Fra januar 2024 varte «Trygg start» i åtte uker, og 12 500 kroner gikk til 14 fadderne i Moss kommune."
    assert {"åtte", "12 500", "14"} <= set(figures(text))
    assert "2024" not in figures(text)  # a year is a date, not a figure
    assert {"2024", "januar 2024", "åtte uker"} <= set(dates(text))
    assert {"Trygg start", "Moss"} <= set(names(text))


def test_an_item_the_question_already_says_does_not_answer_it() -> None:
    assert new_items(FIGURE, "Antallet lærlinger økte fra 6 til 11.", "Hvor mange lærlinger?") == ("6", "11")
    assert new_items(NAME, "Vi startet «Trygg start» i fjor.", "Hva er Trygg start?") == ()
    assert new_items(DATE, "Strategien gjelder fra 2021.", "Hva sier strategien fra 2021?") == ()
    assert mentions_year("Planen for 2021–2024 ble vedtatt.", ("2021",))
    assert not mentions_year("Tallet for 2020 var 12.", ("2021",))


def test_a_sentence_that_names_a_year_is_about_that_year_not_its_documents() -> None:
    title = "Kompetanseplan for Halden kommune 2024–2027"
    assert not about_year("Sykefraværet i Halden var 11,4 prosent i 2023.", title, ("2024",))
    assert about_year("Sykefraværet i Halden var 11,4 prosent i 2023.", title, ("2023",))
    assert about_year("Sykefraværet skal ned til 8 prosent.", title, ("2024",))  # no year of its own: the plan's
    assert about_year("Hva som helst.", "", ())  # no year asked


def test_what_a_what_is_question_asks_the_value_of() -> None:
    assert what_is_asked_about("Hva var det samlede sykefraværet i Halden kommune i 2024?") == ("sykefraværet",)
    assert what_is_asked_about("Kva er heiltidsdelen i Halden?") == ("heiltidsdelen",)
    assert what_is_asked_about("Hva ble vist på samlingen?") == ()  # no noun: a verb's participle
    assert what_is_asked_about("Hvor mange lærlinger har Halden?") == ()  # not a «hva er/var» question


def test_the_value_a_word_is_written_with_is_read_from_the_rest_of_its_sentence() -> None:
    assert value_unit(" var 10,2 prosent i 2023, og høyest i barnehagene.") == SHARE
    assert value_unit(" falt fra 4,1 millioner kroner til 1,6 millioner kroner.") == AMOUNT
    assert value_unit(" følges opp etter IA-avtalen. I 2023 var det 12 prosent.") == ""  # the next sentence's
    assert value_unit(" skal ned, og 11 ansatte deltok.") == ""  # a count is no share or amount


def test_a_price_is_read_in_the_forms_norwegian_price_lists_write_it() -> None:
    asked = read_question("Hva koster lederprogrammet?")
    for told in (
        "Lederprogrammet koster kr 25 000 per deltaker.",
        "Prisen er 25 000,- per deltaker.",  # «,-»: whole kroner
        "Egenandelen er 25.000 kroner.",
        "Kursavgiften er 2,5 mill. kr.",
    ):
        assert asked_items(asked, told), told
    assert value_unit(" er 4 500,- per person.") == AMOUNT
    assert not asked_items(asked, "Programmet har 25 deltakere.")  # a count is no price


@pytest.mark.parametrize(
    ("heading", "role"),
    [
        ("Utfordringen", "background"),
        ("Bakgrunn og formål", "background"),
        ("Hva vi gjorde", "measure"),
        ("Tiltak", "measure"),
        ("Resultater", "result"),
        ("Effekt og evaluering", "result"),
        ("Dette lærte vi", "lesson"),
        ("Råd til andre kommuner", "lesson"),
        ("Mål for 2024–2026", "goal"),
        ("Lærlinger og fagbrev", ""),
        ("", ""),
        # the same steps as other reports word them: a question, another tense, nynorsk
        ("Hva gjorde vi?", "measure"),
        ("Kva gjorde vi?", "measure"),
        ("Dette har vi gjort", "measure"),
        ("Hva ble gjort?", "measure"),
        ("Gjennomført", "measure"),
        ("Aktiviteter", "measure"),
        ("Hva har vi oppnådd?", "result"),
        ("Dette fikk vi til", "result"),
        ("Kva fekk vi til?", "result"),
        ("Hva har det gitt?", "result"),
        ("Hva har vi lært?", "lesson"),
        ("Kva har vi lært?", "lesson"),
        ("Læringspunkter", "lesson"),
        ("Dette ville vi gjort annerledes", "lesson"),
        ("Suksesskriterier", "lesson"),
        ("Veien videre", "lesson"),
        # a compound that starts with «læring» names a thing, not what was learnt
        ("Hva vil vi oppnå?", "goal"),  # what is to be achieved is a goal, what was achieved a result
        ("Tilbud gitt til alle ansatte", ""),
        ("Hva er læringsnettverket?", ""),
        ("Læringsplattform", ""),
    ],
)
def test_a_sections_role_comes_from_its_heading(heading: str, role: str) -> None:
    assert section_role(heading) == role


def test_a_sentence_without_a_telling_heading_gets_its_role_from_its_wording() -> None:
    assert sentence_role("Heltidsandelen økte fra 38 til 52 prosent.", "") == "result"
    assert sentence_role("Heltidsandelen økte fra 38 til 52 prosent.", "Dette lærte vi") == "result"
    assert sentence_role("Heltidsandelen skal økes fra 38 til 52 prosent.", "Mål") == "goal"  # a goal, not a result
    assert sentence_role("Vi innførte en ressursbank.", "") == "measure"
    assert sentence_role("Det var krevende å få tak i vikarer.", "") == ""
    assert sentence_role("Det var krevende å få tak i vikarer.", "Utfordringen") == "background"


@pytest.mark.parametrize(
    ("question", "itself"),
    [
        ("Når var samlingen om lærlinger?", True),
        ("Når ble heltidssamlingen holdt?", True),
        ("Kva tid var samlinga om seniorpolitikk?", True),
        ("Når var den siste samlingen?", True),
        ("Når er neste samling?", False),  # the newest note tells the next one's date, not its own
        ("Når er fristen for tiltakene etter samlingen om lærlinger?", False),  # another time the note gives
    ],
)
def test_a_question_can_ask_when_the_session_itself_was(question: str, itself: bool) -> None:
    asked = session_asked(question)
    assert asked is not None and asked.itself == itself


def test_a_later_part_asks_of_the_session_the_question_named() -> None:
    # «Hvor var samlingen om lærlinger, og når var den?»: «den» is the session; its part asks when it was.
    question = "Hvor var samlingen om lærlinger, og når var den?"
    assert question_parts(question) == ("Hvor var samlingen om lærlinger", "når var den?")
    assert with_antecedent("når var den?", "samlingen") == "når var samlingen?"
    assert with_antecedent("hvor mange var med?", "samlingen") == "hvor mange var med?"  # no pronoun subject
    first, second = (session_asked(question, part) for part in question_parts(question))
    assert first is not None and first.where and not first.itself
    assert second is not None and second.itself and not second.where and second.theme == first.theme
    assert session_asked("Når var samlingen om lærlinger, og hvor mange deltok?", "hvor mange deltok?").itself is False


@pytest.mark.parametrize(
    ("question", "where"),
    [
        ("Hvor var samlingen om lærlinger?", True),
        ("Kvar vart samlinga om seniorpolitikk halden?", True),
        ("Hvor var den siste samlingen?", True),
        ("Hvor er neste samling?", False),  # the newest note tells the next one's place in a sentence of its own
    ],
)
def test_a_question_can_ask_where_the_session_itself_was(question: str, where: bool) -> None:
    asked = session_asked(question)
    assert asked is not None and asked.where == where
    assert read_question(question).asks == NAME  # a place is a name
    assert read_question("Hvor ligger Halden?").asks == OVERVIEW  # only a session's place is read so


def test_a_sentence_states_a_day_in_words_or_digits() -> None:
    assert states_day("Dato: 13. juni 2024, kl. 09.00–13.30", "2024-06-13")
    assert states_day("Møtet var 13.06.2024 i Halden.", "2024-06-13")
    assert not states_day("Frist: 01.09.2024.", "2024-06-13")
    assert not states_day("Dato: 3. juni 2024", "2024-06-13")  # another day of the month


@pytest.mark.parametrize(
    ("question", "agreed"),
    [
        ("Hva ble avtalt etter heltidssamlingen i januar 2024?", True),
        ("Kva vart avtalt på samlinga om sjukefråvær?", True),
        ("Hva ble vi enige om på forrige samling?", True),
        ("Hvilke tiltak ble avtalt på samlingen om digital kompetanse?", True),
        ("Hvor mange av tiltakene vi avtalte i 2024 ble gjennomført?", False),  # a figure about the actions
        ("Når er fristen for tiltakene som ble avtalt?", False),  # a date
        ("Hva sa Halden om sykefravær på samlingen?", False),
    ],
)
def test_a_question_can_ask_what_was_agreed(question: str, agreed: bool) -> None:
    assert read_question(question).agreed == agreed


def test_an_action_is_a_list_item_or_row_with_a_deadline_or_under_a_heading_of_actions() -> None:
    def spans(text: str) -> list[str]:
        hit = Hit(id="a", text=text, source="s.md", score=1.0, metadata={})
        return [s.display for s in sentence_spans(hit) if is_action(s)]

    table = (
        "## Oppfølging og tiltak\n\n| Tiltak | Ansvar | Frist |\n|---|---|---|\n| Dele malen | Rådgiver | 15.10.2025 |"
    )
    assert spans(table) == ["Dele malen – Rådgiver – 15.10.2025"]
    agreed = "## Avtaler\n\n- Hvaler og Våler deler evalueringen på en senere samling.\n"
    assert spans(agreed) == ["Hvaler og Våler deler evalueringen på en senere samling."]
    dated = "## Innspill\n\n- Dele rollebeskrivelsen i Digiløftet. Ansvar: rådgiver i Sarpsborg. Frist: 15.12.2024.\n"
    assert len(spans(dated)) == 1
    said = "## Innspill\n\n- Halden bruker HR-vakten til å støtte ledere.\n\nVi ble enige om å møtes igjen."
    assert spans(said) == []  # an item under another heading without a deadline, and running text


def test_a_byline_is_a_role_and_a_municipality_not_a_sentence_that_ends_in_one() -> None:
    # evalsets/nye-kommuner nye-15: «Nye medlemmer tar kontakt med nettverkskoordinatoren, som for 2025 og 2026 er
    # HR-sjefen i Våler kommune.» was read as a byline, which only a question about whom to contact may quote, and so
    # was left out of the answer to «hvem kontakter jeg for å bli med i nettverket?».
    def contact(text: str) -> bool:
        (span,) = sentence_spans(Hit(id="a", text=text, source="s.md", score=1.0, metadata={}))
        return span.contact

    assert contact("HR-rådgiver for heltidskultur, Halden kommune.")
    assert contact("Seniorrådgiver HR, Østfold fylkeskommune.")
    assert contact("Rådgiver for rekruttering, Indre Østfold kommune.")
    assert not contact(
        "Nye medlemmer tar kontakt med nettverkskoordinatoren, som for 2025 og 2026 er HR-sjefen i Våler kommune."
    )


def test_how_often_asks_a_frequency_and_is_answered_by_one() -> None:
    # «Hvor ofte møtes nettverket?» was an overview: the welcome letter's general sentences came before
    # «Nettverket har 4–5 fysiske samlinger i året».
    for question in ("Hvor ofte møtes nettverket?", "Kor ofte møtest nettverket?", "Hvor ofte arrangeres OL?"):
        asked = read_question(question)
        assert (asked.asks, asked.unit) == (DATE, FREQUENCY)
    asked = read_question("Hvor ofte møtes nettverket?")
    assert asked_items(asked, "Nettverket har 4–5 fysiske samlinger i året.") == ("4–5 fysiske samlinger i året",)
    assert asked_items(asked, "Veiledning én gang i måneden, annenhver uke.") == ("én gang i måneden", "annenhver uke")
    assert asked_items(asked, "OL arrangeres hvert fjerde år.") == ("hvert fjerde år",)
    assert asked_items(asked, "Planen rulleres årlig.") == ("årlig",)
    nynorsk = "Nettverket møtest ein gong i månaden og kvar veke i mai."
    assert asked_items(asked, nynorsk) == ("ein gong i månaden", "kvar veke")
    # a span of time, a date or an article before «i året» is no frequency
    for sentence in ("Samlingen varte i fire timer.", "Vi startet i mars 2024.", "Det var en god dag i året som gikk."):
        assert asked_items(asked, sentence) == ()


def test_asking_to_be_a_member_is_no_comparison_in_the_infinitive_either() -> None:
    # «Kan alle kommuner i Østfold være med i nettverket, og koster det noe?» was answered one section per
    # municipality (Hvaler's bus passes, Våler's population): «kommuner» read as a comparison.
    assert not is_comparison("Kan alle kommuner i Østfold være med i nettverket, og koster det noe?")
    assert not is_comparison("Kan andre kommuner bli medlem i nettverket?")
    assert not is_comparison("Kan kommunane vere med i nettverket?")
    assert is_comparison("Hvordan har kommunene jobbet med heltid?")


def test_the_words_that_ask_for_a_result_are_not_what_it_is_about() -> None:
    # «hvilke kommuner har brukt Fagbrev på jobb, og hvordan gikk det?» took «Sykefraværet i barnehagene gikk ned …»
    # as a result of what was asked: it says «gikk».
    assert without_result_words("hvordan gikk det med Fagbrev på jobb?").split() == [
        "hvordan",
        "med",
        "Fagbrev",
        "på",
        "jobb?",
    ]
    assert "hospiteringen" in without_result_words("hva kom ut av hospiteringen?")
    assert "resultatet" not in without_result_words("Hva ble resultatet av «Tett på»?")


def test_what_something_showed_asks_a_result() -> None:
    # «Hva viste den nye kompetansekartleggingen … høsten 2025?» was an overview and got the plan to repeat it
    assert read_question("Hva viste den nye kompetansekartleggingen i Fredrikstad høsten 2025?").asks == RESULT
    assert read_question("Kva viste undersøkinga?").asks == RESULT
    assert read_question("Hva viste seg å være vanskeligst?").asks == RESULT


def test_how_much_something_changed_is_answered_by_a_change_not_a_level() -> None:
    # «hvor mye gikk avgangen blant nytilsatte ned …?» opened with «I 2022 sluttet 24 prosent …», a level; the
    # answer «har gått ned fra 24 prosent i 2022 til 11 prosent i 2024» was the sixteenth likeliest sentence.
    asked = read_question("hvor mye gikk avgangen blant nytilsatte ned etter introduksjonsprogrammet?")
    assert (asked.asks, asked.change) == (FIGURE, True)
    level = "I 2022 sluttet 24 prosent av de nyansatte i løpet av det første året."
    change = "Andelen som slutter, har gått ned fra 24 prosent i 2022 til 11 prosent i 2024."
    assert asked_items(asked, level) == () and asked_items(asked, change) == ("24", "11")
    assert reports_change("Aksjen har falt 77 prosent på tre år.")
    assert not reports_change("Avgangen har gått ned.")  # no figure, no answer to «hvor mye»
    for question in ("Kor mykje auka heiltidsdelen?", "Hvor mye har aksjen falt de siste tre årene?"):
        assert read_question(question).change
    assert not read_question("Hvor mye var sykefraværet i 2023?").change  # a level question
    # the perfect tense reports a change to a change question, but gives no result role («økt kompetanse»)
    assert sentence_role("Andelen har økt til 52 prosent med økt kompetanse.", "") != "result"


def test_a_name_question_is_not_answered_by_a_sentence_that_names_the_thing_without_its_name() -> None:
    # «Hva heter det regionale lederutviklingsprogrammet …?» was answered «Ledere deltar i et regionalt
    # lederutviklingsprogram sammen med andre kommuner i indre Østfold …»: it exists, its name is not given.
    question = "Hva heter det regionale lederutviklingsprogrammet som lederne i Rakkestad deltar i?"
    asked = read_question(question)
    assert (asked.asks, asked.name_of) == (NAME, "lederutviklingsprogrammet")
    lowercase = frozenset({"ledere", "programmet"})
    told = "Ledere deltar i et regionalt lederutviklingsprogram sammen med andre kommuner i indre Østfold."
    assert unnamed(told, asked.name_of, question, lowercase)
    named = "Ledere deltar i lederutviklingsprogrammet «Lede i Østfold» sammen med andre kommuner."
    assert not unnamed(named, asked.name_of, question, lowercase)
    # a name first in its sentence counts when the text read never writes it in lower case
    question = "Kva heiter programmet for norskopplæring på arbeidsplassen i Rakkestad?"
    asked = read_question(question)
    assert asked.name_of == "programmet"
    assert not unnamed("Språkstigen er kommunens program for norskopplæring.", asked.name_of, question, lowercase)
    assert unnamed("Programmet gjennomføres i arbeidstiden.", asked.name_of, question, lowercase)
    # a name the question already says is no answer; a sentence that never speaks of the noun is left to the
    # selector («turnusmodulen i Gat» answers «Hvilket system …?»)
    question = "Hva heter nettverkskoordinatoren i Kompetanseforum Østfold?"
    asked = read_question(question)
    coordinator = "Nettverkskoordinatoren i Kompetanseforum Østfold har ansvar for samlingene."
    assert unnamed(coordinator, asked.name_of, question)
    asked = read_question("Hvilket system bruker Rakkestad til årsturnusen?")
    assert asked.name_of == "system"
    assert not unnamed("Turnusen ble laget i turnusmodulen i Gat.", asked.name_of, asked.text)
    assert read_question("Hvem leder arbeidsutvalget?").name_of == ""
    # what names a thing without a capital (NorQuAD questions the first version of the rule refused)
    asked = read_question("Hvilken samtale gruer noen elever seg til?")
    assert asked.name_of == "samtale"
    assert not unnamed("De gruer seg til utviklingssamtalen.", asked.name_of, asked.text)  # a kind of it
    assert not unnamed("Studiet av ordspråk kalles parømiologi.", "studiet", "Hva heter studiet av ordspråk?")
    assert not unnamed("Europavei 6 går gjennom byen.", "europavei", "Hvilken europavei går gjennom Mosjøen?")
    # «Hva kalles en …?» asks for a term; no definite noun, so the rule stays out of it («Fedme er en …»)
    assert read_question("Hva kalles en medisinsk tilstand der kroppsfett har samlet seg?").name_of == ""


def test_the_size_of_a_thing_is_not_the_figure_of_the_next_member_of_its_list() -> None:
    # «Kor stort er rekrutteringstillegget for tannlegar …?» was answered by the amount of the student loan
    # repayment, the next member of the list the recruitment bonus stands in (evalsets/naer-bom, naer-37).
    asked = read_question("Kor stort er rekrutteringstillegget for tannlegar ved klinikkane utanfor byane?")
    assert (asked.asks, asked.measured) == (FIGURE, "rekrutteringstillegget")
    listed = (
        "For klinikkene utenfor byene tilbyr fylkeskommunen rekrutteringstillegg, nedbetaling av studielån med "
        "inntil 50 000 kroner per år i tre år og fleksible arbeidstidsordninger."
    )
    items = asked_items(asked, listed)
    assert "50 000" in items and figure_elsewhere(listed, asked.measured, items)
    told = "Rekrutteringstillegget er 50 000 kroner i året for tannleger ved klinikkene utenfor byene."
    assert not figure_elsewhere(told, asked.measured, asked_items(asked, told))
    # a noun that goes on in its part, or whose figure opens the next part, keeps the figure (NorQuAD)
    area = "Byene har øket Oslos areal fra å omfatte Kvadraturen i 1624, mindre enn en kvadratkilometer, til 454."
    assert not figure_elsewhere(area, "areal", ("454",))
    assert not figure_elsewhere("Han arvet formuen, 5 milliarder kroner, i 2010.", "formuen", ("5 milliarder kroner",))
    assert read_question("Hva koster kurset for nye ledere?").measured == "kurset"
    assert read_question("Hvor mange lærlinger har Halden?").measured == ""  # a count: facts.counts_of


@pytest.mark.parametrize(
    ("question", "counts"),
    [
        ("Hva heter de to turnusmodellene nyansatte kan velge mellom?", {2}),
        ("hvordan gikk det da Fredrikstad utvidet langvakter til fem nye avdelinger?", {5}),
        ("Kva gjorde dei med dei 12 deltakarane i 2024?", {12}),  # the year is a year, not a count
        ("Når la FN fram sin 5. klimarapport?", set()),  # an ordinal
        ("Hvor var det utforrenn 19. januar?", set()),  # a day
        ("Hvem skal NATO-sjefen møte to dager før 70-årsfeiringa?", set()),  # a span of time, a compound
        ("Hvilken stasjon kommer F-35 flyene fra?", set()),
        ("Når ble Kubuntu 6.10 gitt ut?", set()),  # a version
        ("Har noen kommuner over 40 prosent heltid?", set()),  # a value with its unit
        ("Hvilke kommuner har mål om lærlinger per 1000 innbyggere?", set()),  # a rate
        ("SFS 2213 fylkeskommunen seniorer", set()),  # a name's number
        ("Når ble The Sims 2 utgitt på andre plattformer?", set()),
        ("Hvorfor forlot Edgar von Wahl esperanto i 1894?", set()),  # a year before 1900 too
        ("Hvem ble nummer 11 i rennet i Sveits?", set()),  # a place in a row
        ("Når hadde bydelene rundt 235 000 innbyggere?", {235000}),  # one number, with its thousands
        ("Fem kommuner deltok. Hvem ledet?", {5}),  # a capitalised first word is no name
        ("Hva koster det for en deltaker?", set()),  # «en» is an article as often as a number
    ],
)
def test_the_counts_a_question_states_say_which_instance_it_asks_about(question: str, counts: set[int]) -> None:
    assert stated_counts(question) == counts
    assert read_question(question).counts == counts


def test_counts_in_reads_digits_and_number_words() -> None:
    assert counts_in("Nyansatte kan velge mellom to turnusmodeller, og 12 av dem valgte den første.") == {2, 12}
    assert 2 not in counts_in("Fredrikstad fortalte om «Sykepleierløftet 2023–2025».")
    assert counts_in("Målet er 2 lærlinger per 1 000 innbyggere.") == {2, 1000}


def test_a_name_is_the_same_joined_by_a_hyphen_or_a_dash() -> None:
    from kb.answer.score import _about

    sentence = "I 1766 ble Titius–Bodes lov formulert som et matematisk forsøk."
    assert _about(("Titius-Bodes lov",), sentence)  # asked with a hyphen, written with an en dash
    assert _about(("Titius–Bodes lov",), sentence.replace("–", "-"))
    assert not _about(("Titius-Bodes lov",), "I 1766 ble Bodes lov formulert.")  # another name is still another


def test_a_nynorsk_question_is_worded_in_the_stores_words() -> None:
    # The store writes bokmål, and one case in nynorsk («fleire lærlingar»).
    stored = "Nettverket møtes fire ganger i året. Flere lærlinger i Halden. Fleire lærlingar i Hvaler. Sykefraværet."
    idf = dict.fromkeys(_stems(stored), 1.0)
    assert bokmål_wording("Kor ofte møtest nettverket?", idf) == "Hvor ofte møtes nettverket?"
    assert bokmål_wording("Kva gjorde dei med sjukefråværet?", idf) == "Hva gjorde de med sykefraværet?"
    # a word the store holds stays as written: the nynorsk case is met in its own words
    assert bokmål_wording("Kva gjorde Hvaler for å få fleire lærlingar?", idf) == (
        "Hva gjorde Hvaler for å få fleire lærlingar?"
    )
    # a bokmål question is left as it is, words the store lacks too, and «kor» inside it is a choir
    assert bokmål_wording("Hvor ofte møtes nettverket egentlig?", idf) == "Hvor ofte møtes nettverket egentlig?"
    assert bokmål_wording("Hvem sang i fasadens kor?", idf) == "Hvem sang i fasadens kor?"
    assert bokmål_wording("Går det an? Kor mange kan vere med?", idf).endswith("Hvor mange kan være med?")
