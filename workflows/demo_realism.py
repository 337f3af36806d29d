"""What makes the demo city read true: office hours on working days, form dates that agree with
the case's timeline, and opinions that fit the step and the decision taken (workflows/demo_city.py).
"""
from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any

from engine.calendar import BEIJING, BusinessCalendar

# Office hours (Beijing time): morning and afternoon, a lunch break between.
OFFICE_SLOTS = [(time(8, 30), time(11, 45)), (time(14, 0), time(17, 30))]
SLOT = timedelta(hours=1)
NIGHT_RUN = time(0, 5)  # the timer worker's nightly pass (deadlines end at 24:00)

# Decision words of the forms' choice fields: what a step decided.
NEGATIVE = frozenset({"退回", "不同意", "不通过", "不符合", "不批准", "不推荐", "未入选", "不属实", "有误",
                      "未到位", "需整改", "异议成立", "不合格", "不予受理", "提出异议", "有疑点", "退回复审",
                      "不符合条件", "不予延期"})
POSITIVE = frozenset({"同意", "通过", "符合", "批准", "推荐", "入选", "属实", "整改到位", "合格", "无异议",
                      "确认", "符合条件", "受理"})
# Date fields that name a plan or a deadline (in the future when entered), by their form title.
PLAN_WORDS = ("计划", "期限", "公示结束")

AGREE = {"reviewer": ["经审核，同意", "审核通过", "材料齐全，同意上报", "情况属实，同意"],
         "leader": ["同意", "同意，请按规定办理", "经研究，同意", "同意，请抓紧落实"]}
RETURN = ["退回，请补充相关材料后重新报送", "材料不全，请补正后再报", "请核实后重新报送"]
REFUSE = ["经审核，不符合条件", "经研究，不予同意", "经核实，不予通过"]
REFUSALS = frozenset({"不同意", "不通过", "不符合", "不批准", "不推荐", "未入选", "不属实", "不合格", "不予受理",
                      "不符合条件", "不予延期"})
CHECKED = ["经核实，情况属实", "已核实，材料齐全", "核实无误"]
# Opinions that fit one decision word better than the general ones.
SPECIFIC = {"受理": ["经审查，符合受理条件，予以受理"], "无异议": ["公示期满，无异议"],
            "整改到位": ["经复核，整改到位"], "合格": ["视频点验合格"], "入选": ["经评审，入选"],
            "推荐": ["事迹突出，同意推荐"]}


def office_slots(day: date, calendar: BusinessCalendar) -> Iterator[tuple[datetime, datetime]]:
    """The hour-long working slots of a day (none on rest days and holidays), Beijing time."""
    if not calendar.is_workday(day):
        return
    for begin, end in OFFICE_SLOTS:
        at = datetime.combine(day, begin, BEIJING)
        stop = datetime.combine(day, end, BEIJING)
        while at < stop:
            yield at, min(at + SLOT, stop)
            at += SLOT


def first_workday_morning(moment: datetime, calendar: BusinessCalendar) -> datetime:
    """08:30 Beijing time of the first working day on or after `moment`'s day."""
    day = moment.astimezone(BEIJING).date()
    while not calendar.is_workday(day):
        day += timedelta(days=1)
    return datetime.combine(day, OFFICE_SLOTS[0][0], BEIJING)


# ----------------------------------------------------------------------------- dates in forms

def date_fields(schema: dict[str, Any] | None) -> tuple[list[str], list[str]]:
    """(past-event date fields, plan/deadline date fields) of a form, by their titles."""
    past, plan = [], []
    for name, prop in ((schema or {}).get("properties") or {}).items():
        if prop.get("format") == "date":
            (plan if any(w in str(prop.get("title", "")) for w in PLAN_WORDS) else past).append(name)
    return past, plan


def timeline_dates(answer: dict[str, Any], schema: dict[str, Any] | None, today: date, lower: date | None,
                   rng: random.Random) -> dict[str, Any]:
    """Move the answer's dates onto the case's timeline, keeping their distances to each other.

    On a step form (`lower`: the day of the case's previous step) the newest date of something
    done (核实日期, 送达日期 ...) is the day the step is completed or a day or two before, never
    before `lower`. On the start form (`lower` None) such dates only move when they would lie
    after the registration. A plan or a deadline (计划开工日期, 指定办理期限) lies after today."""
    past, plan = date_fields(schema)
    past = [f for f in past if _is_date(answer.get(f))]
    plan = [f for f in plan if _is_date(answer.get(f))]
    if not past and not plan:
        return answer
    out = dict(answer)
    days = {f: date.fromisoformat(out[f]) for f in past + plan}
    if past:
        newest = max(days[f] for f in past)
        if lower is not None or newest > today:
            floor = lower if lower is not None else today - timedelta(days=3)
            target = max(floor, today - timedelta(days=rng.choice((0, 0, 0, 1, 2))))
            shift = target - newest
            days = {f: d + shift for f, d in days.items()}
            if lower is not None:
                days.update({f: min(max(days[f], lower), today) for f in past})
    if plan:
        soonest = min(days[f] for f in plan)
        if soonest <= today:
            shift = today + timedelta(days=rng.randrange(3, 15)) - soonest
            days.update({f: days[f] + shift for f in plan})
    out.update({f: d.isoformat() for f, d in days.items()})
    return out


def _is_date(value: Any) -> bool:
    try:
        date.fromisoformat(value)
    except (TypeError, ValueError):
        return False
    return True


def plan_wait(answer: dict[str, Any], schema: dict[str, Any] | None) -> date | None:
    """The earliest planned date of a completed step (the case's next step waits for it)."""
    _past, plan = date_fields(schema)
    planned = [date.fromisoformat(answer[f]) for f in plan if _is_date(answer.get(f))
               and "期限" not in str(((schema or {}).get("properties") or {})[f].get("title", ""))]
    return min(planned) if planned else None


# ----------------------------------------------------------------------------- opinions

def decision(answer: dict[str, Any]) -> str | None:
    """'negative' (退回, 不同意, 需整改 ...), 'return' (a 退回), 'positive', or None (no decision)."""
    words = {v for v in answer.values() if isinstance(v, str)}
    if words & {"退回", "退回复审"}:
        return "return"
    if words & NEGATIVE:
        return "negative"
    if words & POSITIVE:
        return "positive"
    return None


def opinion_for(role: str, answer: dict[str, Any], rng: random.Random) -> str | None:
    """An opinion that fits the step's role and what the step decided; none for a plain record."""
    kind = decision(answer)
    words = {v for v in answer.values() if isinstance(v, str)}
    if kind == "return":
        return rng.choice(RETURN)
    if kind == "negative":  # a refusal by a reviewer or leader; a finding (需整改, 有疑点) speaks for itself
        return rng.choice(REFUSE) if role in ("reviewer", "leader") and words & REFUSALS else None
    if kind == "positive":
        for word in sorted(words & SPECIFIC.keys()):
            return rng.choice(SPECIFIC[word])
        return rng.choice(AGREE.get(role) or CHECKED)
    return None
