"""engine.forms.load_form: a step's form file, read once per version of the file."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from engine.forms import _load_schema, load_form

SCHEMA = {"type": "object", "properties": {"name": {"type": "string", "title": "姓名"}}}


def test_a_step_without_a_file_has_no_form(tmp_path: Path) -> None:
    assert load_form(tmp_path, "register") is None
    assert load_form(tmp_path / "no_such_dir", "register") is None


def test_a_directory_or_a_file_in_the_way_is_not_a_form(tmp_path: Path) -> None:
    (tmp_path / "register.json").mkdir()
    assert load_form(tmp_path, "register") is None
    (tmp_path / "plain").write_text("x")  # forms_dir is a file: ENOTDIR, no form
    assert load_form(tmp_path / "plain", "register") is None


def test_the_form_is_read_and_read_again_when_the_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "register.json"
    path.write_text(json.dumps(SCHEMA), encoding="utf-8")
    first = load_form(tmp_path, "register")
    assert first == SCHEMA
    assert load_form(tmp_path, "register") is first  # cached while the file is unchanged
    changed = {**SCHEMA, "required": ["name"]}
    path.write_text(json.dumps(changed), encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # a later version
    assert load_form(tmp_path, "register") == changed


def test_a_broken_form_file_is_an_error_not_a_missing_form(tmp_path: Path) -> None:
    _load_schema.cache_clear()
    (tmp_path / "register.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError):
        load_form(tmp_path, "register")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_a_form_the_process_may_not_read_is_an_error(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    (folder / "register.json").write_text(json.dumps(SCHEMA), encoding="utf-8")
    folder.chmod(0)
    try:
        with pytest.raises(PermissionError):
            load_form(folder, "register")
    finally:
        folder.chmod(0o755)
