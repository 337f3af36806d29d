"""engine.persistence.TaskIdConverter is SpiffWorkflow's TaskConverter with each task id parsed
once: every state of every fidelity construct, at every step, loads to a workflow that dumps
exactly as the one SpiffWorkflow's own converter loads (and as the state itself)."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer.default.workflow import TaskConverter
from SpiffWorkflow.spiff.parser.process import VALIDATOR
from SpiffWorkflow.util.task import TaskState

from engine import persistence
from engine.clock import ManualClock
from engine.interrupts import RongFlowParser
from tests.integration.fidelity_runner import (FIDELITY, _run, _spiff_clock, _spiff_step, constructs,
                                               interrupting_specs, load_script)

STOCK = persistence._build_serializer(TaskConverter)


def _states(construct: str) -> tuple[list[str], object, object]:
    parser = RongFlowParser(validator=VALIDATOR)
    folder = FIDELITY / construct
    parser.add_bpmn_files([str(p) for p in sorted(folder.glob("*.bpmn"))])
    parser.add_dmn_files([str(p) for p in sorted(folder.glob("*.dmn"))])
    spec, subs = parser.get_spec(construct), parser.get_subprocess_specs(construct)
    interrupting = interrupting_specs(parser, spec, subs)
    script, clock = load_script(construct), ManualClock(datetime(2026, 3, 2, 9, tzinfo=timezone.utc))
    engine = PythonScriptEngine()
    states = []
    with _spiff_clock(clock):
        wf = BpmnWorkflow(spec, subs, script_engine=engine)
        wf.get_tasks(state=TaskState.READY)[0].data.update(script.get("start", {}))
        _run(wf, interrupting)
        states.append(persistence.dump_state(wf))
        for step in script["steps"]:
            wf = persistence.load_state(states[-1], spec, subs, engine)
            _spiff_step(wf, step, clock)
            _run(wf, interrupting)
            states.append(persistence.dump_state(wf))
    return states, spec, subs


@pytest.mark.parametrize("construct", constructs())
def test_every_state_loads_as_spiffworkflows_own_converter_loads_it(construct):
    states, spec, subs = _states(construct)
    assert len(states) > 1
    for state in states:
        ours = persistence.load_state(state, spec, subs, PythonScriptEngine())
        dct = json.loads(state)
        dct.pop(STOCK.VERSION_KEY, None)
        stock = STOCK.from_dict(dct, spec=spec, subprocess_specs=subs)
        assert persistence.dump_state(ours) == STOCK.serialize_json(stock) == state
        assert persistence.dump_state(stock) == STOCK.serialize_json(ours)  # each side's writing alike
        assert {t.id: (t.parent.id if t.parent else None, [c.id for c in t.children], t.state, t.data)
                for t in ours.get_tasks()} == \
            {t.id: (t.parent.id if t.parent else None, [c.id for c in t.children], t.state, t.data)
             for t in stock.get_tasks()}


def test_an_id_is_parsed_and_written_once_and_the_memos_are_bounded(monkeypatch):
    monkeypatch.setattr(persistence, "_UUIDS", {})
    monkeypatch.setattr(persistence, "_TEXTS", {})
    monkeypatch.setattr(persistence, "_UUIDS_MAX", 3)
    ids = [f"00000000-0000-0000-0000-00000000000{i}" for i in range(5)]
    first = persistence._uuid(ids[0])
    assert persistence._uuid(ids[0]) is first and str(first) == ids[0]
    text = persistence._text(first)
    assert text == ids[0] and persistence._text(first) is text
    for value in ids[1:]:
        persistence._text(persistence._uuid(value))
    assert len(persistence._UUIDS) <= 3 and len(persistence._TEXTS) <= 3
    assert [persistence._text(persistence._uuid(v)) for v in ids] == ids  # right after a clear too
