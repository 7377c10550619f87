"""The four models: one interface, each beats the control, seeds make CPU runs repeatable."""
from dataclasses import asdict

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from electrode_ml.data.targets import TARGETS
from electrode_ml.evaluation.validation import mae
from electrode_ml.models.registry import MODELS, make_model

# Small settings so the suite stays fast, yet enough to learn something from 240 rows.
SMALL = {
    "control": {},
    "rf_magpie": {"n_estimators": 50},
    "modnet": {},  # library defaults: fewer epochs do not beat the mean on 240 rows
    "crabnet": {"epochs": 40, "epochs_step": 5, "d_model": 64, "N": 1, "dim_feedforward": 128,
                "out_hidden": (128, 64), "batch_size": 64, "device": "cpu"},
}
TARGET = "capacity_grav_mAh_g"


def _without_targets(table):
    """The model input as the pipeline gives it (electrode_ml.models.input_tables): no target column."""
    return table.drop(columns=list(TARGETS))


def _split(table):
    """X_train, X_test, y_train, y_test: whole composition groups on one side, as the CV folds do."""
    test = table["group"] % 5 == 0
    X = _without_targets(table)
    return X[~test], X[test], table.loc[~test, TARGET], table.loc[test, TARGET]


@pytest.mark.parametrize("name", list(MODELS))
def test_model_fits_predicts_and_beats_the_control(name, model_inputs_sample):
    train, test, y_train, y_test = _split(model_inputs_sample)
    model = make_model(name, **SMALL[name])
    assert not [attribute for attribute in vars(model) if attribute.endswith("_")]  # nothing learned before fit
    fitted = clone(model).fit(train, y_train)
    predictions = fitted.predict(test)
    assert predictions.shape == (len(test),) and np.isfinite(predictions).all()
    control = make_model("control").fit(train, y_train).predict(test)
    if name == "control":
        np.testing.assert_allclose(predictions, y_train.mean())
    else:
        assert mae(y_test, predictions) < mae(y_test, control)


@pytest.mark.parametrize("name", ["rf_magpie", "modnet"])  # the control has no randomness to fix
def test_same_seed_same_predictions_on_cpu(name, model_inputs_sample):
    train, test, y_train, y_test = _split(model_inputs_sample)
    first = make_model(name, **SMALL[name], random_state=7).fit(train, y_train).predict(test)
    second = make_model(name, **SMALL[name], random_state=7).fit(train, y_train).predict(test)
    np.testing.assert_array_equal(first, second)


def test_crabnet_trains_twice_in_one_process_under_torch2(model_inputs_sample):
    # crabnet's SWA optimizer breaks the second fit in a process under torch 2 unless adapted
    # (electrode_ml.models.crabnet.torch2_compatible_swa).
    import torch

    assert int(torch.__version__.split(".")[0]) >= 2
    train, test, y_train, y_test = _split(model_inputs_sample)
    for _ in range(2):
        model = make_model("crabnet", epochs=2, epochs_step=1, d_model=32, N=1, dim_feedforward=64,
                           out_hidden=(32,), device="cpu").fit(train, y_train)
        assert model.epochs_run_ == 2
        assert np.isfinite(model.predict(test)).all()


def test_unknown_model_and_hyperparameter_are_named():
    with pytest.raises(ValueError, match="unknown model 'xgboost'"):
        make_model("xgboost")
    with pytest.raises(ValueError, match=r"models.rf_magpie: unknown hyperparameter\(s\) \['depth'\]"):
        make_model("rf_magpie", depth=3)


def test_a_model_reading_an_unknown_feature_set_is_refused_at_registration(monkeypatch):
    from electrode_ml.models import registry as models

    monkeypatch.setattr(models, "MODELS", dict(models.MODELS))
    with pytest.raises(ValueError, match=r"model 'soap_krr': unknown input set\(s\) \['soap'\]"):
        models.register("soap_krr", "somewhere:KRR", "KRR@SOAP", input_sets=("soap",))
    assert "soap_krr" not in models.MODELS


def test_modnet_refuses_seed_zero(model_inputs_sample):
    with pytest.raises(ValueError, match="non-zero"):
        make_model("modnet", random_state=0).fit(_without_targets(model_inputs_sample), model_inputs_sample[TARGET])


def test_crabnet_refuses_cuda_without_a_gpu(model_inputs_sample):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(ValueError, match="no CUDA device"):
        make_model("crabnet", device="cuda").fit(_without_targets(model_inputs_sample), model_inputs_sample[TARGET])


FIT_AND_SAVE = """
import sys, joblib, pandas as pd
from electrode_ml.models.registry import make_model
train, y = pd.read_pickle(sys.argv[1])
joblib.dump(make_model(sys.argv[2], **eval(sys.argv[3])).fit(train, y), sys.argv[4])
"""


@pytest.mark.parametrize("name", list(MODELS))
def test_fitted_model_survives_a_joblib_round_trip(name, model_inputs_sample, tmp_path):
    # The train stage saves models with joblib; `electrode-ml predict` loads them in another process.
    import joblib

    train, test, y_train, y_test = _split(model_inputs_sample)
    settings = {**SMALL[name], "epochs": 2, "epochs_step": 1} if name == "crabnet" else SMALL[name]
    model = make_model(name, **settings).fit(train, y_train)
    joblib.dump(model, tmp_path / "model.joblib")
    np.testing.assert_allclose(joblib.load(tmp_path / "model.joblib").predict(test), model.predict(test), rtol=1e-6)


def _few_epochs(name: str) -> dict:
    """SMALL[name] trained for a few epochs: enough to save a fitted network, quick to fit twice."""
    return {**SMALL[name], "epochs": 2, "epochs_step": 1} if name == "crabnet" else {**SMALL[name], "epochs": 5}


@pytest.mark.parametrize("name", ["modnet", "crabnet"])
def test_same_fit_saves_to_the_same_bytes_in_every_process(name, model_inputs_sample, tmp_path):
    # DVC records the saved models' hashes, so a rerun of the train stage must write the same bytes:
    # a pickled torch tensor would hold its memory address, a pickled Keras model its save time.
    import subprocess
    import sys

    train, _, y_train, _ = _split(model_inputs_sample)
    pd.to_pickle((train, y_train), tmp_path / "train.pkl")
    settings = _few_epochs(name)
    for run in ("first", "second"):
        subprocess.run([sys.executable, "-c", FIT_AND_SAVE, tmp_path / "train.pkl", name, repr(settings),
                        tmp_path / f"{run}.joblib"], check=True, capture_output=True)
    assert (tmp_path / "first.joblib").read_bytes() == (tmp_path / "second.joblib").read_bytes()


@pytest.mark.parametrize("name", ["modnet", "crabnet"])
def test_a_second_fit_in_the_same_process_saves_the_same_bytes_as_the_first(name, model_inputs_sample):
    # `electrode-ml workers` keeps its worker processes for a whole run: train's one fit may come
    # after a hundred others there, and must save what it saves in a fresh process.
    import io

    import joblib

    train, _, y_train, _ = _split(model_inputs_sample)
    settings = _few_epochs(name)
    saved = []
    for _ in range(2):
        buffer = io.BytesIO()
        joblib.dump(make_model(name, **settings).fit(train, y_train), buffer)
        saved.append(buffer.getvalue())
    assert saved[0] == saved[1]


@pytest.mark.parametrize("name", list(MODELS))
def test_predict_before_fit_says_so(name, model_inputs_sample):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        make_model(name).predict(_without_targets(model_inputs_sample))


@pytest.mark.parametrize("name", list(MODELS))
def test_fitted_inputs_say_what_the_fitted_model_reads(name, model_inputs_sample):
    from electrode_ml.models.crabnet.batched import element_matrix

    train, _, y_train, _ = _split(model_inputs_sample)
    settings = {**SMALL[name], "epochs": 2, "epochs_step": 1} if name == "crabnet" else SMALL[name]
    inputs = asdict(make_model(name, **settings).fit(train, y_train).fitted_inputs())
    assert 0 <= inputs["used"] <= inputs["offered"] and inputs["input"] and inputs["unit"]
    offered = {"control": 0, "rf_magpie": sum(column.startswith("magpie|") for column in train.columns),
               "crabnet": element_matrix(train["composition"])[0].shape[1]}
    if name in offered:
        assert inputs["offered"] == offered[name]
    if name == "modnet":  # NMI selection keeps n_feat of the usable features
        assert inputs["used"] == min(make_model("modnet").n_feat, inputs["offered"]) < train.shape[1]
