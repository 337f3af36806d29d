"""Engine errors. Each carries a precise English message for logs/API and a Chinese one for users."""
from __future__ import annotations

from typing import Any


class EngineError(Exception):
    """Base class. `user_message` is the Chinese text shown in the UI."""
    code = "engine_error"
    http_status = 400

    def __init__(self, message: str, user_message: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.user_message = user_message or message
        self.details = details


class NotFound(EngineError):
    code = "not_found"
    http_status = 404


class PermissionDenied(EngineError):
    code = "permission_denied"
    http_status = 403


class Unauthenticated(EngineError):
    """The caller's credential is dead, found so inside the command's own transaction (an API
    token revoked or expired, or its user disabled): the same 401 as a dead token at the door."""
    code = "unauthorized"
    http_status = 401


class Conflict(EngineError):
    """Somebody else changed the case or task first (double submit, concurrent completion)."""
    code = "conflict"
    http_status = 409


class InvalidState(EngineError):
    code = "invalid_state"
    http_status = 409


class FormInvalid(EngineError):
    """Form data failed validation; `errors` maps field name to a Chinese message."""
    code = "form_invalid"
    http_status = 422

    def __init__(self, errors: dict[str, str]) -> None:
        fields = ", ".join(f"{k}: {v}" for k, v in errors.items())
        super().__init__(f"form data invalid: {fields}", "表单填写有误，请按提示修改。", errors=errors)
        self.errors = errors


class DefinitionError(EngineError):
    """A BPMN/DMN file could not be deployed. Nothing was deployed."""
    code = "definition_invalid"
    http_status = 422

    def __init__(self, message: str, file: str | None = None, element: str | None = None,
                 line: int | None = None, user_message: str | None = None) -> None:
        where = ", ".join(p for p in (f"file {file}" if file else "",
                                      f"element {element}" if element else "",
                                      f"line {line}" if line else "") if p)
        full = f"{message} ({where})" if where else message
        zh_where = "，".join(p for p in (f"文件 {file}" if file else "",
                                         f"元素 {element}" if element else "",
                                         f"第 {line} 行" if line else "") if p)
        # Without a Chinese message the English one stays in the log and the API's `message` only.
        said = user_message or "文件内容不符合流程定义的要求，请按所示文件和位置检查后重新上传"
        super().__init__(full, f"流程定义有误：{said}" + (f"（{zh_where}）" if zh_where else ""),
                         file=file, element=element, line=line)
        self.file, self.element, self.line = file, element, line


class ScriptFailed(EngineError):
    """A BPMN script or condition failed; the case is now in the error state."""
    code = "script_failed"
    http_status = 500
