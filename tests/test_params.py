import pytest

from electrode_ml.params import ParameterError, active_profile, load_section, model_hyperparameters, pipeline_matrix
from electrode_ml.stages.cluster import ClusterParams
from electrode_ml.stages.featurize import FeaturizeParams
from electrode_ml.stages.folds import FoldsParams
from electrode_ml.stages.prepare import PrepareParams
from electrode_ml.stages.report import ReportParams


def _write(tmp_path, text):
    path = tmp_path / "params.yaml"
    path.write_text(text)
    return path


def test_defaults_fill_missing_keys(tmp_path):
    params = load_section("prepare", PrepareParams, _write(tmp_path, "prepare:\n  outlier_sigma: 2\n"))
    assert params.outlier_sigma == 2
    assert params.composition_column == "Formula Discharge"


def test_unknown_parameter_is_named(tmp_path):
    path = _write(tmp_path, "prepare:\n  outlier_sigmas: 2\n")
    with pytest.raises(ParameterError, match="prepare.outlier_sigmas is not a parameter"):
        load_section("prepare", PrepareParams, path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("prepare:\n  outlier_sigma: two\n", "prepare.outlier_sigma = 'two'"),
        ("prepare:\n  on_bad_row: 3\n", "prepare.on_bad_row = 3"),
        ("featurize:\n  representations: magpie\n", "featurize.representations"),
        ("featurize:\n  representations: [magpie, 3]\n", "featurize.representations = \\['magpie', 3\\]"),
        ("cluster:\n  min_samples: true\n", "cluster.min_samples = True should be int"),  # no bool for int
        ("folds:\n  n_splits: '5'\n", "folds.n_splits = '5' should be int"),  # no text for a number
        ("report:\n  outlier_sigma: 0\n", "report.outlier_sigma must be positive"),  # the block's own check
    ],
)
def test_wrong_type_is_named(tmp_path, text, message):
    section = text.split(":")[0]
    schema = {"prepare": PrepareParams, "featurize": FeaturizeParams, "cluster": ClusterParams,
              "folds": FoldsParams, "report": ReportParams}[section]
    with pytest.raises(ParameterError, match=message):
        load_section(section, schema, _write(tmp_path, text))


def test_missing_block_is_named(tmp_path):
    with pytest.raises(ParameterError, match="no `featurize:` block"):
        load_section("featurize", FeaturizeParams, _write(tmp_path, "prepare: {}\n"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("profile: fast\nprofiles:\n  quick: {}\n", "profile 'fast' is not one of the `profiles:` blocks \\['quick'\\]"),
        ("profiles:\n  quick: {}\n", "profile None is not one of the `profiles:` blocks"),
        ("profile: quick\nprofiles:\n  quick:\n    control: {}\n", "profiles.quick has no `rf_magpie:` block"),
    ],
)
def test_a_missing_profile_or_model_block_is_named(tmp_path, text, message):
    with pytest.raises(ParameterError, match=message):
        model_hyperparameters("rf_magpie", _write(tmp_path, text))


def test_the_active_profile_gives_each_model_the_global_seed(tmp_path):
    path = _write(tmp_path, "profile: quick\nseed: 7\nprofiles:\n  quick:\n    rf_magpie:\n      n_estimators: 5\n")
    assert active_profile(path)[0] == "quick"
    assert model_hyperparameters("rf_magpie", path) == {"n_estimators": 5, "random_state": 7}


@pytest.mark.parametrize("text", ["models: []\ntargets: [voltage]\nschemes: [loco]\n",
                                  "models: control\ntargets: [voltage]\nschemes: [loco]\n",
                                  "targets: [voltage]\nschemes: [loco]\n"])
def test_the_matrix_must_list_models_targets_and_schemes(tmp_path, text):
    with pytest.raises(ParameterError, match="`models` must be a non-empty list"):
        pipeline_matrix(_write(tmp_path, text))
