"""The route walk of the fuzz test: every URL rule of the app, every method it accepts, with
hostile values in its path parameters, query string, form fields and upload file names.

`form_fields` reads the field names of the forms the app renders (crawled once per user), so a
POST sends the fields its page would send; names common to many views are added to each.
"""
from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from flask import Flask
from flask.testing import FlaskClient

# One of each kind of hostile value (the strategies combine them): NUL, control and bidi
# characters, unicode digits, numbers beyond every integer type and beyond Python's int-string
# limit, nan/inf, long strings, SQL and HTML metacharacters, format strings.
HOSTILE = [
    "", "0", "-1", "1.5", "2147483647", "2147483648", "-2147483649", "9223372036854775808",
    "9" * 30, "9" * 5000, "²", "١٢٣", "௧", "nan", "inf", "-inf", "1e999", "1_000",
    "a\x00b", "\x00", "\x01\x1f\x7f", "\u202e\u2066evil\u202c", "\ufeff", "\ud800", "x" * 10240,
    "' OR 1=1 --", "\"; DROP TABLE users; --", "<script>alert(1)</script>", "{{7*7}}",
    "{0.__class__}", "../../etc/passwd", "//evil.example/x", "on", "{}",
    "2026-02-30", "9999-12-31", "XF2026-00001", "同意", "𠀀𠀁",
]
# Path ids: hostile numbers and the world's real ids (so a real case meets hostile forms).
HOSTILE_IDS = ["0", "1", "2147483647", "2147483648", "4294967296", "9223372036854775808",
               "9" * 40, "9" * 5000]
# Names many views read; sent with every POST beside the fields the page's own form has.
COMMON_FIELDS = ["page", "q", "next", "task_id", "user_ids", "unit_id", "_unit", "case_no",
                 "query_code", "reason", "note", "password", "username", "active", "role", "key",
                 "_opinion", "_next", "data_fix", "to_user_id", "parent_id", "level", "code", "name"]
FILE_FIELDS = ["file", "files"]


@dataclass(frozen=True)
class Route:
    rule: str
    endpoint: str
    method: str
    params: tuple[tuple[str, str], ...]  # (name, converter kind) of the path

    def url(self, values: dict[str, str]) -> str:
        def fill(m: re.Match[str]) -> str:
            return _raw(values[m.group(2)])
        return re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", fill, self.rule)


def routes(app: Flask, skip: Iterable[str] = ("static", "bootstrap.static")) -> list[Route]:
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in skip:
            continue
        params = tuple((name, type(conv).__name__) for name, conv in rule._converters.items())
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append(Route(rule.rule, rule.endpoint, method, params))
    return sorted(out, key=lambda r: (r.rule, r.method))


FORM_RE = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S | re.I)
NAME_RE = re.compile(r"""<(?:input|select|textarea|button)\b[^>]*\bname="([^"]+)\"""", re.I)
ACTION_RE = re.compile(r"""\baction="([^"]*)\"""", re.I)


def forms_of(html: str, page_path: str) -> dict[str, set[str]]:
    """Action path -> field names, for every form of a page."""
    out: dict[str, set[str]] = {}
    for attrs, body in FORM_RE.findall(html):
        found = ACTION_RE.search(attrs)
        action = urlsplit(found.group(1).replace("&amp;", "&")).path if found and found.group(1) else page_path
        out.setdefault(action, set()).update(n for n in NAME_RE.findall(body) if n != "csrf_token")
    return out


def crawl_forms(client: FlaskClient, paths: Iterable[str]) -> dict[str, set[str]]:
    """The forms of the given pages, as the signed-in user sees them."""
    found: dict[str, set[str]] = {}
    for path in paths:
        response = client.get(path)
        if response.status_code == 200 and response.mimetype == "text/html":
            for action, names in forms_of(response.get_data(as_text=True), path).items():
                found.setdefault(action, set()).update(names)
    return found


def send(client: FlaskClient, route: Route, url: str, query: dict[str, str], form: dict[str, str],
         filename: str | None) -> Any:
    """One request; strings that UTF-8 cannot carry (lone surrogates) go as raw invalid bytes."""
    query_bytes = "&".join(f"{quote(k)}={_raw(v)}" for k, v in query.items())
    if route.method == "GET":
        return client.get(url, query_string=query_bytes)
    data: dict[str, Any] = {k: _encodable(v) for k, v in form.items()}
    if filename is not None:
        for name in FILE_FIELDS:
            data[name] = (io.BytesIO(b"%PDF-1.4\n% fuzz\n"), _encodable(filename))
    return client.open(url, method=route.method, query_string=query_bytes, data=data,
                       content_type="multipart/form-data" if filename is not None else None)


def _raw(value: str) -> str:
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


def _encodable(value: str) -> str:
    return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace") if _has_surrogate(value) else value


def _has_surrogate(value: str) -> bool:
    return any("\ud800" <= c <= "\udfff" for c in value)
