"""Deployed packages: store a checked package as a definition version; resolve a key to its config.

A package is deployed as one `process_definition` row: the BPMN/DMN files as every version has
them, plus `package` (manifest text and forms). The content hash covers all of them, so a change
to a form alone is a new version. `PackageRegistry` answers `Env.process(key)` for keys that no
Python package serves, from the database: every web and worker process sees an upload at once,
and parses a version's manifest once (cached by definition id).
"""
from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.calendar import BusinessCalendar
from engine.db import Database
from engine.definitions import content_hash, main_process_id, parse_files, process_name
from engine.errors import DefinitionError
from engine.models import ProcessDefinition
from engine.orgs import role_names
from engine.packages.loader import build_config, check_package
from engine.packages.manifest import MANIFEST, parse_manifest
from engine.packages.package import Package
from engine.process_api import ProcessConfig


def role_catalogue(session: Session) -> dict[str, str]:
    """role key -> Chinese name: the built-in roles (the Role enum, seeded by migration 0010)
    always, and whatever the admins added or renamed."""
    return role_names(session)


def deploy_package(session: Session, package: Package, calendar: BusinessCalendar, now: Any,
                   actor_id: int | None = None, key: str | None = None) -> tuple[ProcessDefinition, bool]:
    """Check the package in full, then store it as a new version unless this content is deployed.
    `key` (if given) must be the manifest's. DefinitionError and nothing written on any problem."""
    if key is not None and key != package.key:
        raise DefinitionError(f"the manifest's key {package.key!r} is not {key!r}", file=MANIFEST,
                              element="key", user_message=f"process.toml 中的 key“{package.key}”与“{key}”不一致")
    check_package(package, calendar, role_catalogue(session))
    main_process_id(package.key, package.models)
    spec, _subs = parse_files(package.key, package.models)
    stored = package.stored()
    digest = content_hash({**package.models, "\0package": package.digest.encode()})
    existing = session.scalar(select(ProcessDefinition).where(
        ProcessDefinition.key == package.key, ProcessDefinition.content_hash == digest))
    if existing is not None:
        return existing, False
    last = session.scalar(select(func.max(ProcessDefinition.version))
                          .where(ProcessDefinition.key == package.key)) or 0
    definition = ProcessDefinition(
        key=package.key, version=last + 1, name=process_name(spec, package.key)
        if not package.manifest.get("name") else str(package.manifest["name"])[:128],
        content_hash=digest, files={n: d.decode("utf-8") for n, d in package.models.items()},
        package=stored, deployed_at=now, deployed_by_id=actor_id)
    session.add(definition)
    session.flush()
    return definition, True


class PackageRegistry:
    """key -> ProcessConfig of the latest deployed version that holds a package (thread-safe)."""

    def __init__(self) -> None:
        self._configs: dict[int, ProcessConfig] = {}
        self._lock = threading.Lock()

    def lookup(self, db: Database, key: str) -> ProcessConfig:
        with db.read() as session:
            row = session.execute(
                select(ProcessDefinition.id, ProcessDefinition.package)
                .where(ProcessDefinition.key == key, ProcessDefinition.package.is_not(None))
                .order_by(ProcessDefinition.version.desc()).limit(1)).first()
            if row is None or row.package is None:
                raise KeyError(f"no process package for {key!r} (neither workflows/{key}/ nor a deployed package)")
            with self._lock:
                found = self._configs.get(row.id)
            if found is not None:
                return found
            models = {n: t.encode("utf-8") for n, t in session.scalar(
                select(ProcessDefinition.files).where(ProcessDefinition.id == row.id)).items()}
        config = build_config(Package.from_stored(row.package, models))
        with self._lock:
            self._configs[row.id] = config
        return config



def deployed_manifests(session: Session) -> dict[str, dict[str, Any]]:
    """key -> the manifest of its latest version holding a package (for indicators and listings)."""
    rows = session.execute(select(ProcessDefinition.key, ProcessDefinition.package)
                           .where(ProcessDefinition.package.is_not(None))
                           .order_by(ProcessDefinition.key, ProcessDefinition.version))
    latest: dict[str, dict[str, Any]] = {}
    for key, stored in rows:
        latest[key] = stored
    return {key: parse_manifest(str(stored["manifest"])) for key, stored in latest.items()}
