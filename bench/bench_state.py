"""State benchmark: what loading and saving one case's workflow state costs (no database).

Starts a case of the plain model (start → 5 user tasks → end) in memory, completes its first
task, then times `load_state` + (prune +) `dump_state` of that state, as every command does.

    .venv/bin/python bench/bench_state.py            # options: --runs 2000
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from SpiffWorkflow.bpmn import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402

from engine.clock import SystemClock  # noqa: E402
from engine.definitions import parse_files, read_process_dir  # noqa: E402
from engine.persistence import dump_state, load_state  # noqa: E402
from engine.scripting import RongScriptEngine  # noqa: E402
from engine.calendar import default_calendar  # noqa: E402

try:  # absent before the live tree was pruned (compare with an older checkout)
    from engine.pruning import prune_finished
except ImportError:  # pragma: no cover
    def prune_finished(workflow: object) -> int:
        return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=2000)
    args = parser.parse_args()
    spec, subs = parse_files("plain", read_process_dir(ROOT / "tests" / "data" / "plain"))
    engine = RongScriptEngine(SystemClock(), default_calendar())
    wf = BpmnWorkflow(spec, subs, script_engine=engine)
    wf.do_engine_steps()
    task = wf.get_tasks(state=TaskState.READY, manual=True)[0]
    task.set_data(subject="bench")
    task.run()
    wf.do_engine_steps()
    state = dump_state(wf)
    loads, saves = [], []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        loaded = load_state(state, spec, subs, engine)
        t1 = time.perf_counter()
        prune_finished(loaded)
        dump_state(loaded)
        t2 = time.perf_counter()
        loads.append((t1 - t0) * 1e6)
        saves.append((t2 - t1) * 1e6)
    print(f"plain model, {len(state):,} B state: load {statistics.median(loads):.0f} µs, "
          f"save {statistics.median(saves):.0f} µs (median of {args.runs})")


if __name__ == "__main__":
    main()
