"""The demo city's organisation (江海市, domain.md §1): its units and their names, its staff with
synthetic names, and the logins `rongflow demo` prints and the README lists (workflows/demo_city.py
builds the city and its cases)."""
from __future__ import annotations

import random
from datetime import date
from typing import Any

from engine.env import Env
from engine.forms import id_check_digit
from engine.models import OrgLevel, OrgUnit, Role
from engine.orgs import ROLE_LABELS, create_unit, create_user, hash_password

DEMO_PASSWORD = "demo1234"
CITY_NAME = "江海市"  # the demo city's one name: its bureau, the README and the console say it alike
SECTIONS = [("bgs", "办公室"), ("xf", "权益维护科（信访）"), ("yf", "优抚科"), ("ya", "移交安置科"),
            ("jy", "就业创业科"), ("jj", "纪检监察室"), ("rs", "人社协作组")]
DISTRICTS = [("海安区", ["城东街道", "城西街道", "南莫镇"]), ("江北区", ["江北镇", "滨江街道", "新港镇"]),
             ("城南区", ["南湖街道", "花园镇", "石桥镇"]), ("临江县", ["临江镇", "白蒲镇", "长青乡"])]
VILLAGE_NAMES = ["幸福社区", "和平村", "新华社区", "永兴村", "光明社区", "团结村", "红旗村", "东风社区",
                 "建设村"]
SURNAMES = "王李张刘陈杨黄赵周吴徐孙朱马胡郭林何高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈"
GIVEN = "建国军华明伟强磊洋勇杰涛超斌波辉刚健鹏飞宇浩然志红梅兰英秀芳玲静丽敏燕霞娟桂春海林峰"
# The logins `rongflow demo` prints and the README lists: username, unit code, role, what they do.
LOGINS = [
    ("city_lead1", "city", Role.leader, "局领导：审批、最美退役军人审定"),
    ("city_admin", "city", Role.admin, "用户、单位、流程部署"),
    ("city_audit", "city", Role.auditor, "全市案件及其历史"),
    ("city_xf_cw1", "city.xf", Role.caseworker, "信访登记、受理"),
    ("city_xf_rev", "city.xf", Role.reviewer, "信访审核"),
    ("city_yf_cw1", "city.yf", Role.caseworker, "立功喜报、优待证制卡登记、最美退役军人公示"),
    ("city_yf_rev", "city.yf", Role.reviewer, "宜居关爱审批、优待证审核、最美退役军人评审"),
    ("city_ya_cw1", "city.ya", Role.caseworker, "退役士兵档案接收、安排工作"),
    ("city_ya_rev1", "city.ya", Role.reviewer, "档案初审、复审（两人分别审）"),
    ("city_ya_rev2", "city.ya", Role.reviewer, "档案初审、复审（两人分别审）"),
    ("city_jj_cw1", "city.jj", Role.caseworker, "档案联合拆封（纪检）"),
    ("city_rs_cw1", "city.rs", Role.caseworker, "档案联合拆封（人社）"),
    ("d1_cw1", "d1", Role.caseworker, "信访办理、困难补助发放、服务站视频点验"),
    ("d1_rev", "d1", Role.reviewer, "信访审核、优待证审核、公益性岗位审核、整改复核"),
    ("d1_lead", "d1", Role.leader, "信访审批、困难补助审批、现役军人家庭帮扶审批、喜报带队"),
    ("d1_audit", "d1", Role.auditor, "本区案件及其历史"),
    ("d1t1_cw1", "d1.t1", Role.caseworker, "优待证受理和发放、公益性岗位、最美退役军人推荐、入户核实"),
    ("d1t1v1_cw", "d1.t1.v1", Role.caseworker, "宜居关爱排查、困难帮扶申请、现役军人家庭走访"),
]

class Names:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def person(self) -> str:
        for _ in range(100):
            name = self.rng.choice(SURNAMES) + "".join(self.rng.choice(GIVEN) for _ in range(self.rng.choice((1, 2))))
            if name not in self.used:
                self.used.add(name)
                return name
        return self.rng.choice(SURNAMES) + self.rng.choice(GIVEN) + str(len(self.used))

    def id_number(self, born: date | None = None) -> str:
        born = born or date(1960 + self.rng.randrange(40), 1 + self.rng.randrange(12), 1 + self.rng.randrange(28))
        first17 = f"320621{born:%Y%m%d}{self.rng.randrange(1000):03d}"
        return first17 + id_check_digit(first17)

    def phone(self) -> str:
        return f"13{self.rng.randrange(10)}{self.rng.randrange(10**8):08d}"


def unit_layout() -> dict[str, str]:
    """Every unit of the demo city, code -> name, in the order they are created."""
    out = {"city": f"{CITY_NAME}退役军人事务局"}
    out.update({f"city.{code}": label for code, label in SECTIONS})
    for d, (dname, towns) in enumerate(DISTRICTS, start=1):
        out[f"d{d}"] = f"{dname}退役军人事务局"
        for t, tname in enumerate(towns, start=1):
            out[f"d{d}.t{t}"] = f"{tname}退役军人服务站"
            for v in range(1, 4):
                vname = VILLAGE_NAMES[(d * 3 + t * 2 + v) % len(VILLAGE_NAMES)]
                out[f"d{d}.t{t}.v{v}"] = f"{tname}{vname}退役军人服务站"
    return out


def build_org(env: Env, city: Any, names: Names) -> None:
    """City bureau with sections, 4 districts × 3 towns × 3 villages, staff per role per unit."""
    pw_hash = hash_password(DEMO_PASSWORD)
    city.unit_names = unit_layout()
    with env.db.write() as s:
        root = create_unit(s, "city", city.unit_names["city"], OrgLevel.city)
        city.units["city"] = root.id
        _staff(s, env, city, names, pw_hash, root, "city", [(Role.leader, 2), (Role.auditor, 1), (Role.admin, 1)])
        for code, label in SECTIONS:
            sec = create_unit(s, f"city.{code}", label, OrgLevel.city, root, is_section=True)
            city.units[sec.code] = sec.id
            reviewers = 2 if code == "ya" else 1  # file reviews need a second, different reviewer
            _staff(s, env, city, names, pw_hash, sec, f"city_{code}",
                   [(Role.caseworker, 2), (Role.reviewer, reviewers)])
        for d, (_dname, towns) in enumerate(DISTRICTS, start=1):
            dist = create_unit(s, f"d{d}", city.unit_names[f"d{d}"], OrgLevel.district, root)
            city.units[dist.code] = dist.id
            _staff(s, env, city, names, pw_hash, dist, f"d{d}",
                   [(Role.caseworker, 2), (Role.reviewer, 1), (Role.leader, 1), (Role.auditor, 1)])
            for t in range(1, len(towns) + 1):
                town = create_unit(s, f"d{d}.t{t}", city.unit_names[f"d{d}.t{t}"], OrgLevel.town, dist)
                city.units[town.code] = town.id
                _staff(s, env, city, names, pw_hash, town, f"d{d}t{t}", [(Role.caseworker, 2)])
                for v in range(1, 4):
                    village = create_unit(s, f"d{d}.t{t}.v{v}", city.unit_names[f"d{d}.t{t}.v{v}"],
                                          OrgLevel.village, town)
                    city.units[village.code] = village.id
                    _staff(s, env, city, names, pw_hash, village, f"d{d}t{t}v{v}", [(Role.caseworker, 1)])


def _staff(s: Any, env: Env, city: Any, names: Names, pw_hash: str, unit: OrgUnit,
           prefix: str, roles: list[tuple[Role, int]]) -> None:
    short = {Role.caseworker: "cw", Role.reviewer: "rev", Role.leader: "lead",
             Role.auditor: "audit", Role.admin: "admin"}
    for role, count in roles:
        for n in range(1, count + 1):
            username = f"{prefix}_{short[role]}" + (str(n) if count > 1 else "")
            name = names.person()
            create_user(s, username, name, DEMO_PASSWORD, env.clock.now(), [(role, unit)],
                        password_hash=pw_hash, phone=names.phone())
            city.logins.append((username, name, f"{role.value}@{unit.name}"))


def demo_logins() -> str:
    """The README's table of demo logins, as text for the console: username, unit, role, work."""
    units = unit_layout()
    lines = [f"演示账号（密码均为 {DEMO_PASSWORD}；其他区、镇街、村的账号依此类推，如 d2_cw1、d1t2_cw1、d1t2v3_cw）："]
    lines += [f"  {username:13s} {units[code]} · {ROLE_LABELS[role]} — {work}" for username, code, role, work in LOGINS]
    return "\n".join(lines)
