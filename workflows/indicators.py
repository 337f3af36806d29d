"""统计指标: every process's indicators for one unit's subtree and one period, as plain rows.

Leaders, reviewers and auditors read them for the subtree of a unit where they hold that role
(a district leader: the district; the city: everything). The numbers come from each process's
own indicator functions, which count what the history and the task rows say happened — nothing
here is typed in. Each row carries its basis next to a rate ("12/15"), and "—" where a rate has
no denominator. The period is a range of Beijing calendar days; each section says what it is
applied to (cases registered in it, or facts that happened in it).

Engine-neutral: session in, rows out; the web page and the CSV export read the same `Report`.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.calendar import BEIJING
from engine.env import Env
from engine.errors import FormInvalid, PermissionDenied
from engine.indicators import compute as package_indicators
from engine.models import OrgUnit, ProcessDefinition, Role
from engine.orgs import user_grants
from engine.packages.store import deployed_manifests
from workflows.home_renovation import indicators as home_renovation
from workflows.job_placement import indicators as job_placement
from workflows.petition import indicators as petition
from workflows.settlement_handover import indicators as settlement

STATS_ROLES = frozenset({Role.leader, Role.reviewer, Role.auditor})
DASH = "—"
CSV_HEADERS = ["单位", "统计期间", "流程", "指标", "数值", "计算基数", "说明"]


@dataclass(frozen=True)
class Row:
    label: str
    value: str       # what the cell shows: "80.0%", "12", "3.5 天", "28,000.00 元" or "—"
    basis: str = ""  # the counts behind a rate ("12/15"), or what a figure covers ("3 户")
    note: str = ""   # how it is counted, in a line


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    period: str      # what the period applies to in this section
    rows: list[Row]


@dataclass(frozen=True)
class Report:
    unit_id: int
    unit_name: str
    units: list[tuple[int, str, int]]  # (id, name, depth) the user may choose, in tree order
    date_from: date | None
    date_to: date | None               # inclusive
    as_of: datetime
    sections: list[Section]

    @property
    def period(self) -> str:
        if not (self.date_from or self.date_to):
            return "全部"
        return f"{self.date_from or '…'} 至 {self.date_to or '…'}"


@dataclass(frozen=True)
class Scope:
    """What every process's functions get: a session, a unit subtree, a period and a clock."""
    session: Session
    unit_id: int
    since: datetime | None
    until: datetime | None
    as_of: datetime
    settings: Callable[[str], dict[str, Any]]


# ----------------------------------------------------------------------------- formatting

def rate(numerator: int, denominator: int) -> tuple[str, str]:
    """(value, basis) of a rate: ("80.0%", "4/5"), or ("—", "0/0") without a denominator."""
    value = f"{numerator / denominator * 100:.1f}%" if denominator else DASH
    return value, f"{numerator}/{denominator}"


def rate_row(label: str, numerator: int, denominator: int, note: str = "") -> Row:
    value, basis = rate(numerator, denominator)
    return Row(label, value, basis, note)


def count_row(label: str, n: int, note: str = "") -> Row:
    return Row(label, str(n), "", note)


def money(amount: Decimal) -> str:
    return f"{amount:,.2f} 元"


# ----------------------------------------------------------------------------- sections

def petition_section(scope: Scope) -> Section:
    days = int(scope.settings(petition.KEY).get("one_time_resolution_days",
                                                 petition.DEFAULT_RESOLUTION_DAYS))
    got = petition.compute(scope.session, since=scope.since, until=scope.until,
                           unit_id=scope.unit_id, as_of=scope.as_of, resolution_days=days)

    def r(label: str, value: petition.Rate, note: str = "") -> Row:
        return rate_row(label, value.numerator, value.denominator, note)
    stages = [r(f"满意率（{stage}环节）", got.satisfaction_by_stage.get(stage, petition.Rate(0, 0)))
              for stage in petition.STAGES]
    return Section(petition.KEY, "涉军信访事项办理", "按登记时间统计", [
        count_row("登记件数", got.cases),
        r("及时受理率", got.timely_intake,
          "自收到之日起15日内（至最后一日24时）作出受理决定的件数 ÷ 已决定及逾期未决件数"),
        r("按期办结率", got.on_time_handling,
          "求决、投诉类在期限内（60日或交办指定期限，经批准延期的按延长后期限）送达处理意见书"
          " ÷ 应答复件数；建议、检举类不计"),
        r("满意率", got.satisfaction, "（满意 + 基本满意）÷ 评价数，含受理、办理两个环节"),
        *stages,
        r("参评率", got.participation, "参加评价件数 ÷ 已答复件数"),
        r("一次性化解率", got.one_time_resolution,
          f"办结满{days}日、未申请复查且无重复信访的件数 ÷ 同期办结件数"),
        count_row("重复信访", got.repeat_petitions, "注明原件号或同一信访人同类事项再次信访"),
        r("复查率", got.first_review_rate, "申请复查件数 ÷ 已答复件数"),
        r("复核率", got.second_review_rate, "申请复核件数 ÷ 复查已答复件数"),
        r("督办按期反馈率", got.supervision_on_time, "期限内书面反馈的督办单 ÷ 应反馈督办单"),
    ])


def home_renovation_section(scope: Scope) -> Section:
    got = home_renovation.compute(scope.session, unit_id=scope.unit_id, since=scope.since,
                                  until=scope.until)
    paid_ratio = (f"{got.paid_ratio * 100:.1f}%" if got.paid_ratio is not None else DASH)
    rows = [
        rate_row("验收通过率", got.accepted, got.planned, "竣工验收全部合格的户数 ÷ 已制定方案户数"),
        Row("批准资金", money(got.approved_total), f"{got.approved_cases} 户", "市局（局领导）审批的预算"),
        Row("已拨付资金", money(got.paid_total), f"{got.paid_cases} 户", "资金拨付环节登记的金额"),
        Row("拨付比例", paid_ratio, f"{got.paid_total:,.2f}/{got.approved_total:,.2f}",
            "已拨付 ÷ 批准资金"),
    ]
    rows += [Row(f"环节用时：{s.step_name}", f"{s.avg_days:.1f} 天", f"{s.cases} 户",
                 f"平均用时，最长 {s.max_days:.1f} 天") for s in got.stages]
    return Section(home_renovation.KEY, "重点优抚对象“一户一案”宜居关爱", "按登记时间统计", rows)


def settlement_section(scope: Scope) -> Section:
    got = settlement.handover_indicators(scope.session, scope.since, scope.until, scope.unit_id)
    return Section(settlement.KEY, "退役士兵档案接收移交", "按事项发生时间统计", [
        count_row("登记档案", got.files_registered),
        count_row("移交区县（已签收）", got.files_handed_over),
        count_row("函询原部队", got.queries_sent, "每发函一次计一次"),
        rate_row("按期报到率", got.reported_on_time, got.reported_on_time + got.reported_late,
                 "报到日期在批准退出现役之日起30日内（末日为休息日、法定节假日的顺延至其后第一个工作日）"
                 "÷ 已报到人数"),
        count_row("逾期报到", got.reported_late),
        count_row("报到期限届满未报到", got.report_deadline_missed,
                  "期限届满时尚未登记报到的人数；其后登记、报到日期仍在期限内的计为按期报到"),
        count_row("认定视为放弃安置待遇", got.gave_up_benefits, "《退役军人安置条例》第五十一条"),
        count_row("立卷归档", got.archived),
    ])


def job_placement_section(scope: Scope) -> Section:
    months = int(scope.settings(job_placement.KEY).get("placement_months", 6))
    plans = job_placement.plan_indicators(scope.session, scope.as_of, months=months,
                                          since=scope.since, until=scope.until,
                                          unit_id=scope.unit_id)
    total = job_placement.placement_summary(plans)
    in_time = sum(p.on_post_in_time for p in plans)
    decided = total["plans_within_deadline"] + total["plans_overdue"]
    return Section(job_placement.KEY, "安排工作退役士兵年度安置", "按计划登记时间统计", [
        count_row("年度安置计划", total["plans"]),
        count_row("安置对象", total["candidates"]),
        count_row("已上岗", total["placed"]),
        rate_row("按期上岗率", in_time, total["placed"],
                 "上岗日期在介绍信之日起30日内 ÷ 已上岗人数（以实际上岗日期为准，不以登记时间为准）"),
        count_row("逾期上岗", total["placed"] - in_time, "接收单位须按第七十五条发放生活费"),
        rate_row(f"{months}个月内完成安置", total["plans_within_deadline"], decided,
                 f"自接收档案起{months}个月内完成安置的计划 ÷ 已完成或已超期的计划"),
        count_row("回头看发现问题", total["follow_up_issues"]),
    ])


def package_sections(scope: Scope) -> list[Section]:
    """The indicators each deployed declarative package declares (engine.indicators)."""
    out = []
    for key, manifest in sorted(deployed_manifests(scope.session).items()):
        if key in PYTHON_SECTIONS or not manifest.get("indicators"):
            continue
        figures = package_indicators(scope.session, key, manifest["indicators"], unit_id=scope.unit_id,
                                     since=scope.since, until=scope.until)
        out.append(Section(key, str(manifest["name"]), "按登记时间统计",
                           [Row(f.label, f.value, f.basis, f.note) for f in figures]))
    return out


SECTIONS: list[tuple[str, Callable[[Scope], Section]]] = [
    (petition.KEY, petition_section), (home_renovation.KEY, home_renovation_section),
    (settlement.KEY, settlement_section), (job_placement.KEY, job_placement_section)]
PYTHON_SECTIONS = {key for key, _build in SECTIONS}


# ----------------------------------------------------------------------------- scope and report

def stats_units(session: Session, user_id: int) -> list[tuple[int, str, int]]:
    """(id, name, depth) of the units whose indicators the user may read, in tree order; the
    subtrees of the units where they are leader, reviewer or auditor. PermissionDenied if none."""
    roots = {u for r, u in user_grants(session, user_id) if r in STATS_ROLES}
    if not roots:
        raise PermissionDenied(f"user {user_id} may not read indicators",
                               "仅领导、审核人和审计人员可以查看统计指标")
    units = session.scalars(select(OrgUnit)).all()
    key = {u.id: [int(p) for p in u.path.strip("/").split("/") if p] for u in units}
    mine = [u for u in units if roots & set(key[u.id])]
    return [(u.id, u.name, len(key[u.id]) - 1) for u in sorted(mine, key=lambda u: key[u.id])]


def period(date_from: date | None, date_to: date | None) -> tuple[datetime | None, datetime | None]:
    """[since, until) of a range of Beijing calendar days (both ends included)."""
    if date_from and date_to and date_to < date_from:
        raise FormInvalid({"date_to": "截止日期不能早于起始日期"})
    since = datetime.combine(date_from, time(), BEIJING) if date_from else None
    until = datetime.combine(date_to + timedelta(days=1), time(), BEIJING) if date_to else None
    return since, until


def report(env: Env, user_id: int, unit_id: int | None = None, date_from: date | None = None,
           date_to: date | None = None) -> Report:
    """The indicators of every deployed process for one unit's subtree (default: the user's
    highest) and one period (default: all time), as of now."""
    since, until = period(date_from, date_to)
    with env.db.read() as session:
        units = stats_units(session, user_id)
        names = {u: name for u, name, _d in units}
        chosen = units[0][0] if unit_id is None else unit_id
        if chosen not in names:
            raise PermissionDenied(f"unit {unit_id} is outside user {user_id}'s scope",
                                   "您无权查看该单位的统计指标")
        deployed = set(session.scalars(select(ProcessDefinition.key).distinct()))
        scope = Scope(session, chosen, since, until, env.clock.now(),
                      lambda key: _settings(env, key))
        sections = [build(scope) for key, build in SECTIONS if key in deployed]
        sections += package_sections(scope)
    return Report(chosen, names[chosen], units, date_from, date_to, scope.as_of, sections)


def _settings(env: Env, key: str) -> dict[str, Any]:
    try:
        base = env.process(key).settings
    except KeyError:
        base = {}
    return {**base, **env.settings.get(key, {})}


def csv_rows(found: Report) -> list[list[str]]:
    """The report as a table: one line per indicator, headed by CSV_HEADERS."""
    lines: Iterable[list[str]] = ([found.unit_name, found.period, s.title, r.label, r.value, r.basis,
                                   r.note] for s in found.sections for r in s.rows)
    return [CSV_HEADERS, *lines]
