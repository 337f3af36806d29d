"""Screenshots of the main pages for the README, from deterministic data.

    .venv/bin/python -m tests.web.screenshots [OUT_DIR]      (default: docs/screenshots/)

Builds the test org (tests.factories.build_org) and a few petition cases through the engine in a
temporary SQLite database on a fixed clock, serves the app from a local server thread and takes
the pictures with Debian's Chromium (/usr/bin/chromium). tests/web/test_browser_screenshots.py
runs the same function into a temporary folder.
"""
from __future__ import annotations

import random
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

from sqlalchemy import create_engine

from engine import runtime
from engine.clock import ManualClock
from engine.env import Env, make_env
from engine.forms import id_check_digit
from engine.schema import upgrade
from tests.factories import (PETITION_HANDLED, act, beijing, open_tasks, register_petition, setup_petition,
                             sign_assignment)
from tests.web.browser_support import DESKTOP, PHONE, launch_chromium, live_server, open_page, sign_in
from webapp import create_app

ROOT = Path(__file__).resolve().parents[2]
OUT_DIR = ROOT / "docs" / "screenshots"


@dataclass(frozen=True)
class Demo:
    """Ids the screenshots open."""
    approve_case: int   # at 审批 (done: 登记, 受理审查, 调查办理, 审核)
    handle_task: int    # a 调查办理 task of the district caseworker
    intake_task: int    # a 受理审查 task of the city's petition section


def _open_menu(page: Any) -> None:
    page.locator(".navbar-toggler").click()
    page.locator("#main-nav").wait_for(state="visible")
    page.wait_for_timeout(400)  # the collapse animation


def _choose_assign(page: Any) -> None:
    """受理审查 with 交办 chosen: the fields only 交办 needs appear, marked *, with the date picker."""
    page.get_by_label("交办", exact=True).check()
    page.locator("[name=handling_unit_id]").wait_for(state="visible")
    page.wait_for_timeout(200)


def _to_charts(page: Any) -> None:
    page.locator(".stats-charts").evaluate("e => window.scrollTo(0, e.offsetTop - 8)")


@dataclass(frozen=True)
class Shot:
    filename: str
    username: str
    path: Callable[[Demo], str]
    viewport: dict[str, int]
    full_page: bool = True
    prepare: Callable[[Any], None] | None = None


SHOTS = (
    Shot("home.png", "d1_cw", lambda d: "/", {"width": 1280, "height": 440}, full_page=False),
    Shot("task.png", "d1_cw", lambda d: f"/tasks/{d.handle_task}", DESKTOP),
    Shot("case.png", "d1_lead", lambda d: f"/cases/{d.approve_case}", DESKTOP),
    Shot("leader.png", "d1_lead", lambda d: "/leader", DESKTOP),
    Shot("form.png", "city_cw", lambda d: f"/tasks/{d.intake_task}", DESKTOP, prepare=_choose_assign),
    Shot("audit.png", "city_audit", lambda d: "/audit/", DESKTOP),
    Shot("phone.png", "d1_cw", lambda d: "/", PHONE, full_page=False, prepare=_open_menu),
    Shot("ledger.png", "city_lead", lambda d: "/ledger/petition", DESKTOP),
    Shot("charts.png", "city_lead", lambda d: "/stats/", DESKTOP, full_page=False, prepare=_to_charts),
)


class _SeededSecrets:
    """Stands in for `secrets` in engine.runtime so query codes are the same on every run."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def randbelow(self, n: int) -> int:
        return self._random.randrange(n)


def _id_number(first17: str) -> str:
    return first17 + id_check_digit(first17)


def build_demo(env: Env) -> Demo:
    """The org tree and six petitions at different steps, on a clock that moves through March
    2026 (each step at its own hour, so the pictures are the same on every run)."""
    org = setup_petition(env)

    def at(day: str, hour: int) -> None:
        env.clock.set(beijing(day, hour))  # type: ignore[attr-defined]

    def assign_d1(case: int, opinion: str) -> None:  # 交办 by the city, 签收 by the district
        act(env, org, case, "intake", "city_cw",
            {"intake_outcome": "交办", "handling_unit_id": org.units["d1"]}, opinion)
        sign_assignment(env, org, case, "d1")

    with mock.patch.object(runtime, "secrets", _SeededSecrets(2026)):
        at("2026-01-15", 10)  # an early case: its 60-day handling clock ends on 2026-03-17
        early = register_petition(env, org, channel="来信", petitioner_name="钱国强",
                                  id_number=_id_number("32060219620708001"), category="待遇",
                                  facts="伤残等级评定后抚恤金未按新标准发放。", requests="请求补发差额。")
        at("2026-01-16", 11)
        assign_d1(early, "请海安区核实抚恤金发放情况")
        at("2026-03-02", 9)
        first = register_petition(env, org)
        at("2026-03-03", 10)
        assign_d1(first, "请海安区依政策办理")
        at("2026-03-04", 14)
        group = register_petition(
            env, org, petitioner_name="李卫东", id_number=_id_number("32060219700315004"),
            phone="13812345678", headcount=6, representatives=["李卫东", "张志强"], category="就业",
            facts="六名2019年退役士兵反映安置工作岗位至今未落实。", requests="请求按政策落实安置岗位。")
        at("2026-03-05", 9)
        assign_d1(group, "集体访，请海安区尽快核实")
        at("2026-03-05", 16)
        medical = register_petition(
            env, org, channel="来电", petitioner_name="赵桂兰", id_number=_id_number("32060219550203002"),
            identity="军属", category="医疗", facts="烈士遗属医疗费用报销比例与政策不符。",
            requests="请求按优抚政策报销。")
        at("2026-03-06", 10)
        assign_d1(medical, "请核实报销政策")
        at("2026-03-09", 15)
        act(env, org, first, "handle", "d1_cw", PETITION_HANDLED, "调查完毕，提交审核")
        at("2026-03-10", 11)
        act(env, org, first, "review", "d1_rev", {"review_decision": "通过"}, "事实清楚，依据充分")
        at("2026-03-11", 10)
        housing = register_petition(
            env, org, channel="网上", petitioner_name="孙志刚", id_number=_id_number("32060219781120001"),
            category="住房", purpose="建议", facts="建议为重点优抚对象改造危旧住房。",
            requests="请求纳入宜居关爱计划。")
        at("2026-03-12", 9)
        act(env, org, medical, "handle", "d1_cw", {"handling_action": "申请延期", "extension_days": 20,
                                                   "extension_reason": "需向市医保局调取结算记录"},
            "申请延期20日")
        at("2026-03-12", 15)
        pending = register_petition(env, org, username="t2_cw", unit="t2", petitioner_name="周海涛",
                          id_number=_id_number("32060219820415003"), category="社保",
                          facts="军龄未计入社保缴费年限。", requests="请求补缴社保。")
        at("2026-03-13", 10)
        assign_d1(housing, "请海安区结合宜居关爱计划办理")
        at("2026-03-16", 9)
    [handle] = open_tasks(env, group, "handle")
    [intake] = open_tasks(env, pending, "intake")
    return Demo(approve_case=first, handle_task=handle.id, intake_task=intake.id)


@contextmanager
def demo_server(workdir: Path) -> Iterator[tuple[str, Demo]]:
    """A fresh SQLite database with the demo data, served on 127.0.0.1; yields (url, ids)."""
    url = f"sqlite:///{workdir / 'screenshots.db'}"
    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()
    env = make_env(url, clock=ManualClock(beijing("2026-03-02")), bpmn_dir=ROOT / "bpmn")
    try:
        demo = build_demo(env)
        app = create_app({"ENV_NAME": "test", "UPLOAD_DIR": workdir / "uploads"}, env=env)
        with live_server(app) as base:
            yield base, demo
    finally:
        env.db.dispose()


def take_screenshots(out_dir: Path, browser: Any | None = None) -> list[Path]:
    """Write the PNGs of SHOTS into out_dir; returns their paths. Fails on a console error or
    a CSP violation on any of the pages. Pass a Playwright browser to reuse it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rongflow-shots-") as tmp, demo_server(Path(tmp)) as (base, demo):
        if browser is None:
            with launch_chromium(("--lang=zh-CN",)) as own:  # the browser's own words in Chinese
                return _shoot(own, base, demo, out_dir)
        return _shoot(browser, base, demo, out_dir)


def _shoot(browser: Any, base: str, demo: Demo, out_dir: Path) -> list[Path]:
    written, problems = [], []
    for username in dict.fromkeys(shot.username for shot in SHOTS):  # sign in once per user
        page, seen = open_page(browser, base)
        try:
            sign_in(page, username)
            for shot in (s for s in SHOTS if s.username == username):
                page.set_viewport_size(shot.viewport)
                page.goto(shot.path(demo))
                page.evaluate("document.fonts.ready.then(() => true)")
                if shot.prepare:
                    shot.prepare(page)
                target = out_dir / shot.filename
                page.screenshot(path=str(target), full_page=shot.full_page, animations="disabled")
                written.append(target)
            problems += [f"{username}: {m}" for m in seen.messages]
        finally:
            page.context.close()
    if problems:
        raise RuntimeError("console errors or CSP violations:\n" + "\n".join(problems))
    return sorted(written)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out_dir = Path(args[0]) if args else OUT_DIR
    from tests.web.browser_support import CHROMIUM, MISSING
    if not CHROMIUM.is_file():
        print(MISSING.replace("browser tests skipped", "no screenshots"), file=sys.stderr)
        return 1
    for path in take_screenshots(out_dir):
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
