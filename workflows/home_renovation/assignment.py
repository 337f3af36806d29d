"""Which org unit each step of a home-renovation case goes to.

A case is registered at a village. `routing()` works out the town, district and city above it
once, at start, and keeps them in the case data; `assign()` then only reads data. The city
approval goes to the city's 优抚科 section (code "<city>.<approval_section>", "city.yf"), looked
up when the task is created, so a reorganised section is picked up by running cases.
"""
from __future__ import annotations

from typing import Any

from engine.errors import NotFound
from engine.process_api import HookContext, OrgLookup

# step id -> the routing key (set by routing()) of the unit that does the step
UNIT_KEYS: dict[str, str] = {
    "publicity": "village_unit_id",
    "home_visit": "town_unit_id",
    "make_plan": "town_unit_id",
    "construction": "town_unit_id",
    "follow_up": "town_unit_id",
    "district_review": "district_unit_id",
    "payment": "district_unit_id",
    "leader_approval": "city_unit_id",
}


def _up_to(orgs: OrgLookup, unit_id: int, level: str) -> int:
    """The unit at `level` at or above `unit_id`; the unit itself when the tree has none."""
    current: int | None = unit_id
    while current is not None:
        if orgs.level(current) == level:
            return current
        current = orgs.parent_id(current)
    return unit_id


def routing(village_id: int, orgs: OrgLookup) -> dict[str, int]:
    """The units that handle a case registered at `village_id`."""
    town = _up_to(orgs, village_id, "town")
    district = _up_to(orgs, town, "district")
    city = _up_to(orgs, district, "city")
    return {"village_unit_id": village_id, "town_unit_id": town,
            "district_unit_id": district, "city_unit_id": city}


def approval_section(data: dict[str, Any], ctx: HookContext) -> int:
    """The city's 优抚科 (section code suffix from settings, default "yf")."""
    suffix = str(ctx.settings.get("approval_section", "yf"))
    section = ctx.orgs.section_of(int(data["city_unit_id"]), suffix)
    if section is None:
        raise NotFound(f"the city has no section with code suffix {suffix!r}",
                       "未找到市局优抚科，请管理员检查组织机构设置")
    return section


def assign(step_id: str, data: dict[str, Any], ctx: HookContext) -> int:
    """The org unit of a new task. Acceptance instances go to their signer's unit."""
    if step_id == "acceptance":
        return int(data["signer"]["unit_id"])
    if step_id == "city_approval":
        return approval_section(data, ctx)
    key = UNIT_KEYS.get(step_id)
    if key is None:
        raise KeyError(f"home_renovation: no unit rule for step {step_id!r}")
    return int(data[key])
