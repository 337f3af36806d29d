"""The history keyring: HMAC keys kept outside the database, by key id.

The newest key seals new events; older keys stay in the ring so events sealed with them still
verify after a rotation. A key id is a fingerprint of the key (not the key), stored with each
event, so rotating never needs a registry of names.
"""
from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Only for development and tests; production refuses to start without its own key (config.py).
DEVELOPMENT_KEY = "rongflow-development-history-key-not-secret"
MIN_KEY_LENGTH = 32
SHA256 = "sha256"             # the scheme before migration 0005: plain SHA-256, no key
HMAC_SHA256 = "hmac-sha256"   # the keyed scheme: HMAC-SHA256 with the key named by key_id


def key_id(key: bytes) -> str:
    """A short public fingerprint naming the key."""
    return hashlib.sha256(b"rongflow-history-key-id:" + key).hexdigest()[:16]


@dataclass(frozen=True)
class Keyring:
    current_id: str
    keys: dict[str, bytes]

    @classmethod
    def of(cls, *secrets: str) -> Keyring:
        """A ring from secrets, newest first; the first one seals new events."""
        if not secrets:
            raise ValueError("a history keyring needs at least one key")
        keys = {key_id(s.encode()): s.encode() for s in secrets}
        return cls(key_id(secrets[0].encode()), keys)

    def seal(self, body: bytes) -> tuple[str, str, str]:
        """(hash_alg, key_id, hash) of a canonical event body, under the current key."""
        return HMAC_SHA256, self.current_id, mac(self.keys[self.current_id], body)

    def check(self, alg: str, kid: str | None, body: bytes, stored: str) -> str | None:
        """None when `stored` is the right hash of `body` under (alg, kid), else the reason."""
        if alg == SHA256:
            expected = hashlib.sha256(body).hexdigest()
        elif alg == HMAC_SHA256:
            key = self.keys.get(kid or "")
            if key is None:
                return "unknown key"
            expected = mac(key, body)
        else:
            return "unknown hash scheme"
        return None if hmac.compare_digest(expected, stored) else "content changed"


def mac(key: bytes, body: bytes) -> str:
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def parse_keys(text: str) -> list[str]:
    """Keys from a setting or key file: separated by newlines, commas or spaces; '#' comments."""
    lines = [line.split("#", 1)[0] for line in text.splitlines()]
    return [k for k in re.split(r"[\s,]+", " ".join(lines)) if k]


def load_keyring(history_key: str | None, history_key_file: str | Path | None) -> Keyring:
    """The ring from HISTORY_KEY_FILE (if set) or HISTORY_KEY, else the development key."""
    if history_key_file:
        secrets = parse_keys(Path(history_key_file).read_text(encoding="utf-8"))
        if not secrets:
            raise ValueError(f"HISTORY_KEY_FILE {history_key_file} holds no key")
        return Keyring.of(*secrets)
    if history_key:
        return Keyring.of(*parse_keys(history_key))
    return development_keyring()


def development_keyring() -> Keyring:
    return Keyring.of(DEVELOPMENT_KEY)


def keyring_of(session: Any) -> Keyring:
    """The keyring of the Database that opened this session (the development ring otherwise)."""
    db = session.info.get("rongflow_db")
    ring = getattr(db, "keyring", None)
    return ring if isinstance(ring, Keyring) else development_keyring()
