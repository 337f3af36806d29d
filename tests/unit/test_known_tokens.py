"""Who a token is, as this process last saw it alive (webapp.api.auth._Known): served for
KNOWN_SECONDS by the injected clock and never from the future, forgotten on demand, and bounded
(past KNOWN_MAX the oldest half goes). Whether the token is still alive is the command's question
(tests/web/test_api.py); this is only what may skip the door's lookup."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from engine.auth import SessionUser
from engine.tokens import TokenUser
from webapp.api import auth
from webapp.api.auth import KNOWN_SECONDS, _Known

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)


def _found(token_id: int) -> TokenUser:
    return TokenUser(token_id, "act", SessionUser(token_id, f"u{token_id}", f"用户{token_id}", 1, (), False))


def test_served_for_a_minute_then_asked_again():
    known = _Known()
    known.put("k", _found(1), T0)
    assert known.get("k", T0) == _found(1)
    assert known.get("k", T0 + timedelta(seconds=KNOWN_SECONDS)) == _found(1)
    assert known.get("k", T0 + timedelta(seconds=KNOWN_SECONDS, microseconds=1)) is None
    assert known.get("other", T0) is None


def test_not_served_when_the_clock_is_behind_the_sighting():
    known = _Known()
    known.put("k", _found(1), T0)
    assert known.get("k", T0 - timedelta(microseconds=1)) is None


def test_forgotten_on_demand_and_seen_again():
    known = _Known()
    known.put("k", _found(1), T0)
    known.forget("k")
    known.forget("never seen")  # harmless
    assert known.get("k", T0) is None
    known.put("k", _found(2), T0 + timedelta(seconds=5))
    assert known.get("k", T0 + timedelta(seconds=5)) == _found(2)


def test_past_the_bound_the_oldest_half_is_forgotten(monkeypatch):
    monkeypatch.setattr(auth, "KNOWN_MAX", 4)
    known = _Known()
    for i in range(4):
        known.put(f"k{i}", _found(i), T0)
    assert all(known.get(f"k{i}", T0) is not None for i in range(4))
    known.put("k4", _found(4), T0)
    assert [known.get(f"k{i}", T0) is not None for i in range(5)] == [False, False, True, True, True]
    assert len(known.seen) == 3
