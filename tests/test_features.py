import logging

import numpy as np
import pandas as pd
import pytest
from matminer.featurizers.composition import AtomicPackingEfficiency, ElementProperty
from pymatgen.core import Composition

from electrode_ml.features.packing import FastAtomicPackingEfficiency
from electrode_ml.features.representations import MagpieFeatures, ModnetFeatures, featurize_unique


@pytest.fixture(scope="module")
def real_formulas(raw_sample):
    """Ten distinct real discharge formulas, with at least one of five or more elements."""
    formulas = raw_sample["Formula Discharge"].drop_duplicates()
    many_elements = formulas[formulas.map(lambda f: len(Composition(f).elements) >= 5)].iloc[:1]
    # Li11U4(WO5)8: BandCenter has no data for U, a NaN the library gives and so must we.
    return list(dict.fromkeys([*many_elements, *formulas.iloc[:9], "Li11U4(WO5)8"]))


def test_fast_packing_efficiency_is_matminers_with_exact_distances():
    """The packing efficiencies bit for bit; the "dist from k clusters" features are the exact
    distances, where matminer's BLAS expansion is off by up to ~1e-8 (features/packing.py)."""
    _assert_packing_efficiency_is_matminers(["Li4Mn3Co(PO4)6", "Al2Cu", "Li", "LiFePO4"])


@pytest.mark.slow  # matminer's own packing efficiency takes seconds per many-element formula
def test_fast_packing_efficiency_is_matminers_on_real_formulas(real_formulas):
    _assert_packing_efficiency_is_matminers([*real_formulas, "Li2FeMnCoNiCuZnO8"])


def _assert_packing_efficiency_is_matminers(formulas):
    ours, theirs = FastAtomicPackingEfficiency(), AtomicPackingEfficiency()
    labels = ours.feature_labels()
    distance = [i for i, label in enumerate(labels) if label.startswith("dist from")]
    for formula in formulas:
        composition = Composition(formula)
        mine, matminer = ours.featurize(composition), theirs.featurize(composition)
        assert [mine[i] for i in range(len(labels)) if i not in distance] == \
               [matminer[i] for i in range(len(labels)) if i not in distance], formula
        np.testing.assert_allclose([mine[i] for i in distance], [matminer[i] for i in distance], rtol=0, atol=1e-7)
        np.testing.assert_allclose([mine[i] for i in distance], _exact_mean_distances(ours, composition),
                                   rtol=0, atol=1e-15)


def _exact_mean_distances(featurizer, composition):
    """By definition, with Python's correctly rounded `math.dist` over all 103 element fractions."""
    import math

    elements = sorted(composition.element_composition, key=lambda e: composition.element_composition[e], reverse=True)
    clusters = featurizer._create_cluster_lookup_tool(tuple(sorted(set(elements[: featurizer.max_types]))))
    cluster_elements = sorted(set(elements[: featurizer.max_types]))
    vector = featurizer._el_frac.featurize(composition)
    distances = []
    for cluster in ([] if clusters is None else clusters):
        full = [0.0] * len(vector)
        for element, fraction in zip(cluster_elements, cluster):
            full[element.Z - 1] = fraction
        distances.append(math.dist(full, vector))
    distances.sort()
    return [float(np.mean(distances[:k] + [1] * (k - min(len(distances), k)))) for k in featurizer.n_nearest]


def test_modnet_features_equal_modnet_library(real_formulas):
    from modnet.preprocessing import MODData

    logging.getLogger("modnet").setLevel(logging.WARNING)
    library = MODData(materials=[Composition(formula) for formula in real_formulas], structure_ids=real_formulas)
    library.featurize(n_jobs=1, drop_allnan=False)
    expected = library.df_featurized
    ours = ModnetFeatures().featurize(real_formulas, progress=False)

    assert list(ours.columns) == list(expected.columns)
    assert ours.shape == (len(real_formulas), 285)
    # Same NaN cells (elements without data, as the library gives them), same values; the APE
    # distances to 1e-7 (exact here, BLAS-rounded in matminer: features/packing.py).
    expected = expected.loc[real_formulas].astype(float)
    assert ours.isna().equals(expected.isna())
    distance = [column for column in ours.columns if "|dist from" in column]
    np.testing.assert_allclose(ours.drop(columns=distance).to_numpy(), expected.drop(columns=distance).to_numpy(),
                               rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours[distance].to_numpy(), expected[distance].to_numpy(), rtol=0, atol=1e-7)


def test_magpie_lifepo4_matches_matminer_and_hand_values():
    ours = MagpieFeatures().featurize(["LiFePO4"], progress=False).loc["LiFePO4"]
    theirs = ElementProperty.from_preset("magpie").featurize(Composition("LiFePO4"))
    assert len(ours) == 132
    np.testing.assert_allclose(ours.to_numpy(), np.array(theirs, dtype=float), rtol=0, atol=1e-12)
    # By hand: atomic numbers 3, 26, 15, 8x4 over 7 atoms.
    assert ours["MagpieData mean Number"] == pytest.approx((3 + 26 + 15 + 4 * 8) / 7)
    assert ours["MagpieData minimum Number"] == 3
    assert ours["MagpieData range Number"] == 23


def test_featurize_unique_keys_by_battery_and_featurizes_each_formula_once():
    calls = []

    class Recording(MagpieFeatures):
        def featurize(self, formulas, progress=True):
            calls.append(list(formulas))
            return super().featurize(formulas, progress)

    electrodes = pd.DataFrame({
        "battery_id": ["a_Li", "b_Li", "c_Na"],
        "composition": ["LiFePO4", "LiCoO2", "LiFePO4"],
    })
    table = featurize_unique(Recording(), electrodes, progress=False)
    assert list(table.index) == ["a_Li", "b_Li", "c_Na"]
    assert sorted(calls[0]) == ["LiCoO2", "LiFePO4"]
    assert table.loc["a_Li"].equals(table.loc["c_Na"])
    assert not table.loc["a_Li"].equals(table.loc["b_Li"])


def test_feature_labels_name_every_column():
    assert len(MagpieFeatures().feature_labels()) == 132
    labels = ModnetFeatures().feature_labels()
    assert len(labels) == 285 and "AtomicPackingEfficiency|mean simul. packing efficiency" in labels


def test_the_model_inputs_name_the_featurizers_representations():
    """electrode_ml.models.input_tables names the feature sets without importing the featurizers (the crabnet path
    and every cell's dependencies stay clear of them): the two lists must agree."""
    from electrode_ml.features.representations import REPRESENTATIONS
    from electrode_ml.models.input_tables import FEATURE_SETS

    assert FEATURE_SETS == tuple(REPRESENTATIONS)
