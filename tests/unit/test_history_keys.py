"""The history keyring and the settings that feed it: keys from a setting or a file, rotation,
and production refusing to run without a proper key."""
import dataclasses
import hashlib
import hmac

import pytest

import config
from engine.integrity.keys import (DEVELOPMENT_KEY, HMAC_SHA256, SHA256, Keyring, development_keyring, key_id,
                                   keyring_of, load_keyring, parse_keys)

KEY_A = "a" * 40
KEY_B = "b" * 40


def test_the_first_key_seals_and_every_listed_key_verifies():
    ring = Keyring.of(KEY_A, KEY_B)
    alg, kid, digest = ring.seal(b"body")
    assert (alg, kid) == (HMAC_SHA256, key_id(KEY_A.encode()))
    assert digest == hmac.new(KEY_A.encode(), b"body", hashlib.sha256).hexdigest()
    old = hmac.new(KEY_B.encode(), b"body", hashlib.sha256).hexdigest()
    assert ring.check(HMAC_SHA256, key_id(KEY_B.encode()), b"body", old) is None


@pytest.mark.parametrize("alg, kid, stored, reason", [
    (HMAC_SHA256, None, "0" * 64, "unknown key"),
    (HMAC_SHA256, "feedfeedfeedfeed", "0" * 64, "unknown key"),
    ("md5", None, hashlib.md5(b"body").hexdigest(), "unknown hash scheme"),
    (SHA256, None, hashlib.sha256(b"other").hexdigest(), "content changed"),
    (SHA256, None, hashlib.sha256(b"body").hexdigest(), None),
])
def test_check_names_what_is_wrong(alg, kid, stored, reason):
    ring = Keyring.of(KEY_A)
    assert ring.check(alg, kid, b"body", stored) == reason


def test_a_wrong_mac_under_a_known_key_is_content_changed():
    ring = Keyring.of(KEY_A)
    wrong = hmac.new(KEY_B.encode(), b"body", hashlib.sha256).hexdigest()
    assert ring.check(HMAC_SHA256, ring.current_id, b"body", wrong) == "content changed"


def test_key_ids_are_stable_fingerprints_not_the_key():
    assert key_id(KEY_A.encode()) == key_id(KEY_A.encode()) != key_id(KEY_B.encode())
    assert len(key_id(KEY_A.encode())) == 16 and KEY_A[:8] not in key_id(KEY_A.encode())


def test_keys_parse_from_commas_spaces_lines_and_comments():
    assert parse_keys(f"{KEY_A}, {KEY_B}") == [KEY_A, KEY_B]
    assert parse_keys(f"# newest first\n{KEY_A}  # this year\n\n{KEY_B}\n") == [KEY_A, KEY_B]


def test_the_key_file_wins_over_the_setting_and_empty_files_are_refused(tmp_path):
    path = tmp_path / "history.keys"
    path.write_text(f"{KEY_B}\n{KEY_A}\n")
    assert load_keyring(KEY_A, path).current_id == key_id(KEY_B.encode())
    assert set(load_keyring(KEY_A, path).keys) == {key_id(KEY_A.encode()), key_id(KEY_B.encode())}
    assert load_keyring(KEY_A, None).current_id == key_id(KEY_A.encode())
    assert load_keyring(None, None).current_id == key_id(DEVELOPMENT_KEY.encode())
    path.write_text("# nothing here\n")
    with pytest.raises(ValueError, match="holds no key"):
        load_keyring(None, path)
    with pytest.raises(ValueError, match="at least one key"):
        Keyring.of()


def test_a_session_without_a_database_uses_the_development_ring():
    class Bare:
        info: dict = {}
    assert keyring_of(Bare()).current_id == key_id(DEVELOPMENT_KEY.encode())


def _production(monkeypatch, **settings):
    for name, value in {"SECRET_KEY": "s" * 40, "HISTORY_KEY": None, "HISTORY_KEY_FILE": None,
                        **settings}.items():
        monkeypatch.setattr(config.Config, name, value)
    return config.Config


@pytest.mark.parametrize("settings, message", [
    ({}, "HISTORY_KEY or HISTORY_KEY_FILE must be set"),
    ({"HISTORY_KEY": "short"}, "at least 32 characters"),
    ({"HISTORY_KEY": DEVELOPMENT_KEY}, "not the development key"),
    ({"HISTORY_KEY": "s" * 40}, "must not be the SECRET_KEY"),
    ({"HISTORY_KEY": f"{KEY_A},short"}, "at least 32 characters"),
])
def test_production_refuses_to_start_without_a_proper_history_key(monkeypatch, settings, message):
    cls = _production(monkeypatch, **settings)
    with pytest.raises(RuntimeError, match=message):
        cls.check()


def test_production_starts_with_its_own_history_key(monkeypatch, tmp_path):
    _production(monkeypatch, HISTORY_KEY=KEY_A).check()
    path = tmp_path / "keys"
    path.write_text(KEY_B)
    _production(monkeypatch, HISTORY_KEY_FILE=str(path)).check()
    config.DevelopmentConfig.check()  # development needs none


def test_stored_names_and_key_ids_never_change():
    # hash_alg values and key ids are stored with every event: a new release must read old rows.
    assert (SHA256, HMAC_SHA256) == ("sha256", "hmac-sha256")
    assert key_id(KEY_A.encode()) == "1f20951c13a876d1"
    assert development_keyring().current_id == "6052181d03330168"  # development databases keep verifying


def test_a_keyring_cannot_be_changed_once_built():
    ring = Keyring.of(KEY_A)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ring.current_id = key_id(KEY_B.encode())


def test_key_errors_say_exactly_what_is_wrong(tmp_path):
    with pytest.raises(ValueError, match="^a history keyring needs at least one key$"):
        Keyring.of()
    path = tmp_path / "empty.keys"
    path.write_text("\n")
    with pytest.raises(ValueError, match=f"^HISTORY_KEY_FILE {path} holds no key$"):
        load_keyring(None, path)
