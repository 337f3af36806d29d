"""The app's upload policy (directory and size limit from the config), for every view taking files."""
from __future__ import annotations

from pathlib import Path

from flask import current_app

from engine.attachments import UploadPolicy


def upload_policy() -> UploadPolicy:
    cfg = current_app.config
    return UploadPolicy(Path(cfg["UPLOAD_DIR"]), int(cfg["MAX_UPLOAD_MB"]) * 1024 * 1024)
