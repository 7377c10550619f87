"""The CrabNet front study's bookkeeping: which points form the front, which one the quick profile
takes, which folds it measures on, and that a stopped study resumes where it stopped."""
import json

import numpy as np
import pandas as pd
import pytest

from electrode_ml.commands import crabnet_front as front
from electrode_ml import paths


def _records(points: dict) -> list[dict]:
    """Records of every target and seed for {point name: (seconds, {target: smae})}."""
    return [{"point": name, "fold": "reference", "seed": seed, "target": target, "seconds": seconds,
             "smae": smae[target], "cpu": "x86_64"}
            for name, (seconds, smae) in points.items() for seed in front.SEEDS for target in front.TARGETS]


def _smae(grav, vol, voltage):
    return {"grav_capacity": grav, "vol_capacity": vol, "voltage": voltage}


def test_front_keeps_only_points_nothing_beats_on_both_time_and_error():
    seconds, smae = np.array([1.0, 2.0, 3.0, 2.5, 1.0]), np.array([0.9, 0.5, 0.4, 0.6, 0.95])
    assert front.on_front(seconds, smae).tolist() == [True, True, True, False, False]


# Today's model at 30 s per fit: the choice may cost at most this.
BUDGET = front.BUDGET_SHARE * 30.0


def test_the_choice_is_the_best_point_meeting_the_bar_within_the_budget():
    records = _records({
        front.TODAY: (30.0, _smae(0.66, 0.59, 0.72)),
        "cheap-but-poor": (BUDGET / 4, _smae(0.6, 0.5, 0.7)),
        "meets-bar": (BUDGET * 0.9, _smae(0.40, 0.35, 0.46)),
        "meets-bar-better": (BUDGET * 0.95, _smae(0.39, 0.34, 0.45)),
        "meets-bar-over-budget": (BUDGET * 1.2, _smae(0.38, 0.33, 0.44)),
        "best-but-slow": (40.0, _smae(0.35, 0.30, 0.41)),
    })
    assert front.choice(records)["point"] == "meets-bar-better"
    table = front.reference_table(records).set_index("point")
    assert table.loc["meets-bar", "meets_bar"] and not table.loc["cheap-but-poor", "meets_bar"]
    assert not table.loc[front.TODAY, "front"] and table.loc["best-but-slow", "front"]


def test_without_a_point_at_the_bar_the_choice_is_the_best_affordable_one():
    records = _records({front.TODAY: (30.0, _smae(0.66, 0.59, 0.72)), "better": (BUDGET * 0.9, _smae(0.45, 0.40, 0.50)),
                        "over-budget": (BUDGET * 1.1, _smae(0.42, 0.38, 0.48)),
                        "best-but-slow": (40.0, _smae(0.35, 0.30, 0.41))})
    assert front.choice(records)["point"] == "better"


def test_the_quick_profiles_crabnet_is_the_measured_fronts_choice():
    """params.yaml's quick CrabNet is the point `choice` takes from the committed records."""
    from electrode_ml.params import profile_block

    chosen = front.choice(front.read_records())
    from electrode_ml.reporting.crabnet_cpu_front import measured_point

    point = measured_point(front.read_records(), profile_block("quick", "crabnet"))
    assert point is not None and point["point"] == chosen["point"], (chosen["point"], point)


def test_the_section_names_the_choice_and_the_bar(tmp_path):
    records = _records({front.TODAY: (30.0, _smae(0.66, 0.59, 0.72)), "meets-bar": (BUDGET * 0.9, _smae(0.40, 0.35, 0.46))})
    text = "\n".join(front.front_section(records))
    assert f"| meets-bar | {BUDGET * 0.9:.1f} | 0.400 | 0.350 | 0.460 |" in text and "quick profile" in text
    assert "voltage 0.470" in text  # the bar: the GPU reference + 0.06


def test_reference_fold_is_the_gpu_parity_fold_and_grouped_fold_is_the_pipelines(tmp_path):
    from sklearn.model_selection import StratifiedKFold

    rng = np.random.default_rng(0)
    electrodes = pd.DataFrame({"battery_id": [f"b{i}" for i in range(100)],
                               "working_ion": rng.choice(["Li", "Na", "Mg"], 100)})
    train, test = front.fold_rows(electrodes, "reference")
    expected = next(StratifiedKFold(n_splits=5, shuffle=True, random_state=0).split(electrodes, electrodes["working_ion"]))
    assert np.array_equal(train, expected[0]) and np.array_equal(test, expected[1])
    folds = tmp_path / "stratified5.csv"
    pd.DataFrame({"battery_id": electrodes["battery_id"], "fold": np.arange(100) % 5}).to_csv(folds, index=False)
    train, test = front.fold_rows(electrodes, "grouped", folds)
    assert np.array_equal(test, np.arange(0, 100, 5)) and len(train) == 80
    pd.DataFrame({"battery_id": electrodes["battery_id"][:50], "fold": 0}).to_csv(folds, index=False)
    with pytest.raises(front.ElectrodeMLError, match="no fold for some prepared electrodes"):
        front.fold_rows(electrodes, "grouped", folds)


def test_a_stopped_study_runs_only_the_fits_it_has_no_record_of(tmp_path):
    path = tmp_path / "front.jsonl"
    planned = front.planned_fits()
    assert len({fit.key for fit in planned}) == len(planned)
    path.write_text("".join(json.dumps(dict(zip(("point", "fold", "seed", "target"), fit.key))) + "\n"
                            for fit in planned[:-3]))
    assert front.missing_fits(path) == planned[-3:]


def test_a_pinned_fit_is_set_beside_the_same_fit_unpinned_and_kept_out_of_the_front():
    records = _records({front.TODAY: (30.0, _smae(0.66, 0.59, 0.72)), "meets-bar": (BUDGET * 0.9, _smae(0.40, 0.35, 0.46))})
    for record in records:
        record["mae"] = record["smae"]
    auto = {**records[0], "environment": {"MKL_CBWR": "AUTO"}, "seconds": 25.0}
    pinned = {**records[0], "environment": {"MKL_CBWR": "COMPATIBLE"}, "seconds": 50.0, "mae": 0.5}
    text = "\n".join(front.front_section(records + [auto, pinned]))
    assert "| MKL_CBWR=AUTO | 25.0 | 1.00 | yes |" in text
    assert "| MKL_CBWR=COMPATIBLE | 50.0 | 2.00 | no |" in text
    assert front.reference_table(records + [auto, pinned]).equals(front.reference_table(records))
    with pytest.raises(front.ElectrodeMLError, match="no grid point 'nonesuch'"):
        front.pinned_fits("nonesuch", {"MKL_CBWR": "COMPATIBLE"})


def test_the_command_renders_the_table_from_the_records_and_names_a_bad_option(tmp_path):
    import subprocess
    import sys

    records = _records({front.TODAY: (30.0, _smae(0.66, 0.59, 0.72)), "meets-bar": (BUDGET * 0.9, _smae(0.40, 0.35, 0.46))})
    for record in records:
        record["hyperparameters"] = {}
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "paper").mkdir()
    (tmp_path / "reference").mkdir()  # the GPU reference the bar is set from
    (tmp_path / paths.CRABNET_GPU_REFERENCE).write_text(paths.CRABNET_GPU_REFERENCE.read_text())
    (tmp_path / "benchmarks" / "crabnet_front.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    run = subprocess.run([sys.executable, "-m", "electrode_ml.cli", "crabnet-front", "--render"], cwd=tmp_path,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "the quick profile's CrabNet: meets-bar" in run.stdout
    assert f"| meets-bar | {BUDGET * 0.9:.1f} |" in (tmp_path / "paper" / "PERFORMANCE.md").read_text()
    bad = subprocess.run([sys.executable, "-m", "electrode_ml.cli", "crabnet-front", "--pinned-point", "x"],
                         cwd=tmp_path, capture_output=True, text=True)
    assert bad.returncode == 1 and "--pinned-point needs --environment VAR=VALUE" in bad.stderr
