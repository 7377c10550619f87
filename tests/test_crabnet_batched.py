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
# Small enough for a few seconds per model on 2 cores.
TINY = {"epochs": 4, "epochs_step": 2, "d_model": 32, "N": 1, "dim_feedforward": 64, "out_hidden": (32, 16),
        "batch_size": 64, "device": "cpu"}


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


def triangular_rate(step: int, steps_per_epoch: int, epochs_step: int) -> float:
    """crabnet's schedule by hand (CrabNet.fit: CyclicLR, base_lr 1e-4, max_lr 6e-3, step_size_up
    epochs_step x the model's own batches per epoch): up from the base for one step size, down for
    the next, and round again."""
    step_size = epochs_step * steps_per_epoch
    position = step % (2 * step_size)
    rising = position if position <= step_size else 2 * step_size - position
    return 1e-4 + (6e-3 - 1e-4) * rising / step_size


@pytest.fixture
def applied_rates(monkeypatch):
    """Per Lamb update: the learning rate of each model taking the step (in model order) and the
    float32 matmul precision in force. Lamb hands `per_column` each model's rate times its trust
    ratio per weight tensor, from the two `per_tensor_norm`s just before (crabnet's Lamb: weight
    norm clamped to [0, 10] over the Adam step's norm, 1 where either is 0); dividing the ratio out
    leaves the rate."""
    from electrode_ml.models.crabnet.batched import _StackedWeights

    updates, norms = [], []
    per_tensor_norm, per_column = _StackedWeights.per_tensor_norm, _StackedWeights.per_column

    def recording_norm(self, values):
        norms.append(per_tensor_norm(self, values))
        return norms[-1]

    def recording_per_column(self, rate_times_trust):
        weight_norm, adam_norm = norms[-2].clamp(0, 10), norms[-1]
        trust = torch.where((weight_norm == 0) | (adam_norm == 0), 1.0, weight_norm / adam_norm)
        rates = (rate_times_trust / trust).cpu().numpy()
        # One rate per model, whatever the weight tensor.
        np.testing.assert_allclose(rates, np.broadcast_to(rates[:, :1], rates.shape), rtol=1e-5)
        updates.append((rates[:, 0], torch.get_float32_matmul_precision()))
        return per_column(self, rate_times_trust)

    monkeypatch.setattr(_StackedWeights, "per_tensor_norm", recording_norm)
    monkeypatch.setattr(_StackedWeights, "per_column", recording_per_column)
    return updates


def test_stopped_and_shorter_models_keep_crabnets_schedule(electrodes, applied_rates):
    """A group of three: a long model (2 batches per epoch), a shorter one (1 batch: it sits out the
    long one's second step) and a stopped one (2 batches, early stopping). Each takes its own
    crabnet schedule in its own steps, and the stopped one takes no step after its stop; training
    runs at float32 "highest" whatever the caller had set, which is restored afterwards."""
    from sklearn.model_selection import train_test_split

    from electrode_ml.models.crabnet.batched import CrabNetSettings, train_crabnets

    seed, epochs, epochs_step = 0, 8, 1
    settings = CrabNetSettings(epochs=epochs, epochs_step=epochs_step, batch_size=8,
                               **{name: TINY[name] for name in ("d_model", "N", "dim_feedforward")})
    # 20 rows: 4 held out for validation, 16 fitted, 2 batches of 8; 10 rows: 8 fitted, 1 batch.
    long, shorter, stopped = np.arange(0, 20), np.arange(20, 30), np.arange(30, 50)
    steps_per_epoch = [2, 1, 2]
    # The stopped model's validation targets are NaN, so no SWA check (after epochs 2, 4, 6, 8)
    # finds it a new minimum and it stops after the third; the others find one at the first check,
    # so they cannot stop before the last epoch.
    table = electrodes.iloc[:50]
    targets = table[TARGET].to_numpy(dtype=float, copy=True)
    targets[train_test_split(stopped, test_size=settings.val_size, random_state=seed)[1]] = np.nan

    caller_precision = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("medium")
    try:
        fitted = train_crabnets(table["composition"].to_numpy(), targets, [long, shorter, stopped], settings,
                                "cpu", seed)
        assert torch.get_float32_matmul_precision() == "medium"
    finally:
        torch.set_float32_matmul_precision(caller_precision)

    assert [model.epochs_run for model in fitted] == [8, 8, 6]
    expected, taken = [], [0, 0, 0]
    for epoch in range(epochs):
        for step in range(max(steps_per_epoch)):
            taking = [k for k in range(3) if step < steps_per_epoch[k] and epoch < fitted[k].epochs_run]
            if taking:
                expected.append([triangular_rate(taken[k], steps_per_epoch[k], epochs_step) for k in taking])
            for k in taking:
                taken[k] += 1
    assert taken == [16, 8, 12]
    assert len(applied_rates) == len(expected)
    for number, ((rates, precision), by_hand) in enumerate(zip(applied_rates, expected)):
        np.testing.assert_allclose(rates, by_hand, rtol=1e-5, err_msg=f"Lamb update {number}")
        assert precision == "highest"


def test_the_discovery_benchmark_trains_a_batched_models_fits_together_as_a_cell_would(electrodes):
    """`discovery.fitted_batch` hands every fit of a target to one `fit_many` (a CUDA GPU's way):
    a fit with electrodes to predict gives its predictions, one without gives the model; both as
    the same fit alone."""
    from electrode_ml.stages.discovery import fitted_batch

    model = make_model("crabnet", trainer="batched", **TINY)
    assert model.trains_together
    test = _fold(electrodes)
    ids, held_out = tuple(electrodes.index[~test]), tuple(electrodes.index[test])
    targets = electrodes[[TARGET, "voltage_avg_V"]]
    items = [(TARGET, ids, ()), ("voltage_avg_V", ids[::2], held_out), (TARGET, ids[1::2], held_out)]
    results = fitted_batch(model, electrodes, targets, items, compute=None)
    assert hasattr(results[0], "predict") and isinstance(results[1], np.ndarray) and len(results[2]) == len(held_out)
    for (target, rows, predict), result in zip(items, results):
        (alone,) = model.fit_many(electrodes, targets[target], [electrodes.index.get_indexer(list(rows))])
        predicted = result.predict(electrodes.loc[list(held_out)]) if not predict else result
        np.testing.assert_allclose(predicted, alone.predict(electrodes.loc[list(held_out)]), rtol=1e-5)
