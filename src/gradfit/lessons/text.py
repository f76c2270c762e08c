"""The lessons' narration, one JSON file per language (en.json, ko.json) beside this module.

Each file maps a lesson name (or "common") to its keys; a value is a string or a list
of lines, with ``str.format`` fields for numbers. Every language has the same keys
and the same fields, which the tests check. A lesson's "checks" entry translates the
descriptions of its agreement checks, and its "plot" entry the words it puts on its
plots (both written in English in the code).
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

from ..errors import OptionError

LANGUAGES = ("en", "ko")


class Narration:
    """the texts of one language"""

    def __init__(self, lang: str, sections: dict[str, dict[str, str | list[str]]]):
        self.lang = lang
        self.sections = sections

    def has(self, section: str, key: str) -> bool:
        return key in self.sections.get(section, {})

    def label(self, section: str, what: str) -> str:
        """a check's description in this language (the English one where no translation is given)"""
        return self.sections.get(section, {}).get("checks", {}).get(what, what)

    def words(self, section: str, english: str) -> str:
        """a plot label in this language; every language but English must translate it"""
        if self.lang == "en":
            return english
        translated = self.sections.get(section, {}).get("plot", {}).get(english)
        if translated is None:
            raise KeyError(f"{self.lang}.json has no translation of the plot label {english!r} in {section!r}")
        return translated

    def get(self, section: str, key: str) -> str:
        """the text of ``key`` in ``section`` (lines joined by newlines)"""
        value = self.sections[section][key]
        return "\n".join(value) if isinstance(value, list) else value


@cache
def narration(lang: str) -> Narration:
    """the narration in ``lang`` ("en" or "ko")"""
    if lang not in LANGUAGES:
        raise OptionError(f"option lang={lang!r} is not one of {list(LANGUAGES)}")
    data = resources.files(__package__).joinpath(f"{lang}.json").read_text(encoding="utf-8")
    return Narration(lang, json.loads(data))
