"""Shared setup of the verb tests: the five-step plain process with two caseworkers at the town,
the parallel-branch fixture, and small helpers."""
from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select

from engine.definitions import SpecCache, deploy, read_process_dir
from engine.env import Env, make_env
from engine.history import verify_chain
from engine.inbox import inbox
from engine.models import HistoryEvent, HumanTask, OrgUnit, Role, TaskStatus
from engine.orgs import Actor, create_user
from engine.runtime import complete_task, start_case
from tests.factories import DATA, Org, build_org, plain_config, setup_plain, simple_config

PARALLEL_STEPS = ("draft", "check_a", "sign_a", "check_b", "approve")


def add_user(env: Env, org: Org, username: str, name: str, role: Role, unit: str) -> Actor:
    with env.db.write() as s:
        user = create_user(s, username, name, "secret-pass", env.clock.now(), [(role, s.get(OrgUnit, org.units[unit]))])
        org.users[username] = Actor(user.id, name)
    return org.users[username]


def plain_case(env: Env, **settings: object) -> tuple[Org, int]:
    """A plain case at the town with step1 done by t1_cw; t1_cw2 is a colleague at the town."""
    org = build_org(env)
    setup_plain(env)
    if settings:
        env.extra_processes["plain"] = replace(plain_config(), settings=dict(settings))
    add_user(env, org, "t1_cw2", "镇经办二", Role.caseworker, "t1")
    started = start_case(env, "plain", org.actor("t1_cw"), org.units["t1"], {"subject": "x"})
    return org, started.instance_id


def open_task(env: Env, instance_id: int, step_id: str | None = None) -> HumanTask:
    with env.db.read() as s:
        stmt = select(HumanTask).where(HumanTask.instance_id == instance_id,
                                       HumanTask.status.in_((TaskStatus.open, TaskStatus.claimed)))
        if step_id:
            stmt = stmt.where(HumanTask.step_id == step_id)
        rows = list(s.scalars(stmt.order_by(HumanTask.id)))
    assert rows, f"no open task {step_id} on case {instance_id}"
    return rows[0]


def complete_step(env: Env, instance_id: int, step_id: str, actor: Actor, data: dict | None = None) -> None:
    complete_task(env, open_task(env, instance_id, step_id).id, actor, data or {})


def actions(env: Env, instance_id: int) -> list[str]:
    with env.db.read() as s:
        return list(s.scalars(select(HistoryEvent.action).where(HistoryEvent.instance_id == instance_id)
                              .order_by(HistoryEvent.seq)))


def chain_ok(env: Env, instance_id: int) -> bool:
    with env.db.read() as s:
        return verify_chain(s, instance_id).ok


def second_env(env: Env) -> Env:
    """Another engine on the same database (another process), sharing the process registry."""
    other = make_env(env.db.url, clock=env.clock, bpmn_dir=env.bpmn_dir, keyring=env.db.keyring)
    other.script_limits = env.script_limits  # the second engine as the first (a wall-time backstop)
    other.extra_processes = env.extra_processes
    return other


def drop_cache(env: Env) -> None:
    env.specs = SpecCache()


def parallel_case(env: Env) -> tuple[Org, int]:
    """The parallel fixture at the town: draft, then check_a → sign_a beside check_b, then approve."""
    org = build_org(env)
    env.extra_processes["verbs_parallel"] = simple_config(
        "verbs_parallel", "VP", roles={s: Role.caseworker for s in PARALLEL_STEPS})
    with env.db.write() as s:
        deploy(s, "verbs_parallel", read_process_dir(DATA / "verbs_parallel"), env.clock.now(),
               role_steps=PARALLEL_STEPS)
    add_user(env, org, "t1_cw2", "镇经办二", Role.caseworker, "t1")
    started = start_case(env, "verbs_parallel", org.actor("t1_cw"), org.units["t1"], {})
    return org, started.instance_id


def inbox_ids(env: Env, actor: Actor) -> list[int]:
    return [t.id for t in inbox(env, actor.id).items]
