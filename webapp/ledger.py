"""台账: the case ledger of each process for every signed-in user, within their own scope
(engine.ledger): combined search, sortable columns, pages, saved filters per user, Excel export,
and the cases behind one indicator of 统计指标 (its click-through)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from engine.calendar import to_local_date
from engine.errors import FormInvalid, PermissionDenied
from engine.ledger import (IndicatorCases, LedgerQuery, LedgerRow, SORTS, delete_filter, ledger,
                           ledger_all, ledger_steps, ledger_units, save_filter, saved_filter,
                           saved_filters)
from engine.models import InstanceStatus
from engine.queries import STATUS_LABELS, deployed_processes
from webapp.errors import error_page
from webapp.inputs import parse_day, parse_id
from webapp.security import current_env
from webapp.xlsx import add_sheet, download, new_book
from workflows.indicators import report

bp = Blueprint("ledger", __name__, url_prefix="/ledger")

HEADERS = ["案件编号", "事项", "姓名", "身份证号", "联系电话", "登记单位", "当前环节", "状态",
           "办理期限（截止日）", "是否超期", "登记时间", "办结时间"]
WIDTHS = [18, 30, 10, 22, 15, 26, 20, 10, 18, 10, 18, 18]
COLUMNS = {"case_no": "案件编号", "subject_name": "姓名", "unit": "登记单位", "status": "状态",
           "created_at": "登记时间", "closed_at": "办结时间"}
DATE_ERROR = "日期格式应为 年-月-日，如 2026-03-02"


@dataclass(frozen=True)
class LedgerArgs:
    """The ledger's query string as typed (strings), so the page can show it back and save it."""
    q: str = ""
    unit: str = ""
    step: str = ""
    status: str = ""
    date_from: str = ""
    date_to: str = ""
    closed_from: str = ""
    closed_to: str = ""
    overdue: str = ""
    sort: str = ""
    dir: str = ""
    ind: str = ""       # click-through: the indicator's index in its process's declaration,
    ind_unit: str = ""  # and the unit and period 统计指标 showed it for
    ind_from: str = ""
    ind_to: str = ""
    part: str = ""      # "den": a rate's denominator, not its numerator

    @classmethod
    def from_mapping(cls, args: Any) -> LedgerArgs:
        return cls(**{f.name: str(args.get(f.name, "")).strip()[:64] for f in fields(cls)})

    def query(self, **changes: str) -> dict[str, str]:
        return {k: v for k, v in {**asdict(self), **changes}.items() if v}

    def filter_query(self) -> dict[str, str]:
        """What a saved filter keeps: the search, not an indicator's click-through."""
        return {k: v for k, v in self.query().items() if not k.startswith("ind") and k != "part"}


def _day(raw: str, name: str, errors: dict[str, str]) -> date | None:
    if not raw:
        return None
    try:
        return parse_day(raw)
    except ValueError:
        errors[name] = DATE_ERROR
        return None


def to_query(args: LedgerArgs, indicator: IndicatorCases | None) -> LedgerQuery:
    """The engine's query, or FormInvalid naming each field that does not parse."""
    errors: dict[str, str] = {}
    date_from, date_to = _day(args.date_from, "date_from", errors), _day(args.date_to, "date_to", errors)
    closed_from = _day(args.closed_from, "closed_from", errors)
    closed_to = _day(args.closed_to, "closed_to", errors)
    unit = parse_id(args.unit) if args.unit else None
    if args.unit and unit is None:
        errors["unit"] = "单位无效"
    status = InstanceStatus(args.status) if args.status in InstanceStatus._value2member_map_ else None
    if args.status and status is None:
        errors["status"] = "状态无效"
    if args.sort and args.sort not in SORTS:
        errors["sort"] = "排序字段无效"
    if errors:
        raise FormInvalid(errors)
    return LedgerQuery(text=args.q, unit_id=unit, step_id=args.step, status=status,
                       date_from=date_from, date_to=date_to, closed_from=closed_from, closed_to=closed_to,
                       overdue_at=current_env().clock.now() if args.overdue else None,
                       case_ids=indicator.case_ids if indicator else None, sort=args.sort or "created_at",
                       descending=args.dir != "asc")


def indicator_of(args: LedgerArgs, key: str) -> IndicatorCases | None:
    """The figure of 统计指标 a click-through asked for — row `ind` of process `key`'s section, for
    the unit and period it was shown for — and the cases behind it (a rate: its numerator's, or
    with `part=den` its denominator's). 404 when there is no such figure for this user."""
    if not args.ind:
        return None
    index = int(args.ind) if args.ind.isdigit() and len(args.ind) <= 3 else None
    unit = parse_id(args.ind_unit)
    errors: dict[str, str] = {}
    date_from, date_to = _day(args.ind_from, "ind_from", errors), _day(args.ind_to, "ind_to", errors)
    if index is None or unit is None or errors:
        abort(404)
    try:
        found = report(current_env(), current_user.id, unit, date_from, date_to)
    except (PermissionDenied, FormInvalid):
        abort(404)
    section = next((s for s in found.sections if s.key == key), None)
    row = section.rows[index] if section and index < len(section.rows) else None
    if row is None:
        abort(404)
    ids = row.cases if args.part == "den" or row.counted is None else row.counted
    if ids is None:
        abort(404)
    part = "（计算基数）" if args.part == "den" and row.counted is not None else ""
    return IndicatorCases(f"{found.unit_name} · {row.label}{part}", frozenset(ids))


def _process(key: str) -> str:
    names = dict(deployed_processes(current_env()))
    if key not in names:
        abort(404)
    return names[key]


@bp.get("/")
def index() -> str:
    return render_template("ledger/processes.html", processes=deployed_processes(current_env()))


@bp.get("/<key>")
def show(key: str) -> str | tuple[str, int] | Response:
    name = _process(key)
    saved_id = parse_id(request.args.get("saved"))
    if saved_id is not None:
        found = saved_filter(current_env(), current_user.id, saved_id)
        return redirect(url_for("ledger.show", key=key, **LedgerArgs.from_mapping(found.query).filter_query()))
    args = LedgerArgs.from_mapping(request.args)
    page_no = parse_id(request.args.get("page")) or 1
    indicator = indicator_of(args, key)
    try:
        page = ledger(current_env(), current_user.id, key, to_query(args, indicator), page_no,
                      int(current_app.config["PAGE_SIZE"]))
    except FormInvalid as exc:
        return _render(key, name, args, None, exc.errors, indicator), 422
    return _render(key, name, args, page, {}, indicator)


def _render(key: str, name: str, args: LedgerArgs, page: Any, errors: dict[str, str],
            indicator: IndicatorCases | None) -> str:
    env = current_env()
    return render_template(
        "ledger/index.html", key=key, name=name, args=args, page=page, errors=errors,
        units=ledger_units(env, current_user.id), steps=ledger_steps(env, key),
        statuses=STATUS_LABELS, columns=COLUMNS, saved=saved_filters(env, current_user.id, key),
        indicator=indicator)


@bp.get("/<key>/export.xlsx")
def export(key: str) -> Response | tuple[str, int]:
    name = _process(key)
    args = LedgerArgs.from_mapping(request.args)
    try:
        rows = ledger_all(current_env(), current_user.id, key, to_query(args, indicator_of(args, key)))
    except FormInvalid as exc:
        return error_page(422, "；".join(exc.errors.values()))
    now = current_env().clock.now()
    book = new_book()
    add_sheet(book, f"{name}台账", HEADERS, (_xlsx_row(r, now) for r in rows), WIDTHS)
    return download(book, f"ledger-{key}-{now.strftime('%Y%m%d-%H%M')}.xlsx")


def _xlsx_row(r: LedgerRow, now: Any) -> list[Any]:
    overdue = r.due_at is not None and r.due_at <= now and bool(r.steps)
    last_day = to_local_date(r.due_at - timedelta(microseconds=1)) if r.due_at else None  # due_at: 24:00 of it
    return [r.case_no, r.title, r.subject_name, r.id_no, r.phone, r.unit_name, "、".join(r.steps),
            STATUS_LABELS.get(r.status, ""), last_day, "是" if overdue else "否", r.created_at, r.closed_at]


@bp.post("/<key>/filters")
def save(key: str) -> Response:
    _process(key)
    args = LedgerArgs.from_mapping(request.form)
    try:
        saved_id = save_filter(current_env(), current_user.id, key, request.form.get("name", ""),
                               args.filter_query())
    except FormInvalid as exc:
        flash(f"查询条件未保存：{'；'.join(exc.errors.values())}", "danger")
        return redirect(url_for("ledger.show", key=key, **args.filter_query()))
    flash("查询条件已保存", "success")
    return redirect(url_for("ledger.show", key=key, saved=saved_id))


@bp.post("/<key>/filters/<int:filter_id>/delete")
def delete(key: str, filter_id: int) -> Response:
    _process(key)
    delete_filter(current_env(), current_user.id, filter_id)
    flash("查询条件已删除", "success")
    return redirect(url_for("ledger.show", key=key))
