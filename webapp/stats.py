"""统计指标: every process's indicators for a unit's subtree and a period, on a page and as CSV.
Leaders, reviewers and auditors only (403 for the rest), within their own units' subtrees; the
numbers are computed from the history by workflows.indicators."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

from flask import Blueprint, render_template, request
from flask_login import current_user
from werkzeug.wrappers import Response

from engine.errors import FormInvalid
from webapp.audit.views import to_csv
from webapp.errors import error_page
from webapp.inputs import parse_day, parse_id
from webapp.security import current_env
from workflows.indicators import Report, csv_rows, report

bp = Blueprint("stats", __name__, url_prefix="/stats")


@dataclass(frozen=True)
class StatsArgs:
    """The filter as typed (strings), so the page can show it back."""
    unit: str = ""
    date_from: str = ""
    date_to: str = ""

    @classmethod
    def from_request(cls) -> StatsArgs:
        return cls(*(request.args.get(k, "").strip()[:32] for k in ("unit", "date_from", "date_to")))

    def dates(self) -> tuple[date | None, date | None]:
        """The two dates, or FormInvalid naming the one that does not parse."""
        errors, out = {}, []
        for name in ("date_from", "date_to"):
            raw = getattr(self, name)
            try:
                out.append(parse_day(raw) if raw else None)
            except ValueError:
                errors[name] = "日期格式应为 年-月-日，如 2026-03-02"
                out.append(None)
        if errors:
            raise FormInvalid(errors)
        return out[0], out[1]

    def query(self) -> dict[str, str]:
        return {k: v for k, v in asdict(self).items() if v}


def _report(args: StatsArgs) -> Report:
    date_from, date_to = args.dates()
    return report(current_env(), current_user.id, parse_id(args.unit),
                  date_from, date_to)


@bp.get("/")
def index() -> str | tuple[str, int]:
    args = StatsArgs.from_request()
    try:
        found = _report(args)
    except FormInvalid as exc:
        return render_template("stats/index.html", args=args, report=_report(StatsArgs(args.unit)),
                               errors=exc.errors), 422
    return render_template("stats/index.html", args=args, report=found, errors={})


@bp.get("/export.csv")
def export() -> Response | tuple[str, int]:
    try:
        found = _report(StatsArgs.from_request())
    except FormInvalid as exc:
        return error_page(422, "；".join(exc.errors.values()))
    stamp = current_env().clock.now().strftime("%Y%m%d-%H%M")
    return Response(to_csv(csv_rows(found)).encode("utf-8"), mimetype="text/csv",
                    headers={"Content-Type": "text/csv; charset=utf-8",
                             "Content-Disposition": f"attachment; filename=indicators-{stamp}.csv"})
