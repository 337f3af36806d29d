"""An admin's upload of a whole process package as a .zip: unpacked safely, checked in full,
smoke-run, then deployed as a new version in one transaction with its admin-log event.

Zip safety: no absolute paths, no `..`, no links, at most MAX_FILES files, MAX_FILE_BYTES each
and MAX_TOTAL_BYTES together (counted on the bytes actually read, not on the declared sizes).
A single top folder (what "compress folder" makes) is stripped. Any problem is a
DefinitionError naming the file (and element and line where there is one) in Chinese;
nothing is deployed.
"""
from __future__ import annotations

import io
import stat
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath

from engine.admin import log_admin, require_system_admin
from engine.env import Env
from engine.errors import DefinitionError
from engine.orgs import Actor
from engine.packages.package import from_files
from engine.packages.store import deploy_package

MAX_ZIP_BYTES = 5 * 1024 * 1024
MAX_FILES = 200
MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_TOTAL_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class PackageDeployed:
    key: str
    name: str
    version: int
    created: bool


def unpack(blob: bytes) -> dict[str, bytes]:
    """The zip's files by relative path; DefinitionError on anything unsafe or oversized."""
    if len(blob) > MAX_ZIP_BYTES:
        raise _refuse(f"the zip is larger than {MAX_ZIP_BYTES} bytes", None,
                      f"流程包超过 {MAX_ZIP_BYTES // 1024 // 1024} MB")
    try:
        archive = zipfile.ZipFile(io.BytesIO(blob))
    except zipfile.BadZipFile as exc:
        raise _refuse("the upload is not a zip file", None, "上传的文件不是有效的 zip 压缩包") from exc
    entries = [i for i in archive.infolist() if not i.is_dir()]
    if len(entries) > MAX_FILES:
        raise _refuse(f"the zip holds more than {MAX_FILES} files", None, f"流程包文件数超过 {MAX_FILES} 个")
    files: dict[str, bytes] = {}
    total = 0
    for info in entries:
        name = _safe_name(info)
        data = _read_capped(archive, info)
        total += len(data)
        if total > MAX_TOTAL_BYTES:
            raise _refuse("the zip unpacks to more than its limit", name, "流程包解压后过大")
        files[name] = data
    return _strip_top_folder(files)


def _safe_name(info: zipfile.ZipInfo) -> str:
    name = info.filename.replace("\\", "/")
    path = PurePosixPath(name)
    if name.startswith("/") or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise _refuse("the zip holds a path outside the package", name, "流程包中含有越出包目录的路径")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise _refuse("the zip holds a symbolic link", name, "流程包中含有符号链接")
    return path.as_posix()


def _read_capped(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    with archive.open(info) as handle:
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise _refuse(f"the file is larger than {MAX_FILE_BYTES} bytes", info.filename,
                      f"文件超过 {MAX_FILE_BYTES // 1024 // 1024} MB")
    return data


def _strip_top_folder(files: dict[str, bytes]) -> dict[str, bytes]:
    tops = {n.split("/", 1)[0] for n in files}
    if len(tops) == 1 and all("/" in n for n in files):
        return {n.split("/", 1)[1]: d for n, d in files.items()}
    return files


def _refuse(message: str, file: str | None, zh: str) -> DefinitionError:
    return DefinitionError(message, file=file, user_message=zh)


def upload_package(env: Env, actor: Actor, blob: bytes) -> PackageDeployed:
    """Check and deploy a package zip as the next version of its key (city admins only)."""
    package = from_files(unpack(blob))
    if _has_python(env, package.key):
        raise DefinitionError(f"key {package.key!r} is served by the Python package workflows/{package.key}/",
                              file="process.toml", element="key",
                              user_message=f"流程标识“{package.key}”已被系统内置流程使用，请换一个标识")
    with env.db.write() as session:
        require_system_admin(session, actor.id)
        now = env.clock.now()
        definition, created = deploy_package(session, package, env.calendar, now, actor.id)
        if created:
            log_admin(session, actor, now, "deploy", "definition", definition.id,
                      f"{package.key} v{definition.version}", key=package.key, version=definition.version,
                      files=sorted(definition.files), package=True, content_hash=definition.content_hash)
        return PackageDeployed(package.key, definition.name, definition.version, created)


def _has_python(env: Env, key: str) -> bool:
    try:
        env.lookup(key)
    except KeyError:
        return False
    return True
