"""Home: the four lists 待办 / 已办 / 我发起的 / 抄送我的, with filters, search and paging."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user

from engine.calendar import BusinessCalendar
from engine.inbox import TaskFilter, done_list, inbox
from engine.models import InstanceStatus
from engine.queries import (STATUS_LABELS, CaseFilter, copied_cases, deployed_processes, list_counts,
                            started_cases)
from webapp.inputs import parse_day, parse_page
from webapp.security import current_env
from webapp.templating import show_counts

bp = Blueprint("home", __name__)

TABS = {"todo": "待办", "done": "已办", "mine": "我发起的", "cc": "抄送我的"}
DUE_STATUSES = {"soon": "即将到期", "overdue": "已超期"}


@dataclass(frozen=True)
class ListArgs:
    tab: str
    process: str
    status: str
    due: str
    q: str
    page: int

    @classmethod
    def from_request(cls) -> ListArgs:
        a = request.args
        tab = a.get("tab", "todo")
        page = a.get("page", "1")
        return cls(tab if tab in TABS else "todo", a.get("process", ""), a.get("status", ""),
                   a.get("due", ""), a.get("q", "").strip()[:64],
                   parse_page(page))

    def due_date(self) -> date | None:
        try:
            return parse_day(self.due) if self.due else None
        except ValueError:
            return None


def status_choices(tab: str) -> dict[str, str]:
    if tab in ("todo", "done"):
        return DUE_STATUSES
    return {s.value: label for s, label in STATUS_LABELS.items()}


def task_filter(args: ListArgs) -> TaskFilter:
    now = current_env().clock.now()
    bounds = []
    if args.due_date():
        bounds.append(BusinessCalendar.deadline_end(args.due_date()))  # type: ignore[arg-type]
    if args.status == "soon":
        bounds.append(now + timedelta(days=int(current_app.config["DUE_SOON_DAYS"])))
    return TaskFilter(process_key=args.process or None, due_before=min(bounds) if bounds else None,
                      overdue_at=now if args.status == "overdue" else None, search=args.q or None)


def case_filter(args: ListArgs) -> CaseFilter:
    status = InstanceStatus(args.status) if args.status in InstanceStatus._value2member_map_ else None
    due = args.due_date()
    return CaseFilter(process_key=args.process or None, status=status,
                      due_before=BusinessCalendar.deadline_end(due) if due else None,
                      search=args.q or None)


def todo_count(args: ListArgs, page: Any) -> int | None:
    """The 待办 badge from the unfiltered inbox's first page just read: its total counts the same
    tasks (engine.inbox), so they are not counted twice; None when it is not that page or its
    total is not exact."""
    if args.tab != "todo" or args.page != 1 or task_filter(args) != TaskFilter() or page.capped:
        return None
    return int(page.total)


def load_page(args: ListArgs) -> Any:
    env, uid, size = current_env(), current_user.id, int(current_app.config["PAGE_SIZE"])
    if args.tab == "todo":
        return inbox(env, uid, task_filter(args), args.page, size)
    if args.tab == "done":
        return done_list(env, uid, task_filter(args), args.page, size)
    if args.tab == "mine":
        return started_cases(env, uid, case_filter(args), args.page, size)
    return copied_cases(env, uid, case_filter(args), args.page, size)


@bp.get("/")
def index() -> str:
    args = ListArgs.from_request()
    processes = deployed_processes(current_env())
    page = load_page(args)
    show_counts(list_counts(current_env(), current_user.id, todo_count(args, page)))
    return render_template("home/index.html", args=args, tabs=TABS, page=page,
                           processes=processes, process_names=dict(processes),
                           statuses=status_choices(args.tab))
