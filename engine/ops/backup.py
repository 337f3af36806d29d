"""Backup and restore: the database, the uploaded files and the holiday data, as one set.

A set is a folder with the database (PostgreSQL: `pg_dump -Fc`; SQLite: the online backup API),
`uploads/` (content-addressed attachment files), `holidays/` (the holiday data file, if one is
set) and `manifest.json`: the schema revision, the row count of every table and the SHA-256 of
every file. The database is taken first and the files after it: attachment files are written
before their row commits and never deleted, so every row of the snapshot finds its file.
On PostgreSQL the row counts come from the very snapshot pg_dump exports (`--snapshot`).

`restore` checks every checksum before it writes anything, and loads into an empty database
only. `check_restored` then proves the result: same revision and row counts, every case's
history chain verifies, every attachment's file is there.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, inspect, make_url, select, text

from engine.filestore import storage_path
from engine.env import Env
from engine.history import verify_chain
from engine.models import Attachment, Base, ProcessInstance

FORMAT = 1
MANIFEST = "manifest.json"
PG_DUMP_FILE = "database.pgdump"
SQLITE_FILE = "database.sqlite"


class BackupError(Exception):
    """A backup or restore that cannot be done; `message` says why, in English."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class RestoreReport:
    cases: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


# ----------------------------------------------------------------------------- backup

def backup(env: Env, target_root: Path, upload_dir: Path, holidays_file: Path | None,
           now: datetime) -> Path:
    """Write one backup set under `target_root`; returns its folder."""
    folder = target_root / f"rongflow-{now.strftime('%Y%m%dT%H%M%S%fZ')}"
    folder.mkdir(parents=True, exist_ok=False)
    if env.db.is_sqlite:
        counts = _backup_sqlite(env, folder / SQLITE_FILE)
        revision = _sqlite_revision(folder / SQLITE_FILE)
    else:
        counts, revision = _backup_postgres(env, folder / PG_DUMP_FILE)
    _copy_tree(upload_dir, folder / "uploads")
    if holidays_file is not None:
        if not holidays_file.is_file():
            raise BackupError(f"holiday data file {holidays_file} does not exist")
        (folder / "holidays").mkdir()
        shutil.copy2(holidays_file, folder / "holidays" / holidays_file.name)
    manifest = {"format": FORMAT, "created_at": now.isoformat(),
                "database": {"kind": "sqlite" if env.db.is_sqlite else "postgresql",
                             "file": SQLITE_FILE if env.db.is_sqlite else PG_DUMP_FILE,
                             "revision": revision, "row_counts": counts},
                "holidays_file": holidays_file.name if holidays_file else None,
                "files": _checksums(folder)}
    (folder / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return folder


def _backup_sqlite(env: Env, target: Path) -> dict[str, int]:
    source = _sqlite_path(env)
    with _sqlite(source) as src, _sqlite(target) as dst:
        src.backup(dst)  # a consistent copy while the app keeps running
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    with _sqlite(target) as conn:
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in _table_names()}


def _sqlite_revision(path: Path) -> str | None:
    with _sqlite(path) as conn:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return row[0] if row else None


def _backup_postgres(env: Env, target: Path) -> tuple[dict[str, int], str | None]:
    """pg_dump inside a snapshot we export and count rows in, so counts and dump agree."""
    with env.db.engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        with conn.begin():
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            counts = _pg_counts(conn)
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            _run_pg(env, ["pg_dump", "--format=custom", "--no-owner", f"--snapshot={snapshot}",
                          f"--file={target}"])
    return counts, revision


def _pg_counts(conn: Connection) -> dict[str, int]:
    return {t: int(conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one()) for t in _table_names()}


def _table_names() -> list[str]:
    return sorted(t.name for t in Base.metadata.sorted_tables)


def _copy_tree(source: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        for path in sorted(source.rglob("*")):
            if path.is_file() and not path.name.startswith(".upload-"):  # skip half-written uploads
                dest = target / path.relative_to(source)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, dest)


def _checksums(folder: Path) -> dict[str, dict[str, Any]]:
    return {p.relative_to(folder).as_posix(): {"sha256": _sha256(p), "size": p.stat().st_size}
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != MANIFEST}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# ----------------------------------------------------------------------------- restore

def read_manifest(folder: Path) -> dict[str, Any]:
    """The set's manifest, after checking that every file it lists is there and unchanged and
    that no file was added; BackupError otherwise."""
    path = folder / MANIFEST
    if not path.is_file():
        raise BackupError(f"{folder} has no {MANIFEST}: not a RongFlow backup set")
    manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT:
        raise BackupError(f"backup format {manifest.get('format')!r} is not {FORMAT}")
    actual = _checksums(folder)
    listed = manifest["files"]
    problems = [f"{name}: missing" for name in listed if name not in actual]
    problems += [f"{name}: not in the manifest" for name in actual if name not in listed]
    problems += [f"{name}: checksum differs" for name, info in listed.items()
                 if name in actual and actual[name]["sha256"] != info["sha256"]]
    if problems:
        raise BackupError("backup set damaged: " + "; ".join(problems[:10]))
    return manifest


def restore(env: Env, folder: Path, upload_dir: Path, holidays_target: Path | None) -> RestoreReport:
    """Load a checked set into the empty database of `env`, put the files back, then check."""
    manifest = read_manifest(folder)
    kind = manifest["database"]["kind"]
    if kind != ("sqlite" if env.db.is_sqlite else "postgresql"):
        raise BackupError(f"the set holds a {kind} database; the target is not {kind}")
    _require_empty(env)
    _require_no_other_files(upload_dir)
    database = folder / manifest["database"]["file"]
    if env.db.is_sqlite:
        env.db.dispose()
        with _sqlite(database) as src, _sqlite(_sqlite_path(env)) as dst:
            src.backup(dst)
    else:
        _run_pg(env, ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
                      str(database)],
                dbname_flag=True)
    env.db.dispose()
    _copy_tree(folder / "uploads", upload_dir)
    if manifest.get("holidays_file") and holidays_target is not None:
        holidays_target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(folder / "holidays" / manifest["holidays_file"], holidays_target)
    return check_restored(env, manifest, upload_dir)


def _require_empty(env: Env) -> None:
    tables = inspect(env.db.engine).get_table_names()
    env.db.dispose()
    if tables:
        raise BackupError(f"the target database is not empty ({len(tables)} tables); restore needs an empty one")


def _require_no_other_files(upload_dir: Path) -> None:
    if upload_dir.is_dir() and any(p.is_file() for p in upload_dir.rglob("*")):
        raise BackupError(f"the upload folder {upload_dir} is not empty; restore needs an empty one")


def check_restored(env: Env, manifest: dict[str, Any], upload_dir: Path) -> RestoreReport:
    """Same schema revision and row counts as the manifest; every case's history chain verifies;
    every attachment's file is there with its checksum."""
    report = RestoreReport()
    with env.db.read() as session:
        revision = session.execute(text("SELECT version_num FROM alembic_version")).scalar()
        if revision != manifest["database"]["revision"]:
            report.problems.append(f"schema revision {revision}, backup had {manifest['database']['revision']}")
        for table, want in manifest["database"]["row_counts"].items():
            got = session.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one()
            if got != want:
                report.problems.append(f"table {table}: {got} rows, backup had {want}")
        ids = session.scalars(select(ProcessInstance.id).order_by(ProcessInstance.id)).all()
        report.cases = len(ids)
        for instance_id in ids:
            check = verify_chain(session, instance_id)
            if not check.ok:
                report.problems.append(f"case {instance_id}: history chain broken at {check.first_bad_seq}")
        for att_id, sha in session.execute(select(Attachment.id, Attachment.sha256)).all():
            path = storage_path(upload_dir, sha)
            if not path.is_file() or _sha256(path) != sha:
                report.problems.append(f"attachment {att_id}: file missing or changed")
        if session.scalar(select(func.count()).select_from(ProcessInstance)) != report.cases:
            report.problems.append("case count changed during the check")
    return report


# ----------------------------------------------------------------------------- helpers

def _sqlite_path(env: Env) -> Path:
    database = make_url(env.db.url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(database)


@contextmanager
def _sqlite(path: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(path)
    try:
        yield conn
    finally:
        conn.close()


def _run_pg(env: Env, args: list[str], dbname_flag: bool = False) -> None:
    """Run a PostgreSQL client tool against env's database; the password goes in PGPASSWORD."""
    url = make_url(env.db.url)
    if shutil.which(args[0]) is None:
        raise BackupError(f"{args[0]} is not installed (Debian: apt-get install postgresql-client)")
    conn_args = [f"--host={url.host or 'localhost'}", f"--port={url.port or 5432}",
                 f"--username={url.username or 'postgres'}", "--no-password"]
    database = url.database or "postgres"
    cmd = [args[0], *conn_args, *args[1:], f"--dbname={database}"] if dbname_flag else \
        [args[0], *conn_args, *args[1:], database]
    environ = {**os.environ, "PGPASSWORD": url.password or os.environ.get("PGPASSWORD", "")}
    done = subprocess.run(cmd, env=environ, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{args[0]} failed ({done.returncode}): {done.stderr.strip()[:500]}")
