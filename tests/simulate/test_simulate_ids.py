"""is_simulated_ids: the report's SYNTHETIC banner for cohorts written by `aftercar simulate`."""

import pyarrow as pa

from aftercar.simulate import is_simulated_ids, simulate_cohort


def test_ids_written_by_the_simulator_are_recognised():
    sim = simulate_cohort(5, seed=1)
    assert is_simulated_ids(sim.patients.column("patient_id"))


def test_real_looking_or_mixed_ids_are_not():
    assert not is_simulated_ids(pa.array(["MSK-001", "MSK-002"]))
    assert not is_simulated_ids(pa.array(["SYN-0000001", "P2"]))
    assert not is_simulated_ids(pa.array(["SYN-000001"]))  # 6 digits, not the simulator's 7
    assert not is_simulated_ids(pa.array([], pa.string()))
