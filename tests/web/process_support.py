"""The org tree and process set of the web tests of home renovation, settlement handover and job
placement: tests.factories.build_org (city, d1/d2, t1/t2, v1 and their staff) plus the city's
优抚科 (city.yf) and the settlement sections (city.ya 移交安置科, city.jj 纪检, city.rs 人社) with
their staff, and the three processes deployed from bpmn/."""
from __future__ import annotations

from engine.env import Env
from engine.models import OrgLevel, OrgUnit
from engine.orgs import Actor, create_unit, create_user
from tests.factories import (ROOT, SETTLEMENT_STAFF, SETTLEMENT_UNITS, YF_STAFF, Org, build_org,
                             deploy_dir)

PROCESSES = ("home_renovation", "settlement_handover", "job_placement")
PASSWORD = "secret-pass"


def add_process_sections(env: Env, org: Org) -> Org:
    """Add the sections and staff the three processes need to an org from build_org; deploy them."""
    sections = [("city_yf", "city.yf", "优抚科"), *SETTLEMENT_UNITS]
    staff = [(u, n, (r,), "city_yf") for u, n, r in YF_STAFF] + list(SETTLEMENT_STAFF)
    with env.db.write() as s:
        city = s.get(OrgUnit, org.units["city"])
        assert city is not None
        units = {key: create_unit(s, code, name, OrgLevel.city, city, is_section=True)
                 for key, code, name in sections}
        org.units.update({key: unit.id for key, unit in units.items()})
        for username, name, roles, unit_key in staff:
            user = create_user(s, username, name, PASSWORD, env.clock.now(),
                               [(role, units[unit_key]) for role in roles])
            org.users[username] = Actor(user.id, name)
    for key in PROCESSES:
        deploy_dir(env, key, ROOT / "bpmn" / key)
    return org


def build_process_org(env: Env) -> Org:
    return add_process_sections(env, build_org(env))


__all__ = ["PROCESSES", "add_process_sections", "build_process_org"]
