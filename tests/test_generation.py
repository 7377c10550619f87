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
from electrode_ml.screening.chemistry import RULES as CHEMISTRY_RULES
from electrode_ml.screening.generation import (
    CANDIDATE_COLUMNS, ION_CHARGES, PAIRS_PER_TASK, REJECTED_COLUMNS, CandidateParams, generate_candidates,
    generated_pool, ion_swap_candidates, ion_swap_probability, substitution_table, swapped_pair,
)

REPOSITORY = Path(__file__).resolve().parents[1]
SWAPS_ONLY = CandidateParams(substitutions=False)
SUBSTITUTIONS_ONLY = CandidateParams(ion_swaps=False)


@pytest.fixture(scope="session")
def real_electrodes(real_raw) -> pd.DataFrame:
    """The prepared electrodes with their two formulas, as the candidates stage reads them."""
    prepared = prepare_electrodes(real_raw)
    return prepared.electrodes.merge(prepared.pairs, on="battery_id")


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


@pytest.mark.parametrize("charged, discharged, ion, new_ion, expected", [
    ("FePO4", "LiFePO4", "Li", "Mg", "Mg(FePO4)2"),  # two Li for one Mg
    ("FeSiO4", "Li2FeSiO4", "Li", "Mg", "MgFeSiO4"),
    ("Mo3S4", "MgMo3S4", "Mg", "Li", "Li2Mo3S4"),  # one Mg for two Li
    ("FePO4", "LiFePO4", "Li", "Al", "Al(FePO4)3"),  # a third of an Al per Li: the host tripled
    ("Li0.5CoO2", "LiCoO2", "Li", "Na", "LiNaCo2O4"),  # only the inserted half swapped: the framework's Li stays
    ("Na2Mn6O12", "Na4Mn6O12", "Na", "Al", "Na3AlMn9O18"),  # not Mn6Al14O27: the framework's Na stays
])
def test_a_swap_carries_the_same_charge_and_keeps_the_framework(charged, discharged, ion, new_ion, expected):
    new_charged, new_discharged = swapped_pair(dict(Composition(charged).as_dict()), dict(Composition(discharged).as_dict()),
                                               ion, new_ion)
    def reduced(amounts):
        return Composition(Composition(amounts).get_integer_formula_and_factor()[0]).reduced_composition

    assert reduced(new_discharged) == Composition(expected).reduced_composition
    assert reduced(new_charged) == reduced(Composition(charged).as_dict())


def test_a_swap_to_an_ion_already_in_the_host_is_skipped():
    swaps, skipped = ion_swap_candidates(Composition("NaFePO4F"), Composition("LiNaFePO4F"), "Li", ("Li", "Na", "Mg"))
    assert [new_ion for _, _, new_ion, _ in swaps] == ["Mg"]
    assert skipped == 1


def test_every_ion_swap_of_a_real_sample_keeps_the_charged_framework_and_the_charge_carried(sample):
    candidates, metrics, rejected = generate_candidates(sample, SWAPS_ONLY)
    assert metrics["candidates.ion_swap.generated"] > 0 and (candidates["rule"] == "ion_swap").all()
    parents = sample.set_index("battery_id")
    for row in pd.concat([candidates, rejected]).itertuples():
        parent = parents.loc[row.parent_battery_id]
        old_ion, new_ion = row.change.split("->")
        assert old_ion == parent["working_ion"] and new_ion == row.working_ion
        charged, discharged = Composition(row.charged_composition), Composition(row.discharged_composition)
        assert charged.fractional_composition.almost_equals(Composition(parent["charged_composition"]).fractional_composition)
        moved = {str(element): discharged[element] - charged[element] for element in discharged}
        assert moved == pytest.approx({**{element: 0 for element in moved}, new_ion: row.inserted_ions}, abs=1e-5)
        parent_inserted = Composition(parent["discharged_composition"])[old_ion] - Composition(parent["charged_composition"])[old_ion]
        # the charge carried per framework atom is the parent's
        carried = row.inserted_ions * ION_CHARGES[new_ion] / charged.num_atoms
        assert carried == pytest.approx(parent_inserted * ION_CHARGES[old_ion] / Composition(parent["charged_composition"]).num_atoms,
                                        rel=1e-6)
        assert row.composition == discharged.reduced_formula
    assert (candidates["probability"] == [ion_swap_probability(old, new) for old, new in
                                          candidates["change"].str.split("->")]).all()
    assert (candidates["redox_couple"] != "").all()


def test_a_candidate_is_never_a_known_electrode(sample, real_electrodes):
    """Li -> Na on LiFePO4 would re-create the known NaFePO4 (and Na -> Li LiFePO4), and no
    candidate of the sample is one of the sample's electrodes."""
    pair = electrodes_with_ids(real_electrodes, "mp-19017_Li", "mp-20361_Na")
    candidates, metrics, _ = generate_candidates(pair, SWAPS_ONLY)
    assert metrics["candidates.ion_swap.generated"] == metrics["candidates.duplicates_of_known"] == 2
    assert candidates.empty

    candidates, metrics, _ = generate_candidates(sample, CandidateParams())
    known = set(zip(sample["composition"], sample["working_ion"]))
    assert not known & set(zip(candidates["composition"], candidates["working_ion"]))
    assert metrics["candidates.duplicates_of_known"] > 0


def test_every_substitution_is_charge_balanced_and_keeps_the_working_ion(sample):
    candidates, metrics, _ = generate_candidates(sample, SUBSTITUTIONS_ONLY)
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
    candidates, _, _ = generate_candidates(li2fesio4, SUBSTITUTIONS_ONLY)
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
        candidates, _, _ = generate_candidates(sample, CandidateParams(ion_swaps=False, substitution_threshold=threshold))
        assert (candidates["probability"] >= threshold).all()
        return set(candidates[["composition", "working_ion", "parent_battery_id", "change"]].itertuples(index=False))

    loose, strict = kept(0.001), kept(0.02)
    assert strict and strict < loose


def test_two_parents_of_one_candidate_give_one_row_counted(real_electrodes):
    """Two LiFePO4 electrodes derive the same candidates: each kept once, from the first parent."""
    one, _, one_rejected = generate_candidates(electrodes_with_ids(real_electrodes, "mp-19109_Li"), CandidateParams())
    both, metrics, _ = generate_candidates(electrodes_with_ids(real_electrodes, "mp-19109_Li", "mp-19017_Li"), CandidateParams())
    assert len(both) == len(one) > 0
    assert metrics["candidates.duplicates_of_each_other"] == len(one) + len(one_rejected)
    assert (both["parent_battery_id"] == "mp-19017_Li").all()  # the first battery_id
    columns = ["composition", "working_ion", "rule", "change", "probability", "oxidation_states"]
    pd.testing.assert_frame_equal(both[columns], one[columns])


def test_an_ion_swap_is_kept_before_a_substitution_that_gives_the_same_candidate(real_electrodes):
    """NaFePO4 is LiFePO4 by Li -> Na and NaMnPO4 by Mn2+ -> Fe2+; LiMnPO4 the other way round."""
    candidates, _, _ = generate_candidates(electrodes_with_ids(real_electrodes, "mp-19017_Li", "mp-26980_Na"),
                                        CandidateParams())
    by_key = candidates.set_index(["composition", "working_ion"])
    assert by_key.loc[("NaFePO4", "Na"), ["parent_battery_id", "rule", "change"]].tolist() == \
        ["mp-19017_Li", "ion_swap", "Li->Na"]
    assert by_key.loc[("LiMnPO4", "Li"), ["parent_battery_id", "rule", "change"]].tolist() == \
        ["mp-26980_Na", "ion_swap", "Na->Li"]


def test_the_cap_keeps_the_most_probable_changes_of_both_ways_in_one_order(sample):
    pool, metrics, _ = generate_candidates(sample, CandidateParams())
    assert metrics["candidates.capped"] == 0 and len(pool) == metrics["candidates.pool"] > 100
    size = len(pool) // 2
    capped, capped_metrics, _ = generate_candidates(sample, CandidateParams(max_candidates=size))
    assert len(capped) == size and capped_metrics["candidates.capped"] == len(pool) - size
    assert capped_metrics["candidates.kept"] == size
    assert list(capped["candidate_id"]) == [f"cand-{number:06d}" for number in range(1, size + 1)]
    left_out = pool[~pool["composition"].add(pool["working_ion"]).isin(capped["composition"] + capped["working_ion"])]
    assert capped["probability"].min() >= left_out["probability"].max()
    # Both ways compete: neither fills the cap by its count alone.
    assert set(capped["rule"]) == {"ion_swap", "substitution"} and set(left_out["rule"]) == {"ion_swap", "substitution"}


def test_an_ion_swap_has_the_probability_of_its_ions_species_in_the_same_table():
    from pymatgen.analysis.structure_prediction.substitution_probability import SubstitutionProbability
    table = SubstitutionProbability()
    assert ion_swap_probability("Li", "Na") == pytest.approx(table.cond_prob(Species("Na", 1), Species("Li", 1)), rel=1e-9)
    assert ion_swap_probability("Li", "Na") > ion_swap_probability("Li", "Mg") > 0
    assert ion_swap_probability("Cs", "Al") == 0.0  # a pair the table never observed


def test_the_table_and_its_counts(sample):
    candidates, metrics, rejected = generate_candidates(sample, CandidateParams())
    assert tuple(candidates.columns) == CANDIDATE_COLUMNS and tuple(rejected.columns) == REJECTED_COLUMNS
    assert not candidates.duplicated(["composition", "working_ion"]).any()
    assert candidates.equals(candidates.sort_values(["parent_battery_id", "rule", "change"]).reset_index(drop=True))
    generated = metrics["candidates.ion_swap.generated"] + metrics["candidates.substitution.generated"]
    failed = sum(metrics[f"candidates.failed.{rule}"] for rule in CHEMISTRY_RULES)
    assert generated - metrics["candidates.duplicates_of_known"] - metrics["candidates.duplicates_of_each_other"] \
        == metrics["candidates.novel"] == metrics["candidates.pool"] + failed == len(candidates) + len(rejected)
    assert metrics["candidates.pool"] == metrics["candidates.kept"] == len(candidates)
    assert (rejected["failed_rule"] != "").all() and (candidates["redox_couple"] != "").all()
    known = {key.split("candidates.known.", 1)[1]: value for key, value in metrics.items() if key.startswith("candidates.known.")}
    assert known["balanced_both"] <= min(known["balanced_charged"], known["balanced_discharged"]) <= len(sample)
    assert known["with_redox_couple"] + sum(value for key, value in known.items() if key.startswith("without_couple.")) \
        == len(sample)
    assert known["with_redox_couple"] > 0.8 * len(sample)  # a rule that rejected many real electrodes would be wrong
    assert metrics["candidates.kept.ion_swap"] + metrics["candidates.kept.substitution"] == len(candidates)
    assert sum(metrics[f"candidates.kept.ion_{ion}"] for ion in WORKING_IONS) == len(candidates)
    shuffled, shuffled_metrics, _ = generate_candidates(sample.sample(frac=1, random_state=3), CandidateParams())
    pd.testing.assert_frame_equal(shuffled, candidates)
    assert shuffled_metrics == metrics


def test_the_pool_derived_in_workers_is_the_pool_derived_here(real_electrodes):
    """The pairs go to the workers in chunks (`PAIRS_PER_TASK`); the pool and its metrics are the
    same as in one process, substitutions included (a setting that reached the workers as Dask
    futures once left them none)."""
    from electrode_ml.compute import ComputeParams

    parents = real_electrodes.sample(PAIRS_PER_TASK + 30, random_state=1).reset_index(drop=True)
    here, here_metrics = generated_pool(parents, CandidateParams())
    there, there_metrics = generated_pool(parents, CandidateParams(), compute=ComputeParams(workers=2))
    assert here_metrics["candidates.substitution.generated"] > 0 and here_metrics["candidates.ion_swap.generated"] > 0
    pd.testing.assert_frame_equal(there, here)
    assert there_metrics == here_metrics


def test_no_rule_no_candidates(sample):
    candidates, metrics, _ = generate_candidates(sample, CandidateParams(ion_swaps=False, substitutions=False))
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
        prepared = prepare_electrodes(load_raw('data/mp_batteries.csv'))
        electrodes = prepared.electrodes.merge(prepared.pairs, on="battery_id").sample(30, random_state=5)
        candidates, metrics, _ = generate_candidates(electrodes, CandidateParams(max_candidates=200))
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
    among_parents, _, _ = generate_candidates(parents, params)
    every_ion, _, _ = generate_candidates(parents, params, ions=tuple(sample["working_ion"].unique()))
    assert "Na" not in set(among_parents["working_ion"])
    assert "Na" in set(every_ion["working_ion"])
    others = every_ion[every_ion["working_ion"] != "Na"].drop(columns="candidate_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(others, among_parents.drop(columns="candidate_id"))
