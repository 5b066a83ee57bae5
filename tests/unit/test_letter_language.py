"""How a letter writes dates, numbers of days and State names in its language."""

from __future__ import annotations

from datetime import date

import pytest

from notifications.render import days, long_date, state_forms
from services.reminders import state_names


@pytest.mark.parametrize(("language", "expected"), [
    ("en", "1 August 2018"), ("fr", "1er août 2018"), ("es", "1 de agosto de 2018")])
def test_a_date_is_written_out_in_the_letters_language(language, expected):
    assert long_date(date(2018, 8, 1), language) == expected
    assert long_date("2018-08-01", language) == expected


def test_only_the_first_of_the_month_is_an_ordinal_in_french():
    assert long_date(date(2018, 6, 30), "fr") == "30 juin 2018"


@pytest.mark.parametrize(("n", "language", "expected"), [
    (1, "en", "1 day"), (2, "en", "2 days"), (0, "en", "0 days"), (1, "fr", "1 jour"), (0, "fr", "0 jour"),
    (2558, "fr", "2558 jours"), (1, "es", "1 día"), (62, "es", "62 días")])
def test_the_noun_agrees_with_the_number_of_days(n, language, expected):
    assert days(n, language) == expected


@pytest.mark.parametrize(("name", "article", "language", "state", "of_state"), [
    ("Bénin", "le", "fr", "le Bénin", "du Bénin"),
    ("Comores", "les", "fr", "les Comores", "des Comores"),
    ("Suisse", "la", "fr", "la Suisse", "de la Suisse"),
    ("Andorre", "l'", "fr", "l'Andorre", "de l'Andorre"),
    ("Haïti", "", "fr", "Haïti", "d'Haïti"),
    ("Madagascar", "", "fr", "Madagascar", "de Madagascar"),
    ("Perú", "el", "es", "el Perú", "del Perú"),
    ("República Dominicana", "la", "es", "la República Dominicana", "de la República Dominicana"),
    ("España", "", "es", "España", "de España"),
    ("Netherlands", "the", "en", "the Netherlands", "of the Netherlands"),
    ("Croatia", "", "en", "Croatia", "of Croatia"),
])
def test_a_states_name_takes_its_article_and_preposition(name, article, language, state, of_state):
    assert state_forms(name, article, language) == {"state": state, "of_state": of_state}


def test_every_french_and_spanish_writing_state_has_its_name_in_that_language():
    import csv
    from pathlib import Path

    attributes = Path(__file__).resolve().parents[2] / "data" / "ccm-2018" / "state_attributes.csv"
    with attributes.open(encoding="utf-8") as f:
        writers = {(r["iso3"], r["language"]) for r in csv.DictReader(f) if r["language"] in ("fr", "es")}
    assert writers <= set(state_names())
