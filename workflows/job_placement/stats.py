"""统计指标 of job placement: its declaration for engine.indicators (the rows of its section)."""
from __future__ import annotations

from collections.abc import Callable

from engine.indicators import IndicatorSet, Row, Scope, count_row, rate_row
from workflows.job_placement.indicators import KEY, PlanIndicators, placement_summary, plan_indicators


def rows(scope: Scope) -> list[Row]:
    months = int(scope.settings(KEY).get("placement_months", 6))
    plans = plan_indicators(scope.session, scope.as_of, months=months, since=scope.since,
                            until=scope.until, unit_id=scope.unit_id)
    total = placement_summary(plans)
    in_time = sum(p.on_post_in_time for p in plans)
    decided = total["plans_within_deadline"] + total["plans_overdue"]

    def each(count: Callable[[PlanIndicators], int]) -> list[int]:  # a plan once per item counted
        return [p.instance_id for p in plans for _ in range(count(p))]
    placed = each(lambda p: p.on_post_in_time + p.on_post_late)
    return [
        count_row("年度安置计划", total["plans"], cases=each(lambda p: 1)),
        count_row("安置对象", total["candidates"], cases=each(lambda p: p.candidates)),
        count_row("已上岗", total["placed"], cases=placed),
        rate_row("按期上岗率", in_time, total["placed"],
                 "上岗日期在介绍信之日起30日内 ÷ 已上岗人数（以实际上岗日期为准，不以登记时间为准）",
                 each(lambda p: p.on_post_in_time), placed),
        count_row("逾期上岗", total["placed"] - in_time, "接收单位须按第七十五条发放生活费",
                  each(lambda p: p.on_post_late)),
        rate_row(f"{months}个月内完成安置", total["plans_within_deadline"], decided,
                 f"自接收档案起{months}个月内完成安置的计划 ÷ 已完成或已超期的计划",
                 each(lambda p: p.within_deadline is True), each(lambda p: p.within_deadline is not None)),
        count_row("回头看发现问题", total["follow_up_issues"], cases=each(lambda p: p.follow_up_issues)),
    ]


INDICATORS = IndicatorSet(title="安排工作退役士兵年度安置", period="按计划登记时间统计", compute=rows, order=40)
