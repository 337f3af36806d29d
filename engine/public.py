"""The public side of a case: a petitioner proves they may see it with its case number and the
query code issued at registration (《信访工作条例》Art.21), no sign-in.

`verify_query_code` is the only door. An unknown case number, a case of another process and a
wrong code all give the same NotFound, and each counts as a failure for the client's address and
for the case number typed (engine/ratelimit.py); too many failures lock both for a while.
"""
from __future__ import annotations

import hmac
from datetime import datetime

from sqlalchemy import select

from engine.env import Env
from engine.errors import EngineError, NotFound
from engine.models import ProcessInstance
from engine.ratelimit import Limit, clear, locked_until, record_failure

GENERIC_REFUSAL = "件号或查询码不正确，请核对后重新输入"


class QueryLocked(EngineError):
    """Too many failed queries from this address or for this case number."""
    code = "query_locked"
    http_status = 429

    def __init__(self, until: datetime) -> None:
        super().__init__(f"public query locked until {until.isoformat()}",
                         "查询失败次数过多，已暂时锁定，请稍后再试", until=until)
        self.until = until


def buckets(case_no: str, client: str) -> tuple[str, str]:
    return (f"ip:{client[:80]}", f"case:{case_no[:32]}")


def verify_query_code(env: Env, process_key: str, case_no: str, code: str, client: str,
                      limit: Limit = Limit()) -> int:
    """The id of the case of `process_key` numbered `case_no` whose query code is `code`.
    Raises QueryLocked while the client or the case number is locked, NotFound otherwise."""
    case_no = case_no.strip().upper()
    code = code.strip()
    ip_bucket, case_bucket = buckets(case_no, client)
    with env.db.write() as session:  # failures must be committed, so no raise inside
        now = env.clock.now()
        until = locked_until(session, (ip_bucket, case_bucket), now, limit)
        found = None
        if until is None:
            found = session.execute(select(ProcessInstance.id, ProcessInstance.query_code).where(
                ProcessInstance.case_no == case_no,
                ProcessInstance.process_key == process_key)).first()
            if found is None or not _same(found.query_code, code):
                found = None
                record_failure(session, (ip_bucket, case_bucket), now, limit)
            else:
                clear(session, case_bucket)
    if until is not None:
        raise QueryLocked(until)
    if found is None:
        raise NotFound(f"no {process_key} case {case_no!r} with that query code", GENERIC_REFUSAL)
    return int(found.id)


def _same(stored: str, given: str) -> bool:
    return hmac.compare_digest(stored.encode(), given.encode())
