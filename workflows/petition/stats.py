"""统计指标 of the petition process: its declaration for engine.indicators (the rows of its section)."""
from __future__ import annotations

from engine.indicators import IndicatorSet, Row, Scope, count_row, rate_row
from workflows.petition.indicators import DEFAULT_RESOLUTION_DAYS, KEY, STAGES, Rate, compute


def rows(scope: Scope) -> list[Row]:
    days = int(scope.settings(KEY).get("one_time_resolution_days", DEFAULT_RESOLUTION_DAYS))
    got = compute(scope.session, since=scope.since, until=scope.until, unit_id=scope.unit_id,
                  as_of=scope.as_of, resolution_days=days)

    def r(label: str, value: Rate, note: str = "") -> Row:
        return rate_row(label, value.numerator, value.denominator, note, value.hits, value.of)
    stages = [r(f"满意率（{stage}环节）", got.satisfaction_by_stage.get(stage, Rate(0, 0)))
              for stage in STAGES]
    return [
        count_row("登记件数", got.cases, cases=got.case_ids),
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
        count_row("重复信访", got.repeat_petitions, "注明原件号或同一信访人同类事项再次信访", got.repeat_ids),
        r("复查率", got.first_review_rate, "申请复查件数 ÷ 已答复件数"),
        r("复核率", got.second_review_rate, "申请复核件数 ÷ 复查已答复件数"),
        r("督办按期反馈率", got.supervision_on_time, "期限内书面反馈的督办单 ÷ 应反馈督办单"),
    ]


INDICATORS = IndicatorSet(title="涉军信访事项办理", compute=rows, order=10)
