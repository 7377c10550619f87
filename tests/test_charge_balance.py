"""FastIonProperty (features/charge_balance.py) is matminer's IonProperty, value for value."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from matminer.featurizers.composition import IonProperty
from pymatgen.core import Composition

from electrode_ml.features.charge_balance import FastIonProperty, charge_balance_possible, reachable_sums

# Elements with one, several, negative, or no common oxidation states (He, Ne: pymatgen's fallback).
ELEMENTS = ["Li", "Na", "Mg", "Fe", "Mn", "V", "Mo", "Cu", "Ti", "P", "S", "O", "F", "Cl", "N", "H", "He", "Ne", "Pt"]


def _same_as_matminer(composition: Composition) -> None:
    ours, theirs = FastIonProperty().featurize(composition), IonProperty().featurize(composition)
    # Exactly equal, NaN where the library gives NaN (an element without electronegativity: He).
    np.testing.assert_array_equal(np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float), err_msg=str(composition))


@given(st.dictionaries(st.sampled_from(ELEMENTS), st.integers(1, 6), min_size=1, max_size=4))
def test_the_same_features_as_matminer_for_any_small_composition(amounts):
    _same_as_matminer(Composition(amounts))


def test_the_same_features_as_matminer_on_real_formulas(raw_sample):
    formulas = raw_sample["Formula Discharge"].drop_duplicates().iloc[:40]
    for formula in [*formulas, "Fe3O4", "LiFePO4", "NaCl", "Li"]:
        _same_as_matminer(Composition(formula))


def test_oxidation_states_given_take_the_librarys_path():
    _same_as_matminer(Composition({"Fe2+": 1, "Fe3+": 2, "O2-": 4}))


def test_non_integer_amounts_are_refused_as_the_library_refuses_them():
    with pytest.raises(ValueError, match="integer"):
        IonProperty().featurize(Composition("Li0.25Fe0.5O"))
    with pytest.raises(ValueError, match="integer"):
        FastIonProperty().featurize(Composition("Li0.25Fe0.5O"))


def test_counting_answers_what_listing_every_guess_answers():
    assert reachable_sums([2, 3], 3) == {6, 7, 8, 9}
    assert charge_balance_possible({"Fe": 3, "O": 4}, {"Fe": [2, 3], "O": [-2]})  # Fe3O4: 2 + 3 + 3
    assert not charge_balance_possible({"Fe": 3, "O": 4}, {"Fe": [3], "O": [-2]})
    assert not charge_balance_possible({"He": 1, "O": 1}, {"He": [], "O": [-2]})

