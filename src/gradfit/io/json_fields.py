"""Some top-level fields of a JSON object, parsed; the others skipped without being parsed.

A model file holds a history of up to thousands of entries; predicting needs its coefficients. The
fields asked for are parsed by the standard decoder (with the caller's limits); every other value is
stepped over: strings by the decoder's string scanner, lists and objects by counting their brackets
outside strings (a regular expression finds the next quote or bracket), so nothing in them is built.
"""

from __future__ import annotations

import json
import re
from json.decoder import scanstring

__all__ = ["top_level_fields"]

_SPACE = re.compile(r"[ \t\n\r]*")
#: what matters inside a list or object: a string's opening quote, or a bracket
_QUOTE_OR_BRACKET = re.compile(r'["\[\]{}]')
#: a number, true, false or null
_SCALAR = re.compile(r"[^,\]}\s]+")


def _space(text: str, i: int) -> int:
    return _SPACE.match(text, i).end()


def _expect(text: str, i: int, char: str) -> int:
    if i >= len(text) or text[i] != char:
        found = repr(text[i]) if i < len(text) else "the end"
        raise ValueError(f"expected {char!r} at character {i}, found {found}")
    return i + 1


def _skip_nested(text: str, i: int) -> int:
    """the end of the list or object starting at ``i``"""
    depth = 0
    while True:
        match = _QUOTE_OR_BRACKET.search(text, i)
        if match is None:
            raise ValueError(f"a list or object before character {i} is not closed")
        i = match.end()
        if match.group() == '"':
            i = scanstring(text, i)[1]
            continue
        depth += 1 if match.group() in "[{" else -1
        if depth == 0:
            return i


def _skip_value(text: str, i: int) -> int:
    """the end of the JSON value starting at ``i``, without building it"""
    if i < len(text) and text[i] == '"':
        return scanstring(text, i + 1)[1]
    if i < len(text) and text[i] in "[{":
        return _skip_nested(text, i)
    match = _SCALAR.match(text, i)
    if match is None:
        raise ValueError(f"expected a value at character {i}")
    return match.end()


def top_level_fields(text: str, fields: frozenset[str], decoder: json.JSONDecoder) -> dict:
    """the ``fields`` a JSON object holds, parsed by ``decoder``; other fields are skipped (the last of a
    repeated field wins, as in ``json.loads``); ValueError where the text is not a JSON object"""
    i = _expect(text, _space(text, 0), "{")
    found: dict = {}
    i = _space(text, i)
    if text[i:i + 1] == "}":
        return found
    while True:
        key, i = scanstring(text, _expect(text, i, '"'))
        i = _space(text, _expect(text, _space(text, i), ":"))
        if key in fields:
            found[key], i = decoder.raw_decode(text, i)
        else:
            i = _skip_value(text, i)
        i = _space(text, i)
        if text[i:i + 1] == "}":
            break
        i = _space(text, _expect(text, i, ","))
    if _space(text, i + 1) != len(text):
        raise ValueError(f"extra data after the object at character {i + 1}")
    return found
