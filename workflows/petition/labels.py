"""Chinese labels of the petition's data keys that its hooks set and no form titles (for 数据变更
and the audit view; engine.readable hides a key with neither a title nor a label)."""
from __future__ import annotations

FIELD_LABELS: dict[str, str] = {
    "accepted_on": "受理日期", "accept_late_first": "复查申请受理逾期", "accept_late_second": "复核申请受理逾期",
    "assignment_notice": "交办告知", "assignment_notice_late": "交办告知逾期",
    "assignment_objected": "承办单位提出异议", "extension_days_granted": "批准延长天数",
    "extension_notices": "延期告知", "final_on": "终结日期", "first_request_late": "复查申请逾期",
    "first_review_decided_on": "复查决定日期", "first_review_external": "复查由外单位办理",
    "first_review_late": "复查逾期", "first_review_overdue": "复查超期",
    "group_petition": "集体信访", "handling_overdue": "办理超期", "hearing_days_total": "听证累计天数",
    "intake_decided_on": "受理决定日期", "intake_notice_kind": "受理告知方式", "intake_overdue": "受理超期",
    "new_due_on": "新办结期限", "notice_on": "告知日期", "objected_on": "提出异议日期",
    "refusal_notice": "不予受理告知", "refusal_notice_kind": "不予受理告知方式", "replied_on": "答复日期",
    "same_matter_hint": "同一事项提示", "second_request_late": "复核申请逾期",
    "second_review_decided_on": "复核决定日期", "second_review_external": "复核由外单位办理",
    "second_review_late": "复核逾期", "second_review_overdue": "复核超期",
    "case_due_at": "办结期限", "case_due_at_provisional": "期限待定",
    "intake_due_at": "受理期限", "handling_due_at": "办理期限", "objection_due_at": "异议期限",
    "assignment_notice_due_at": "交办告知期限", "first_request_due_at": "复查申请期限",
    "first_review_due_at": "复查期限", "second_request_due_at": "复核申请期限",
    "second_review_due_at": "复核期限",
}
