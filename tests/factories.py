"""Small factories: an org tree with users per role, and test-only process configs."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from engine.definitions import deploy, read_process_dir
from engine.env import Env
from engine.models import OrgLevel, OrgUnit, Role, User
from engine.orgs import Actor, create_unit, create_user
from engine.process_api import ProcessConfig

DATA = Path(__file__).resolve().parent / "data"


@dataclass
class Org:
    """A city with one district, one town, one village; units by name, actors by username."""
    units: dict[str, int] = field(default_factory=dict)
    users: dict[str, Actor] = field(default_factory=dict)

    def actor(self, username: str) -> Actor:
        return self.users[username]


# (username, full name, role, unit key)
STAFF = [
    ("city_cw", "市信访经办", Role.caseworker, "city_xf"),
    ("city_rev", "市信访科长", Role.reviewer, "city_xf"),
    ("city_lead", "市局领导", Role.leader, "city"),
    ("city_audit", "市局审计", Role.auditor, "city"),
    ("admin", "系统管理员", Role.admin, "city"),
    ("d1_cw", "区经办", Role.caseworker, "d1"),
    ("d1_rev", "区审核", Role.reviewer, "d1"),
    ("d1_lead", "区领导", Role.leader, "d1"),
    ("d2_cw", "二区经办", Role.caseworker, "d2"),
    ("t1_cw", "镇经办", Role.caseworker, "t1"),
    ("t2_cw", "二镇经办", Role.caseworker, "t2"),
    ("v1_cw", "村工作人员", Role.caseworker, "v1"),
]


def build_org(env: Env) -> Org:
    org = Org()
    with env.db.write() as s:
        city = create_unit(s, "city", "XX市退役军人事务局", OrgLevel.city)
        xf = create_unit(s, "city.xf", "权益维护科", OrgLevel.city, city, is_section=True)
        d1 = create_unit(s, "d1", "海安区退役军人事务局", OrgLevel.district, city)
        d2 = create_unit(s, "d2", "江北区退役军人事务局", OrgLevel.district, city)
        t1 = create_unit(s, "d1.t1", "城东街道退役军人服务站", OrgLevel.town, d1)
        t2 = create_unit(s, "d2.t2", "江北镇退役军人服务站", OrgLevel.town, d2)
        v1 = create_unit(s, "d1.t1.v1", "幸福社区退役军人服务站", OrgLevel.village, t1)
        units: dict[str, OrgUnit] = {"city": city, "city_xf": xf, "d1": d1, "d2": d2,
                                     "t1": t1, "t2": t2, "v1": v1}
        org.units = {k: u.id for k, u in units.items()}
        for username, name, role, unit_key in STAFF:
            user: User = create_user(s, username, name, "secret-pass", env.clock.now(),
                                     [(role, units[unit_key])])
            org.users[username] = Actor(user.id, name)
    return org


def plain_config() -> ProcessConfig:
    return ProcessConfig(key="plain", name="五步审批", case_prefix="PL",
                         forms_dir=DATA / "plain" / "forms")


def deploy_dir(env: Env, key: str, path: Path) -> int:
    with env.db.write() as s:
        definition, _created = deploy(s, key, read_process_dir(path), env.clock.now())
        return definition.id


def setup_plain(env: Env) -> None:
    env.extra_processes["plain"] = plain_config()
    deploy_dir(env, "plain", DATA / "plain")


def deploy_files(env: Env, key: str, files: dict[str, bytes]) -> int:
    with env.db.write() as s:
        definition, _created = deploy(s, key, files, env.clock.now())
        return definition.id


def simple_config(key: str, prefix: str = "TS", **kwargs: object) -> ProcessConfig:
    """A config for a test-only process with no forms."""
    return ProcessConfig(key=key, name=key, case_prefix=prefix,
                         forms_dir=DATA / key / "forms", **kwargs)  # type: ignore[arg-type]
