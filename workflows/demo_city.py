"""The demo city of domain.md §1 (江海市), and about 280 cases of every process in every state,
made by driving the engine.

Nothing is inserted behind the engine's back: org units and users through engine.orgs, cases
through start_case/complete_task, overdue states through the timer worker on a clock that starts
months ago and walks to today. Staff work in office hours on working days, the dates they write
into forms agree with the case's timeline and their opinions fit the decision
(workflows.demo_realism); the declarative packages' cases come from workflows.demo_packages.
Names and ID numbers are synthetic.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from engine.clock import ManualClock, SystemClock
from engine.env import Env
from engine.errors import EngineError
from engine.calendar import BEIJING, to_local_date
from engine.forms import load_form, today_defaults
from engine.models import HumanTask, OrgLevel, OrgUnit, Role, RoleGrant, TaskStatus, User
from engine.orgs import Actor
from engine.runtime import complete_task, start_case
from engine.worker import run_due_timers
from workflows import process_keys
from workflows.demo_org import (CITY_NAME, DEMO_PASSWORD, DISTRICTS, LOGINS, SECTIONS, Names, build_org,
                                demo_logins, unit_layout)
from workflows.demo_packages import PACKAGE_DEMOS, DemoCtx, PackageDemo
from workflows.demo_realism import (NIGHT_RUN, OFFICE_SLOTS, first_workday_morning, office_slots, opinion_for,
                                    plan_wait, timeline_dates)

# How many steps staff complete across the open cases in each office-hour slot.
STEPS_PER_SLOT = 3
# Where each process's demo cases are registered (unit code patterns; '*' = any number).
START_UNITS = {"petition": ["d*.t*", "d*.t*", "d*", "city.xf"], "home_renovation": ["d*.t*.v*"],
               "settlement_handover": ["city.ya"], "job_placement": ["city.ya"]}
# How many cases of each Python process the demo holds (packages: workflows.demo_packages).
CASES_PER_PROCESS = {"petition": 90, "home_renovation": 50, "settlement_handover": 40, "job_placement": 20}


@dataclass
class DemoCity:
    units: dict[str, int] = field(default_factory=dict)
    unit_names: dict[str, str] = field(default_factory=dict)
    logins: list[tuple[str, str, str]] = field(default_factory=list)  # username, name, role@unit
    cases: dict[str, int] = field(default_factory=dict)
    steps: int = 0
    timers: int = 0

    def summary(self) -> str:
        per = "，".join(f"{k} {v} 件" for k, v in sorted(self.cases.items()))
        return (f"演示城市：{CITY_NAME}，{len(self.units)} 个单位，{len(self.logins)} 个用户；"
                f"案件 {sum(self.cases.values())} 件（{per}），办理 {self.steps} 步，时限触发 {self.timers} 次")


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
        """Complete the task with the answer and an opinion that fits the decision it records."""
        actors = self.holders.get((task.role, task.org_unit_id))
        if not actors:
            return False
        schema = load_form(self.env.process(task.process_key).forms_dir, task.step_id)
        answer = {**today_defaults(schema, to_local_date(self.env.clock.now())), **answer}  # as the form does
        opinion = opinion_for(str(getattr(task.role, "value", task.role)), answer, self.rng)
        for actor in self.rng.sample(actors, len(actors)):  # four-eyes steps need another person
            try:
                complete_task(self.env, task.id, actor, answer, opinion=opinion)
                return True
            except EngineError:
                continue
        return False


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
    last_day: date | None = None            # the local day of the case's last step (form dates not before it)
    waits: dict[str, tuple[int, int]] = field(default_factory=dict)  # step -> days an outside party takes
    wait_until: datetime | None = None      # nothing happens on the case before this
    waited_task: int | None = None
    last_at: datetime | None = None         # when the case last moved (staff take the longest waiting first)


def drive_case(driver: Driver, run: CaseRun, clock: ManualClock, rng: random.Random,
               max_steps: int = 1, stop: datetime | None = None) -> int:
    """Complete up to `max_steps` of the case's remaining steps (before `stop`); a step left to its
    timer (answer None) waits until the timer has moved the case on, a step done by an outside
    party (the bank, a station rectifying) until its days have passed."""
    done = 0
    while run.remaining > 0 and done < max_steps:
        if run.wait_until is not None and clock.now() < run.wait_until:
            break
        task = driver.open_task(run.instance_id)
        if task is None:
            run.remaining = 0  # closed, or waiting on a timer with nothing to do
            break
        if _outside_party_busy(run, task, clock, rng):
            break
        queue = run.answers.get(task.step_id) or [{}]
        answer = queue[min(run.seen.get(task.step_id, 0), len(queue) - 1)]
        if answer is None:  # the step's timer moves it on: look again tomorrow
            run.wait_until = clock.now() + timedelta(days=1)
            break
        step_at = clock.now() + timedelta(minutes=rng.randrange(2, 10))
        if stop is not None and step_at >= stop:
            break
        clock.set(step_at)
        today = to_local_date(step_at)
        schema = load_form(run.config.forms_dir, task.step_id)
        answer = timeline_dates(_real_units(dict(answer), driver, rng), schema, today, run.last_day, rng)
        if not driver.act(task, answer):
            run.remaining = 0
            break
        run.last_day, run.last_at = today, step_at
        planned = plan_wait(answer, schema)  # e.g. the leader's planned visit: the next step waits for it
        run.wait_until = datetime.combine(planned, OFFICE_SLOTS[0][0], BEIJING) if planned else None
        run.seen[task.step_id] = run.seen.get(task.step_id, 0) + 1
        run.remaining -= 1
        done += 1
    return done


def _outside_party_busy(run: CaseRun, task: HumanTask, clock: ManualClock, rng: random.Random) -> bool:
    """The first time a step of an outside party is seen, it is given its days (e.g. the bank
    makes the card in 6-14 days); until they have passed the case waits."""
    days = run.waits.get(task.step_id)
    if days is None or run.waited_task == task.id:
        return False
    run.waited_task = task.id
    run.wait_until = clock.now() + timedelta(days=rng.randint(*days))
    return True


def _real_units(answer: dict[str, Any], driver: Driver, rng: random.Random) -> dict[str, Any]:
    """Smoke answers name made-up org units; in the demo a `*_unit_id` field names a district."""
    for key in answer:
        if key.endswith("_unit_id") and driver.districts:
            answer[key] = rng.choice(driver.districts)
    return answer


def demo_processes(env: Env) -> dict[str, int]:
    """How many cases of each process the demo makes: the Python processes and the deployed packages."""
    plan = {k: n for k, n in CASES_PER_PROCESS.items() if k in process_keys()}
    for key, demo in PACKAGE_DEMOS.items():
        try:
            env.process(key)
        except KeyError:  # not deployed
            continue
        plan[key] = demo.count
    return plan


def demo_clock(env: Env, days_back: int = 120, now: datetime | None = None) -> ManualClock:
    """The demo's clock at its first morning: 08:30 of the first working day `days_back` days ago
    (`rongflow demo` deploys the processes then, before the first case)."""
    now = now or SystemClock().now()
    return ManualClock(first_workday_morning(now - timedelta(days=days_back), env.calendar))


def build(env: Env, seed: int = 20261129, days_back: int = 120) -> DemoCity:
    """Build the demo city and its cases on an empty database (schema and processes deployed).

    Simulated time runs from `days_back` days ago to now: on working days, in hour-long slots of
    office hours, cases are registered at their times and staff complete a few steps across the
    open cases; the timer worker fires what falls due each night and each slot, so dates, clocks
    and overdue states look like a real half-year."""
    rng = random.Random(seed)
    real_now = SystemClock().now()
    clock = demo_clock(env, days_back, real_now)
    demo_env = Env(db=env.db, clock=clock, calendar=env.calendar, bpmn_dir=env.bpmn_dir,
                   settings=env.settings, specs=env.specs, extra_processes=env.extra_processes,
                   lookup=env.lookup, upload_dir=env.upload_dir,  # its steps issue their documents
                   script_limits=env.script_limits)
    city = DemoCity()
    names = Names(rng)
    with env.db.bulk_load():  # the demo can be rebuilt: its commits need not wait for the disk
        build_org(demo_env, city, names)
        _simulate(demo_env, clock, city, names, real_now, rng)
    return city


def _simulate(demo_env: Env, clock: ManualClock, city: DemoCity, names: Names, real_now: datetime,
              rng: random.Random) -> None:
    """Walk the clock day by day to now: the nightly timer run, then each office-hour slot of a
    working day with its registrations and a few steps on the longest-waiting cases."""
    driver = Driver(demo_env, rng)
    begin = clock.now() + timedelta(days=1)
    span = (real_now - begin).total_seconds() - 3 * 86400  # the last days' registrations still move
    starts = sorted((begin + timedelta(seconds=rng.random() * span * _within(key)), key)
                    for key, n in demo_processes(demo_env).items() for _ in range(n))
    active: list[CaseRun] = []
    day = to_local_date(clock.now())
    while (night := datetime.combine(day, NIGHT_RUN, BEIJING)) < real_now:
        clock.set(max(clock.now(), night))
        city.timers += run_due_timers(demo_env)
        for slot_start, slot_end in office_slots(day, demo_env.calendar):
            if slot_start >= real_now:
                break
            clock.set(max(clock.now(), slot_start))
            city.timers += run_due_timers(demo_env)
            end = min(slot_end, real_now)
            while starts and starts[0][0] <= end and clock.now() + timedelta(minutes=10) < end:
                clock.advance(timedelta(minutes=rng.randrange(2, 10)))
                run = _one_case(demo_env, driver, starts.pop(0)[1], city, names, rng)
                if run is not None:
                    active.append(run)
            for run in _pick_runs(active, clock.now(), rng):
                city.steps += drive_case(driver, run, clock, rng, stop=end)
            active = [r for r in active if r.remaining > 0]
        day += timedelta(days=1)
    clock.set(max(clock.now(), real_now))
    city.timers += run_due_timers(demo_env)


def _within(key: str) -> float:
    package = PACKAGE_DEMOS.get(key) if key not in CASES_PER_PROCESS else None
    return package.within if package else 1.0


def _pick_runs(active: list[CaseRun], now: datetime, rng: random.Random) -> list[CaseRun]:
    """The cases staff work on in a slot: of a random handful ready to move, the longest waiting."""
    ready = [r for r in active if r.wait_until is None or r.wait_until <= now]
    pool = rng.sample(ready, min(3 * STEPS_PER_SLOT, len(ready)))
    return sorted(pool, key=lambda r: r.last_at or now)[:STEPS_PER_SLOT]


def _one_case(env: Env, driver: Driver, key: str, city: DemoCity, names: Names,
              rng: random.Random) -> CaseRun | None:
    config = env.process(key)
    package = PACKAGE_DEMOS.get(key) if key not in CASES_PER_PROCESS else None
    today = to_local_date(env.clock.now())
    patterns = (package.start_units if package else
                config.settings.get("demo_start_units") or START_UNITS.get(key, ["d*.t*"]))
    unit_code = _pick_unit(city, rng.choice(patterns), rng)
    ctx = DemoCtx(names, rng, today, city.units, city.unit_names, unit_code, n=city.cases.get(key, 0))
    maker = config.settings.get("demo_start")
    if package:
        data = package.start(ctx)
    else:
        data = maker(names, rng) if callable(maker) else dict(config.smoke_start)
    schema = load_form(config.forms_dir, "start")
    data = {**today_defaults(schema, today), **data}  # as the form does
    data = timeline_dates(data, schema, today, None, rng)  # nothing dated after the registration
    starters = [a for (role, uid), actors in driver.holders.items() if uid == city.units[unit_code]
                and role in config.start_roles for a in actors]
    if not starters:
        return None
    try:
        started = start_case(env, key, rng.choice(starters), city.units[unit_code], data)
    except EngineError:
        return None
    city.cases[key] = city.cases.get(key, 0) + 1
    return _case_run(started.instance_id, config, package, ctx, data, env.clock.now())


def _case_run(instance_id: int, config: Any, package: PackageDemo | None, ctx: DemoCtx,
              data: dict[str, Any], now: datetime) -> CaseRun:
    today = to_local_date(now)
    if package is None:
        depth = ctx.rng.choice([0, 1, 2, 3, 4, 6, 8, 12, 40, 40, 40])
        return CaseRun(instance_id, config, _scenario_answers(config, ctx.rng), depth, last_day=today,
                       last_at=now)
    return CaseRun(instance_id, config, package.answers(ctx, data), package.depths[ctx.n % len(package.depths)],
                   last_day=today, waits=package.waits, last_at=now)


def _pick_unit(city: DemoCity, pattern: str, rng: random.Random) -> str:
    """A unit code; '*' in a pattern like 'd*.t*' stands for any number (here: any town)."""
    regex = re.compile(re.escape(pattern).replace(r"\*", r"\d+"))
    matches = sorted(c for c in city.units if regex.fullmatch(c))
    return rng.choice(matches) if matches else "city"


# The organisation's names are re-exported: callers (workflows/petition/demo.py, the tests) import them here.
__all__ = ["build", "demo_clock", "demo_logins", "DemoCity", "DEMO_PASSWORD", "CITY_NAME", "DISTRICTS", "LOGINS",
           "SECTIONS", "unit_layout"]
