"""FastMagpieFeatures gives matminer's Magpie features (MagpieFeatures) bit for bit."""
import numpy as np
import pandas as pd
import pytest

from electrode_ml.features.magpie_table import FastMagpieFeatures, magpie_table
from electrode_ml.features.representations import FeaturizationError, MagpieFeatures, elements_with_data


def assert_same_as_matminer(formulas, n_jobs=1):
    fast = FastMagpieFeatures().featurize(formulas)
    matminer = MagpieFeatures(n_jobs=n_jobs).featurize(formulas, progress=False)
    assert list(fast.columns) == list(matminer.columns) == MagpieFeatures().feature_labels()
    assert list(fast.index) == list(formulas)
    assert (fast.dtypes == np.float64).all()
    assert not fast.isna().any().any()
    np.testing.assert_array_equal(fast.to_numpy(), matminer.to_numpy())
    # Bit for bit: assert_array_equal alone would pass -0.0 against 0.0.
    np.testing.assert_array_equal(fast.to_numpy().view(np.uint64), matminer.to_numpy().view(np.uint64))
    pd.testing.assert_frame_equal(fast, matminer, check_exact=True)


def test_every_distinct_real_composition_is_matminers(real_raw):
    """All ~3,200 distinct discharge formulas of the data set (about 20 s, mostly matminer's)."""
    formulas = list(dict.fromkeys(real_raw["Formula Discharge"]))
    assert len(formulas) > 3000
    assert_same_as_matminer(formulas, n_jobs=2)


@pytest.mark.parametrize("formulas", [
    pytest.param(["Li", "Fe", "O2"], id="single element"),
    pytest.param(["Li0.5FePO4", "Li3Fe2(PO4)3", "Na0.667Mn0.333Ni0.333O2", "LiFeLiO2"], id="fractions, groups, repeats"),
    # mode: the smallest value among the most abundant elements, "most" as np.isclose decides
    pytest.param(["NaCl", "Li2Fe2O", "Li1.000001FeO0.5", "Li1.001FeO0.5"], id="mode ties"),
    # 8 or more elements: NumPy's sum switches from a plain loop to 8 partial sums
    pytest.param(["LiNaKMgCaAlSiPSClFe", "Li0.1Na0.2K0.3Mg0.4Ca0.5Al0.6Si0.7P0.8", "HLiBeBCNOFNaMgAlSiPSClKCaScTi"],
                 id="many elements"),
    pytest.param(["LiD2"], id="deuterium is hydrogen"),
])
def test_hand_made_compositions_are_matminers(formulas):
    assert_same_as_matminer(formulas)


def test_random_compositions_are_matminers():
    """Seeded compositions of 1 to 20 elements with amounts spanning four decades: every
    summation length and rounding path that `_numpy_sum` follows up to 20 terms."""
    rng = np.random.default_rng(0)
    symbols = sorted(elements_with_data("magpie"))
    formulas = []
    for _ in range(200):
        elements = rng.choice(symbols, size=rng.integers(1, 21), replace=False)
        amounts = rng.integers(1, 10_000, size=len(elements)) / 10.0 ** rng.integers(0, 4, size=len(elements))
        formulas.append("".join(f"{element}{amount:g}" for element, amount in zip(elements, amounts)))
    assert_same_as_matminer(formulas)


def test_table_holds_exactly_the_elements_with_magpie_data():
    assert set(magpie_table().row_of_symbol) == elements_with_data("magpie")


@pytest.mark.parametrize(("formula", "element"), [("LiHe2", "He"), ("LiOg", "Og"), ("Fe2O3Ne", "Ne")])
def test_element_without_data_is_refused_by_name(formula, element):
    with pytest.raises(FeaturizationError, match=rf"'{formula}'.*\b{element} lacks"):
        FastMagpieFeatures().featurize(["LiFePO4", formula])


def test_repeated_formulas_give_repeated_rows_in_input_order():
    formulas = ["NaCl", "LiFePO4", "NaCl", "Fe2O3", "LiFePO4", "NaCl"]
    table = FastMagpieFeatures().featurize(formulas)
    assert list(table.index) == formulas
    distinct = FastMagpieFeatures().featurize(["LiFePO4", "Fe2O3", "NaCl"])
    pd.testing.assert_frame_equal(table, distinct.loc[formulas], check_exact=True)


def test_no_formulas_give_an_empty_table_with_the_labels():
    table = FastMagpieFeatures().featurize([])
    assert table.shape == (0, 132)
    assert list(table.columns) == FastMagpieFeatures().feature_labels()
