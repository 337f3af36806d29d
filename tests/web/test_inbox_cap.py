"""A caseworker with more than 1,000 open tasks: the 待办 badge says 1000+, the pager 超过 1000 条
with the next page offered, the API `total_capped`; at exactly 1,000 every figure is exact; a
caseworker of another unit sees none of them."""
from __future__ import annotations

from sqlalchemy import delete, insert

from engine.models import HumanTask, Role, TaskStatus
from tests.web.conftest import login, start_plain


def _bulk_tasks(env, plain, n: int) -> None:
    """n open caseworker tasks at the town beside one real case (whose first step makes n + 1)."""
    iid = start_plain(env, plain).instance_id
    now = env.clock.now()
    with env.db.write() as s:
        s.execute(insert(HumanTask), [
            {"spiff_task_id": f"bulk-{k}", "instance_id": iid, "process_key": "plain", "case_no": f"BULK-{k:04d}",
             "title": "批量待办", "step_id": "step1", "step_name": "登记", "role": Role.caseworker,
             "org_unit_id": plain.units["t1"], "status": TaskStatus.open, "due_at": None,
             "due_provisional": False, "created_at": now} for k in range(n)])


def test_more_than_a_thousand_tasks_show_as_1000_plus(env, client, plain):
    _bulk_tasks(env, plain, 1000)
    login(client, "t1_cw")
    page = client.get("/").text
    assert "1000+" in page and "超过 1000 条，第 1 页" in page and "共 1000 条" not in page
    fiftieth = client.get("/?page=50").text  # the cap's last page still offers 下一页
    assert "超过 1000 条，第 50 页" in fiftieth and "page-item disabled" not in fiftieth.split("上一页")[1]
    body = client.get("/api/v1/tasks/inbox").json
    assert (body["total"], body["total_capped"], len(body["items"])) == (1000, True, 20)
    far = client.get("/api/v1/tasks/inbox?page=51").json  # past the cap: counted to the page's end
    assert (far["total"], far["total_capped"], len(far["items"])) == (1001, False, 1)
    done = client.get("/api/v1/tasks/done").json
    assert (done["total"], done["total_capped"]) == (0, False)


def test_exactly_a_thousand_tasks_are_counted_exactly(env, client, plain):
    _bulk_tasks(env, plain, 1000)
    with env.db.write() as s:
        s.execute(delete(HumanTask).where(HumanTask.spiff_task_id == "bulk-0"))
    login(client, "t1_cw")
    page = client.get("/").text
    assert "1000+" not in page and "超过" not in page and "共 1000 条，第 1/50 页" in page
    body = client.get("/api/v1/tasks/inbox").json
    assert (body["total"], body["total_capped"]) == (1000, False)


def test_a_caseworker_of_another_unit_sees_none_of_them(env, client, plain):
    _bulk_tasks(env, plain, 1000)
    login(client, "t2_cw")
    page = client.get("/").text
    assert "1000+" not in page and "暂无待办事项" in page and "BULK-" not in page
    body = client.get("/api/v1/tasks/inbox").json
    assert (body["items"], body["total"], body["total_capped"]) == ([], 0, False)
