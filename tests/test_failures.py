"""Nothing silent: failing or interrupted featurizers stop the stage, bad input is refused by row,
`predict` says what it cannot answer, and results are byte-stable across reruns."""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import yaml
from pymatgen.core import Composition

from electrode_ml.data.electrodes import DataValidationError, load_raw, prepare_electrodes
from electrode_ml.features.representations import MagpieFeatures, ModnetFeatures
from electrode_ml.features.representations import FeaturizationError, StrictFeaturize, interrupts_between_formulas
from electrode_ml.params import ParameterError, read_params


def _electrode_ml(*args, cwd, **kwargs):
    command = [sys.executable, "-m", "electrode_ml.cli", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"}, **kwargs)


# --- featurize -------------------------------------------------------------------------------

def test_an_exception_for_one_formula_stops_featurization_and_names_it(monkeypatch):
    from matminer.featurizers.composition import Miedema

    original = Miedema.featurize

    def broken(self, composition):
        if composition.reduced_formula == "LiCoO2":
            raise MemoryError("simulated")
        return original(self, composition)

    monkeypatch.setattr(Miedema, "featurize", broken)
    with pytest.raises(FeaturizationError, match=r"Miedema failed on Li1 Co1 O2: MemoryError: simulated"):
        ModnetFeatures().featurize(["LiFePO4", "LiCoO2"], progress=False)


def test_an_element_without_data_gives_nan_as_the_library_does():
    # BandCenter has no ionization energy for U: matminer raises KeyError('U'), modnet makes it NaN.
    from matminer.featurizers.composition import BandCenter

    step = BandCenter()
    strict = StrictFeaturize(step)
    assert np.isnan(strict(Composition("Li11U4(WO5)8"))).all()
    with pytest.raises(FeaturizationError, match="KeyError 'Xq'"):
        StrictFeaturize(type("Broken", (), {"featurize": lambda self, c: {}["Xq"],
                                            "feature_labels": lambda self: ["x"]})())(Composition("LiFePO4"))


@pytest.mark.slow  # featurizes the 150-row sample three times
def test_interrupted_featurize_exits_non_zero_writes_nothing_and_a_rerun_is_clean(tmp_path, raw_sample):
    (tmp_path / "data").mkdir()
    raw_sample.to_csv(tmp_path / "data" / "sample.csv", index=False)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({
        "prepare": {"raw_csv": "data/sample.csv"}, "featurize": {"representations": ["magpie", "modnet"]}}))
    assert _electrode_ml("prepare", cwd=tmp_path).returncode == 0

    log = tmp_path / "featurize.log"
    with open(log, "w") as stderr:
        # SIGINT as a terminal gives it, even where this test runs as a background job (which
        # ignores SIGINT, and a child would inherit that).
        process = subprocess.Popen([sys.executable, "-m", "electrode_ml.cli", "featurize"], cwd=tmp_path,
                                   stdout=subprocess.DEVNULL, stderr=stderr, text=True, start_new_session=True,
                                   preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        # Interrupt inside the MODNet featurizers (in the workers): the stage's bar over their blocks.
        deadline = time.monotonic() + 300
        while "featurize modnet" not in log.read_text():
            assert process.poll() is None, "featurize finished before it could be interrupted"
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=120)
    assert process.returncode == 130, log.read_text()[-2000:]
    assert "interrupted; no output of this run was written" in log.read_text()
    assert not list((tmp_path / "results/features").glob("*"))

    assert _electrode_ml("featurize", cwd=tmp_path).returncode == 0
    first = pd.read_parquet(tmp_path / "results/features/modnet.parquet")
    assert _electrode_ml("featurize", cwd=tmp_path).returncode == 0
    pd.testing.assert_frame_equal(first, pd.read_parquet(tmp_path / "results/features/modnet.parquet"))
    # No electrode is NaN in every column the data set otherwise fills (the silent-corruption case).
    filled = first.columns[first.notna().any()]
    assert not first[filled].isna().all(axis=1).any()


@pytest.fixture
def python_sigint_handler():
    """Python's own Ctrl-C handler, whatever this process inherited (a background job ignores SIGINT)."""
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, inherited)


def test_an_interrupt_that_a_library_swallows_still_stops_featurization(python_sigint_handler):
    with pytest.raises(KeyboardInterrupt):
        with interrupts_between_formulas():
            try:  # what a library's bare `except:` does to a KeyboardInterrupt raised inside it
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.1)
            except BaseException:
                pass
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored
    # ...and a later featurization in this process is not taken for interrupted, on the path that
    # installs no handler too (SIGINT ignored).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    assert MagpieFeatures().featurize(["LiFePO4"], progress=False).notna().all(axis=None)


def test_a_process_that_ignores_ctrl_c_keeps_ignoring_it():
    inherited = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with interrupts_between_formulas():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.1)
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, inherited)


def test_features_do_not_depend_on_order_or_processes(real_formulas_with_many_elements):
    formulas = real_formulas_with_many_elements
    one = ModnetFeatures(n_jobs=1).featurize(formulas, progress=False)
    reversed_two = ModnetFeatures(n_jobs=2).featurize(formulas[::-1], progress=False).loc[formulas]
    assert one.equals(reversed_two)


@pytest.fixture(scope="module")
def real_formulas_with_many_elements(raw_sample):
    formulas = raw_sample["Formula Discharge"].drop_duplicates()
    many = formulas[formulas.map(lambda f: len(Composition(f).elements) >= 5)].iloc[:2]
    return list(dict.fromkeys([*many, *formulas.iloc[:6]]))


# --- prepare ---------------------------------------------------------------------------------

def test_nul_byte_in_a_formula_is_refused_not_truncated(tmp_path, raw_sample):
    path = tmp_path / "raw.csv"
    raw_sample.to_csv(path, index=False)
    text = path.read_text().replace(raw_sample.loc[3, "Formula Discharge"], "LiCo\x00O2", 1)
    path.write_text(text)
    raw = load_raw(path)
    with pytest.raises(DataValidationError, match=r"line \d+, .*control character"):
        prepare_electrodes(raw)
    dropped = prepare_electrodes(raw, on_bad_row="drop")
    assert "LiCo" not in set(dropped.electrodes["composition"])
    assert dropped.summary["dropped_control_character"] == 1


def test_implausible_target_is_refused_by_row_and_the_range_is_a_parameter(raw_sample):
    spoiled = raw_sample.copy()
    spoiled.loc[7, "Gravimetric Capacity"] = "1e300"
    with pytest.raises(DataValidationError, match=r"outside the plausible range \[0, 5000\]"):
        prepare_electrodes(spoiled)
    assert prepare_electrodes(spoiled, on_bad_row="drop").summary["dropped_implausible_target"] == 1
    with pytest.raises(DataValidationError, match="prepare.plausible_ranges.voltage"):
        prepare_electrodes(raw_sample, plausible_ranges={"voltage": [5, 1]})
    # A tighter range a user chooses: the MP electrodes above 10 V are named.
    wide_voltages = raw_sample["Average Voltage"].astype(float).abs() > 4
    tight = prepare_electrodes(raw_sample, on_bad_row="drop", plausible_ranges={"voltage": [-4, 4]})
    assert tight.summary["dropped_implausible_target"] == int(wide_voltages.sum())


def test_header_only_csv_is_an_error_naming_the_file(tmp_path, raw_sample):
    path = tmp_path / "empty.csv"
    raw_sample.head(0).to_csv(path, index=False)
    with pytest.raises(DataValidationError, match="empty.csv: a header and no rows"):
        load_raw(path)
    path.write_bytes(b"\x89PNG\x00\x01\x02binary")
    with pytest.raises(DataValidationError, match="empty.csv"):
        load_raw(path)


# --- parameters ------------------------------------------------------------------------------

def test_misspelt_top_level_key_is_refused(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("sed: 7\nprepare: {}\n")
    with pytest.raises(ParameterError, match="sed is not a parameter"):
        read_params(path)


def test_check_params_names_a_misspelt_model_before_dvc_runs(tmp_path):
    from electrode_ml.commands.check_params import check

    params = yaml.safe_load(open("params.yaml"))
    assert check("params.yaml") == []
    params["models"] = ["control", "rf_magpy"]
    params["profiles"]["quick"]["rf_magpie"]["n_trees"] = 5
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    problems = check(tmp_path / "params.yaml")
    assert any("'rf_magpy' is not one of control, rf_magpie, modnet, crabnet" in problem for problem in problems)
    assert any("profiles.quick.models.rf_magpie: unknown hyperparameter(s) ['n_trees']" in p for p in problems)


def test_check_params_names_a_screen_model_the_pipeline_does_not_train_and_a_bad_screening_parameter(tmp_path):
    from electrode_ml.commands.check_params import check

    params = yaml.safe_load(open("params.yaml"))
    params["models"] = ["control", "rf_magpie", "modnet"]  # no crabnet, which screen.models names
    params["candidates"]["max_candidates"] = 0
    params["discovery"]["top_share"] = 1.5
    params["schemes"] = ["loco"]  # repeated_cv's first draw is the stratified cells'
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    problems = check(tmp_path / "params.yaml")
    assert any("schemes must include 'stratified5'" in problem for problem in problems)
    assert any("screen.models: 'crabnet' is not one of control, rf_magpie, modnet" in problem for problem in problems)
    assert any("candidates.max_candidates" in problem for problem in problems)
    assert any("discovery.top_share must lie in (0, 1], got 1.5" in problem for problem in problems)


# --- byte stability --------------------------------------------------------------------------

def test_forest_predictions_are_bit_identical_with_several_jobs(model_inputs_sample):
    from electrode_ml.data.targets import TARGETS
    from electrode_ml.models.registry import make_model

    X, y = model_inputs_sample.drop(columns=list(TARGETS)), model_inputs_sample["voltage_avg_V"]
    predictions = [make_model("rf_magpie", n_estimators=60, n_jobs=2).fit(X, y).predict(X) for _ in range(3)]
    for other in predictions[1:]:
        assert np.array_equal(predictions[0], other)


BREAK_ONE_FORMULA = """
from matminer.featurizers.composition import {step}

original = {step}.featurize

def featurize(self, composition):  # named as the method it replaces
    if composition.reduced_formula == {formula!r}:
        raise MemoryError("simulated")
    return original(self, composition)

{step}.featurize = featurize
"""


@pytest.mark.parametrize("representation, step, workers", [("magpie", "ElementProperty", 1),
                                                          ("magpie", "ElementProperty", 2),
                                                          ("modnet", "Miedema", 2)])
def test_a_featurizer_error_exits_non_zero_names_it_and_keeps_the_previous_outputs(tmp_path, raw_sample, representation,
                                                                                  step, workers):
    (tmp_path / "data").mkdir()
    raw_sample.head(12).to_csv(tmp_path / "data" / "sample.csv", index=False)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({
        "prepare": {"raw_csv": "data/sample.csv"},
        "featurize": {"representations": [representation]}, "compute": {"workers": workers}}))
    assert _electrode_ml("prepare", cwd=tmp_path).returncode == 0
    assert _electrode_ml("featurize", cwd=tmp_path).returncode == 0
    outputs = sorted((tmp_path / "results/features").iterdir())
    before = {path.name: path.read_bytes() for path in outputs}

    formula = Composition(raw_sample.loc[11, "Formula Discharge"]).reduced_formula
    # The featurizers run in the stage's Dask workers, new interpreters: each imports the broken
    # featurizer at its start (Dask's worker preload), before it featurizes anything.
    (tmp_path / "break_one_formula.py").write_text(BREAK_ONE_FORMULA.format(step=step, formula=formula))
    result = subprocess.run([sys.executable, "-m", "electrode_ml.cli", "featurize"], cwd=tmp_path,
                            capture_output=True, text=True,
                            env={**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONPATH": str(tmp_path),
                                 "DASK_DISTRIBUTED__WORKER__PRELOAD": '["break_one_formula"]'})
    assert result.returncode == 1, result.stderr[-2000:]
    # After the progress bars: one line and the hint; none of matminer's advice to ignore errors.
    message = result.stderr.strip().splitlines()[-2:]
    assert message[1].startswith("(set ELECTRODE_ML_TRACEBACK=1"), result.stderr[-2000:]
    assert "Traceback" not in result.stderr and "TO SKIP" not in result.stderr
    assert message[0].startswith(f"electrode-ml featurize: {step} failed on ") and message[0].endswith("MemoryError: simulated")
    assert {path.name: path.read_bytes() for path in sorted((tmp_path / "results/features").iterdir())} == before
