"""Demo cases of the declarative process packages (bpmn/<key>/process.toml, no Python): who
registers them where, what a case looks like, and how each step is answered — branches and
outside events (the bank's card and activation, a station's rectification) included.

The packages carry no Python, so their demo data lives here, beside workflows/demo_city.py.
Proportions follow the kinds of figures in the bureau's half-year report (most cards issued and
about seven in ten activated, merit notices mostly for 优秀士兵, a few families in difficulty).
"""
from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

Answers = dict[str, list[Any]]  # step -> one answer per round (None: left to the step's timer)


@dataclass
class DemoCtx:
    """What a package's demo data may use: names, dice, the registration day, the city's units."""
    names: Any                      # workflows.demo_city.Names
    rng: random.Random
    today: date
    units: dict[str, int]           # unit code -> id
    unit_names: dict[str, str]      # unit code -> name
    unit_code: str                  # where the case is registered
    n: int = 0                      # the how-manieth case of its process (branches are spread by it)

    def pick(self, pattern: Callable[[str], bool]) -> str:
        return self.rng.choice(sorted(c for c in self.units if pattern(c)))

    def town_of(self, code: str) -> str:
        return ".".join(code.split(".")[:2])

    def place(self, code: str) -> str:
        """A unit's place name without its organ (城东街道退役军人服务站 -> 城东街道)."""
        return self.unit_names[code].replace("退役军人服务站", "").replace("退役军人事务局", "")

    def past(self, lo: int, hi: int) -> str:
        return (self.today - timedelta(days=self.rng.randrange(lo, hi + 1))).isoformat()


@dataclass
class PackageDemo:
    count: int                                   # cases over the demo's 120 days
    start_units: list[str]                       # unit code patterns ('*' = any number)
    start: Callable[[DemoCtx], dict[str, Any]]
    answers: Callable[[DemoCtx, dict[str, Any]], Answers]
    waits: dict[str, tuple[int, int]] = field(default_factory=dict)  # step -> days an outside party takes
    depths: list[int] = field(default_factory=lambda: [1, 2, 3, 40, 40, 40, 40, 40])
    within: float = 1.0  # registered within this share of the 120 days (a campaign comes early)


def _born(ctx: DemoCtx, first: int, last: int) -> date:
    return date(ctx.rng.randrange(first, last + 1), 1 + ctx.rng.randrange(12), 1 + ctx.rng.randrange(28))


def _every(ctx: DemoCtx, k: int, *rest: int) -> bool:
    """Every k-th case takes the branch (by case index, so the figures do not depend on luck)."""
    return ctx.n % k in rest


# ----------------------------------------------------------------------------- 优待证申领

def _card_start(ctx: DemoCtx) -> dict[str, Any]:
    return {"applicant_name": ctx.names.person(), "id_number": ctx.names.id_number(_born(ctx, 1950, 1998)),
            "phone": ctx.names.phone(),
            "category": ctx.rng.choice(["退役军人"] * 8 + ["烈士遗属", "因公牺牲军人遗属", "病故军人遗属"]),
            "has_archive": "否" if ctx.n == 5 else "是", "disqualification": "正在服刑" if ctx.n == 17 else "无",
            "apply_date": ctx.past(0, 2)}


def _card_answers(ctx: DemoCtx, start: dict[str, Any]) -> Answers:
    district = ({"district_decision": "不通过", "district_opinion": "退役证件信息与档案记载不一致，不予通过"}
                if ctx.n == 8 else {"district_decision": "通过"})
    city = ({"city_decision": "不通过", "city_opinion": "经比对，申领人已在户籍外地申领，不予通过"}
            if ctx.n == 13 else {"city_decision": "通过"})
    activation = (None if _every(ctx, 5, 3)  # the bank reports nothing: 期满未激活
                  else {"activated": "已激活", "activation_date": ctx.today.isoformat()})
    return {"district_review": [district], "city_review": [city],
            "province_result": [{"province_decision": "通过"}],
            "card_made": [{"card_no": f"YDZ{ctx.today.year}{ctx.rng.randrange(10**7):07d}",
                           "made_date": ctx.today.isoformat()}],
            "district_receive": [{"receive_date": ctx.today.isoformat(), "receiver": ctx.names.person()}],
            "town_issue": [{"issue_date": ctx.today.isoformat(),
                            "issue_note": ctx.rng.choice(["本人到站领取", "工作人员上门发放", "家属代领，已登记"])}],
            "activation": [activation]}


# ----------------------------------------------------------------------------- 困难帮扶

SITUATIONS = {"因病": "本人患慢性病长期服药，医疗支出较大", "因灾": "房屋受暴雨损毁，生活用品受损",
              "因残": "伤残行动不便，无固定收入", "其他": "配偶下岗，子女上学，家庭收入低"}
STANDARD = {"一般困难": 2000, "较重困难": 4000, "特别困难": 5000}  # aid_standard.dmn, within the cap


def _aid_start(ctx: DemoCtx) -> dict[str, Any]:
    kind = ctx.rng.choice(list(SITUATIONS))
    return {"applicant_name": ctx.names.person(), "id_number": ctx.names.id_number(_born(ctx, 1940, 1978)),
            "phone": ctx.names.phone(), "hardship_type": kind,
            "difficulty_level": ctx.rng.choice(["一般困难", "较重困难", "较重困难", "特别困难"]),
            "situation": SITUATIONS[kind], "apply_date": ctx.past(0, 2)}


def _aid_answers(ctx: DemoCtx, start: dict[str, Any]) -> Answers:
    amount = STANDARD[start["difficulty_level"]]
    village = ({"village_decision": "不符合", "village_opinion": "经核实，家庭人均收入高于当地低保标准"}
               if _every(ctx, 8, 5) else {"village_decision": "符合"})
    approval = ({"approval_decision": "不批准", "approval_opinion": "本年度已享受临时救助，不予重复补助"}
                if _every(ctx, 10, 7) else {"approval_decision": "批准", "approved_amount": amount})
    publicity = ({"publicity_result": "异议成立", "publicity_note": "群众反映其子女经营门店，经核实收入较高"}
                 if ctx.n == 9 else None)  # no objection: the 7 days run out
    return {"village_check": [village],
            "town_visit": [{"visit_date": ctx.today.isoformat(), "visit_result": "属实",
                            "visit_note": "入户核实，困难情况属实"}],
            "district_approval": [approval], "publicity": [publicity],
            "payment": [{"pay_amount": amount, "pay_date": ctx.today.isoformat(),
                         "voucher_no": f"KN{ctx.today.year}-{ctx.rng.randrange(1, 999):03d}"}],
            "follow_up": [{"follow_up_date": ctx.today.isoformat(),
                           "follow_up_note": ctx.rng.choice(["补助已用于医疗费用，家庭生活基本稳定",
                                                             "补助已到账，已协调申请临时救助"])}]}


# ----------------------------------------------------------------------------- 立功送喜报

ARMY_UNITS = ["某集团军某旅", "某海防团", "某火箭军旅", "某武警支队", "某空军场站", "某舰艇支队"]
REWARD = {"一等功": 10000, "二等功": 5000, "三等功": 3000, "优秀士兵": 1000}


def _merit_start(ctx: DemoCtx) -> dict[str, Any]:
    award = "二等功" if _every(ctx, 20, 0) else "三等功" if _every(ctx, 4, 1) else "优秀士兵"  # seed: 6/28/90
    village = ctx.pick(lambda c: c.count(".") == 2)
    surname = ctx.names.person()
    return {"soldier_name": surname, "id_number": ctx.names.id_number(_born(ctx, 1998, 2006)),
            "army_unit": ctx.rng.choice(ARMY_UNITS), "award": award, "award_year": ctx.today.year,
            "received_date": ctx.past(0, 1), "family_contact": surname[0] + ctx.rng.choice("建国秀英桂兰志强"),
            "family_address": f"{ctx.place(village)}{ctx.rng.randrange(1, 12)}组{ctx.rng.randrange(1, 60)}号",
            "home_unit_id": ctx.units[ctx.town_of(village)]}


def _merit_answers(ctx: DemoCtx, start: dict[str, Any]) -> Answers:
    return {"verify": [{"verify_result": "属实"}],
            "leader_visit": [{"visit_leader": f"{ctx.names.person()}（区局局长）",
                              "armed_forces_dept": f"{ctx.names.person()}（人武部副部长）",
                              "visit_date": ctx.today.isoformat()}],
            "deliver": [{"delivery_date": ctx.today.isoformat(), "receipt_signed": "已签收",
                         "delivery_note": "敲锣打鼓送喜报上门，拍照留存，家属签收"}],
            "reward": [{"reward_amount": REWARD[start["award"]], "reward_date": ctx.today.isoformat()}],
            "archive": [{"archive_date": ctx.today.isoformat()}]}


# ----------------------------------------------------------------------------- 服务站视频点验

ITEMS = ["阵地建设、人员在岗、服务台账", "政策宣传、来访接待、服务台账", "人员在岗、档案管理、志愿服务"]
PROBLEMS = [("服务台账登记不全，缺少近两月来访记录", "已补齐来访登记台账并建立周检制度"),
            ("值班人员未在岗", "已调整值班表，落实专人值守"),
            ("政策宣传栏内容未及时更新", "已更新宣传栏内容并建立月度更新机制")]


def _inspection_start(ctx: DemoCtx) -> dict[str, Any]:
    station = ctx.pick(lambda c: c.startswith(ctx.unit_code + ".") and c.count(".") in (1, 2))
    return {"station_unit_id": ctx.units[station], "inspect_date": ctx.today.isoformat(),
            "inspect_items": ctx.rng.choice(ITEMS)}


def _inspection_answers(ctx: DemoCtx, start: dict[str, Any]) -> Answers:
    if _every(ctx, 5, 1, 3):
        return {"video_check": [{"check_result": "合格"}]}
    problem, fix = ctx.rng.choice(PROBLEMS)
    rectify = {"rectify_report": fix, "rectify_date": ctx.today.isoformat()}
    rechecks = [{"recheck_result": "整改到位"}]
    if _every(ctx, 4, 2):
        rechecks.insert(0, {"recheck_result": "未到位", "recheck_opinion": "整改材料不完整，请继续整改"})
    return {"video_check": [{"check_result": "需整改", "problems": problem}],
            "rectify": [rectify, {**rectify, "rectify_report": fix + "，补充材料已上传"}], "recheck": rechecks}


# ----------------------------------------------------------------------------- 公益性岗位

POSTS = ["社区治安巡防员", "公共设施维护员", "河道保洁员", "退役军人服务站协理员", "道路交通协管员"]


def _post_start(ctx: DemoCtx) -> dict[str, Any]:
    return {"applicant_name": ctx.names.person(), "id_number": ctx.names.id_number(_born(ctx, 1966, 1982)),
            "difficulty": ctx.rng.choice(["大龄", "大龄", "残疾", "零就业家庭", "长期失业"]),
            "apply_year": ctx.today.year, "apply_date": ctx.past(0, 2)}


def _post_answers(ctx: DemoCtx, start: dict[str, Any]) -> Answers:
    review = ({"review_decision": "不符合", "review_opinion": "该人员已在企业稳定就业，不属于就业困难人员"}
              if _every(ctx, 7, 4) else {"review_decision": "符合"})
    town = ctx.place(ctx.unit_code)
    return {"district_review": [review],
            "placement": [{"post_name": ctx.rng.choice(POSTS),
                           "employer": f"{town}{'办事处' if town.endswith('街道') else '人民政府'}",
                           "on_post_date": ctx.today.isoformat()}]}


# ----------------------------------------------------------------------------- 最美退役军人

DEEDS = ["退役后扎根乡村，带领乡亲发展特色种植，带动三十余户增收", "义务巡河护堤十余年，多次参与防汛抢险",
         "创办物流企业，吸纳退役军人就业四十余人", "长期照料孤寡老人，组建退役军人志愿服务队"]


def _model_start(ctx: DemoCtx) -> dict[str, Any]:
    return {"nominee_name": ctx.names.person(), "id_number": ctx.names.id_number(_born(ctx, 1955, 1992)),
            "deeds": ctx.rng.choice(DEEDS), "nomination_year": ctx.today.year}


def _model_answers(ctx: DemoCtx, start: dict[str, Any]) -> Answers:
    district = ({"district_decision": "不推荐", "district_opinion": "事迹材料不够典型，本年度暂不推荐"}
                if _every(ctx, 8, 5) else {"district_decision": "推荐"})
    city = ({"city_decision": "未入选", "city_opinion": "经评审，得票未达入选标准"}
            if _every(ctx, 8, 3) else {"city_decision": "入选"})
    return {"district_review": [district], "city_selection": [city], "publicity": [None],
            "leader_approval": [{"leader_decision": "同意"}]}


# ----------------------------------------------------------------------------- 现役军人家庭困难帮扶

def _family_start(ctx: DemoCtx) -> dict[str, Any]:
    head = ctx.names.person()
    hard = _every(ctx, 3, 0)  # seed: 33 of 1329 families in difficulty; more here, to show the help
    data: dict[str, Any] = {"family_head": head, "id_number": ctx.names.id_number(_born(ctx, 1955, 1980)),
                            "soldier_name": head[0] + ctx.rng.choice(["浩", "宇", "鹏", "杰", "磊", "晨阳"]),
                            "survey_year": ctx.today.year, "in_difficulty": "是" if hard else "否"}
    if hard:
        data["difficulty_note"] = ctx.rng.choice(["家属患病住院，收入低", "房屋漏雨需维修，老人无人照料",
                                                  "配偶失业，子女上学负担重"])
    return data


def _family_answers(ctx: DemoCtx, start: dict[str, Any]) -> Answers:
    amount = ctx.rng.choice([1000, 2000, 3000, 5000])
    plan = {"aid_measures": "发放帮扶资金并协调医疗救助", "aid_amount": amount}
    approvals = [{"approval_decision": "同意"}]
    plans = [plan]
    if _every(ctx, 6, 3):
        approvals.insert(0, {"approval_decision": "退回", "approval_opinion": "帮扶措施不具体，请补充就医协调方案"})
        plans.append({**plan, "aid_measures": "发放帮扶资金，协调县人民医院减免部分医疗费用"})
    return {"aid_plan": plans, "district_approval": approvals,
            "aid_delivery": [{"delivered_date": ctx.today.isoformat(),
                              "delivery_note": "帮扶资金已发放到户，医疗协调已落实"}]}


PACKAGE_DEMOS: dict[str, PackageDemo] = {
    "preferential_card": PackageDemo(20, ["d*.t*"], _card_start, _card_answers,
                                     waits={"card_made": (6, 14), "district_receive": (2, 5),
                                            "town_issue": (1, 4), "activation": (2, 20)},
                                     depths=[40] * 19 + [5], within=0.5),
    "hardship_aid": PackageDemo(12, ["d*.t*.v*"], _aid_start, _aid_answers,
                                waits={"payment": (1, 4), "follow_up": (5, 15)}),
    "merit_notice": PackageDemo(14, ["city.yf"], _merit_start, _merit_answers,
                                waits={"deliver": (1, 3), "reward": (3, 10)},
                                depths=[1, 3, 40, 40, 40, 40, 40, 40]),
    "station_inspection": PackageDemo(8, ["d*"], _inspection_start, _inspection_answers,
                                      waits={"rectify": (3, 12)}),
    "public_welfare_post": PackageDemo(10, ["d*.t*"], _post_start, _post_answers,
                                       waits={"placement": (5, 20)}),
    "model_veteran": PackageDemo(8, ["d*.t*"], _model_start, _model_answers,
                                 depths=[2, 40, 40, 40, 40]),
    "active_family_aid": PackageDemo(14, ["d*.t*.v*"], _family_start, _family_answers,
                                     waits={"aid_delivery": (2, 10)}),
}
