"""The demo city of domain.md §1, and about 200 cases in every state, made by driving the engine.

Nothing is inserted behind the engine's back: org units and users through engine.orgs, cases
through start_case/complete_task, overdue states through the timer worker on a clock that starts
months ago and walks to today. Names and ID numbers are synthetic.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from engine.clock import ManualClock, SystemClock
from engine.env import Env
from engine.errors import EngineError
from engine.calendar import to_local_date
from engine.forms import id_check_digit, load_form, today_defaults
from engine.models import HumanTask, OrgLevel, OrgUnit, Role, RoleGrant, TaskStatus, User
from engine.orgs import Actor, create_unit, create_user, hash_password
from engine.runtime import complete_task, start_case
from engine.worker import run_due_timers
from workflows import process_keys

DEMO_PASSWORD = "demo1234"
SECTIONS = [("bgs", "办公室"), ("xf", "权益维护科（信访）"), ("yf", "优抚科"), ("ya", "移交安置科"),
            ("jy", "就业创业科"), ("jj", "纪检监察室"), ("rs", "人社协作组")]
DISTRICTS = [("海安区", ["城东街道", "城西街道", "南莫镇"]), ("江北区", ["江北镇", "滨江街道", "新港镇"]),
             ("城南区", ["南湖街道", "花园镇", "石桥镇"]), ("临江县", ["临江镇", "白蒲镇", "长青乡"])]
VILLAGE_NAMES = ["幸福社区", "和平村", "新华社区", "永兴村", "光明社区", "团结村", "红旗村", "东风社区",
                 "建设村"]
SURNAMES = "王李张刘陈杨黄赵周吴徐孙朱马胡郭林何高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈"
GIVEN = "建国军华明伟强磊洋勇杰涛超斌波辉刚健鹏飞宇浩然志红梅兰英秀芳玲静丽敏燕霞娟桂春海林峰"
# How many cases of each process the demo holds (about 200 in all).
TICK = timedelta(hours=4)
STEPS_PER_TICK = 3
# Where each process's demo cases are registered (unit code patterns; '*' = any number).
START_UNITS = {"petition": ["d*.t*", "d*.t*", "d*", "city.xf"], "home_renovation": ["d*.t*.v*"],
               "settlement_handover": ["city.ya"], "job_placement": ["city.ya"]}
CASES_PER_PROCESS = {"petition": 90, "home_renovation": 50, "settlement_handover": 40, "job_placement": 20}


@dataclass
class DemoCity:
    units: dict[str, int] = field(default_factory=dict)
    logins: list[tuple[str, str, str]] = field(default_factory=list)  # username, name, role@unit
    cases: dict[str, int] = field(default_factory=dict)
    steps: int = 0
    timers: int = 0

    def summary(self) -> str:
        per = "，".join(f"{k} {v} 件" for k, v in sorted(self.cases.items()))
        return (f"演示城市：{len(self.units)} 个单位，{len(self.logins)} 个用户；案件 {sum(self.cases.values())} 件"
                f"（{per}），办理 {self.steps} 步，时限触发 {self.timers} 次")


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


def build_org(env: Env, city: DemoCity, names: Names) -> None:
    """City bureau with sections, 4 districts × 3 towns × 3 villages, staff per role per unit."""
    pw_hash = hash_password(DEMO_PASSWORD)
    with env.db.write() as s:
        root = create_unit(s, "city", "XX市退役军人事务局", OrgLevel.city)
        city.units["city"] = root.id
        _staff(s, env, city, names, pw_hash, root, "city", [(Role.leader, 2), (Role.auditor, 1), (Role.admin, 1)])
        for code, label in SECTIONS:
            sec = create_unit(s, f"city.{code}", label, OrgLevel.city, root, is_section=True)
            city.units[sec.code] = sec.id
            reviewers = 2 if code == "ya" else 1  # file reviews need a second, different reviewer
            _staff(s, env, city, names, pw_hash, sec, f"city_{code}",
                   [(Role.caseworker, 2), (Role.reviewer, reviewers)])
        for d, (dname, towns) in enumerate(DISTRICTS, start=1):
            dist = create_unit(s, f"d{d}", f"{dname}退役军人事务局", OrgLevel.district, root)
            city.units[dist.code] = dist.id
            _staff(s, env, city, names, pw_hash, dist, f"d{d}",
                   [(Role.caseworker, 2), (Role.reviewer, 1), (Role.leader, 1), (Role.auditor, 1)])
            for t, tname in enumerate(towns, start=1):
                town = create_unit(s, f"d{d}.t{t}", f"{tname}退役军人服务站", OrgLevel.town, dist)
                city.units[town.code] = town.id
                _staff(s, env, city, names, pw_hash, town, f"d{d}t{t}", [(Role.caseworker, 2)])
                for v in range(1, 4):
                    vname = VILLAGE_NAMES[(d * 3 + t * 2 + v) % len(VILLAGE_NAMES)]
                    village = create_unit(s, f"d{d}.t{t}.v{v}", f"{tname}{vname}退役军人服务站",
                                          OrgLevel.village, town)
                    city.units[village.code] = village.id
                    _staff(s, env, city, names, pw_hash, village, f"d{d}t{t}v{v}", [(Role.caseworker, 1)])


def _staff(s: Any, env: Env, city: DemoCity, names: Names, pw_hash: str, unit: OrgUnit,
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


class Driver:
    """Acts on a case's open tasks as a user holding the task's role at its unit."""

    def __init__(self, env: Env, rng: random.Random) -> None:
        self.env, self.rng = env, rng
        with env.db.read() as s:
            rows = s.execute(select(RoleGrant.role, RoleGrant.org_unit_id, User.id, User.full_name)
                             .join(User, User.id == RoleGrant.user_id)).all()
        self.holders: dict[tuple[Role, int], list[Actor]] = {}
        with env.db.read() as s:
            self.districts = list(s.scalars(select(OrgUnit.id).where(
                OrgUnit.level == OrgLevel.district).order_by(OrgUnit.id)))
        for r in rows:
            self.holders.setdefault((r.role, r.org_unit_id), []).append(Actor(r.id, r.full_name))

    def open_task(self, instance_id: int) -> HumanTask | None:
        with self.env.db.read() as s:
            return s.scalars(select(HumanTask).where(
                HumanTask.instance_id == instance_id,
                HumanTask.status.in_((TaskStatus.open, TaskStatus.claimed))).order_by(HumanTask.id)).first()

    def act(self, task: HumanTask, answer: dict[str, Any]) -> bool:
        actors = self.holders.get((task.role, task.org_unit_id))
        if not actors:
            return False
        schema = load_form(self.env.process(task.process_key).forms_dir, task.step_id)
        answer = {**today_defaults(schema, to_local_date(self.env.clock.now())), **answer}  # as the form does
        for actor in self.rng.sample(actors, len(actors)):  # four-eyes steps need another person
            try:
                complete_task(self.env, task.id, actor, answer, opinion=self.rng.choice(OPINIONS))
                return True
            except EngineError:
                continue
        return False


OPINIONS = ["同意", "情况属实，同意办理", "已核实，材料齐全", "同意，请按时限办结", "经研究，同意", "已电话回访"]


def _scenario_answers(config: Any, rng: random.Random) -> dict[str, list[Any]]:
    """Per-step answers: the process's demo variants where it has them, else its smoke answers."""
    answers = {k: (list(v) if isinstance(v, list) else [v]) for k, v in config.smoke_answers.items()}
    for step, variants in (config.settings.get("demo_variants") or {}).items():
        if rng.random() < 0.3:
            answers[step] = [rng.choice(variants)] + answers.get(step, [{}])
    return answers


@dataclass
class CaseRun:
    """A demo case being worked on: how far it should go and which answers it has used."""
    instance_id: int
    config: Any
    answers: dict[str, list[Any]]
    remaining: int
    seen: dict[str, int] = field(default_factory=dict)


def drive_case(driver: Driver, run: CaseRun, clock: ManualClock, rng: random.Random,
               max_steps: int = 1) -> int:
    """Complete up to `max_steps` of the case's remaining steps; a step left to its timer
    (answer None) waits until the timer has moved the case on."""
    done = 0
    while run.remaining > 0 and done < max_steps:
        task = driver.open_task(run.instance_id)
        if task is None:
            run.remaining = 0  # closed, or waiting on a timer with nothing to do
            break
        queue = run.answers.get(task.step_id) or [{}]
        answer = queue[min(run.seen.get(task.step_id, 0), len(queue) - 1)]
        if answer is None:
            break
        clock.advance(timedelta(minutes=rng.randrange(5, 40)))
        if not driver.act(task, _real_units(dict(answer), driver, rng)):
            run.remaining = 0
            break
        run.seen[task.step_id] = run.seen.get(task.step_id, 0) + 1
        run.remaining -= 1
        done += 1
    return done


def _real_units(answer: dict[str, Any], driver: Driver, rng: random.Random) -> dict[str, Any]:
    """Smoke answers name made-up org units; in the demo a `*_unit_id` field names a district."""
    for key in answer:
        if key.endswith("_unit_id") and driver.districts:
            answer[key] = rng.choice(driver.districts)
    return answer


def build(env: Env, seed: int = 20261129, days_back: int = 120) -> DemoCity:
    """Build the demo city and its cases on an empty database (schema and processes deployed).

    Simulated time runs from `days_back` days ago to now in 4-hour ticks: cases are registered at
    their times, staff complete a few steps per tick across the open cases, and the timer worker
    fires what falls due, so dates, clocks and overdue states look like a real half-year."""
    rng = random.Random(seed)
    real_now = SystemClock().now()
    clock = ManualClock(real_now - timedelta(days=days_back))
    demo_env = Env(db=env.db, clock=clock, calendar=env.calendar, bpmn_dir=env.bpmn_dir,
                   settings=env.settings, specs=env.specs, extra_processes=env.extra_processes,
                   lookup=env.lookup, upload_dir=env.upload_dir)  # its steps issue their documents
    city = DemoCity()
    names = Names(rng)
    build_org(demo_env, city, names)
    driver = Driver(demo_env, rng)
    plan = [(k, n) for k, n in CASES_PER_PROCESS.items() if k in process_keys()]
    span = (days_back - 2) * 86400
    starts = sorted((clock.now() + timedelta(seconds=rng.random() * span), key)
                    for key, n in plan for _ in range(n))
    active: list[CaseRun] = []
    while clock.now() < real_now - TICK:
        tick_end = clock.now() + TICK
        while starts and starts[0][0] <= tick_end:
            run = _one_case(demo_env, driver, starts.pop(0)[1], city, names, rng)
            if run is not None:
                active.append(run)
        for run in rng.sample(active, min(STEPS_PER_TICK, len(active))):
            city.steps += drive_case(driver, run, clock, rng)
        active = [r for r in active if r.remaining > 0]
        clock.set(max(clock.now(), tick_end))
        city.timers += run_due_timers(demo_env)
    clock.set(max(clock.now(), real_now))
    city.timers += run_due_timers(demo_env)
    return city


def _one_case(env: Env, driver: Driver, key: str, city: DemoCity, names: Names,
              rng: random.Random) -> CaseRun | None:
    config = env.process(key)
    maker = config.settings.get("demo_start")
    data = maker(names, rng) if callable(maker) else dict(config.smoke_start)
    schema = load_form(config.forms_dir, "start")
    data = {**today_defaults(schema, to_local_date(env.clock.now())), **data}  # as the form does
    unit_code = rng.choice(config.settings.get("demo_start_units") or START_UNITS.get(key, ["d*.t*"]))
    unit_code = _pick_unit(city, unit_code, rng)
    starters = [a for (role, uid), actors in driver.holders.items() if uid == city.units[unit_code]
                and role in config.start_roles for a in actors]
    if not starters:
        return None
    try:
        started = start_case(env, key, rng.choice(starters), city.units[unit_code], data)
    except EngineError:
        return None
    city.cases[key] = city.cases.get(key, 0) + 1
    depth = rng.choice([0, 1, 2, 3, 4, 6, 8, 12, 40, 40, 40])
    return CaseRun(started.instance_id, config, _scenario_answers(config, rng), depth)


def _pick_unit(city: DemoCity, pattern: str, rng: random.Random) -> str:
    """A unit code; '*' in a pattern like 'd*.t*' stands for any number (here: any town)."""
    regex = re.compile(re.escape(pattern).replace(r"\*", r"\d+"))
    matches = sorted(c for c in city.units if regex.fullmatch(c))
    return rng.choice(matches) if matches else "city"


def demo_logins() -> str:
    """The README's table of demo logins, as text for the console."""
    rows = [("city_lead1", "局领导"), ("city_xf_cw1", "市局信访经办人"), ("city_xf_rev", "市局信访科长（审核）"),
            ("city_yf_rev", "市局优抚科长"), ("city_ya_cw1", "市局移交安置经办人"),
            ("d1_cw1", "海安区经办人"), ("d1_rev", "海安区审核人"), ("d1_lead", "海安区领导"),
            ("d1t1_cw1", "城东街道服务站经办人"), ("d1t1v1_cw", "村（社区）服务站工作人员"),
            ("city_audit", "市局审计"), ("d1_audit", "海安区审计"), ("city_admin", "系统管理员")]
    lines = [f"演示账号（密码均为 {DEMO_PASSWORD}）："] + [f"  {u:14s} {label}" for u, label in rows]
    return "\n".join(lines)


__all__ = ["build", "demo_logins", "DemoCity", "DEMO_PASSWORD"]
