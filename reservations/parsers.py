"""Request body parsing: strict JSON only (orjson).

orjson rejects invalid UTF-8, lone surrogates, NaN/Infinity and nesting past
its depth limit with one exception type, so no malformed body can reach a
view or turn into a 500. A name given twice in one object is refused too: JSON
leaves its meaning open (`{"seats": 1, "seats": 9}` is 9 to one parser, 1 to
another, an error to a third), so a proxy or client library in front could
check one value while we book the other.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser


class StrictJSONParser(BaseParser):
    media_type = "application/json"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        raw = stream.read() if stream is not None else b""
        if not raw:
            raise ParseError("The request body is empty; send a JSON object.")
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ParseError(f"The request body is not valid JSON ({exc}).") from exc
        if isinstance(data, dict | list):
            _refuse_repeated_names(raw)
        return data


class _RepeatedName(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _refuse_repeated_names(raw: bytes) -> None:
    """ParseError naming the first name that an object of `raw` (valid JSON) repeats.

    orjson keeps the last value without a word, so the standard library parses the
    body a second time, only to see every object's names in order (a few µs for a
    reservation's body).
    """
    try:
        json.loads(raw, object_pairs_hook=_unique_names)
    except _RepeatedName as repeated:
        raise ParseError(
            f"The request body names {repeated.name!r} more than once; send each field once."
        ) from None
    except RecursionError:  # the standard parser recurses; orjson allows 1,024 levels
        raise ParseError("The request body is nested too deeply.") from None


def _unique_names(pairs: list[tuple[str, Any]]) -> None:
    seen: set[str] = set()
    for name, _value in pairs:
        if name in seen:
            raise _RepeatedName(name)
        seen.add(name)
