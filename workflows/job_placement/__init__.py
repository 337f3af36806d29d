"""安排工作退役士兵年度安置 (domain.md §2.3 b): one case is one plan year's batch of candidates.

接收计划 (start: year, receipt date of the files, candidates, posts) → per candidate 审档 with the
missing-document loop (补充材料 until complete) → 考试考核/赋分 per candidate → the reviewer checks
and publishes the ranking → 选岗: a sequential multi-instance over the ranking, so each
candidate chooses only after everyone ranked above (a full post is refused) → the leader
approves the allocation (or everyone chooses again) → per candidate 介绍信 and 上岗 within 30 days
of the letter (late: the receiving unit owes a living allowance, Art.75) → 回头看 per candidate.
The whole placement phase carries the 6-month clock from the receipt of the files (Art.31): a
non-interrupting timer that sends a supervision task to the leader while the work goes on.

Why one case per year and not one per candidate: the order of choosing couples the candidates
of a year; as one case, "after everyone ranked above" is the engine's own sequencing, with no
cross-case waiting or messages. The cost: one case holds the whole batch, and a candidate's
own steps (审档, 上岗) are multi-instance subprocesses inside it.
"""
from __future__ import annotations

from pathlib import Path

from engine.models import Role
from engine.process_api import ProcessConfig
from workflows.job_placement.assignment import SECTION_CODE, assign
from workflows.job_placement.demo import demo_start
from workflows.job_placement.rules import SETTINGS, on_complete, on_start, summarize, task_label
from workflows.job_placement.selection import open_posts
from workflows.job_placement.documents import DOCUMENTS
from workflows.job_placement.stats import INDICATORS

KEY = "job_placement"
_PLAN_DUE = "placement_due_at"

SMOKE_START = {
    "plan_year": 2026, "plan_doc_no": "安置〔2026〕1号", "receipt_date": "2026-03-01",
    "candidates": [
        {"name": "赵强", "id_number": "110105199003070017", "service_years": 12, "army_unit": "某部"},
        {"name": "钱勇", "id_number": "11010519491231002X", "service_years": 8, "army_unit": "某部"},
    ],
    "posts": [
        {"post_code": "P01", "employer": "市城管局", "post_name": "综合执法", "count": 1},
        {"post_code": "P02", "employer": "市交通局", "post_name": "路政管理", "count": 1},
    ],
}

SMOKE_ANSWERS = {
    "review_file": [{"missing_documents": ["户籍证明"], "file_decision": "需补充材料"},
                    {"missing_documents": [], "file_decision": "材料齐全"}],
    "request_supplement": {"requested_from": "本人", "notified_on": "2026-03-02",
                           "received_on": "2026-03-02", "received_documents": ["户籍证明"]},
    "score": {"service_score": 30, "award_score": 10, "exam_score": 50},
    "publish_ranking": {"ranking_decision": "确认排名并公示", "publicity_from": "2026-03-02",
                        "publicity_to": "2026-03-02"},
    "select_post": [{"post_code": f"P{i:02d}"} for i in range(1, 7)],
    "allocation_approval": {"allocation_decision": "同意"},
    "issue_letter": {"letter_no": "JS-2026-001", "letter_date": "2026-03-02"},
    "confirm_on_post": {"on_post_date": "2026-03-02"},
    "late_on_post": {"on_post_date": "2026-03-02", "late_reason": "接收单位编制调整",
                     "allowance_arranged": True},
    "placement_overdue": {"overdue_reason": "岗位计划调整", "measures": "督促接收单位限期落实"},
    "follow_up": {"follow_up_on": "2026-03-02", "open_ended": True, "allowances_paid": True},
}

PROCESS = ProcessConfig(
    key=KEY,
    name="安排工作退役士兵年度安置",
    case_prefix="AP",
    forms_dir=Path(__file__).resolve().parent / "forms",
    start_roles=frozenset({Role.caseworker}),
    start_levels=frozenset({"city"}),
    start_units=frozenset({SECTION_CODE}),
    assign=assign,
    on_start=on_start,
    on_complete=on_complete,
    due_keys={
        "review_file": _PLAN_DUE, "request_supplement": "supplement_due_at", "score": _PLAN_DUE,
        "publish_ranking": _PLAN_DUE, "select_post": _PLAN_DUE, "allocation_approval": _PLAN_DUE,
        "issue_letter": _PLAN_DUE, "confirm_on_post": "onpost_due_at", "late_on_post": _PLAN_DUE,
    },
    summarize=summarize,
    task_label=task_label,
    option_sources={"open_posts": open_posts},
    smoke_start=SMOKE_START,
    documents=DOCUMENTS,
    indicators=INDICATORS,
    smoke_answers=SMOKE_ANSWERS,
    settings={**SETTINGS, "demo_start": demo_start, "demo_variants": {
        "publish_ranking": [{"ranking_decision": "退回重新赋分", "ranking_note": "立功加分漏记"}],
        "allocation_approval": [{"allocation_decision": "退回重新选岗",
                                 "allocation_opinion": "请按名次重新选岗"}],
    }},
)
