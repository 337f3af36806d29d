"""Rules that look at the petitioner's other cases (through the engine's read-only CaseLookup):

- 重复信访: the registration's `repeat_of` must name an existing petition of the same petitioner
  that the registering user may see (others answer "does not exist"); the link is kept as
  `repeat_of_case_id`.
- 越级: the same matter (same ID number and category) is still within a lower level's deadline
  in another open case — handled by a unit below the intake unit, no reply served yet, and that
  phase's deadline still running. The intake unit must then refuse (不予受理, reason 越级).
- 终结: the same matter ended in a 复核 decision (`review_final`); the same facts and reasons are
  not accepted again (Art.36 ¶3), so intake must refuse with that reason.

Both 越级 and 终结 are computed at registration (shown in the intake task's name) and checked
again when intake is decided, since the other case may have moved on in between. Without a
lookup (the smoke run of `workflows check`) nothing is checked.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.calendar import is_overdue
from engine.errors import FormInvalid
from engine.process_api import CaseInfo, HookContext
from workflows.petition.assignment import responsible_unit

KEY = "petition"
LEVEL_ORDER = {"city": 0, "district": 1, "town": 2, "village": 3}
ACCEPT, ASSIGN, REFUSE = "受理", "交办", "不予受理"
ESCALATION_REASON = "同一事项正在下级机关办理期限内（越级信访）"
TERMINATED_REASON = "已经复核终结，以同一事实和理由再次提出"


@dataclass(frozen=True)
class Matter:
    """Other cases of the same matter that bar accepting this one."""
    lower_open: CaseInfo | None = None
    terminated: CaseInfo | None = None

    def facts(self) -> dict[str, Any]:
        return {"same_matter_open_case": self.lower_open.case_no if self.lower_open else None,
                "same_matter_terminated_case": self.terminated.case_no if self.terminated else None}


def repeat_link(data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
    """Check the registration's repeat_of and record the link to the earlier case."""
    repeat_of = str(data.get("repeat_of") or "").strip().upper()
    if not repeat_of or ctx.cases is None:
        return {}
    earlier = ctx.cases.by_case_no(repeat_of)
    # A case the registering user may not see answers like one that does not exist: the field
    # must not tell a town whether another district's case exists or whose ID number it has.
    if earlier is None or earlier.process_key != KEY or not _in_reach(earlier, ctx):
        raise FormInvalid({"repeat_of": "原件号不存在，请核对"})
    id_no = str(data.get("id_number") or "").strip().upper()
    if earlier.subject_id_no and earlier.subject_id_no != id_no:
        raise FormInvalid({"repeat_of": "原件号的信访人身份证号与本次登记不一致"})
    return {"repeat_of": repeat_of, "repeat_of_case_id": earlier.id}


def _in_reach(case: CaseInfo, ctx: HookContext) -> bool:
    return ctx.initiator_id is None or (ctx.cases is not None and ctx.cases.visible_to(case.id, ctx.initiator_id))


def same_matter(data: dict[str, Any], intake_unit_id: int, ctx: HookContext) -> Matter:
    """The open lower-level case and the terminated case of the same matter, if any."""
    id_no = str(data.get("id_number") or "").strip().upper()
    if ctx.cases is None or not id_no:
        return Matter()
    others = [c for c in ctx.cases.by_subject(KEY, id_no)
              if c.case_no != ctx.case_no and c.data.get("category") == data.get("category")]
    my_level = LEVEL_ORDER[ctx.orgs.level(intake_unit_id)]
    lower = [c for c in others if c.status == "running" and _within_lower_deadline(c, my_level, ctx)]
    final = [c for c in others if c.status == "completed" and c.data.get("review_final")]
    return Matter(lower[0] if lower else None, final[0] if final else None)


def _within_lower_deadline(case: CaseInfo, my_level: int, ctx: HookContext) -> bool:
    data = case.data
    if data.get("served_on") or not data.get("intake_unit_id"):
        return False  # answered already: a new request is a 复查 matter, not 越级
    unit = responsible_unit(data)
    if LEVEL_ORDER.get(ctx.orgs.level(unit), -1) <= my_level:
        return False
    key = "handling_due_at" if data.get("handling_unit_id") and not data.get("assignment_objected") \
        else "intake_due_at"
    due = data.get(key)
    return due is not None and not is_overdue(ctx.now, datetime.fromisoformat(str(due)))


def hint(matter: Matter) -> str | None:
    """What the intake task's name should warn about."""
    if matter.terminated:
        return f"同一事项已复核终结（{matter.terminated.case_no}）"
    if matter.lower_open:
        return f"疑似越级（{matter.lower_open.case_no}在下级办理期限内）"
    return None


def check_intake(data: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
    """Refuse an intake outcome that contradicts the petitioner's other cases; returns the cases
    found at the time of the decision (recorded in the decision's history)."""
    matter = same_matter(data, int(data["intake_unit_id"]), ctx)
    outcome, reason = data["intake_outcome"], data.get("refusal_reason")
    if outcome in (ACCEPT, ASSIGN) and matter.terminated:
        raise FormInvalid({"intake_outcome": f"同一事项已于{matter.terminated.case_no}复核终结，"
                                             "以同一事实和理由提出的不再受理，请选择不予受理"})
    if outcome in (ACCEPT, ASSIGN) and matter.lower_open:
        raise FormInvalid({"intake_outcome": f"同一事项（{matter.lower_open.case_no}）正在下级机关办理期限内，"
                                             "属越级信访，请选择不予受理并告知信访人"})
    if outcome == REFUSE and reason == ESCALATION_REASON and not matter.lower_open:
        raise FormInvalid({"refusal_reason": "未发现同一事项在下级机关办理期限内，不能以越级为由不予受理"})
    if outcome == REFUSE and reason == TERMINATED_REASON and not matter.terminated:
        raise FormInvalid({"refusal_reason": "未发现同一事项已复核终结，不能以此为由不予受理"})
    return {"escalation_of": matter.lower_open.case_no if matter.lower_open else None,
            "terminated_matter_of": matter.terminated.case_no if matter.terminated else None}
