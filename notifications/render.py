"""Rendering: a template name and a context in, text out. Pure (no sending, no clock).

One Jinja2 Environment for the whole application: autoescape on for HTML, and
StrictUndefined so that a missing value is an error, never an empty string in a document.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html", "xml"), default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["states"] = lambda states: ", ".join(s["name"] for s in states)
    env.filters["longdate"] = long_date
    env.filters["days"] = days
    return env


_MONTHS = {
    "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"],
    "fr": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
           "novembre", "décembre"],
    "es": ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
           "noviembre", "diciembre"],
}


def long_date(value: date | str, language: str) -> str:
    """A date as a letter writes it: 1 August 2018, 1er août 2018, 1 de agosto de 2018."""
    d = date.fromisoformat(value) if isinstance(value, str) else value
    month = _MONTHS[language][d.month - 1]
    if language == "fr":
        return f"{'1er' if d.day == 1 else d.day} {month} {d.year}"
    if language == "es":
        return f"{d.day} de {month} de {d.year}"
    return f"{d.day} {month} {d.year}"


def days(n: int, language: str) -> str:
    """A number of days with its noun agreeing: 1 day, 2 days; 1 jour, 2 jours; 1 día, 2 días."""
    word = {"en": ("day", "days"), "fr": ("jour", "jours"), "es": ("día", "días")}[language]
    return f"{n} {word[0] if n in (0, 1) and language == 'fr' or n == 1 else word[1]}"


def state_forms(name: str, article: str, language: str) -> dict[str, str]:
    """A State's name as a sentence uses it, with its article: `state` ("le Bénin", "el Perú")
    and `of_state` ("du Bénin", "des Comores", "d'Haïti", "del Perú", "of the Netherlands")."""
    if language == "fr":
        state = f"{article}{name}" if article == "l'" else f"{article} {name}" if article else name
        if article == "le":
            of_state = f"du {name}"
        elif article == "les":
            of_state = f"des {name}"
        elif article:
            of_state = f"de {state}"
        else:
            of_state = f"d'{name}" if name[0].lower() in "aeiouyhéèêâîôû" else f"de {name}"
        return {"state": state, "of_state": of_state}
    if language == "es":
        state = f"{article} {name}" if article else name
        of_state = f"del {name}" if article == "el" else f"de {state}"
        return {"state": state, "of_state": of_state}
    state = f"{article} {name}" if article else name
    return {"state": state, "of_state": f"of {state}"}


def render(template: str, context: dict[str, Any]) -> str:
    return environment().get_template(template).render(**context)
