"""统计指标 of settlement handover: its declaration for engine.indicators (the rows of its section)."""
from __future__ import annotations

from engine.indicators import IndicatorSet, Row, Scope, count_row, rate_row
from workflows.settlement_handover.indicators import handover_indicators


def rows(scope: Scope) -> list[Row]:
    got = handover_indicators(scope.session, scope.since, scope.until, scope.unit_id)
    ids = got.cases
    return [
        count_row("登记档案", got.files_registered, cases=ids["files_registered"]),
        count_row("移交区县（已签收）", got.files_handed_over, cases=ids["files_handed_over"]),
        count_row("函询原部队", got.queries_sent, "每发函一次计一次", ids["queries_sent"]),
        rate_row("按期报到率", got.reported_on_time, got.reported_on_time + got.reported_late,
                 "报到日期在批准退出现役之日起30日内（末日为休息日、法定节假日的顺延至其后第一个工作日）"
                 "÷ 已报到人数", ids["reported_on_time"], ids["reported_on_time"] + ids["reported_late"]),
        count_row("逾期报到", got.reported_late, cases=ids["reported_late"]),
        count_row("报到期限届满未报到", got.report_deadline_missed,
                  "期限届满时尚未登记报到的人数；其后登记、报到日期仍在期限内的计为按期报到",
                  ids["report_deadline_missed"]),
        count_row("认定视为放弃安置待遇", got.gave_up_benefits, "《退役军人安置条例》第五十一条",
                  ids["gave_up_benefits"]),
        count_row("立卷归档", got.archived, cases=ids["archived"]),
    ]


INDICATORS = IndicatorSet(title="退役士兵档案接收移交", period="按事项发生时间统计", compute=rows, order=30)
