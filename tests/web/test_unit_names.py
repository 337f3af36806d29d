"""Org unit fields show the unit's name on the task and case pages, never its database id."""
import re

from tests.factories import act, deploy_dir, open_tasks, register_petition, ROOT
from tests.web.conftest import login


def test_assigned_unit_is_shown_by_name(env, org, client):
    deploy_dir(env, "petition", ROOT / "bpmn" / "petition")
    case_id = register_petition(env, org)
    act(env, org, case_id, "intake", "city_cw",
        {"intake_outcome": "交办", "handling_unit_id": org.units["d1"]}, opinion="请核实")
    [task] = open_tasks(env, case_id, "receive_assignment")
    login(client, "d1_cw")
    for url in (f"/tasks/{task.id}", f"/cases/{case_id}"):
        page = client.get(url).get_data(as_text=True)
        assert "海安区退役军人事务局" in page
        assert not re.search(r"承办单位</[^>]+>\s*<[^>]+>\s*%d\s*<" % org.units["d1"], page), url
