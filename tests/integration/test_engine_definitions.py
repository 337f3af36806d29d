"""Deploying definitions: versions by content, clear errors, nothing deployed on bad input."""
import json

import pytest
from sqlalchemy import func, select

from engine.definitions import deploy, read_process_dir
from engine.errors import DefinitionError
from engine.inbox import inbox
from engine.models import ProcessDefinition, ProcessInstance
from engine.runtime import complete_task, start_case
from tests.factories import DATA, build_org, plain_config

PLAIN = read_process_dir(DATA / "plain")


def _deploy(env, files, key="plain"):
    with env.db.write() as s:
        d, created = deploy(s, key, files, env.clock.now())
        return d.version, created


def _count(env):
    with env.db.read() as s:
        return s.scalar(select(func.count()).select_from(ProcessDefinition))


def test_same_content_makes_no_new_version_changed_content_does(env):
    assert _deploy(env, PLAIN) == (1, True)
    assert _deploy(env, PLAIN) == (1, False)
    changed = {"plain.bpmn": PLAIN["plain.bpmn"].replace("归档".encode(), "归档存查".encode())}
    assert _deploy(env, changed) == (2, True)


def test_running_case_stays_on_its_version(env):
    org = build_org(env)
    env.extra_processes["plain"] = plain_config()
    _deploy(env, PLAIN)
    cw = org.actor("t1_cw")
    old = start_case(env, "plain", cw, org.units["t1"], {})
    renamed = {"plain.bpmn": PLAIN["plain.bpmn"].replace("初审".encode(), "初审（新版）".encode())}
    _deploy(env, renamed)
    new = start_case(env, "plain", cw, org.units["t1"], {})
    for task in inbox(env, cw.id).items:
        complete_task(env, task.id, cw, {})
    names = {t.instance_id: t.step_name for t in inbox(env, cw.id).items}
    assert names == {old.instance_id: "初审", new.instance_id: "初审（新版）"}
    with env.db.read() as s:
        state = json.loads(s.get(ProcessInstance, old.instance_id).state)
    assert "spec" not in state and "subprocess_specs" not in state


@pytest.mark.parametrize("mutate, expect", [
    (lambda x: x.replace(b"</bpmn:process>", b"<bpmn:process>"), ("plain.bpmn", None, True)),
    (lambda x: x.replace(b'<bpmn:userTask id="step2"', b'<bpmn:userTask bogus="1" id="step2"'),
     ("plain.bpmn", None, True)),
    (lambda x: x.replace(b'targetRef="step3"', b'targetRef="nowhere"'), ("plain.bpmn", "id=f2", True)),
])
def test_bad_bpmn_names_file_element_line_and_deploys_nothing(env, mutate, expect):
    file, element, has_line = expect
    with pytest.raises(DefinitionError) as info:
        _deploy(env, {"plain.bpmn": mutate(PLAIN["plain.bpmn"])})
    err = info.value
    assert err.file == file
    if element:
        assert element in (err.element or "")
    assert (err.line is not None) == has_line
    assert err.user_message.startswith("流程定义有误")
    assert _count(env) == 0


def test_a_bad_file_in_a_set_deploys_none_of_the_set(env):
    files = dict(PLAIN)
    files["rules.dmn"] = b"<not-closed"
    with pytest.raises(DefinitionError) as info:
        _deploy(env, files)
    assert info.value.file == "rules.dmn" and info.value.line == 1
    assert _count(env) == 0
