"""History data in words (engine.readable): Chinese labels, internal keys hidden, Beijing times."""
from datetime import date, datetime, timezone

from engine.readable import admin_detail_lines, is_internal, readable_pairs, readable_text, value_text


def test_times_read_as_beijing_minutes_and_dates_stay_dates():
    assert value_text("2026-12-15T00:00:00+08:00") == "2026-12-15 00:00"
    assert value_text("2026-12-14T16:00:00Z") == "2026-12-15 00:00"
    assert value_text(datetime(2026, 12, 14, 16, 0, tzinfo=timezone.utc)) == "2026-12-15 00:00"
    assert value_text("2026-12-15") == value_text(date(2026, 12, 15)) == "2026-12-15"
    assert value_text("2026-12-15T99:00") == "2026-12-15T99:00"  # not a time after all: as typed
    assert (value_text(True), value_text(None), value_text(["甲", "乙"])) == ("是", "—", "甲、乙")
    assert value_text("suspended") == "已挂起"


def test_an_error_events_details_are_chinese_and_its_english_text_stays_out():
    data = {"message": "NameError: name 'x' is not defined", "line": 3, "error_line": "x + 1",
            "rolled_back": True}
    assert readable_pairs(data) == [("脚本出错行号", 3), ("已退回出错前的状态", True)]
    assert readable_text(data) == "脚本出错行号：3；已退回出错前的状态：是"


def test_form_titles_win_internal_and_unlabelled_keys_are_hidden():
    titles = {"intake_decided_on": "受理决定日期"}
    data = {"intake_decided_on": [None, "2026-12-15"], "initiator_id": [None, 7], "to_step": "x",
            "mystery_key": [None, 1], "case_due_at": [None, "2026-12-15T00:00:00+08:00"]}
    assert readable_text(data, titles, pairs=True) == "受理决定日期：2026-12-15；办结期限：2026-12-15 00:00"
    assert readable_text({"subject": ["旧", "新"]}, {"subject": "事由"}, pairs=True) == "事由：旧 → 新"
    assert all(is_internal(k) for k in ("initiator_id", "to_ids", "attachment_id", "to_step", "_x"))


def test_admin_details_name_processes_roles_and_levels():
    lines = admin_detail_lines({"key": "petition", "version": 2, "files": ["a.bpmn"], "content_hash": "ab" * 32,
                                "role": "caseworker", "level": "town", "unit_id": 4, "user_id": 5},
                               {"petition": "涉军信访事项办理"}, {"caseworker": "经办人"}, {"town": "镇街"})
    assert lines == [("流程", "涉军信访事项办理"), ("版本", "2"), ("文件", "a.bpmn"),
                     ("内容哈希", "abababababab…"), ("角色", "经办人"), ("层级", "镇街")]
