"""MODNet's feature ranking on numpy arrays picks what modnet's own pandas loop picks, in the same order."""
import contextlib

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from modnet.preprocessing import get_features_dyn, nmi_target

from electrode_ml.data.targets import TARGETS
from electrode_ml.files import write_joblib
from electrode_ml.models.modnet import TARGET as MODNET_TARGET
from electrode_ml.models.modnet import shipped_cross_nmi
from electrode_ml.models.modnet.selection import ranked_features
from electrode_ml.models.registry import make_model

TARGET = "capacity_grav_mAh_g"


@pytest.fixture(scope="module")
def training(model_inputs_sample):
    return model_inputs_sample.drop(columns=list(TARGETS)), model_inputs_sample[TARGET]


@pytest.fixture(scope="module")
def real_nmi(training):
    """The cross NMI and target NMI of the sample's usable MODNet features, as a fit computes them."""
    X, y = training
    model = make_model("modnet", epochs=1).fit(X, y)
    data, names = model._moddata(X, y), model.input_names_
    target_nmi = nmi_target(data.df_featurized, data.df_targets, "regression", random_state=model.random_state)
    return shipped_cross_nmi().loc[names, names], target_nmi[MODNET_TARGET]


@pytest.mark.parametrize("n_feat", [-1, 25])
def test_ranking_of_real_features_is_modnets(real_nmi, n_feat):
    cross, target_nmi = real_nmi
    expected = get_features_dyn(n_feat, cross, target_nmi)
    assert len(expected) == (len(target_nmi) if n_feat == -1 else n_feat)  # nmi_target drops duplicates
    assert ranked_features(n_feat, cross, target_nmi) == expected


def test_modnet_fit_saves_the_bytes_of_a_fit_with_modnets_own_ranking(training, monkeypatch, tmp_path):
    import electrode_ml.models.modnet as modnet_model

    X, y = training
    saved = []
    for ranking in (modnet_model.vectorized_ranking, contextlib.nullcontext):
        monkeypatch.setattr(modnet_model, "vectorized_ranking", ranking)
        path = tmp_path / f"{ranking.__name__}.joblib"
        write_joblib(make_model("modnet", n_feat=30, epochs=1).fit(X, y), path)
        saved.append(path.read_bytes())
    assert saved[0] == saved[1]


# Few distinct values, zeros and infinities: ties, 0/0 and x/0 in the first step (c = 0 there).
NMI_VALUES = st.one_of(st.sampled_from([0.0, 0.25, 0.5, 1.0]), st.floats(0, 1))
TARGET_VALUES = st.one_of(st.sampled_from([0.0, 0.3, 0.3, 1.0, np.nan, np.inf]), st.floats(0, 2))


@st.composite
def rankings(draw):
    """A cross NMI matrix over some features and a target NMI over a shuffled, partly overlapping set."""
    size = draw(st.integers(2, 9))
    names = [f"f{i}" for i in range(size)]
    cross = pd.DataFrame(np.array(draw(st.lists(NMI_VALUES, min_size=size * size, max_size=size * size)))
                         .reshape(size, size), index=names, columns=names)
    known = draw(st.lists(st.sampled_from(names), min_size=1, max_size=size, unique=True))
    extra = draw(st.lists(st.sampled_from(["g0", "g1"]), max_size=2, unique=True))
    target = pd.Series(draw(st.lists(TARGET_VALUES, min_size=len(known) + len(extra),
                                     max_size=len(known) + len(extra))), index=known + extra)
    return cross, target, draw(st.sampled_from([-1, 1, 2, size]))


@given(rankings())
def test_ranking_is_modnets_on_ties_zeros_and_infinities(case):
    cross, target_nmi, n_feat = case
    try:
        expected = get_features_dyn(n_feat, cross.copy(), target_nmi.copy())
    except KeyError:  # pandas' idxmax gave NaN (every score NaN), which modnet cannot drop next step
        expected = None
    if expected is None or any(not isinstance(name, str) for name in expected):
        with pytest.raises(ValueError, match="scores NaN"):
            ranked_features(n_feat, cross, target_nmi)
    else:
        assert ranked_features(n_feat, cross, target_nmi) == expected
