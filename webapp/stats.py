"""统计指标: every process's indicators for a unit's subtree and a period, on a page, as CSV and
as Excel, with charts (monthly trend, units ranked, overdue by step, home renovation's households
and money; server-drawn SVG with the numbers in a table beside each). Leaders, reviewers and
auditors only (403 for the rest), within their own units' subtrees; the numbers are computed
from the history by workflows.indicators and engine.trends. A declared indicator's row links to
the case ledger (台账) filtered to the cases behind its number."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from flask import Blueprint, render_template, request
from flask_login import current_user
from werkzeug.wrappers import Response

from engine.errors import FormInvalid
from engine.queries import deployed_processes
from engine.trends import Bar, Series, trend_charts
from webapp.audit.views import to_csv
from webapp.errors import error_page
from webapp.inputs import parse_day, parse_id
from webapp.security import current_env
from webapp import charts
from webapp.xlsx import add_sheet, download, new_book
from workflows.indicators import CSV_HEADERS, Report, Section, csv_rows, period, report

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
                               errors=exc.errors, charts=[]), 422
    return render_template("stats/index.html", args=args, report=found, errors={},
                           charts=_charts(found))


@dataclass(frozen=True)
class Chart:
    id: str
    series: Series
    svg: Any


def _series(found: Report) -> list[Series]:
    since, until = period(found.date_from, found.date_to)
    trend, ranking, overdue = trend_charts(current_env(), found.unit_id, since, until)
    names = dict(deployed_processes(current_env()))
    overdue = Series(overdue.title, overdue.unit,
                     [Bar(f"{names.get(b.key, b.key)}·{b.label}", b.value, b.key) for b in overdue.bars])
    home = next((s for s in found.sections if s.key == "home_renovation"), None)
    return [trend, ranking, overdue, *(home_renovation_series(home) if home else [])]


def _charts(found: Report) -> list[Chart]:
    out = []
    for i, series in enumerate(_series(found)):
        draw = charts.columns if i == 0 else charts.bars
        out.append(Chart(f"chart-{i + 1}", series, draw(series, f"chart-{i + 1}")))
    return out


_HOUSEHOLDS = re.compile(r"^(\d+) 户$")
_RATE = re.compile(r"^(\d+)/(\d+)$")


def home_renovation_series(section: Section) -> list[Series]:
    """The households and the money of home renovation, read from its indicator rows: each money
    row ("28,000.00 元", basis "3 户") and each rate whose note reads "A ÷ B" (basis "a/b")."""
    households: list[Bar] = []
    money: list[Bar] = []
    for row in section.rows:
        if row.value.endswith(" 元"):
            money.append(Bar(row.label, float(row.value[:-2].replace(",", ""))))
            if m := _HOUSEHOLDS.match(row.basis):
                households.append(Bar(f"{row.label}（户）", int(m.group(1))))
        elif (m := _RATE.match(row.basis)) and "÷" in row.note and "户" in row.note:
            num, den = (part.strip() for part in row.note.split("÷", 1))
            households += [Bar(_short(den), int(m.group(2))), Bar(_short(num), int(m.group(1)))]
    return [s for s in (Series("宜居关爱户数", "户", households), Series("宜居关爱资金", "元", money)) if s.bars]


def _short(label: str) -> str:
    return label.removesuffix("数").removesuffix("的户")[:16]


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


@bp.get("/export.xlsx")
def export_xlsx() -> Response | tuple[str, int]:
    """统计指标 as Excel: the indicators (one row each) and every chart's numbers."""
    try:
        found = _report(StatsArgs.from_request())
    except FormInvalid as exc:
        return error_page(422, "；".join(exc.errors.values()))
    book = new_book()
    add_sheet(book, "统计指标", CSV_HEADERS, csv_rows(found)[1:], [24, 24, 30, 28, 14, 20, 60])
    add_sheet(book, "图表数据", ["图表", "项目", "数值", "单位"],
              ([s.title, b.label, b.value, s.unit] for s in _series(found) for b in s.bars), [24, 36, 14, 8])
    add_sheet(book, "说明", ["项目", "内容"], [["单位", f"{found.unit_name}（含下级单位）"],
                                             ["统计期间", found.period], ["截至", found.as_of]], [12, 40])
    stamp = current_env().clock.now().strftime("%Y%m%d-%H%M")
    return download(book, f"indicators-{stamp}.xlsx")
