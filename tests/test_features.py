import logging

import numpy as np
import pandas as pd
import pytest
from matminer.featurizers.composition import AtomicPackingEfficiency, ElementProperty
from pymatgen.core import Composition

from electrode_ml.features import MagpieFeatures, ModnetFeatures, featurize_unique
from electrode_ml.features.packing import FastAtomicPackingEfficiency


@pytest.fixture(scope="module")
def real_formulas(raw_sample):
    """Ten distinct real discharge formulas, with at least one of five or more elements."""
    formulas = raw_sample["Formula Discharge"].drop_duplicates()
    many_elements = formulas[formulas.map(lambda f: len(Composition(f).elements) >= 5)].iloc[:1]
    return list(dict.fromkeys([*many_elements, *formulas.iloc[:9]]))


def test_fast_packing_efficiency_is_matminers_exactly(real_formulas):
    ours, theirs = FastAtomicPackingEfficiency(), AtomicPackingEfficiency()
    for formula in [*real_formulas, "Li4Mn3Co(PO4)6", "Al2Cu", "Li"]:
        composition = Composition(formula)
        assert ours.featurize(composition) == theirs.featurize(composition), formula


def test_modnet_features_equal_modnet_library(real_formulas):
    from modnet.preprocessing import MODData

    logging.getLogger("modnet").setLevel(logging.WARNING)
    library = MODData(materials=[Composition(formula) for formula in real_formulas], structure_ids=real_formulas)
    library.featurize(n_jobs=1, drop_allnan=False)
    expected = library.df_featurized
    ours = ModnetFeatures().featurize(real_formulas, progress=False)

    assert list(ours.columns) == list(expected.columns)
    assert ours.shape == (len(real_formulas), 285)
    np.testing.assert_allclose(ours.to_numpy(), expected.loc[real_formulas].to_numpy(dtype=float), rtol=0, atol=1e-9)


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
