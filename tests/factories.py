"""Small factories: an org tree with users per role, and test-only process configs."""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from engine.calendar import BEIJING, to_local_date
from engine.definitions import deploy, read_process_dir
from engine.env import Env
from engine.errors import PermissionDenied
from engine.forms import id_check_digit
from engine.inbox import inbox
from engine.models import HumanTask, OrgLevel, OrgUnit, ProcessInstance, Role, TaskStatus, User
from engine.orgs import Actor, create_unit, create_user
from engine.process_api import ProcessConfig
from engine.runtime import StepResult, complete_task, start_case

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


# ----------------------------------------------------------------------------- petition helpers

ROOT = Path(__file__).resolve().parent.parent
PETITION_HANDLED = {"handling_action": "提交审核", "investigation": "调阅档案并约谈原单位，情况属实。",
                    "handling_result": "支持", "handling_basis": "《退役军人安置条例》第四十二条",
                    "handling_opinion": "认定军龄，由原单位补缴社会保险。"}


def setup_petition(env: Env) -> Org:
    """The test org tree with the petition process deployed from bpmn/petition."""
    org = build_org(env)
    deploy_dir(env, "petition", ROOT / "bpmn" / "petition")
    return org


def beijing(day: str, hour: int = 9) -> datetime:
    """An instant on an ISO day, Beijing time."""
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=BEIJING)

def petition_start_data(**overrides: object) -> dict[str, object]:
    """Valid registration data of one petitioner (synthetic name and ID number)."""
    data: dict[str, object] = {
        "channel": "来访", "received_on": "2026-03-02",  # the day of the tests' DEFAULT_START
        "petitioner_name": "王建国", "id_number": "320602196805120016",
        "phone": "13912345678", "address": "海安区城东街道幸福社区3栋201室", "identity": "退役军人",
        "headcount": 1, "category": "安置", "purpose": "求决",
        "facts": "1990年退役后安置工作单位改制，工龄认定有争议。", "requests": "请求依政策认定军龄并补缴社保。",
    }
    data.update(overrides)
    return data


def open_tasks(env: Env, instance_id: int, step_id: str) -> list[HumanTask]:
    """The open (or claimed) task rows of one step of a case."""
    with env.db.read() as s:
        return list(s.scalars(select(HumanTask).where(
            HumanTask.instance_id == instance_id, HumanTask.step_id == step_id,
            HumanTask.status.in_((TaskStatus.open, TaskStatus.claimed))).order_by(HumanTask.id)))


def all_tasks(env: Env, instance_id: int, step_id: str) -> list[HumanTask]:
    """Every task row of one step of a case, in creation order, whatever its status."""
    with env.db.read() as s:
        return list(s.scalars(select(HumanTask).where(
            HumanTask.instance_id == instance_id, HumanTask.step_id == step_id).order_by(HumanTask.id)))


# ----------------------------------------------------------------------------- sections

# (username, full name, role) of the city bureau's 优抚科
YF_STAFF = [
    ("city_yf_cw", "市优抚科经办", Role.caseworker),
    ("city_yf_rev", "市优抚科科长", Role.reviewer),
]


def build_org_with_sections(env: Env) -> Org:
    """build_org plus the city bureau's 优抚科 (code "city.yf", unit key "city_yf") and its staff."""
    org = build_org(env)
    with env.db.write() as s:
        city = s.get(OrgUnit, org.units["city"])
        assert city is not None
        yf = create_unit(s, "city.yf", "优抚科", OrgLevel.city, city, is_section=True)
        org.units["city_yf"] = yf.id
        for username, name, role in YF_STAFF:
            user = create_user(s, username, name, "secret-pass", env.clock.now(), [(role, yf)])
            org.users[username] = Actor(user.id, name)
    return org


def register_petition(env: Env, org: Org, username: str = "t1_cw", unit: str = "t1",
                      **data: Any) -> int:
    """Register a petition (valid data, overridable) and return the case id."""
    today = to_local_date(env.clock.now()).isoformat()  # the form's default 收到日期
    return start_case(env, "petition", org.actor(username), org.units[unit],
                      petition_start_data(**{"received_on": today, **data})).instance_id


def case_row(env: Env, case_id: int) -> ProcessInstance:
    """The process_instance row of a case (fresh from the database)."""
    with env.db.read() as s:
        found = s.get(ProcessInstance, case_id)
        assert found is not None
        return found


def inbox_ids(env: Env, org: Org, username: str) -> set[int]:
    return {t.id for t in inbox(env, org.actor(username).id, per_page=100).items}


def act(env: Env, org: Org, case_id: int, step_id: str, username: str, data: dict[str, Any],
        opinion: str | None = None, refused: tuple[str, ...] = ()) -> StepResult:
    """Complete the one open task of `step_id` as `username`, after checking that it is in their
    inbox and that each user in `refused` neither sees it nor may complete it."""
    [task] = open_tasks(env, case_id, step_id)
    assert task.id in inbox_ids(env, org, username), username
    for other in refused:
        assert task.id not in inbox_ids(env, org, other), other
        with pytest.raises(PermissionDenied):
            complete_task(env, task.id, org.actor(other), data, opinion)
    return complete_task(env, task.id, org.actor(username), data, opinion)


# ----------------------------------------------------------------------------- settlement (移交安置)

# (unit key, code, name) of the city sections the settlement processes use. 纪检 and 人社 are the
# other two parties of the joint unsealing; they are units so that each party signs with its
# own staff (their codes are settings of the process).
SETTLEMENT_UNITS = [
    ("city_ya", "city.ya", "移交安置科"),
    ("city_jj", "city.jj", "驻局纪检监察组"),
    ("city_rs", "city.rs", "市人社局安置联络组"),
]
# (username, full name, roles, unit key); the section chief also handles files (both roles).
SETTLEMENT_STAFF = [
    ("ya_cw", "移交安置科经办", (Role.caseworker,), "city_ya"),
    ("ya_cw2", "移交安置科经办二", (Role.caseworker,), "city_ya"),
    ("ya_rev1", "移交安置科审核", (Role.reviewer,), "city_ya"),
    ("ya_chief", "移交安置科科长", (Role.caseworker, Role.reviewer), "city_ya"),
    ("jj_cw", "纪检监察员", (Role.caseworker,), "city_jj"),
    ("rs_cw", "人社经办", (Role.caseworker,), "city_rs"),
]


def build_settlement_org(env: Env) -> Org:
    """build_org plus the sections of SETTLEMENT_UNITS under the city and their staff."""
    org = build_org(env)
    with env.db.write() as s:
        city = s.get(OrgUnit, org.units["city"])
        assert city is not None
        units = {}
        for key, code, name in SETTLEMENT_UNITS:
            units[key] = create_unit(s, code, name, OrgLevel.city, city, is_section=True)
            org.units[key] = units[key].id
        for username, name, roles, unit_key in SETTLEMENT_STAFF:
            user = create_user(s, username, name, "secret-pass", env.clock.now(),
                               [(role, units[unit_key]) for role in roles])
            org.users[username] = Actor(user.id, name)
    return org


def setup_settlement(env: Env, key: str) -> Org:
    """The settlement org tree with process `key` (settlement_handover, job_placement) deployed."""
    org = build_settlement_org(env)
    deploy_dir(env, key, ROOT / "bpmn" / key)
    return org


def soldier_id_number(serial: int) -> str:
    first17 = f"32060219980512{serial:03d}"
    return first17 + id_check_digit(first17)


def soldier_file(serial: int = 1, **overrides: Any) -> dict[str, Any]:
    """Valid registration data of one soldier file (synthetic; discharged 2026-02-20)."""
    data: dict[str, Any] = {
        "batch_no": "2026-03-1", "soldier_name": f"李卫国{serial}",
        "id_number": soldier_id_number(serial), "army_unit": "某部队", "service_years": 5,
        "category": "自主就业", "awards": "三等功1次", "disability": "无",
        "discharge_approved_on": "2026-02-20"}
    data.update(overrides)
    return data


def register_soldier_file(env: Env, org: Org, **overrides: Any) -> int:
    """Register one file at the 移交安置科 as its caseworker; returns the case id."""
    return start_case(env, "settlement_handover", org.actor("ya_cw"), org.units["city_ya"],
                      soldier_file(**overrides)).instance_id


def unseal_file(env: Env, org: Org, case: int,
                signers: tuple[str, ...] = ("jj_cw", "rs_cw", "ya_cw")) -> None:
    """Each signer completes the unsealing task in their own inbox."""
    for username in signers:
        [task] = [t for t in open_tasks(env, case, "joint_unsealing")
                  if t.id in inbox_ids(env, org, username)]
        complete_task(env, task.id, org.actor(username),
                      {"seal_intact": True, "page_count": 48, "signed": True})


def review_file(env: Env, org: Org, case: int, step: str, username: str, result: str = "通过",
                query: str | None = None) -> None:
    """First review (a section caseworker) or second review (a section reviewer); the other
    role and district staff may not do it."""
    prefix = step.split("_")[0]
    data = {f"{prefix}_result": result, **({f"{prefix}_query": query} if query else {})}
    refused = ("ya_rev1", "d1_cw") if step == "first_review" else ("ya_cw", "d1_rev")
    act(env, org, case, step, username, data, refused=refused)


def confirm_category(env: Env, org: Org, case: int, category: str = "自主就业") -> None:
    act(env, org, case, "classify_confirm", "city_lead",
        {"confirmed_category": category, "classify_decision": "确认"}, refused=("ya_rev1",))


def hand_over_file(env: Env, org: Org, case: int, district: str = "d1") -> None:
    """The section hands the file to `district` (d1 or d2), whose caseworker signs the receipt."""
    act(env, org, case, "handover", "ya_cw", {"receiving_unit_id": org.units[district],
                                              "handover_on": "2026-03-02", "transfer_list_no": "YJ-01"},
        refused=("ya_rev1", "d1_cw"))
    other = "d2_cw" if district == "d1" else "d1_cw"
    act(env, org, case, "district_receipt", f"{district}_cw",
        {"received_on": "2026-03-02", "receipt_no": "HZ-01", "files_intact": True, "signed": True},
        refused=("ya_cw", other))


def file_to_report_in(env: Env, org: Org, **overrides: Any) -> int:
    """A file registered, unsealed, reviewed twice, confirmed and handed over to d1."""
    case = register_soldier_file(env, org, **overrides)
    unseal_file(env, org, case)
    review_file(env, org, case, "first_review", "ya_cw")
    review_file(env, org, case, "second_review", "ya_rev1")
    confirm_category(env, org, case, overrides.get("category", "自主就业"))
    hand_over_file(env, org, case)
    return case


# ----------------------------------------------------------------- petition helpers (more)

def sign_assignment(env: Env, org: Org, case_id: int, district: str = "d1") -> StepResult:
    """The district's caseworker signs for (签收) a matter the city assigned to it (交办)."""
    today = to_local_date(env.clock.now()).isoformat()
    signed = act(env, org, case_id, "receive_assignment", f"{district}_cw",
                 {"assignment_decision": "签收", "assignment_received_on": today})
    act(env, org, case_id, "assignment_notice", f"{district}_cw",  # Art.23 ¶3 written notice
        {"assignment_notice_on": today, "assignment_notice_method": "邮寄送达"})
    return signed


def assign_petition(env: Env, org: Org, case_id: int, district: str = "d1") -> None:
    """The city petition section assigns the case to a district (交办), which signs for it."""
    act(env, org, case_id, "intake", "city_cw",
        {"intake_outcome": "交办", "handling_unit_id": org.units[district]})
    sign_assignment(env, org, case_id, district)


def petition_replied(env: Env, org: Org, case_id: int, served_on: str | None = None) -> None:
    """Drive an accepted (受理) or signed-for case from 调查办理 to a served reply; the unit is
    whichever holds the handle task (city section or district)."""
    [handle] = open_tasks(env, case_id, "handle")
    unit = next(k for k, v in org.units.items() if v == handle.org_unit_id)
    cw, rev, lead = {"city_xf": ("city_cw", "city_rev", "city_lead"),
                     "d1": ("d1_cw", "d1_rev", "d1_lead")}[unit]
    act(env, org, case_id, "handle", cw, PETITION_HANDLED)
    act(env, org, case_id, "review", rev, {"review_decision": "通过"})
    act(env, org, case_id, "approve", lead, {"approval_decision": "同意"})
    reply = {"service_method": "直接送达", **({"served_on": served_on} if served_on else {})}
    act(env, org, case_id, "reply", cw, reply)


PETITION_EVALUATED = {"followup_on": "2026-03-12", "followup_method": "电话回访", "evaluated": True,
                      "intake_satisfaction": "满意", "handling_satisfaction": "基本满意"}


def petition_in_second_request(env: Env, org: Org, clock: Any) -> int:
    """A petition assigned to 海安区, answered (served 2026-03-10), evaluated, its 复查 asked for on
    2026-03-15 and answered by the city on 2026-03-25: it waits in the 复核 request window."""
    clock.set(beijing("2026-03-02"))
    case_id = register_petition(env, org)
    assign_petition(env, org, case_id)
    clock.set(beijing("2026-03-10"))
    petition_replied(env, org, case_id)
    clock.set(beijing("2026-03-12"))
    act(env, org, case_id, "evaluate", "d1_cw", PETITION_EVALUATED)
    clock.set(beijing("2026-03-15"))
    act(env, org, case_id, "review_request", "city_cw", {"first_review_request": "对处理意见不服"})
    clock.set(beijing("2026-03-25"))
    act(env, org, case_id, "first_review", "city_cw",
        {"first_review_result": "维持原处理意见", "first_review_opinion": "原处理意见正确，予以维持。"})
    return case_id


def petition_to_final(env: Env, org: Org, clock: Any) -> int:
    """petition_in_second_request, then 复核 asked for on 2026-03-30 and answered (by the
    provincial department, recorded by the city) on 2026-04-10: the case is 终结."""
    case_id = petition_in_second_request(env, org, clock)
    clock.set(beijing("2026-03-30"))
    act(env, org, case_id, "second_request", "city_cw", {"second_review_request": "对复查意见不服"})
    clock.set(beijing("2026-04-10"))
    act(env, org, case_id, "second_review", "city_cw",
        {"second_review_action": "作出复核意见", "second_review_result": "维持复查意见",
         "second_review_opinion": "复查意见正确，予以维持。", "second_review_organ": "省退役军人事务厅"})
    return case_id


def together(*calls: Callable[[], Any]) -> list[Any]:
    """Run each call in a thread of its own, all released at the same moment (as workers or users
    acting at once); their results in order. An exception in a thread is raised here."""
    start = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(i: int, call: Callable[[], Any]) -> None:
        start.wait()
        try:
            results[i] = call()
        except BaseException as exc:  # noqa: BLE001 - handed to the test below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results
