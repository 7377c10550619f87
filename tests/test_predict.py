"""`electrode-ml predict`: its numbers are the trained models' own for the same electrode, and every
way of calling it wrongly is refused by name, on one line."""
import io
import os
import re
import subprocess
import sys

import joblib
import numpy as np
import pandas as pd
import pytest

from electrode_ml import paths
from electrode_ml.commands.predict import PredictionError, main, predict, prediction_column
from electrode_ml.data.electrodes import PREPARED_COLUMNS
from electrode_ml.data.targets import TARGET_KEYS, TARGET_REGISTRY, TARGETS
from electrode_ml.errors import MissingInputError
from electrode_ml.models.registry import DISPLAY_NAMES, MODELS, make_model
from electrode_ml.stages import featurize

# Models of both kinds (one reading Magpie features, one reading nothing), tiny, and some left
# untrained: `predict` must name those.
TRAINED = {("rf_magpie", "voltage"): {"n_estimators": 5}, ("rf_magpie", "grav_capacity"): {"n_estimators": 5},
           ("control", "voltage"): {}}
UNTRAINED = [(name, target) for name in MODELS for target in TARGET_KEYS if (name, target) not in TRAINED]
HINT = "(set ELECTRODE_ML_TRACEBACK=1 for the traceback)"


def _electrode_ml(*args, cwd):
    environment = {key: value for key, value in os.environ.items() if key != "ELECTRODE_ML_TRACEBACK"}
    return subprocess.run([sys.executable, "-m", "electrode_ml.cli", *args], cwd=cwd, capture_output=True, text=True,
                          env={**environment, "PYTHONWARNINGS": "ignore"})


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, model_inputs_sample):
    """A repository root as `predict` finds it after `dvc repro`: models saved where the train stage
    saves them, fitted on the sample, and the featurize stage's own nan_counts.csv for the sample."""
    root = tmp_path_factory.mktemp("workspace")
    X = model_inputs_sample.drop(columns=list(TARGETS))  # the targets are not model inputs
    models = {}
    for (name, target), hyperparameters in TRAINED.items():
        models[name, target] = make_model(name, **hyperparameters).fit(X, model_inputs_sample[TARGET_KEYS[target]])
        folder = paths.trained_model(name, target, root / paths.TRAINED_MODELS)
        folder.mkdir(parents=True)
        joblib.dump(models[name, target], folder / "model.joblib")
    electrodes_csv = root / "electrodes.csv"
    model_inputs_sample.reset_index()[list(PREPARED_COLUMNS)].to_csv(electrodes_csv, index=False)
    featurize.run(featurize.FeaturizeParams(representations=["magpie"]), electrodes_csv, root / paths.FEATURES,
                  progress=False)
    return root, models, X


@pytest.fixture(scope="module")
def candidates(model_inputs_sample):
    """One electrode of the sample per working ion, and the first again: a repeated composition must
    get its own row. Columns in the other order: they are read by name."""
    chosen = list(model_inputs_sample.groupby("working_ion").head(1).index)
    rows = model_inputs_sample.loc[chosen + chosen[:1], ["working_ion", "composition"]]
    assert rows["working_ion"].nunique() >= 5
    return rows


def _own_predictions(models, X, battery_ids) -> dict[str, np.ndarray]:
    """Each fitted model's `.predict` on the electrodes' rows of the model-input table."""
    return {prediction_column(name, target): model.predict(X.loc[battery_ids]) for (name, target), model in models.items()}


def test_predictions_are_each_models_own_prediction_for_the_electrode(workspace, candidates, capsys):
    root, models, X = workspace
    result = predict(candidates.reset_index(drop=True), root / paths.TRAINED_MODELS,
                     root / paths.FEATURE_NAN_COUNTS, trust_dir=root / paths.TRUST)
    expected = _own_predictions(models, X, candidates.index)
    # Different numbers per electrode, so that rows or features joined to the wrong electrode show.
    assert len(set(expected["rf_magpie_voltage_V"])) == candidates["composition"].nunique()
    # One column per trained model and target, in the registry's order.
    assert list(result.columns) == ["composition", "working_ion", *(
        prediction_column(name, target) for name in MODELS for target in TARGET_KEYS if (name, target) in TRAINED)]
    assert list(result["composition"]) == list(candidates["composition"])
    assert list(result["working_ion"]) == list(candidates["working_ion"])
    for column, values in expected.items():
        np.testing.assert_allclose(result[column].to_numpy(), values, rtol=1e-12, atol=0, err_msg=column)
    assert "not predicted" in capsys.readouterr().err


def test_command_line_csv_to_stdout_gives_the_models_numbers_and_names_the_untrained(workspace, candidates):
    root, models, X = workspace
    candidates.to_csv(root / "candidates.csv", index=False)
    result = _electrode_ml("predict", "--csv", "candidates.csv", cwd=root)  # the default --models, under cwd
    assert result.returncode == 0, result.stderr
    printed = pd.read_csv(io.StringIO(result.stdout), keep_default_na=False, float_precision="round_trip")
    expected = predict(candidates.reset_index(drop=True), root / paths.TRAINED_MODELS, root / paths.FEATURE_NAN_COUNTS,
                       trust_dir=root / paths.TRUST)
    pd.testing.assert_frame_equal(printed, expected, check_exact=False, rtol=1e-12, atol=0)
    for column, values in _own_predictions(models, X, candidates.index).items():
        np.testing.assert_allclose(printed[column].to_numpy(), values, rtol=1e-12, atol=0, err_msg=column)
    # Each model not trained is named, with the DVC stage that trains it, and no trained one is.
    note = [line for line in result.stderr.splitlines() if "not trained, so not predicted" in line]
    assert len(note) == 1
    command = re.search(r"`dvc repro ([^`]*)`", note[0])
    assert command and set(command.group(1).split()) == {f"train@{name}-{target}" for name, target in UNTRAINED}
    for name, target in UNTRAINED:
        assert f"{DISPLAY_NAMES[name]}/{target}" in note[0]


def test_csv_with_out_writes_the_models_numbers_to_the_file(workspace, candidates, tmp_path, monkeypatch, capsys):
    root, models, X = workspace
    candidates.to_csv(tmp_path / "candidates.csv", index=False)
    # From another folder: both of the pipeline's inputs named.
    monkeypatch.chdir(tmp_path)
    main(["--csv", str(tmp_path / "candidates.csv"), "--out", str(tmp_path / "out.csv"),
          "--models", str(root / paths.TRAINED_MODELS), "--nan-counts", str(root / paths.FEATURE_NAN_COUNTS)])
    assert capsys.readouterr().out == f"predict: {len(candidates)} candidates -> {tmp_path / 'out.csv'}\n"
    written = pd.read_csv(tmp_path / "out.csv", keep_default_na=False, float_precision="round_trip")
    assert list(written["composition"]) == list(candidates["composition"])
    for column, values in _own_predictions(models, X, candidates.index).items():
        np.testing.assert_allclose(written[column].to_numpy(), values, rtol=1e-12, atol=0, err_msg=column)


def test_one_composition_prints_each_models_number_rounded(workspace, candidates, monkeypatch, capsys):
    root, models, X = workspace
    battery_id, (ion, composition) = candidates.index[0], candidates.iloc[0]
    monkeypatch.chdir(root)
    main([composition, "--ion", ion])
    title, header, *lines = capsys.readouterr().out.splitlines()
    assert title == f"{composition} ({ion}):"
    rows = {line.split()[0]: line for line in lines}
    assert set(rows) == {DISPLAY_NAMES[name] for name, _ in TRAINED}
    for (name, target), model in models.items():
        label = f"{target} ({TARGET_REGISTRY[target].unit})"
        # pandas right-aligns each number under the end of its column's label.
        printed = rows[DISPLAY_NAMES[name]][:header.index(label) + len(label)].split()[-1]
        assert float(printed) == round(float(model.predict(X.loc[[battery_id]])[0]), 3)


def test_no_trained_models_is_one_line_naming_the_folder_and_the_command(tmp_path):
    (tmp_path / paths.TRAINED_MODELS).mkdir(parents=True)
    result = _electrode_ml("predict", "LiFePO4", "--ion", "Li", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"electrode-ml predict: no trained models under {paths.TRAINED_MODELS}: run `make models` (or `dvc repro train`)",
        HINT]


def test_missing_nan_counts_is_named_with_the_stage_that_writes_it(workspace, candidates, tmp_path):
    root, _, _ = workspace
    absent = tmp_path / "nan_counts.csv"
    with pytest.raises(MissingInputError, match=re.escape(f"{absent} does not exist: run `dvc repro featurize`")):
        predict(candidates.reset_index(drop=True), root / paths.TRAINED_MODELS, absent, trust_dir=root / paths.TRUST)


@pytest.mark.parametrize("arguments, message", [
    ([], "give one composition (with --ion) or --csv, not both"),
    (["LiFePO4", "--ion", "Li", "--csv", "candidates.csv"], "give one composition (with --ion) or --csv, not both"),
    (["LiFePO4"], "--ion is required with a composition"),
], ids=["neither", "both", "composition-without-ion"])
def test_wrong_combination_of_arguments_is_a_usage_error(arguments, message, capsys):
    with pytest.raises(SystemExit) as exit:
        main(arguments)
    assert exit.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith("usage: electrode-ml predict")
    assert f"electrode-ml predict: error: {message}" in error


def test_csv_without_the_expected_columns_is_refused_by_name(workspace, tmp_path):
    root, _, _ = workspace
    (tmp_path / "candidates.csv").write_text("formula,ion\nLiFePO4,Li\n")
    expected = f"{tmp_path / 'candidates.csv'}: lacks column(s) ['composition', 'working_ion']; expected composition, working_ion"
    with pytest.raises(PredictionError, match=re.escape(expected)):
        main(["--csv", str(tmp_path / "candidates.csv"), "--models", str(root / paths.TRAINED_MODELS)])


@pytest.mark.parametrize("header, message", [
    ("composition,working_ion,composition", "column 'composition' appears 2 times"),
    ("Composition,working_ion", "column 'Composition' differs from the expected 'composition' only by case or spaces"),
], ids=["twice", "case"])
def test_csv_naming_a_column_twice_or_almost_is_refused_naming_it(workspace, tmp_path, header, message):
    root, _, _ = workspace
    path = tmp_path / "candidates.csv"
    path.write_text(f"{header}\nLiFePO4,Li,NaMnO2\n" if header.count(",") == 2 else f"{header}\nLiFePO4,Li\n")
    with pytest.raises(PredictionError, match=re.escape(f"{path}: {message}")):
        main(["--csv", str(path), "--models", str(root / paths.TRAINED_MODELS)])


def test_a_candidate_with_an_element_the_models_features_lack_is_refused_by_row(workspace):
    root, _, _ = workspace
    candidates = pd.DataFrame({"composition": ["LiFePO4", "LiOg2", "NaHe"], "working_ion": ["Li", "Li", "Na"]})
    with pytest.raises(PredictionError, match=r"row 2: composition 'LiOg2': no magpie data for Og.*\n  "
                                              r"row 3: composition 'NaHe': no magpie data for He"):
        predict(candidates, root / paths.TRAINED_MODELS, trust_dir=root / paths.TRUST)


def test_nonexistent_csv_is_named(workspace, tmp_path):
    root, _, _ = workspace
    with pytest.raises(MissingInputError, match=re.escape(f"{tmp_path / 'absent.csv'} does not exist")):
        main(["--csv", str(tmp_path / "absent.csv"), "--models", str(root / paths.TRAINED_MODELS)])


@pytest.fixture(scope="module")
def trust_dir(workspace, model_inputs_sample, tmp_path_factory):
    """What the domain and trust stages write, for the sample: the domain, and the calibration of
    every trained cell but RF@Magpie's gravimetric capacity (untrusted: `predict` must say so)."""
    from electrode_ml.evaluation.conformal import calibrate
    from electrode_ml.evaluation.novelty import Domain

    root, _, X = workspace
    folder = tmp_path_factory.mktemp("trust")
    magpie = X[[column for column in X.columns if column.startswith("magpie|")]].rename(
        columns=lambda column: column.split("|", 1)[1])
    joblib.dump(Domain.fit(magpie, model_inputs_sample["working_ion"], model_inputs_sample["composition"], 5,
                           threshold=100.0), folder / paths.DOMAIN.name)
    generator = np.random.default_rng(0)
    for name, target in TRAINED:
        if (name, target) == ("rf_magpie", "grav_capacity"):
            continue
        y = model_inputs_sample[TARGET_KEYS[target]]
        predictions = pd.DataFrame({"battery_id": y.index, "fold": generator.integers(0, 5, size=len(y)), "y_true": y,
                                    "y_pred": y + generator.normal(0, y.std() / 3, size=len(y))})
        cell = paths.trust_cell(name, target, folder)
        cell.mkdir(parents=True)
        joblib.dump(calibrate(predictions, magpie, "residual", 10), cell / "calibration.joblib")
    return folder


def test_each_prediction_has_its_interval_and_each_candidate_its_novelty(workspace, candidates, trust_dir, capsys):
    root, models, X = workspace
    candidates = candidates.reset_index(drop=True)
    result = predict(candidates, root / paths.TRAINED_MODELS, root / paths.FEATURE_NAN_COUNTS, trust_dir=trust_dir)
    narrow = predict(candidates, root / paths.TRAINED_MODELS, root / paths.FEATURE_NAN_COUNTS, trust_dir=trust_dir,
                     level=0.5)
    assert "no intervals for rf_magpie grav_capacity: make them with `dvc repro trust`" \
        in capsys.readouterr().err
    for name, target in (("rf_magpie", "voltage"), ("control", "voltage")):
        column = prediction_column(name, target)
        lower, upper = result[f"{column}_lower"], result[f"{column}_upper"]
        assert (lower < result[column]).all() and (result[column] < upper).all()
        assert ((narrow[f"{column}_upper"] - narrow[f"{column}_lower"]) < upper - lower).all()
    assert f"{prediction_column('rf_magpie', 'grav_capacity')}_lower" not in result
    # The candidates are training electrodes: in the domain, every element seen with their ion.
    assert result["in_domain"].all() and (result["unseen_elements"] == "").all()
    assert np.isfinite(result["novelty"]).all()


def test_one_composition_prints_its_intervals_and_where_it_lies(workspace, trust_dir, monkeypatch, capsys):
    root, _, _ = workspace
    monkeypatch.chdir(root)
    main(["LiOsO2", "--ion", "Li", "--trust", str(trust_dir), "--level", "0.8"])
    printed = capsys.readouterr().out
    assert re.search(r"RF@Magpie\s+\d+\.\d+ \[-?\d+\.\d{3}, -?\d+\.\d{3}\]", printed), printed
    assert "80% intervals in brackets" in printed
    assert "OUT OF THE DOMAIN; never seen with Li in training: Os" in printed


def test_a_level_outside_zero_and_one_is_refused(workspace, candidates, trust_dir):
    root, _, _ = workspace
    with pytest.raises(PredictionError, match="--level must lie between 0 and 1"):
        predict(candidates.reset_index(drop=True), root / paths.TRAINED_MODELS, trust_dir=trust_dir, level=90)


def test_one_composition_keeps_the_libraries_output_for_verbose(capfd):
    """What `predict` quiets for one composition: a progress bar (matminer's), a line printed per
    batch (Keras'), a warning (torch's enable_nested_tensor); and what it lets through unquieted."""
    import warnings

    from tqdm import tqdm

    from electrode_ml.commands.predict import libraries_quiet

    def noisy():
        for _ in tqdm(range(3), desc="MultipleFeaturizer"):
            pass
        print("1/1 [==============================] - 0s 20ms/step")
        warnings.warn("enable_nested_tensor is True, but self.use_nested_tensor is False", UserWarning)

    with warnings.catch_warnings(record=True) as quiet_warnings:
        warnings.simplefilter("always")
        with libraries_quiet(True):
            noisy()
    quiet = capfd.readouterr()
    with warnings.catch_warnings(record=True) as loud_warnings:
        warnings.simplefilter("always")
        with libraries_quiet(False):
            noisy()
    loud = capfd.readouterr()
    assert quiet.out == "" and quiet.err == "" and not quiet_warnings
    assert "1/1 [====" in loud.out and "MultipleFeaturizer" in loud.err
    assert any("enable_nested_tensor" in str(warning.message) for warning in loud_warnings)
