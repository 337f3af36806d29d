"""Run with an old release's code first on PYTHONPATH: build that release's schema and its demo
city on DATABASE (argv[1]), with that release's own engine. The upgrade drill then upgrades the
result with today's migrations (tests/integration/test_upgrade_drill.py)."""
import sys
import time
from pathlib import Path

from engine.env import make_env
from webapp.cli import deploy_all, init_db
from workflows.demo_city import build

if __name__ == "__main__":
    url, bpmn_dir = sys.argv[1], Path(sys.argv[2])
    started = time.perf_counter()
    env = make_env(url, bpmn_dir=bpmn_dir)
    init_db(env)
    deploy_all(env)
    city = build(env)
    env.db.dispose()
    print(f"built in {time.perf_counter() - started:.1f} s: {city.summary()}")
