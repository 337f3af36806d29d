from engine.models import InstanceStatus
from engine.runtime import complete_task, start_case
from engine.inbox import inbox
from tests.factories import build_org, setup_plain


def test_plain_case_runs_start_to_end(env):
    org = build_org(env)
    setup_plain(env)
    cw = org.actor("t1_cw")
    started = start_case(env, "plain", cw, org.units["t1"], {"subject": "测试"})
    assert started.case_no.startswith("PL2026-")
    for _ in range(5):
        page = inbox(env, cw.id)
        assert len(page.items) == 1
        result = complete_task(env, page.items[0].id, cw, {"note": "ok"}, opinion="同意")
    assert result.status == InstanceStatus.completed
    assert inbox(env, cw.id).items == []
