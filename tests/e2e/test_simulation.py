"""A property-based simulation over a random portfolio, through the real platform (tests/support/simulation.py):
people with several creditors each, simulated days moved once a day at a random hour, payments, disputes,
promises, agreements kept and broken, late and dead-lettered commands replayed days later. Whatever the
platform sent must never follow a stop, fall in a pause, leave the debtor's local contact hours, or exceed a
person's call caps (DOMAIN.md).

    .venv/bin/python -m pytest -q tests/e2e/test_simulation.py -x -s     # 60 people, 35 days (the suite's)
    REGUA_SIM_PEOPLE=2000 REGUA_SIM_DAYS=90 .venv/bin/python -m pytest -q tests/e2e/test_simulation.py -x -s

REGUA_SIM_SEED replays a run (the seed is printed); REGUA_SIM_DAYS shortens it."""

import pytest

from tests.support.client import Platform
from tests.support.simulation import Config, Simulation, judge

pytestmark = pytest.mark.e2e


def test_a_random_portfolio_is_never_contacted_after_a_stop_in_a_pause_at_night_or_over_the_caps(
        platform: Platform) -> None:
    config = Config.from_env()
    print(f"\nsimulation: seed {config.seed} (REGUA_SIM_SEED), {config.people} people (REGUA_SIM_PEOPLE), "
          f"{config.days} days", flush=True)
    world = Simulation(platform, config).run()
    verdict = judge(world)
    report = verdict.summary()
    print(report, flush=True)
    (platform.stack.workdir / f"simulation-{config.seed}-{config.people}.txt").write_text(report + "\n")
    found = {rule: n for rule, v in verdict.violations.items() if (n := len(v))}
    assert not found, f"seed {config.seed}: violations {found}\n{report}"
