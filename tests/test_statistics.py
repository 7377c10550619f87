"""The arithmetic of paper/REPRODUCTION.md's uncertainty sections, on small hand-made folds."""
import math

import numpy as np
import pandas as pd
import pytest

from electrode_ml.evaluation import statistics


def test_standard_errors_naive_and_corrected_by_hand():
    values = [1.0, 2.0, 3.0, 4.0, 5.0]  # s^2 = 2.5
    assert statistics.naive_standard_error(values) == pytest.approx(math.sqrt(2.5 / 5))
    # 5 equal folds: n_test / n_train = 1/4; corrected variance (1/5 + 1/4) * 2.5
    assert statistics.test_train_ratio([10] * 5) == pytest.approx(0.25)
    assert statistics.corrected_standard_error(values, 0.25) == pytest.approx(math.sqrt(0.45 * 2.5))
    assert statistics.corrected_standard_error(values, 0.25) > statistics.naive_standard_error(values)


def test_loco_weightings_differ_when_clusters_differ_in_size():
    folds = pd.DataFrame({"fold": [0, 1], "n": [90, 10], "mae": [1.0, 3.0], "control_mae": [2.0, 2.0]})
    cell = statistics.standard_errors(folds)
    assert cell["smae"] == pytest.approx(2.0 / 2.0)          # each cluster equal: (1 + 3) / 2 / 2
    assert cell["smae_row_weighted"] == pytest.approx((90 * 1 + 10 * 3) / 100 / 2.0)


@pytest.mark.parametrize(("difference", "se", "verdict"), [
    (0.01, 0.01, "equivalent"),    # 0.01 + 1.645 * 0.01 = 0.026 < 0.05
    (0.04, 0.01, "different"),     # not inside the margin, 0.04 - 1.96 * 0.01 > 0
    (0.03, 0.02, "undecided"),     # 0.03 + 0.033 > 0.05, and 0.03 - 0.039 < 0
    (0.0, math.nan, "undecided"),
])
def test_verdicts(difference, se, verdict):
    assert statistics.verdict(difference, se, margin=0.05) == verdict
    assert statistics.verdict(-difference, se, margin=0.05) == verdict


def test_published_two_sigma_becomes_a_corrected_standard_error():
    # 2 sigma 0.2 over 5 folds: sigma 0.1, corrected sqrt(1/5 + 1/4) * 0.1
    assert statistics.published_standard_error(0.2, 5) == pytest.approx(math.sqrt(0.45) * 0.1)


def test_paired_differences_and_first_place_on_hand_made_folds():
    folds = {"crabnet": pd.Series([1.0, 1.1, 0.9, 1.0, 1.0]),
             "modnet": pd.Series([2.0, 2.1, 1.9, 2.2, 2.0]),
             "rf": pd.Series([1.0, 1.2, 0.8, 1.1, 0.95])}
    pairs = statistics.paired_differences(folds, test_train=0.25)
    crab_vs_modnet = pairs[(pairs["a"] == "crabnet") & (pairs["b"] == "modnet")].iloc[0]
    assert crab_vs_modnet["mean_difference"] == pytest.approx(-1.04)
    assert crab_vs_modnet["a_better_folds"] == 5 and crab_vs_modnet["sign_test_p"] == pytest.approx(2 / 32)
    assert crab_vs_modnet["high"] < 0
    # CrabNet surely beats MODNet, not surely RF: undecided. Against MODNet alone: confirmed.
    assert statistics.first_place(pairs, "crabnet") == "undecided"
    assert statistics.first_place(pairs[pairs["b"] != "rf"], "crabnet") == "confirmed"
    assert statistics.first_place(pairs, "modnet") == "refuted"


def test_kendall_tau_same_and_reversed_order():
    published = pd.Series({"a": 0.2, "b": 0.3, "c": 0.4})
    assert statistics.kendall_tau(published, published * 2) == pytest.approx(1.0)
    assert statistics.kendall_tau(published, -published) == pytest.approx(-1.0)


def test_published_inconsistencies_found_by_arithmetic():
    published = pd.DataFrame([
        ("control", "voltage", "mae", 2.292, 1.858), ("control", "voltage", "smae", 1.0, 0.811),
        ("modnet", "voltage", "mae", 1.129, 0.5), ("modnet", "voltage", "smae", 0.489, 0.218),
        ("rf", "voltage", "mae", 1.0, 0.5), ("rf", "voltage", "smae", 0.436, 0.218),
    ], columns=["model", "target", "metric", "value", "two_sigma"])
    notes = statistics.published_inconsistencies(published)
    assert [(n["model"], n["quantity"]) for n in notes] == [("modnet", "SMAE")]
    assert notes[0]["expected"] == pytest.approx(1.129 / 2.292)
    assert np.isclose(0.4926, round(notes[0]["expected"], 4))
