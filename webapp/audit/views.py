"""Audit pages: history search with paging, CSV export of the same search, the full read-only
case, and the chain check of every case in scope. The engine checks the auditor role (403)
and the auditor's scope (404 for a case outside it)."""
from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass
from datetime import date

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user
from werkzeug.wrappers import Response

from engine import audit
from engine.errors import FormInvalid
from engine.history import ACTION_LABELS
from engine.readable import readable_pairs, value_text
from webapp.audit.documents import document_lines
from webapp.errors import error_page
from webapp.inputs import parse_day, parse_id, parse_page
from webapp.security import current_env

bp = Blueprint("audit", __name__, url_prefix="/audit")
# Excel runs a cell starting with one of these as a formula: prefix it with an apostrophe.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class SearchArgs:
    """The search form, as typed (strings), so the page can show it back."""
    case_no: str = ""
    person: str = ""
    action: str = ""
    date_from: str = ""
    date_to: str = ""
    unit: str = ""

    @classmethod
    def from_request(cls) -> SearchArgs:
        a = request.args
        return cls(*(a.get(k, "").strip()[:64] for k in ("case_no", "person", "action", "date_from",
                                                          "date_to", "unit")))

    def to_filter(self) -> audit.HistoryFilter:
        """The engine filter, or FormInvalid naming the field that does not parse."""
        errors: dict[str, str] = {}
        dates: dict[str, date | None] = {}
        for name in ("date_from", "date_to"):
            raw = getattr(self, name)
            try:
                dates[name] = parse_day(raw) if raw else None
            except ValueError:
                errors[name], dates[name] = "日期格式应为 年-月-日，如 2026-03-02", None
        if errors:
            raise FormInvalid(errors)
        return audit.HistoryFilter(
            case_no=self.case_no or None, person=self.person or None,
            action=self.action if self.action in ACTION_LABELS else None,
            date_from=dates["date_from"], date_to=dates["date_to"],
            unit_id=parse_id(self.unit))

    def query(self) -> dict[str, str]:
        return {k: v for k, v in asdict(self).items() if v}


@bp.context_processor
def _readable() -> dict[str, object]:
    """History data in words for the audit pages (engine.readable)."""
    return {"readable_pairs": readable_pairs, "value_text": value_text}


@bp.before_request
def _auditors_only() -> None:
    """Every audit URL answers 403 to a signed-in user without the auditor role."""
    if current_user.is_authenticated:
        audit.check_auditor(current_env(), current_user.id)


def _page() -> int:
    return parse_page(request.args.get("page"))


@bp.get("/")
def index() -> str | tuple[str, int]:
    args = SearchArgs.from_request()
    units = audit.scope_units(current_env(), current_user.id)  # also the auditor check: 403
    try:
        page = audit.search_history(current_env(), current_user.id, args.to_filter(), _page(),
                                    int(current_app.config.get("PAGE_SIZE", 20)))
    except FormInvalid as exc:
        return render_template("audit/index.html", args=args, units=units, page=None,
                               errors=exc.errors), 422
    return render_template("audit/index.html", args=args, units=units, page=page, errors={})


def _csv_cell(value: str) -> str:
    return f"'{value}" if value.startswith(FORMULA_START) else value


def to_csv(rows: list[list[str]]) -> str:
    """UTF-8 CSV with a byte-order mark, so Excel opens the Chinese text correctly."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([_csv_cell(c) for c in row])
    return "\ufeff" + out.getvalue()


@bp.get("/export.csv")
def export() -> Response | tuple[str, int]:
    try:
        f = SearchArgs.from_request().to_filter()
    except FormInvalid as exc:
        return error_page(422, "；".join(exc.errors.values()))
    body = to_csv(audit.export_rows(current_env(), current_user.id, f))
    stamp = current_env().clock.now().strftime("%Y%m%d-%H%M")
    return Response(body.encode("utf-8"), mimetype="text/csv",
                    headers={"Content-Type": "text/csv; charset=utf-8",
                             "Content-Disposition": f"attachment; filename=audit-history-{stamp}.csv"})


@bp.get("/cases/<int:case_id>")
def case(case_id: int) -> str:
    found = audit.audit_case(current_env(), current_user.id, case_id,
                             int(current_app.config["DUE_SOON_DAYS"]))
    return render_template("audit/case.html", a=found, c=found.file.instance, document_lines=document_lines)


@bp.get("/verify")
def verify() -> str:
    return render_template("audit/verify.html", summary=audit.verify_scope(current_env(), current_user.id))
