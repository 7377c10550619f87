"""CrabNet's batched trainer: K models together equal the same K one at a time, agree with
crabnet's own loop, save for a CPU, and plug into cross-validation."""
import joblib
import numpy as np
import pandas as pd
import pytest
import torch

from electrode_ml.evaluation.validation import cross_validate, mae
from electrode_ml.models.registry import make_model

TARGET = "capacity_grav_mAh_g"
# Small enough for a few seconds per model on 2 cores. crabnet's head is (1024, 512, 256, 128)
# whatever out_hidden says, so d_model and N are what can shrink.
TINY = {"epochs": 4, "epochs_step": 2, "d_model": 32, "N": 1, "dim_feedforward": 64, "batch_size": 64, "device": "cpu"}


@pytest.fixture(scope="module")
def electrodes(real_raw) -> pd.DataFrame:
    """240 real electrodes: composition, targets, composition group (no features: CrabNet reads the formula)."""
    from electrode_ml.data.electrodes import prepare_electrodes

    return prepare_electrodes(real_raw.sample(240, random_state=3)).electrodes.set_index("battery_id")


def _fold(table: pd.DataFrame) -> np.ndarray:
    return (table["group"] % 5 == 0).to_numpy()  # whole composition groups held out, as the CV folds do


def test_models_trained_together_equal_the_same_models_trained_one_at_a_time(electrodes):
    # Each model draws its batch order and jitter from its own generator, and the dropout masks
    # (first epoch) are shared across the group, so its arithmetic does not depend on the others.
    # Float32 tolerance: rtol 1e-5 (on this CPU they agree bit for bit; a GPU may pick other
    # kernels for K stacked matrices than for one).
    test = _fold(electrodes)
    train_positions = np.flatnonzero(~test)
    # Three training sets of different sizes: the shorter ones sit out steps of the longest.
    train_sets = [train_positions, train_positions[::2], train_positions[train_positions % 3 != 0]]
    model = make_model("crabnet", trainer="batched", **TINY)
    y = electrodes[TARGET]
    together = model.fit_many(electrodes, y, train_sets)
    for rows, fitted in zip(train_sets, together):
        (alone,) = model.fit_many(electrodes, y, [rows])
        np.testing.assert_allclose(fitted.predict(electrodes[test]), alone.predict(electrodes[test]), rtol=1e-5)
    assert [fitted.epochs_run_ for fitted in together] == [4, 4, 4]


def test_batched_trainer_matches_crabnets_own_fit_in_mae(electrodes):
    # Same network, initial weights, internal split, scaling, optimizer chain, schedule and loss,
    # but other random streams (batch order, jitter, dropout), so predictions cannot agree bit for
    # bit: the test compares test-fold MAE averaged over three seeds, within 3%.
    test = _fold(electrodes)
    train, y = electrodes[~test], electrodes[TARGET]
    settings = {**TINY, "epochs": 10, "epochs_step": 5}
    errors = {"crabnet": [], "batched": []}
    for seed in (1, 2, 3):
        for trainer in errors:
            fitted = make_model("crabnet", trainer=trainer, random_state=seed, **settings).fit(train, y[~test])
            errors[trainer].append(mae(y[test], fitted.predict(electrodes[test])))
    control = mae(y[test], np.full(test.sum(), y[~test].mean()))
    crabnet, batched = np.mean(errors["crabnet"]), np.mean(errors["batched"])
    assert crabnet < control and batched < control
    assert abs(batched - crabnet) / crabnet < 0.03, errors


def test_batched_model_round_trips_through_joblib_and_predicts_on_the_cpu(electrodes, tmp_path):
    test = _fold(electrodes)
    model = make_model("crabnet", trainer="batched", **{**TINY, "device": "auto"})
    model.fit(electrodes[~test], electrodes.loc[~test, TARGET])
    assert all(isinstance(array, np.ndarray) for array in model.network_.state.values())  # no device tied to it
    joblib.dump(model, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib").set_params(device="cpu")
    predictions = loaded.predict(electrodes[test])
    assert predictions.shape == (test.sum(),) and np.isfinite(predictions).all()
    np.testing.assert_allclose(predictions, model.set_params(device="cpu").predict(electrodes[test]), rtol=1e-5)


def test_cross_validate_with_the_batched_trainer_equals_fitting_the_folds_one_by_one(electrodes):
    folds = pd.Series(electrodes["group"].to_numpy() % 3, index=electrodes.index)
    y = electrodes[TARGET]
    model = make_model("crabnet", trainer="batched", **TINY)
    together = cross_validate(model, electrodes, y, folds)
    for fold, part in together.groupby("fold"):
        train = (folds != fold).to_numpy()
        (alone,) = model.fit_many(electrodes, y, [np.flatnonzero(train)])
        np.testing.assert_allclose(part["y_pred"], alone.predict(electrodes.loc[part["battery_id"]]), rtol=1e-5)


def test_trainer_is_checked_by_name(electrodes):
    with pytest.raises(ValueError, match="trainer must be one of"):
        make_model("crabnet", trainer="fast", **TINY).fit(electrodes, electrodes[TARGET])


def test_stopped_and_shorter_models_keep_crabnets_schedule():
    # The learning rate of each step is torch's CyclicLR as CrabNet.fit sets it up: base 1e-4,
    # peak 6e-3 after epochs_step epochs, back at the base after 2 x epochs_step.
    from electrode_ml.models.crabnet.batched import _learning_rates

    rates = _learning_rates(steps_per_epoch=3, epochs=4, epochs_step=2)
    assert rates[0] == pytest.approx(1e-4) and rates[6] == pytest.approx(6e-3) and rates[-1] < rates[6]
    assert torch.get_float32_matmul_precision() == "highest"
