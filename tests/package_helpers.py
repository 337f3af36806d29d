"""Helpers for tests of declarative process packages (engine.packages): deploy one from bpmn/<key>/,
and run a case step by step while the spec cache is dropped and two engine Envs alternate."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.definitions import SpecCache
from engine.env import Env
from engine.models import ProcessDefinition
from engine.packages.package import Package, from_folder
from engine.packages.store import deploy_package
from engine.runtime import StepResult
from tests.factories import Org, act

ROOT = Path(__file__).resolve().parent.parent
BPMN = ROOT / "bpmn"


def package_of(key: str) -> Package:
    return from_folder(BPMN / key)


def deploy_key(env: Env, key: str, actor_id: int | None = None) -> ProcessDefinition:
    with env.db.write() as s:
        definition, _created = deploy_package(s, package_of(key), env.calendar, env.clock.now(), actor_id)
        s.expunge(definition)
        return definition


def other_env(env: Env) -> Env:
    """A second engine process on the same database: own spec cache, own package registry."""
    return Env(db=env.db, clock=env.clock, calendar=env.calendar, bpmn_dir=env.bpmn_dir,
               settings=env.settings)


class Alternating:
    """Each step runs in the other engine Env, with the first one's spec cache dropped."""

    def __init__(self, env: Env, org: Org) -> None:
        self.envs = [env, other_env(env)]
        self.org = org
        self.n = 0

    @property
    def env(self) -> Env:
        return self.envs[self.n % 2]

    def act(self, case_id: int, step: str, user: str, data: dict[str, Any],
            refused: tuple[str, ...] = ()) -> StepResult:
        self.n += 1
        self.envs[0].specs = SpecCache()
        return act(self.env, self.org, case_id, step, user, data, refused=refused)
