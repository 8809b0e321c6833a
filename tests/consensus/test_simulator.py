"""The deterministic network simulator (consensus/simulator.py) over many seeds and every scenario.

Each run checks agreement, validity (with verify_commit on every certificate), accountability (no
honest validator ever signs two votes) and liveness after the network heals. A failing seed names
the command that replays it.
"""

from __future__ import annotations

import pytest

from consensus import simulator

SEEDS_PER_SCENARIO = 100  # 5 scenarios x 100 = 500 runs, about 15 s on the development machine


@pytest.mark.parametrize("scenario", simulator.SCENARIOS)
@pytest.mark.parametrize("block", range(10))
def test_seeds_keep_agreement_validity_and_liveness(scenario, block):
    per_block = SEEDS_PER_SCENARIO // 10
    for seed in range(block * per_block, (block + 1) * per_block):
        result = simulator.run(seed, scenario)  # raises SimulationFailure with the replay command
        honest = [i for i in range(result.params.n) if i not in result.params.byzantine]
        assert all(len(result.commits[i]) >= result.params.heights for i in honest)


def test_a_seed_replays_exactly():
    one, two = simulator.run(11, "lossy"), simulator.run(11, "lossy")
    assert (one.time_ms, one.events, one.commits, one.dropped) == (two.time_ms, two.events, two.commits, two.dropped)


def test_byzantine_scenarios_produce_evidence():
    assert sum(simulator.run(seed, "equivocation").evidence for seed in range(10)) > 0


def test_scenarios_cover_seven_validators_unequal_power_partitions_and_crashes():
    params = [simulator.make_params(seed, scenario) for seed in range(100) for scenario in simulator.SCENARIOS]
    assert any(p.n == 7 for p in params) and any(len(set(p.powers)) > 1 for p in params)
    assert any(p.partition for p in params) and any(p.crashes for p in params)
    assert all(3 * sum(p.powers[i] for i in p.byzantine) < sum(p.powers) for p in params)


def test_a_failure_prints_the_command_that_replays_it(monkeypatch, capsys):
    monkeypatch.setattr(simulator, "LIVENESS_BOUND_MS", 0)  # nobody can decide in no time
    with pytest.raises(
        simulator.SimulationFailure, match=r"python -m consensus\.simulator --seed 3 --scenario partition"
    ):
        simulator.run(3, "partition")
    assert simulator.main(["--seed", "3", "--scenario", "partition"]) == 1
    assert "replay: python -m consensus.simulator --seed 3 --scenario partition" in capsys.readouterr().err


def test_cli_runs_a_seed(capsys):
    assert simulator.main(["--seed", "5", "--scenario", "crash"]) == 0
    assert "ok seed=5 scenario=crash" in capsys.readouterr().out


def test_unknown_scenario_is_refused():
    with pytest.raises(ValueError, match="unknown scenario"):
        simulator.make_params(1, "meteor")
