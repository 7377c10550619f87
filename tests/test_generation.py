"""Candidate electrodes from the known ones (`screening.generation`), on small real subsets."""
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from pymatgen.core import Composition, Species

from electrode_ml.data.electrodes import WORKING_IONS, prepare_electrodes
from electrode_ml.params import ParameterError, from_mapping
from electrode_ml.screening.generation import (
    CANDIDATE_COLUMNS, ION_CHARGES, CandidateParams, generate_candidates, ion_swap_candidates, substitution_table,
    swapped_ion,
)

REPOSITORY = Path(__file__).resolve().parents[1]
SWAPS_ONLY = CandidateParams(substitutions=False)
SUBSTITUTIONS_ONLY = CandidateParams(ion_swaps=False)


@pytest.fixture(scope="session")
def real_electrodes(real_raw) -> pd.DataFrame:
    return prepare_electrodes(real_raw).electrodes


@pytest.fixture(scope="session")
def sample(real_electrodes) -> pd.DataFrame:
    """50 real electrodes, the same on every run."""
    return real_electrodes.sample(50, random_state=0).reset_index(drop=True)


def electrodes_with_ids(real_electrodes, *battery_ids: str) -> pd.DataFrame:
    return real_electrodes.set_index("battery_id").loc[list(battery_ids)].reset_index()


def host_per_atom(composition: Composition, ion: str) -> dict[str, float]:
    host = {str(element): amount for element, amount in composition.items() if str(element) != ion}
    total = sum(host.values())
    return {element: amount / total for element, amount in host.items()}


def parsed_states(text: str) -> dict[str, float]:
    """`Li+1 Fe+2 O-2` -> {"Li": 1.0, "Fe": 2.0, "O": -2.0}."""
    return {element: float(state) for element, state in re.findall(r"([A-Z][a-z]?)([+-][0-9.e+-]+)", text)}


def test_every_working_ion_has_a_formal_charge():
    assert set(ION_CHARGES) == set(WORKING_IONS)


@pytest.mark.parametrize("formula, ion, new_ion, expected", [
    ("LiFePO4", "Li", "Mg", "Mg(FePO4)2"),  # two Li for one Mg
    ("Li2FeSiO4", "Li", "Mg", "MgFeSiO4"),
    ("MgMo3S4", "Mg", "Li", "Li2Mo3S4"),  # one Mg for two Li
    ("LiFePO4", "Li", "Al", "Al(FePO4)3"),  # a third of an Al per Li: the host tripled
    ("LiCoO2", "Li", "Na", "NaCoO2"),
])
def test_a_swap_carries_the_same_charge(formula, ion, new_ion, expected):
    swapped = swapped_ion(Composition(formula), ion, new_ion)
    assert Composition(swapped) == Composition(expected)
    assert swapped == Composition(expected).reduced_formula  # pymatgen writes MgFe2(PO4)2


def test_a_swap_to_an_ion_already_in_the_host_is_skipped():
    swaps, skipped = ion_swap_candidates(Composition("LiNaFePO4F"), "Li", ("Li", "Na", "Mg"))
    assert [new_ion for _, new_ion, _ in swaps] == ["Mg"]
    assert skipped == 1


def test_every_ion_swap_of_a_real_sample_conserves_the_charge_carried(sample):
    candidates, metrics = generate_candidates(sample, SWAPS_ONLY)
    assert metrics["candidates.ion_swap.generated"] > 0 and (candidates["rule"] == "ion_swap").all()
    parents = sample.set_index("battery_id")
    for row in candidates.itertuples():
        parent = parents.loc[row.parent_battery_id]
        old_ion, new_ion = row.change.split("->")
        assert old_ion == parent["working_ion"] and new_ion == row.working_ion
        before, after = Composition(parent["composition"]), Composition(row.composition)
        assert host_per_atom(after, new_ion) == pytest.approx(host_per_atom(before, old_ion), rel=1e-12)
        # charge carried per host atom
        carried_before = before[old_ion] * ION_CHARGES[old_ion] / (before.num_atoms - before[old_ion])
        carried_after = after[new_ion] * ION_CHARGES[new_ion] / (after.num_atoms - after[new_ion])
        assert carried_after == pytest.approx(carried_before, rel=1e-12)
        assert row.composition == after.reduced_formula
    assert candidates["probability"].isna().all()


def test_a_candidate_is_never_a_known_electrode(sample, real_electrodes):
    """Li -> Na on LiFePO4 would re-create the known NaFePO4 (and Na -> Li LiFePO4), and no
    candidate of the sample is one of the sample's electrodes."""
    pair = electrodes_with_ids(real_electrodes, "mp-19017_Li", "mp-20361_Na")
    candidates, metrics = generate_candidates(pair, SWAPS_ONLY)
    assert metrics["candidates.ion_swap.generated"] == metrics["candidates.duplicates_of_known"] == 2
    assert candidates.empty

    candidates, metrics = generate_candidates(sample, CandidateParams())
    known = set(zip(sample["composition"], sample["working_ion"]))
    assert not known & set(zip(candidates["composition"], candidates["working_ion"]))
    assert metrics["candidates.duplicates_of_known"] > 0


def test_every_substitution_is_charge_balanced_and_keeps_the_working_ion(sample):
    candidates, metrics = generate_candidates(sample, SUBSTITUTIONS_ONLY)
    assert metrics["candidates.substitution.generated"] > 0 and (candidates["rule"] == "substitution").all()
    parents = sample.set_index("battery_id")
    for row in candidates.itertuples():
        composition, states = Composition(row.composition), parsed_states(row.oxidation_states)
        assert row.working_ion == parents.loc[row.parent_battery_id, "working_ion"]
        assert set(states) == {str(element) for element in composition}
        assert states[row.working_ion] == ION_CHARGES[row.working_ion]
        assert abs(sum(amount * states[str(element)] for element, amount in composition.items())) < 1e-4
        old, new = (Species.from_str(name) for name in row.change.split("->", 1))
        assert old.oxi_state == new.oxi_state == states[new.symbol]
        assert old.symbol not in states and new.symbol not in WORKING_IONS
        assert row.probability >= SUBSTITUTIONS_ONLY.substitution_threshold


def test_iron_two_plus_to_manganese_two_plus_has_pymatgen_conditional_probability(real_electrodes):
    from pymatgen.analysis.structure_prediction.substitution_probability import SubstitutionProbability

    expected = SubstitutionProbability().cond_prob(Species("Mn", 2), Species("Fe", 2))
    assert 0.04 < expected < 0.06
    assert dict(substitution_table(0.001)[("Fe", 2)])["Mn"] == pytest.approx(expected, rel=1e-12)

    li2fesio4 = electrodes_with_ids(real_electrodes, "mp-18968_Li")
    candidates, _ = generate_candidates(li2fesio4, SUBSTITUTIONS_ONLY)
    row = candidates.set_index("change").loc["Fe2+->Mn2+"]
    assert (row["composition"], row["working_ion"]) == ("Li2MnSiO4", "Li")
    assert row["probability"] == pytest.approx(expected, rel=1e-12)
    assert row["oxidation_states"] == "Li+1 Mn+2 Si+4 O-2"


def test_a_substitution_never_observed_in_the_table_is_no_candidate():
    """W2+ is rare in the mined structures: the default weight of an unseen pair alone would give
    every other 2+ species (Xe2+ too) a probability above 0.001."""
    from pymatgen.analysis.structure_prediction.substitution_probability import SubstitutionProbability

    table = SubstitutionProbability()
    assert table.cond_prob(Species("Xe", 2), Species("W", 2)) > 0.001
    assert table.get_lambda(Species("W", 2), Species("Xe", 2)) == table.alpha
    replacements = substitution_table(0.001)
    assert "Xe" not in dict(replacements[("W", 2)])
    assert all(table.get_lambda(Species(element, state), Species(new, state)) != table.alpha
               for (element, state), news in replacements.items() for new, _ in news)


def test_a_higher_threshold_gives_a_subset(sample):
    def kept(threshold):
        candidates, _ = generate_candidates(sample, CandidateParams(ion_swaps=False, substitution_threshold=threshold))
        assert (candidates["probability"] >= threshold).all()
        return set(candidates[["composition", "working_ion", "parent_battery_id", "change"]].itertuples(index=False))

    loose, strict = kept(0.001), kept(0.02)
    assert strict and strict < loose


def test_two_parents_of_one_candidate_give_one_row_counted(real_electrodes):
    """Two LiFePO4 electrodes derive the same candidates: each kept once, from the first parent."""
    one, _ = generate_candidates(electrodes_with_ids(real_electrodes, "mp-19109_Li"), CandidateParams())
    both, metrics = generate_candidates(electrodes_with_ids(real_electrodes, "mp-19109_Li", "mp-19017_Li"), CandidateParams())
    assert len(both) == len(one) > 0
    assert metrics["candidates.duplicates_of_each_other"] == len(one)
    assert (both["parent_battery_id"] == "mp-19017_Li").all()  # the first battery_id
    columns = ["composition", "working_ion", "rule", "change", "probability", "oxidation_states"]
    pd.testing.assert_frame_equal(both[columns], one[columns])


def test_an_ion_swap_is_kept_before_a_substitution_that_gives_the_same_candidate(real_electrodes):
    """NaFePO4 is LiFePO4 by Li -> Na and NaMnPO4 by Mn2+ -> Fe2+; LiMnPO4 the other way round."""
    candidates, _ = generate_candidates(electrodes_with_ids(real_electrodes, "mp-19017_Li", "mp-26980_Na"),
                                        CandidateParams())
    by_key = candidates.set_index(["composition", "working_ion"])
    assert by_key.loc[("NaFePO4", "Na"), ["parent_battery_id", "rule", "change"]].tolist() == \
        ["mp-19017_Li", "ion_swap", "Li->Na"]
    assert by_key.loc[("LiMnPO4", "Li"), ["parent_battery_id", "rule", "change"]].tolist() == \
        ["mp-26980_Na", "ion_swap", "Na->Li"]


def test_the_cap_keeps_a_seeded_sample(sample):
    pool, metrics = generate_candidates(sample, CandidateParams())
    assert metrics["candidates.capped"] == 0 and len(pool) == metrics["candidates.pool"] > 100
    capped, capped_metrics = generate_candidates(sample, CandidateParams(max_candidates=100))
    again, _ = generate_candidates(sample, CandidateParams(max_candidates=100))
    other, _ = generate_candidates(sample, CandidateParams(max_candidates=100, seed=7))
    assert len(capped) == 100 and capped_metrics["candidates.capped"] == len(pool) - 100
    assert capped_metrics["candidates.kept"] == 100
    assert list(capped["candidate_id"]) == [f"cand-{number:06d}" for number in range(1, 101)]
    pd.testing.assert_frame_equal(capped, again)
    assert set(capped["composition"] + capped["working_ion"]) != set(other["composition"] + other["working_ion"])
    assert set(capped["composition"] + capped["working_ion"]) <= set(pool["composition"] + pool["working_ion"])


def test_the_table_and_its_counts(sample):
    candidates, metrics = generate_candidates(sample, CandidateParams())
    assert tuple(candidates.columns) == CANDIDATE_COLUMNS
    assert not candidates.duplicated(["composition", "working_ion"]).any()
    assert candidates.equals(candidates.sort_values(["parent_battery_id", "rule", "change"]).reset_index(drop=True))
    generated = metrics["candidates.ion_swap.generated"] + metrics["candidates.substitution.generated"]
    assert generated - metrics["candidates.duplicates_of_known"] - metrics["candidates.duplicates_of_each_other"] \
        == metrics["candidates.pool"] == metrics["candidates.kept"] == len(candidates)
    assert metrics["candidates.kept.ion_swap"] + metrics["candidates.kept.substitution"] == len(candidates)
    assert sum(metrics[f"candidates.kept.ion_{ion}"] for ion in WORKING_IONS) == len(candidates)
    shuffled, shuffled_metrics = generate_candidates(sample.sample(frac=1, random_state=3), CandidateParams())
    pd.testing.assert_frame_equal(shuffled, candidates)
    assert shuffled_metrics == metrics


def test_no_rule_no_candidates(sample):
    candidates, metrics = generate_candidates(sample, CandidateParams(ion_swaps=False, substitutions=False))
    assert candidates.empty and tuple(candidates.columns) == CANDIDATE_COLUMNS and metrics["candidates.kept"] == 0


@pytest.mark.parametrize("values, message", [
    ({"substitution_threshold": 0.0}, r"candidates\.substitution_threshold must lie in \(0, 1\)"),
    ({"substitution_threshold": 1.0}, r"candidates\.substitution_threshold must lie in \(0, 1\)"),
    ({"max_candidates": 0}, "candidates.max_candidates must be at least 1"),
    ({"max_candidates": "many"}, "candidates.max_candidates = 'many' should be int"),
    ({"swaps": True}, "candidates.swaps is not a parameter"),
])
def test_a_bad_parameter_is_named(values, message):
    with pytest.raises(ParameterError, match=message):
        from_mapping("candidates", CandidateParams, values)


def test_the_same_candidates_whatever_the_hash_seed():
    """Sets of species and elements inside pymatgen must not leak their order into the output."""
    script = textwrap.dedent(f"""
        import sys, warnings
        warnings.simplefilter("ignore")
        from electrode_ml.data.electrodes import load_raw, prepare_electrodes
        from electrode_ml.screening.generation import CandidateParams, generate_candidates
        electrodes = prepare_electrodes(load_raw('data/mp_batteries.csv')).electrodes.sample(30, random_state=5)
        candidates, metrics = generate_candidates(electrodes, CandidateParams(max_candidates=200))
        sys.stdout.write(candidates.to_csv(index=False) + repr(sorted(metrics.items())))
    """)
    runs = [subprocess.Popen([sys.executable, "-c", script], cwd=REPOSITORY, stdout=subprocess.PIPE,
                             env={**os.environ, "PYTHONHASHSEED": seed}) for seed in ("1", "2")]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    assert all(run.returncode == 0 for run in runs)
    assert outputs[0] == outputs[1] and outputs[0].count(b"\n") > 50


def test_ions_to_swap_to_may_include_one_the_parents_lack(sample):
    """The discovery check hides every electrode of one ion; that ion must still be swapped to."""
    parents = sample[sample["working_ion"] != "Na"]
    params = CandidateParams(substitutions=False, max_candidates=100_000)
    among_parents, _ = generate_candidates(parents, params)
    every_ion, _ = generate_candidates(parents, params, ions=tuple(sample["working_ion"].unique()))
    assert "Na" not in set(among_parents["working_ion"])
    assert "Na" in set(every_ion["working_ion"])
    others = every_ion[every_ion["working_ion"] != "Na"].drop(columns="candidate_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(others, among_parents.drop(columns="candidate_id"))
