"""Administration and audit in the engine: who may, one transaction each, an append-only admin
log, deployment of uploads, scoped history search and chain verification."""
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from engine import admin, admin_ops, audit
from engine.auth import attempt_login, session_user
from engine.errors import DefinitionError, FormInvalid, InvalidState, NotFound, PermissionDenied
from engine.inbox import inbox, inbox_count
from engine.models import (AdminEvent, InstanceStatus, OrgLevel, OrgUnit, ProcessDefinition, Role,
                           User)
from engine.orgs import Actor, create_user
from engine.runtime import claim_task, complete_task, start_case
from tests.factories import DATA, build_org, deploy_files, setup_plain, simple_config

PLAIN = (DATA / "plain" / "plain.bpmn").read_bytes()


def _count(env, model):
    with env.db.read() as s:
        return s.scalar(select(func.count()).select_from(model))


def _add_user(env, username, name, role, unit_id):
    with env.db.write() as s:
        user = create_user(s, username, name, "secret-pass", env.clock.now(),
                           [(role, s.get(OrgUnit, unit_id))])
        return Actor(user.id, name)


def _login(env, username, password="secret-pass"):
    return attempt_login(env, username, password, max_failures=5, lock_minutes=15)


# ----------------------------------------------------------------------------- users and grants

def test_admin_creates_user_grants_role_and_every_step_is_logged(env):
    org = build_org(env)
    boss = org.actor("admin")
    uid = admin.create_user(env, boss, "new_cw", "新经办", "long-enough-1", phone="13800000001")
    gid = admin.add_grant(env, boss, uid, Role.caseworker, org.units["t1"])
    assert _login(env, "new_cw", "long-enough-1").ok
    row = admin.get_user(env, boss.id, uid)
    assert [(g.role, g.unit_id) for g in row.grants] == [(Role.caseworker, org.units["t1"])]
    admin.remove_grant(env, boss, gid)
    assert admin.get_user(env, boss.id, uid).grants == []
    with env.db.read() as s:
        events = s.scalars(select(AdminEvent).order_by(AdminEvent.id)).all()
        assert [(e.action, e.actor_id, e.target) for e in events] == [
            ("user_create", boss.id, "new_cw"), ("grant_add", boss.id, "new_cw"),
            ("grant_remove", boss.id, "new_cw")]
        assert events[1].details["role"] == "caseworker"
        assert "long-enough-1" not in str([e.details for e in events])


def test_create_user_refuses_bad_input_and_duplicates_and_writes_nothing(env):
    org = build_org(env)
    users, logs = _count(env, User), _count(env, AdminEvent)
    with pytest.raises(FormInvalid) as bad:
        admin.create_user(env, org.actor("admin"), "x", "", "short")
    assert set(bad.value.errors) == {"username", "full_name", "password"}
    with pytest.raises(FormInvalid) as dup:
        admin.create_user(env, org.actor("admin"), "t1_cw", "重名", "long-enough-1")
    assert "username" in dup.value.errors
    assert (_count(env, User), _count(env, AdminEvent)) == (users, logs)


@pytest.mark.parametrize("who", ["t1_cw", "city_lead", "city_audit", "d1_rev"])
def test_non_admins_may_not_administer(env, who):
    org = build_org(env)
    actor = org.actor(who)
    calls = [
        lambda: admin.create_user(env, actor, "someone", "某人", "long-enough-1"),
        lambda: admin.reset_password(env, actor, org.actor("t1_cw").id, "long-enough-1"),
        lambda: admin.set_user_active(env, actor, org.actor("t2_cw").id, False),
        lambda: admin.create_unit(env, actor, org.units["d1"], "d1.t9", "新镇", OrgLevel.town),
        lambda: admin.rename_unit(env, actor, org.units["t1"], "改名"),
        lambda: admin.add_grant(env, actor, actor.id, Role.admin, org.units["city"]),
        lambda: admin.list_users(env, actor.id),
        lambda: admin.org_tree(env, actor.id),
        lambda: admin_ops.list_definitions(env, actor.id),
        lambda: admin_ops.upload_definition(env, actor, "plain", {"plain.bpmn": PLAIN}),
    ]
    for call in calls:
        with pytest.raises(PermissionDenied):
            call()
    assert _count(env, AdminEvent) == 0


def test_district_admin_manages_only_their_subtree(env):
    org = build_org(env)
    d1_admin = _add_user(env, "d1_admin", "区管理员", Role.admin, org.units["d1"])
    admin.create_unit(env, d1_admin, org.units["d1"], "d1.t9", "新街道", OrgLevel.town)
    with pytest.raises(PermissionDenied):
        admin.create_unit(env, d1_admin, org.units["d2"], "d2.t9", "别区街道", OrgLevel.town)
    with pytest.raises(PermissionDenied):  # the city admin holds a grant outside d1
        admin.reset_password(env, d1_admin, org.actor("admin").id, "long-enough-1")
    with pytest.raises(PermissionDenied):
        admin.add_grant(env, d1_admin, d1_admin.id, Role.admin, org.units["city"])
    with pytest.raises(PermissionDenied):  # deployment is city-wide
        admin_ops.upload_definition(env, d1_admin, "plain", {"plain.bpmn": PLAIN})
    admin.reset_password(env, d1_admin, org.actor("t1_cw").id, "long-enough-1")


def test_password_reset_ends_existing_sessions_and_lifts_lock(env):
    org = build_org(env)
    cw = org.actor("t1_cw")
    before = _login(env, "t1_cw")
    assert session_user(env, cw.id, before.session_version) is not None
    admin.reset_password(env, org.actor("admin"), cw.id, "brand-new-pass")
    assert session_user(env, cw.id, before.session_version) is None  # the old session is dead
    assert not _login(env, "t1_cw").ok
    after = _login(env, "t1_cw", "brand-new-pass")
    assert after.ok and session_user(env, cw.id, after.session_version) is not None
    with pytest.raises(FormInvalid):
        admin.reset_password(env, org.actor("admin"), cw.id, "short")


def test_deactivated_user_cannot_sign_in_and_admin_cannot_deactivate_self(env):
    org = build_org(env)
    boss, cw = org.actor("admin"), org.actor("t1_cw")
    session = _login(env, "t1_cw")
    admin.set_user_active(env, boss, cw.id, False)
    assert session_user(env, cw.id, session.session_version) is None
    assert _login(env, "t1_cw").outcome.value == "inactive"
    admin.set_user_active(env, boss, cw.id, True)
    assert _login(env, "t1_cw").ok
    with pytest.raises(InvalidState):
        admin.set_user_active(env, boss, boss.id, False)
    with env.db.read() as s:
        grant_id = s.scalar(select(AdminEvent.id).limit(1))
    assert grant_id is not None


def test_units_follow_level_rules_and_deactivate_only_when_empty(env):
    org = build_org(env)
    boss = org.actor("admin")
    with pytest.raises(Exception, match="层级|cannot sit"):
        admin.create_unit(env, boss, org.units["t1"], "d1.t1.bad", "错层级", OrgLevel.district)
    with pytest.raises(FormInvalid):
        admin.create_unit(env, boss, org.units["t1"], "d1.t1.v1", "重复编码", OrgLevel.village)
    new_id = admin.create_unit(env, boss, org.units["t1"], "d1.t1.v2", "和平社区", OrgLevel.village)
    tree = admin.org_tree(env, boss.id)
    by_id = {u.id: u for u in tree}
    assert by_id[new_id].depth == by_id[org.units["t1"]].depth + 1
    assert [u.id for u in tree].index(new_id) > [u.id for u in tree].index(org.units["t1"])
    admin.rename_unit(env, boss, new_id, "和平社区退役军人服务站")
    with pytest.raises(InvalidState):  # t1 still has active villages
        admin.set_unit_active(env, boss, org.units["t1"], False)
    admin.set_unit_active(env, boss, new_id, False)
    assert {u.id: u.active for u in admin.org_tree(env, boss.id)}[new_id] is False


def test_unit_with_open_tasks_cannot_be_deactivated(env):
    org = build_org(env)
    setup_plain(env)
    start_case(env, "plain", org.actor("v1_cw"), org.units["v1"], {})
    with pytest.raises(InvalidState, match="open tasks"):
        admin.set_unit_active(env, org.actor("admin"), org.units["v1"], False)


def test_admin_cannot_remove_own_admin_grant(env):
    org = build_org(env)
    boss = org.actor("admin")
    own = admin.get_user(env, boss.id, boss.id).grants[0]
    with pytest.raises(InvalidState):
        admin.remove_grant(env, boss, own.id)


@pytest.mark.parametrize("statement", [
    "UPDATE admin_event SET actor_name = '别人'",
    "DELETE FROM admin_event",
])
def test_database_refuses_to_change_the_admin_log(env, statement):
    org = build_org(env)
    admin.create_user(env, org.actor("admin"), "new_cw", "新经办", "long-enough-1")
    with pytest.raises(DBAPIError, match="append-only"):
        with env.db.engine.begin() as conn:
            conn.execute(text(statement))
    with env.db.read() as s:
        assert s.scalar(text("SELECT actor_name FROM admin_event")) == "系统管理员"


def test_a_failed_command_leaves_no_admin_event(env):
    org = build_org(env)
    with pytest.raises(FormInvalid):
        admin.add_grant(env, org.actor("admin"), org.actor("t1_cw").id, Role.caseworker, org.units["t1"])
    assert _count(env, AdminEvent) == 0


# ----------------------------------------------------------------------------- definitions

def test_broken_upload_names_file_and_line_and_deploys_nothing(env):
    org = build_org(env)
    setup_plain(env)
    broken = PLAIN.replace(b"</bpmn:process>", b"<bpmn:task id='x'></bpmn:process>", 1)
    with pytest.raises(DefinitionError) as err:
        admin_ops.upload_definition(env, org.actor("admin"), "plain", {"plain.bpmn": broken})
    assert err.value.file == "plain.bpmn" and err.value.line
    assert _count(env, ProcessDefinition) == 1 and _count(env, AdminEvent) == 0


def test_good_upload_makes_a_new_version_and_the_same_content_none(env):
    org = build_org(env)
    setup_plain(env)
    changed = PLAIN.replace(b"</bpmn:definitions>", b"<!-- v2 --></bpmn:definitions>")
    result = admin_ops.upload_definition(env, org.actor("admin"), "plain", {"C:\\x\\plain.bpmn": changed})
    assert (result.version, result.created) == (2, True)
    again = admin_ops.upload_definition(env, org.actor("admin"), "plain", {"plain.bpmn": changed})
    assert (again.version, again.created) == (2, False)
    groups = admin_ops.list_definitions(env, org.actor("admin").id)
    assert [(g.key, [v.version for v in g.versions]) for g in groups] == [("plain", [2, 1])]
    assert groups[0].latest.deployed_by == "系统管理员" and groups[0].latest.files == ["plain.bpmn"]
    with env.db.read() as s:
        assert s.scalars(select(AdminEvent.action)).all() == ["deploy"]


def test_upload_rejects_bad_key_no_files_and_non_utf8(env):
    org = build_org(env)
    boss = org.actor("admin")
    with pytest.raises(FormInvalid):
        admin_ops.upload_definition(env, boss, "Bad-Key", {"plain.bpmn": PLAIN})
    with pytest.raises(FormInvalid):
        admin_ops.upload_definition(env, boss, "plain", {})
    with pytest.raises(DefinitionError, match="UTF-8"):
        admin_ops.upload_definition(env, boss, "plain", {"plain.bpmn": "<x>旧编码</x>".encode("gbk")})


# ----------------------------------------------------------------------------- case operations

def _error_case(env, org):
    source = (DATA / "script_case" / "script_case.bpmn").read_text(encoding="utf-8")
    env.extra_processes["script_case"] = simple_config("script_case", "SC")
    deploy_files(env, "script_case", {"script_case.bpmn": source.replace("{payload}", "pass").encode()})
    cw = org.actor("t1_cw")
    started = start_case(env, "script_case", cw, org.units["t1"], {})
    complete_task(env, inbox(env, cw.id).items[0].id, cw, {"note": "no amount"})
    return started


def test_admin_case_view_shows_steps_not_business_data(env):
    org = build_org(env)
    setup_plain(env)
    started = start_case(env, "plain", org.actor("t1_cw"), org.units["t1"], {"subject": "秘密内容"})
    case = admin_ops.find_case(env, org.actor("admin").id, started.case_no.lower())
    assert case.case_no == started.case_no and case.status == InstanceStatus.running
    assert [t.step_name for t in case.tasks] == ["登记"]
    assert "秘密内容" not in repr(case)
    with pytest.raises(PermissionDenied):
        admin_ops.find_case(env, org.actor("city_audit").id, started.case_no)
    d2_admin = _add_user(env, "d2_admin", "二区管理员", Role.admin, org.units["d2"])
    with pytest.raises(NotFound):
        admin_ops.find_case(env, d2_admin.id, started.case_no)


def test_retry_with_a_json_fix_runs_the_case_on(env):
    org = build_org(env)
    started = _error_case(env, org)
    errors = admin_ops.error_cases(env, org.actor("admin").id)
    assert [e.case_no for e in errors] == [started.case_no]
    with pytest.raises(FormInvalid):
        admin_ops.retry_with_fix(env, org.actor("admin"), started.instance_id, "{amount: 1", "修正")
    with pytest.raises(FormInvalid):
        admin_ops.retry_with_fix(env, org.actor("admin"), started.instance_id, "[1]", "修正")
    result = admin_ops.retry_with_fix(env, org.actor("admin"), started.instance_id,
                                      '{"amount": 500}', "补录金额")
    assert result.status == InstanceStatus.running
    assert admin_ops.error_cases(env, org.actor("admin").id) == []


def test_reassign_candidates_hold_the_tasks_role_at_its_unit(env):
    org = build_org(env)
    setup_plain(env)
    start_case(env, "plain", org.actor("t1_cw"), org.units["t1"], {})
    task = inbox(env, org.actor("t1_cw").id).items[0]
    names = [n for _id, n in admin_ops.reassign_candidates(env, org.actor("admin").id, task.id)]
    assert names == ["镇经办"]


# ----------------------------------------------------------------------------- audit

def _two_districts(env):
    """A case in d1 and one in d2, done on different days, plus a district-1 auditor."""
    org = build_org(env)
    setup_plain(env)
    c1 = start_case(env, "plain", org.actor("t1_cw"), org.units["t1"], {"subject": "一区"})
    env.clock.advance(timedelta(days=2))
    c2 = start_case(env, "plain", org.actor("t2_cw"), org.units["t2"], {"subject": "二区"})
    cw = org.actor("t2_cw")
    complete_task(env, inbox(env, cw.id).items[0].id, cw, {"amount": 5}, opinion="已登记")
    d1_audit = _add_user(env, "d1_audit", "区审计", Role.auditor, org.units["d1"])
    return org, c1, c2, d1_audit


def test_auditor_search_filters_by_person_action_date_and_unit(env):
    org, c1, c2, _d1 = _two_districts(env)
    aud = org.actor("city_audit").id
    everything = audit.search_history(env, aud)
    assert everything.total == 3
    found = audit.search_history(env, aud, audit.HistoryFilter(person="二镇")).items
    assert [r.case_no for r in found] == [c2.case_no] * 2
    assert audit.search_history(env, aud, audit.HistoryFilter(person="t1_cw")).total == 1
    done = audit.search_history(env, aud, audit.HistoryFilter(action="complete")).items
    assert [(r.case_no, r.action_label, r.event.opinion) for r in done] == [(c2.case_no, "办理", "已登记")]
    first_day = audit.search_history(env, aud, audit.HistoryFilter(date_from=date(2026, 3, 2),
                                                                     date_to=date(2026, 3, 2)))
    assert [r.case_no for r in first_day.items] == [c1.case_no]
    later = audit.search_history(env, aud, audit.HistoryFilter(date_from=date(2026, 3, 3)))
    assert {r.case_no for r in later.items} == {c2.case_no}
    d1 = audit.search_history(env, aud, audit.HistoryFilter(unit_id=org.units["d1"]))
    assert [r.case_no for r in d1.items] == [c1.case_no]
    assert audit.search_history(env, aud, audit.HistoryFilter(case_no=c1.case_no[-5:])).total == 1
    with pytest.raises(FormInvalid):
        audit.search_history(env, aud, audit.HistoryFilter(date_from=date(2026, 3, 5),
                                                           date_to=date(2026, 3, 1)))
    assert audit.search_history(env, aud, per_page=2, page=2).items[0].case_no == c1.case_no


def test_district_auditor_sees_only_their_district(env):
    org, c1, c2, d1_audit = _two_districts(env)
    rows = audit.search_history(env, d1_audit.id).items
    assert {r.case_no for r in rows} == {c1.case_no}
    assert audit.search_history(env, d1_audit.id, audit.HistoryFilter(unit_id=org.units["d2"])).total == 0
    assert [u for u, _n, _d in audit.scope_units(env, d1_audit.id)] == [
        org.units["d1"], org.units["t1"], org.units["v1"]]
    audit.audit_case(env, d1_audit.id, c1.instance_id)
    with pytest.raises(NotFound):
        audit.audit_case(env, d1_audit.id, c2.instance_id)
    assert audit.verify_scope(env, d1_audit.id).total == 1
    assert len(audit.export_rows(env, d1_audit.id)) == 2


def test_non_auditors_get_permission_denied(env):
    org, c1, _c2, _d1 = _two_districts(env)
    for who in ("admin", "city_lead", "t1_cw"):
        uid = org.actor(who).id
        for call in (lambda: audit.search_history(env, uid), lambda: audit.export_rows(env, uid),
                     lambda: audit.audit_case(env, uid, c1.instance_id),
                     lambda: audit.verify_scope(env, uid)):
            with pytest.raises(PermissionDenied):
                call()


def test_auditor_reads_all_data_but_cannot_act_and_has_no_inbox(env):
    org, c1, _c2, _d1 = _two_districts(env)
    auditor = org.actor("city_audit")
    case = audit.audit_case(env, auditor.id, c1.instance_id)
    assert case.data["subject"] == "一区" and case.chain.ok and case.chain_label == "校验通过"
    assert inbox(env, auditor.id).total == 0 and inbox_count(env, auditor.id) == 0
    task = inbox(env, org.actor("t1_cw").id).items[0]
    with pytest.raises(PermissionDenied):
        claim_task(env, task.id, auditor)
    with pytest.raises(PermissionDenied):
        complete_task(env, task.id, auditor, {})


def test_export_rows_have_chinese_headers_and_local_times(env):
    org, c1, c2, _d1 = _two_districts(env)
    rows = audit.export_rows(env, org.actor("city_audit").id)
    assert rows[0][:6] == ["案件编号", "流程", "序号", "时间", "操作人", "操作"]
    assert rows[1][0] == c1.case_no and rows[1][3] == "2026-03-02 09:00:00" and rows[1][5] == "发起"
    assert rows[-1][8] == "已登记"


def test_chain_verification_finds_a_tampered_case(env):
    org, c1, c2, _d1 = _two_districts(env)
    aud = org.actor("city_audit").id
    assert audit.verify_scope(env, aud) == audit.ChainSummary(2, 2, [])
    with env.db.engine.begin() as conn:  # someone with raw database access edits an opinion
        if env.db.is_sqlite:
            conn.execute(text("DROP TRIGGER history_event_no_update"))
        else:
            conn.execute(text("ALTER TABLE history_event DISABLE TRIGGER history_event_no_update"))
        conn.execute(text("UPDATE history_event SET opinion = '同意' WHERE instance_id = :i AND seq = 2"),
                     {"i": c2.instance_id})
        if not env.db.is_sqlite:  # the PostgreSQL database is shared by the run: guard it again
            conn.execute(text("ALTER TABLE history_event ENABLE TRIGGER history_event_no_update"))
    summary = audit.verify_scope(env, aud)
    assert (summary.total, summary.ok) == (2, 1)
    assert [(b.case_no, b.first_bad_seq, b.reason) for b in summary.broken] == [(c2.case_no, 2, "内容被改动")]
    case = audit.audit_case(env, aud, c2.instance_id)
    assert case.chain_label == "校验失败 第2条"
