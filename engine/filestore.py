"""Files stored under their content hash: <dir>/<aa>/<bb>/<sha256>, written once, atomically.

Attachments and generated documents both live here, outside the web root; nothing overwrites a
stored file, so a hash in the history always names the bytes it was taken from.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


def storage_path(directory: Path, sha256: str) -> Path:
    return directory / sha256[:2] / sha256[2:4] / sha256


def store_bytes(directory: Path, data: bytes) -> str:
    """Write bytes under their SHA-256 (atomically, once); return the hash."""
    digest = hashlib.sha256(data).hexdigest()
    target = storage_path(directory, digest)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".store-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    return digest
