"""Hostile input stopped at the door: one check on every request and safe number parsing.

- `refuse_hostile_input` (before every request): NUL and other control characters, lone
  surrogates and over-long values in the query string, the form and upload file names get a
  Chinese 400 page, before any view or the database sees them.
- `BoundedInt`: the `<int:...>` URL converter, limited to the database's integer range, so
  `/cases/2147483648` is "not found" and never reaches PostgreSQL's int4.
- `parse_day`: an ISO day within 1900-2999 (filters; their deadline arithmetic stays in range).
- `parse_id` / `parse_page`: ASCII digits only (not `²` or `١٢٣`, which `str.isdigit` accepts),
  within the database's integer range.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

from flask import Flask, request
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

DB_INT_MAX = 2**31 - 1           # PostgreSQL integer (int4), the type of every id column
MAX_VALUE_CHARS = 100_000        # a form field or query value; far above any legitimate text
MAX_NAME_CHARS = 200             # a field or parameter name
# C0 controls except tab, newline and carriage return; DEL; C1 controls; lone surrogates.
FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
ASCII_DIGITS = re.compile(r"[0-9]{1,10}")
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)


class HostileInput(BadRequest):
    description = "提交的内容包含无法处理的字符或过长的内容，请检查后重新填写。"


class BoundedInt(IntegerConverter):
    """`<int:...>` of at most DB_INT_MAX: a larger id matches no route (404)."""

    def __init__(self, map, *args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs.setdefault("max", DB_INT_MAX)
        super().__init__(map, *args, **kwargs)


def parse_id(value: str | None) -> int | None:
    """An id typed or posted as text: ASCII digits within the database's range, else None."""
    text = (value or "").strip()
    if not ASCII_DIGITS.fullmatch(text):
        return None
    number = int(text)
    return number if 0 < number <= DB_INT_MAX else None


def parse_page(value: str | None) -> int:
    """A page number from the query string; 1 for anything that is not a sane page number."""
    return parse_id(value) or 1


def parse_day(text: str) -> date:
    """A day typed into a filter: ValueError for text that is no ISO date or a day outside
    1900-2999 (deadline arithmetic on 9999-12-31 overflows Python's date)."""
    day = date.fromisoformat(text)
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"day out of range: {text}")
    return day


def _bad(values: Iterable[str]) -> bool:
    return any(len(v) > MAX_VALUE_CHARS or FORBIDDEN.search(v) for v in values)


def _bad_names(names: Iterable[str]) -> bool:
    return any(len(n) > MAX_NAME_CHARS or FORBIDDEN.search(n) for n in names)


FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def refuse_hostile_input() -> None:
    """400 for a request carrying characters no field may hold (see the module docstring).
    Upload file names are checked for NUL and surrogates only: their other oddities (bidi
    controls, length) are normalised when the file is stored."""
    # werkzeug parses a form (and files) only from these two types: any other body (JSON) has
    # none, so it is not asked for them
    forms = request.mimetype in FORM_TYPES
    for values in (request.args, request.form) if forms else (request.args,):
        if _bad_names(values.keys()) or _bad(v for _k, v in values.items(multi=True)):
            raise HostileInput()
    for name, file in request.files.items(multi=True) if forms else ():
        if _bad_names([name]) or re.search(r"[\x00\ud800-\udfff]", file.filename or ""):
            raise HostileInput()
    if FORBIDDEN.search(request.path):
        raise HostileInput()


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = BoundedInt
    app.before_request(refuse_hostile_input)
