"""Every BPMN construct of the fidelity suite runs in RongFlow exactly as in SpiffWorkflow alone:
same outcome, same end events, same final data, same user tasks after every step, both in one
process and with the spec cache dropped before every command and two engines alternating."""
import pytest

from engine.env import make_env
from tests.factories import build_org
from tests.integration.fidelity_runner import (Envs, constructs, deploy_fixture, load_script, run_rongflow,
                                               run_spiff)


@pytest.mark.parametrize("construct", constructs())
def test_construct_runs_as_in_spiffworkflow(env, db_url, clock, construct):
    script = load_script(construct)
    expected = run_spiff(construct, script, clock.now())
    expected.check(script["expect"])
    org = build_org(env)
    deploy_fixture(env, construct)
    actor, unit = org.actor("t1_cw"), org.units["t1"]

    one_process = run_rongflow(Envs([env], fresh=False), construct, script, actor, unit, clock)
    assert one_process == expected

    other = make_env(db_url, clock=clock)
    other.script_limits = env.script_limits  # the second engine as the first (a wall-time backstop)
    other.extra_processes.update(env.extra_processes)
    try:
        alternating = run_rongflow(Envs([env, other], fresh=True), construct, script, actor, unit, clock)
    finally:
        other.db.dispose()
    assert alternating == expected
