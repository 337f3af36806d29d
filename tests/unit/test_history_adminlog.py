"""The admin log's chain, on a throwaway SQLite database: sealing and each fault the check finds."""
import dataclasses
import hashlib
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from engine.db import Database
from engine.integrity.adminlog import (AdminLogCheck, admin_canonical, check_admin_log, seal_admin_event,
                                      verify_admin_log)
from engine.integrity.keys import HMAC_SHA256, SHA256, Keyring
from engine.models import AdminEvent, AdminLogHead, Base

RING = Keyring.of("the unit tests' admin log key, long enough")
AT = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)


@pytest.fixture
def log():
    """Three sealed admin events, their head row, and the database they were written to."""
    db = Database("sqlite://", keyring=RING)
    Base.metadata.create_all(db.engine)
    with db.write() as s:
        for n in range(3):
            seal_admin_event(s, AdminEvent(at=AT, actor_id=None, actor_name="管理员", action="user_create",
                                           target_type="user", target_id=n, target=f"u{n}", details={"n": n}))
    with db.read() as s:
        events = list(s.scalars(select(AdminEvent).order_by(AdminEvent.seq)))
        head = s.get(AdminLogHead, 1)
    yield events, head
    db.dispose()


def test_sealed_events_chain_in_order_under_the_current_key(log):
    events, head = log
    assert [e.seq for e in events] == [1, 2, 3]
    assert [e.prev_hash for e in events] == ["", events[0].hash, events[1].hash]
    assert {(e.hash_alg, e.key_id) for e in events} == {(HMAC_SHA256, RING.current_id)}
    assert (head.event_count, head.last_hash) == (3, events[2].hash)
    assert check_admin_log(events, head, RING) == AdminLogCheck(True, 3)


def test_the_canonical_form_covers_every_field(log):
    events, _head = log
    base = admin_canonical(events[0])
    for field, value in [("seq", 9), ("at", datetime(2027, 1, 1, tzinfo=timezone.utc)), ("actor_id", 5),
                         ("actor_name", "别人"), ("action", "deploy"), ("target_type", "grant"),
                         ("target_id", 99), ("target", "x"), ("details", {}), ("prev_hash", "f" * 64)]:
        saved = getattr(events[0], field)
        setattr(events[0], field, value)
        assert admin_canonical(events[0]) != base, field
        setattr(events[0], field, saved)


@pytest.mark.parametrize("tamper, expected", [
    (lambda ev, h: ev.pop(1), AdminLogCheck(False, 2, 2, "missing event")),
    (lambda ev, h: setattr(ev[2], "prev_hash", ev[0].hash), AdminLogCheck(False, 3, 3, "broken link")),
    (lambda ev, h: setattr(ev[1], "target", "x"), AdminLogCheck(False, 3, 2, "content changed")),
    (lambda ev, h: setattr(ev[0], "hash_alg", "md5"), AdminLogCheck(False, 3, 1, "unknown hash scheme")),
    (lambda ev, h: setattr(ev[0], "key_id", "0" * 16), AdminLogCheck(False, 3, 1, "unknown key")),
    (lambda ev, h: setattr(h, "event_count", 4), AdminLogCheck(False, 3, 4, "events missing at the end")),
    (lambda ev, h: setattr(h, "event_count", 2), AdminLogCheck(False, 3, 3, "chain head does not match")),
    (lambda ev, h: setattr(h, "last_hash", ev[1].hash), AdminLogCheck(False, 3, 3, "chain head does not match")),
])
def test_each_fault_is_named_at_its_seq(log, tamper, expected):
    events, head = log
    tamper(events, head)
    assert check_admin_log(events, head, RING) == expected


def test_a_plain_event_after_keyed_ones_is_refused_but_a_plain_prefix_is_not(log):
    events, head = log
    last = events[2]
    last.hash_alg, last.key_id = SHA256, None
    last.hash = head.last_hash = hashlib.sha256(admin_canonical(last)).hexdigest()
    assert check_admin_log(events, head, RING) == AdminLogCheck(False, 3, 3, "unkeyed event after keyed ones")
    prev = ""
    for e in events:
        e.prev_hash, e.hash_alg, e.key_id = prev, SHA256, None
        e.hash = prev = hashlib.sha256(admin_canonical(e)).hexdigest()
    head.last_hash = prev
    assert check_admin_log(events, head, RING) == AdminLogCheck(True, 3)


def test_an_empty_log_without_a_head_row_is_whole():
    assert check_admin_log([], None, RING) == AdminLogCheck(True, 0)


def test_the_canonical_form_is_the_one_migration_0005_chained_old_events_in():
    # Migration 0005 hashed the admin events it found with this exact form (plain SHA-256).
    event = AdminEvent(seq=3, at=datetime(2026, 3, 2, 9, 0, 0, 250000, tzinfo=timezone(timedelta(hours=8))),
                       actor_id=2, actor_name="系统管理员", action="grant_add", target_type="grant", target_id=17,
                       target="张三", details={"role": "caseworker", "unit_name": "城东街道"}, prev_hash="cd" * 32)
    assert admin_canonical(event).decode() == (
        '{"action":"grant_add","actor":2,"actor_name":"系统管理员","at":"2026-03-02T01:00:00.250000+00:00",'
        '"details":{"role":"caseworker","unit_name":"城东街道"},"prev":"' + "cd" * 32 + '","seq":3,'
        '"target":"张三","target_id":17,"target_type":"grant"}')
    assert hashlib.sha256(admin_canonical(event)).hexdigest() == \
        "e118d5da1f3eb3f543c4f1f27ced74c997edffd0b8927ad189a1135f709dea8b"


def test_verify_admin_log_reads_the_stored_log():
    db = Database("sqlite://", keyring=RING)
    Base.metadata.create_all(db.engine)
    with db.write() as s:
        for n in range(2):
            seal_admin_event(s, AdminEvent(at=AT, actor_id=None, actor_name="管理员", action="unit_rename",
                                           target_type="org_unit", target_id=n, target="单位", details={}))
    with db.read() as s:
        assert verify_admin_log(s) == AdminLogCheck(True, 2)
    with db.write() as s:  # a throwaway database: move the head back
        s.get(AdminLogHead, 1).event_count = 1
    with db.read() as s:
        assert verify_admin_log(s) == AdminLogCheck(False, 2, 2, "chain head does not match")
    db.dispose()


def test_a_passing_check_names_no_seq_or_reason_and_cannot_be_altered(log):
    events, head = log
    check = check_admin_log(events, head, RING)
    assert (check.first_bad_seq, check.reason) == (None, "")
    with pytest.raises(dataclasses.FrozenInstanceError):
        check.ok = False
