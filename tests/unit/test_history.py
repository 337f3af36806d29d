"""The case history's chain without a database: the canonical form events are hashed in (fixed
since the first release, so old events keep verifying), sealing, and each fault the check finds."""
import dataclasses
import hashlib
import re
from pathlib import Path
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy.orm import Session

from engine.db import Database
from engine.history import ACTION_LABELS, ChainCheck, append_event, canonical, changed_fields, check_events
from engine.integrity.keys import HMAC_SHA256, SHA256, Keyring
from engine.models import HistoryEvent, ProcessInstance

BEIJING = timezone(timedelta(hours=8))
RING = Keyring.of("the unit tests' history key, long enough to pass")
OTHER = Keyring.of("some other key that is also long enough to pass")
T0 = datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=BEIJING)


def _event(**overrides):
    fields = dict(instance_id=7, seq=2, at=T0, actor_id=3, actor_name="镇经办", action="complete",
                  step_id="step1", step_name="登记", task_id=11, org_unit_id=5, opinion="已核实",
                  data={"amount": [None, 3], "名": "张三"}, prev_hash="ab" * 32)
    return HistoryEvent(**{**fields, **overrides})


def test_the_canonical_form_is_the_one_old_events_were_hashed_in():
    # Hash of this event as the engine before keyed chains (and migration 0005) stored it.
    assert hashlib.sha256(canonical(_event())).hexdigest() == \
        "ae74e624528691479cbf8e6cbb74cffbde6739bec8183a1efda0113104c55799"
    assert canonical(_event()).decode() == (
        '{"action":"complete","actor":3,"actor_name":"镇经办","at":"2026-03-02T01:30:15.123456+00:00",'
        '"data":{"amount":[null,3],"名":"张三"},"instance":7,"opinion":"已核实","prev":"' + "ab" * 32 + '",'
        '"seq":2,"step":"step1","step_name":"登记","task":11,"unit":5}')


def test_the_canonical_form_does_not_depend_on_the_time_zone_or_a_whole_second():
    assert canonical(_event(at=T0.astimezone(timezone.utc))) == canonical(_event())
    whole = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)
    assert b'"at":"2026-03-02T01:00:00.000000+00:00"' in canonical(_event(at=whole))


@pytest.mark.parametrize("field, value", [
    ("instance_id", 8), ("seq", 3), ("at", T0 + timedelta(microseconds=1)), ("actor_id", 4),
    ("actor_name", "区经办"), ("action", "claim"), ("step_id", "step2"), ("step_name", "审核"),
    ("task_id", 12), ("org_unit_id", 6), ("opinion", "不同意"), ("data", {"amount": [None, 4]}),
    ("prev_hash", "cd" * 32),
])
def test_every_recorded_field_is_covered_by_the_hash(field, value):
    assert canonical(_event(**{field: value})) != canonical(_event())


def _session(ring=RING):
    db = Database("sqlite://", keyring=ring)
    return Session(info={"rongflow_db": db})


def _chain(n, ring=RING, instance=None):
    """A case with n events appended by the engine's writer, and those events."""
    case = instance or ProcessInstance(id=7, event_count=0, last_event_hash="")
    session = _session(ring)
    events = [append_event(session, case, at=T0 + timedelta(minutes=i), action="complete", actor_id=3,
                           actor_name="镇经办", step_id="step1", step_name="登记", task_id=i, org_unit_id=5,
                           opinion="意见" if i else "", data={"n": i}) for i in range(n)]
    return case, events


def test_append_event_chains_onto_the_case_head_under_the_current_key():
    case, (first, second) = _chain(2)
    assert (first.seq, first.prev_hash, second.seq, second.prev_hash) == (1, "", 2, first.hash)
    assert (case.event_count, case.last_event_hash) == (2, second.hash)
    assert (second.hash_alg, second.key_id) == (HMAC_SHA256, RING.current_id)
    assert RING.check(HMAC_SHA256, RING.current_id, canonical(second), second.hash) is None
    assert (first.instance_id, first.actor_id, first.actor_name, first.task_id, first.org_unit_id) == (7, 3, "镇经办",
                                                                                                     0, 5)
    assert (first.step_id, first.step_name, first.action, first.at) == ("step1", "登记", "complete", T0)
    assert (first.opinion, second.opinion, second.data) == (None, "意见", {"n": 1})


def test_append_event_defaults_to_the_system_with_no_data():
    case = ProcessInstance(id=9, event_count=4, last_event_hash="ef" * 32)
    event = append_event(_session(), case, at=T0, action="timer")
    assert (event.seq, event.prev_hash, event.actor_name, event.actor_id, event.data) == (5, "ef" * 32, "系统",
                                                                                          None, {})
    assert (event.step_id, event.step_name, event.task_id, event.org_unit_id, event.opinion) == (None,) * 5


def test_append_event_stores_data_as_json_safe_values():
    event = append_event(_session(), ProcessInstance(id=1, event_count=0, last_event_hash=""), at=T0,
                         action="complete", data={"day": datetime(2026, 3, 2, tzinfo=timezone.utc).date()})
    assert event.data == {"day": "2026-03-02"}


def test_an_untouched_chain_checks_out():
    case, events = _chain(3)
    check = check_events(events, case, RING)
    assert check == ChainCheck(True, 3)
    assert (check.first_bad_seq, check.reason) == (None, "")  # nothing for the auditor's page to name
    with pytest.raises(dataclasses.FrozenInstanceError):
        check.ok = False  # a result cannot be turned around by whoever holds it
    assert check_events(events, None, RING) == ChainCheck(True, 3)
    assert check_events([], ProcessInstance(id=1, event_count=0, last_event_hash=""), RING) == ChainCheck(True, 0)


def test_a_changed_event_is_content_changed_at_its_seq():
    case, events = _chain(3)
    events[1].opinion = "同意"
    assert check_events(events, case, RING) == ChainCheck(False, 3, 2, "content changed")


def test_a_missing_event_is_found_at_the_first_gap():
    case, events = _chain(3)
    assert check_events([events[0], events[2]], case, RING) == ChainCheck(False, 2, 2, "missing event")
    assert check_events(events[1:], case, RING) == ChainCheck(False, 2, 1, "missing event")


def test_a_relinked_event_is_a_broken_link():
    case, events = _chain(3)
    events[2].prev_hash = events[0].hash
    assert check_events(events, case, RING) == ChainCheck(False, 3, 3, "broken link")


def test_events_under_a_key_not_in_the_ring_are_unknown():
    case, events = _chain(2)
    assert check_events(events, case, OTHER) == ChainCheck(False, 2, 1, "unknown key")


def test_a_chain_never_goes_back_from_keyed_to_plain_events():
    case, events = _chain(2)
    events[1].hash_alg, events[1].key_id = SHA256, None
    events[1].hash = hashlib.sha256(canonical(events[1])).hexdigest()
    case.last_event_hash = events[1].hash
    assert check_events(events, case, RING) == ChainCheck(False, 2, 2, "unkeyed event after keyed ones")


def test_plain_events_before_keyed_ones_check_out():
    case = ProcessInstance(id=7, event_count=0, last_event_hash="")
    old = append_event(_session(), case, at=T0, action="start")
    old.hash_alg, old.key_id, old.hash = SHA256, None, hashlib.sha256(canonical(old)).hexdigest()
    case.last_event_hash = old.hash
    new = append_event(_session(), case, at=T0, action="complete")
    assert check_events([old, new], case, RING) == ChainCheck(True, 2)


def test_the_case_head_must_match_the_last_event():
    case, events = _chain(3)
    case.event_count = 4
    assert check_events(events, case, RING) == ChainCheck(False, 3, 4, "events missing at the end")
    case.event_count, case.last_event_hash = 3, events[1].hash
    assert check_events(events, case, RING) == ChainCheck(False, 3, 3, "chain head does not match")
    case.event_count, case.last_event_hash = 2, events[2].hash
    assert check_events(events, case, RING) == ChainCheck(False, 3, 3, "chain head does not match")


def test_changed_fields_lists_only_what_changed():
    assert changed_fields({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": None, "d": 4}) == {"b": [2, 3], "d": [None, 4]}


def test_the_timeline_speaks_the_bureaus_words():
    # The vocabulary of the case timeline and the audit filter (issue 8 names 时限到期 for timers);
    # processes may add actions, but every label is Chinese only — no key reaches a user's screen.
    core = {
        "start": "发起", "complete": "办理", "claim": "认领", "unclaim": "释放", "cancel": "撤销",
        "terminate": "终止", "timer": "时限到期", "error": "运行出错", "retry": "重试",
        "suspend": "挂起", "resume": "恢复", "reassign": "转派", "migrate": "迁移版本",
        "message": "收到消息", "cc": "抄送", "attach": "上传附件",
    }
    assert {k: ACTION_LABELS.get(k) for k in core} == core
    assert all(re.fullmatch(r"[\u4e00-\u9fff]+", label) for label in ACTION_LABELS.values())


def test_every_action_the_engine_writes_has_a_label():
    """A history action without a label would reach the timeline as an English key."""
    engine_dir = Path(__file__).resolve().parents[2] / "engine"
    written = {m for path in engine_dir.rglob("*.py")
               for m in re.findall(r'\baction="([a-z_]+)"', path.read_text(encoding="utf-8"))}
    # 转办 and 委派 share one writer that takes its action as an argument
    handover = (engine_dir / "verbs" / "transfer.py").read_text(encoding="utf-8")
    written |= set(re.findall(r'_hand_over\(.*"([a-z_]+)"\)$', handover, re.M))
    assert {"start", "complete", "timer", "error", "transfer", "delegate"} <= written  # the scan finds them
    assert sorted(written - set(ACTION_LABELS)) == []
