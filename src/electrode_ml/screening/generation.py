"""Candidate electrodes made from the known ones: working-ion swaps and element substitutions.

Two rules, each applied to every known electrode (its discharged composition and working ion):

- ion swap: the working ion A replaced by another ion B of the data, as many B as carry the same
  charge (formal charges `ION_CHARGES`: two Li for one Mg), the host unchanged;
- substitution: one host element replaced, on all its sites, by another element of the same
  oxidation state (so the candidate stays charge-balanced), where Hautier et al.'s data-mined
  substitution probability (Inorg. Chem. 50, 656, 2011; the table shipped with pymatgen) is at
  least `candidates.substitution_threshold`. Oxidation states are pymatgen's most likely guess.

A candidate is identified as a known electrode is (`data.electrodes.composition_groups`): its
reduced composition and its working ion. Candidates that are known electrodes are dropped, and of
several that are the same candidate one is kept: an ion swap before a substitution, the most
probable substitution first, then by parent battery_id and change.
"""
from __future__ import annotations

import functools
import math
import warnings

import numpy as np
import pandas as pd

from electrode_ml.data.electrodes import WORKING_IONS, parse_composition
from electrode_ml.params import ParameterError, parameters

# The formal charge each working ion carries into the host, in elementary charges.
ION_CHARGES = {"Li": 1, "Na": 1, "K": 1, "Rb": 1, "Cs": 1, "Mg": 2, "Ca": 2, "Zn": 2, "Al": 3, "Y": 3}

RULES = ("ion_swap", "substitution")
CANDIDATE_COLUMNS = ("candidate_id", "composition", "working_ion", "parent_battery_id", "rule", "change",
                     "probability", "oxidation_states")

# pymatgen's oxidation-state guess enumerates every combination of states over an element's sites,
# which grows steeply with the sites of the reduced formula: on the 3,173 compositions of the data,
# those of at most 48 sites take 15 s together (1.4 s the slowest), one of the 120 larger ones (4%)
# can take as long (Zn(W18O49)2, 135 sites: 20 s; Na17(Mo15S19)4, 153 sites: over a minute).
# Larger compositions give no substitutions.
OXIDATION_GUESS_MAX_SITES = 48


@parameters
class CandidateParams:
    ion_swaps: bool = True  # swap the working ion for every other ion of the data
    substitutions: bool = True  # substitute host elements by pymatgen's substitution probabilities
    substitution_threshold: float = 0.001  # least conditional probability of a substitution, in (0, 1)
    max_candidates: int = 20000  # a seeded sample of this many when more are generated
    seed: int = 42  # of that sample

    def __post_init__(self):
        if not 0 < self.substitution_threshold < 1:
            raise ParameterError(f"candidates.substitution_threshold must lie in (0, 1), got {self.substitution_threshold}")
        if self.max_candidates < 1:
            raise ParameterError(f"candidates.max_candidates must be at least 1, got {self.max_candidates}")


def swapped_ion(composition, ion: str, new_ion: str) -> str:
    """The reduced formula of `composition` (a pymatgen Composition holding the working ion `ion`)
    with `ion` replaced by as much `new_ion` as carries the same charge: n_new = n * q / q_new."""
    from pymatgen.core import Composition

    # The host scaled by the new ion's charge keeps every amount an integer (LiFePO4 -> Al1/3FePO4
    # otherwise), and pymatgen reduces only an integer formula.
    amounts = {str(element): amount * ION_CHARGES[new_ion] for element, amount in composition.items()
               if str(element) != ion}
    amounts[new_ion] = composition[ion] * ION_CHARGES[ion]
    return Composition(amounts).reduced_formula


def ion_swap_candidates(composition, ion: str, ions: tuple[str, ...]) -> tuple[list[tuple[str, str, str]], int]:
    """(formula, new working ion, change) for each ion of `ions` but `ion`, and the number of swaps
    skipped because the new ion is already a host element (which ion would then be the working one?)."""
    elements = {str(element) for element in composition}
    swaps = [(swapped_ion(composition, ion, new_ion), new_ion, f"{ion}->{new_ion}")
             for new_ion in ions if new_ion != ion and new_ion not in elements]
    return swaps, sum(new_ion != ion and new_ion in elements for new_ion in ions)


@functools.lru_cache(maxsize=None)
def substitution_table(threshold: float) -> dict[tuple[str, int], tuple[tuple[str, float], ...]]:
    """For every species (element, oxidation state) of the Hautier table, the other elements that
    replace it at the same oxidation state with probability >= `threshold`: (element, probability),
    the most probable first, ties by element.

    The probability is the conditional one of the replacement given the species replaced,
    P(t | s) = exp(lambda(s, t)) / sum_u exp(lambda(s, u)): pymatgen's `cond_prob(t, s)`, what its
    `SubstitutionPredictor` multiplies per site when it substitutes from a known composition (and
    what its dopant predictor thresholds at 0.001 for one species). For a fixed species the
    replacements' probabilities sum to 1, so one threshold means the same for every species. The
    joint `prob(s, t)` is divided by a sum over all 230 x 230 pairs (below 0.007 for every pair);
    `cond_prob(s, t)` is conditioned on the new species, the probability of the question
    "which known species could this new one come from", not the one asked here.

    Only pairs the table observed count: a pair never seen in the mined structures has the default
    weight exp(alpha), which for a species seen rarely passes the threshold alone (W2+ -> Xe2+ and
    every other 2+ species at 0.0021; 1,697 of the 4,843 same-state pairs at 0.001 were never seen).
    """
    from pymatgen.analysis.structure_prediction.substitution_probability import SubstitutionProbability

    table = SubstitutionProbability()
    # pymatgen sums its normalizations over a set of species, in an order that PYTHONHASHSEED sets,
    # which moves the last bits of a probability (and could move one across the threshold): the
    # same sum here over a sorted list, exactly rounded by fsum.
    species = sorted(table.species, key=lambda one: (one.symbol, one.oxi_state))
    weights = {old: {new: math.exp(table.get_lambda(old, new)) for new in species} for old in species}
    replacements = {}
    for old in species:
        normalization = math.fsum(weights[old].values())
        probable = [(new.symbol, weights[old][new] / normalization) for new in species
                    if new.oxi_state == old.oxi_state and new.symbol != old.symbol
                    and table.get_lambda(old, new) != table.alpha
                    and weights[old][new] / normalization >= threshold]
        replacements[(old.symbol, int(old.oxi_state))] = tuple(sorted(probable, key=lambda pair: (-pair[1], pair[0])))
    return replacements


@functools.lru_cache(maxsize=None)
def most_likely_oxidation_states(formula: str, ion: str) -> tuple[tuple[str, float], ...]:
    """(element, oxidation state) of pymatgen's most likely charge-balanced guess for `formula`, the
    working ion `ion` at its formal charge; a state is the element's mean over its sites. Empty
    when no combination of the elements' common (ICSD) states balances."""
    from pymatgen.core import Composition

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pymatgen's deprecation notices, once per call
        guesses = Composition(formula).oxi_state_guesses(oxi_states_override={ion: [ION_CHARGES[ion]]})
    return tuple(guesses[0].items()) if guesses else ()


def species_name(element: str, state: int) -> str:
    """pymatgen's name of a species: Fe2+, O2-, Na+."""
    from pymatgen.core import Species

    return str(Species(element, state))


def substitution_candidates(composition, ion: str, threshold: float,
                            allowed_elements: frozenset[str]) -> list[tuple[str, str, float, str]]:
    """(formula, change, probability, oxidation states) of every substitution of one host element of
    `composition` (reduced, holding the working ion `ion`) by an element of `allowed_elements` at
    the same oxidation state, with probability >= `threshold` (`substitution_table`). The new
    element is neither in the composition nor a working ion. The oxidation states are the
    candidate's (`most_likely_oxidation_states` of the parent, the new element in the old one's
    place), as `Fe+2 Mn+2.5 O-2`, mean states to 6 significant digits."""
    from pymatgen.core import Composition

    states = most_likely_oxidation_states(composition.reduced_formula, ion)
    present = {str(element) for element in composition}
    replacements = substitution_table(threshold)
    candidates = []
    for element, state in states:
        # A mixed-valence element (Fe3O4's 8/3) is no single species of the table.
        if element == ion or state != round(state):
            continue
        for new_element, probability in replacements.get((element, round(state)), ()):
            if new_element in present or new_element in WORKING_IONS or new_element not in allowed_elements:
                continue
            amounts = {(new_element if str(old) == element else str(old)): amount for old, amount in composition.items()}
            new_states = " ".join(f"{new_element if old == element else old}{old_state:+g}" for old, old_state in states)
            change = f"{species_name(element, round(state))}->{species_name(new_element, round(state))}"
            candidates.append((Composition(amounts).reduced_formula, change, probability, new_states))
    return candidates


def generate_candidates(electrodes: pd.DataFrame, params: CandidateParams,
                        ions: tuple[str, ...] | None = None) -> tuple[pd.DataFrame, dict]:
    """New electrodes from the known `electrodes` (the prepared table: battery_id, composition,
    working_ion), by the rules `params` switches on; working ions are swapped for each other
    among `ions` (default: those `electrodes` hold).

    Returns the candidates (`CANDIDATE_COLUMNS`, one row per (reduced composition, working ion)
    that no known electrode has; probability NaN for an ion swap; sorted by parent, rule and
    change; ids cand-000001 ... in that order) and flat metrics (counts of candidates generated
    per rule, dropped as known or repeated, dropped by the cap, kept per rule and working ion).
    The same table (in any row order) and parameters give the same candidates.
    """
    from electrode_ml.features.representations import elements_with_data

    reduced = {formula: parse_composition(formula).reduced_formula for formula in electrodes["composition"].unique()}
    parents = pd.DataFrame({
        "battery_id": electrodes["battery_id"].astype(str),
        "composition": electrodes["composition"].map(reduced),
        "working_ion": electrodes["working_ion"],
    })
    known = set(zip(parents["composition"], parents["working_ion"]))
    ions = tuple(ion for ion in WORKING_IONS if ion in set(ions or parents["working_ion"]))
    allowed_elements = elements_with_data("magpie")
    metrics = {"candidates.parents": len(parents)}

    # Candidates depend on (composition, working ion) only: each is derived once and given to
    # every electrode that shares it.
    derived: dict[tuple[str, str], list[tuple]] = {}
    skipped_swaps: dict[tuple[str, str], int] = {}
    too_large = without_states = 0
    for composition, ion in sorted(known):
        parsed = parse_composition(composition)
        rows = []
        if params.ion_swaps:
            swaps, skipped_swaps[(composition, ion)] = ion_swap_candidates(parsed, ion, ions)
            rows += [(formula, new_ion, "ion_swap", change, math.nan, "") for formula, new_ion, change in swaps]
        if params.substitutions:
            if parsed.num_atoms > OXIDATION_GUESS_MAX_SITES:
                too_large += 1
            elif not most_likely_oxidation_states(composition, ion):
                without_states += 1
            else:
                rows += [(formula, ion, "substitution", change, probability, states) for formula, change, probability, states
                         in substitution_candidates(parsed, ion, params.substitution_threshold, allowed_elements)]
        derived[(composition, ion)] = rows
    metrics.update({
        "candidates.ion_swap.skipped_ion_in_host": sum(skipped_swaps.get(key, 0) for key in
                                                       zip(parents["composition"], parents["working_ion"])),
        "candidates.substitution.compositions_over_max_sites": too_large,
        "candidates.substitution.compositions_without_oxidation_states": without_states,
    })

    generated = pd.DataFrame(
        [(formula, new_ion, parent, rule, change, probability, states)
         for parent, composition, ion in parents.itertuples(index=False)
         for formula, new_ion, rule, change, probability, states in derived[(composition, ion)]],
        columns=CANDIDATE_COLUMNS[1:])
    for rule in RULES:
        metrics[f"candidates.{rule}.generated"] = int((generated["rule"] == rule).sum())

    # Of candidates that are the same (composition, working ion), the first in this order is kept:
    # an ion swap before a substitution (it keeps the parent's host as it is), the most probable
    # substitution first, then by parent and change, which together name a candidate uniquely.
    ordered = generated.assign(rule_rank=generated["rule"].map(RULES.index),
                               improbability=-generated["probability"].fillna(0.0))
    ordered = ordered.sort_values(["rule_rank", "improbability", "parent_battery_id", "change"], kind="stable")
    is_known = pd.Series([key in known for key in zip(ordered["composition"], ordered["working_ion"])],
                         index=ordered.index, dtype=bool)
    novel = ordered[~is_known]
    repeated = novel.duplicated(["composition", "working_ion"], keep="first")
    pool = novel[~repeated].drop(columns=["rule_rank", "improbability"])
    metrics.update({"candidates.duplicates_of_known": int(is_known.sum()),
                    "candidates.duplicates_of_each_other": int(repeated.sum()),
                    "candidates.pool": len(pool)})

    if len(pool) > params.max_candidates:
        chosen = np.random.default_rng(params.seed).choice(len(pool), size=params.max_candidates, replace=False)
        pool = pool.iloc[np.sort(chosen)]
    metrics["candidates.capped"] = metrics["candidates.pool"] - len(pool)

    candidates = pool.sort_values(["parent_battery_id", "rule", "change"], kind="stable").reset_index(drop=True)
    candidates.insert(0, "candidate_id", [f"cand-{number:06d}" for number in range(1, len(candidates) + 1)])
    candidates["probability"] = candidates["probability"].astype(float)
    metrics["candidates.kept"] = len(candidates)
    metrics.update({f"candidates.kept.{rule}": int((candidates["rule"] == rule).sum()) for rule in RULES})
    metrics.update({f"candidates.kept.ion_{ion}": int((candidates["working_ion"] == ion).sum()) for ion in WORKING_IONS})
    return candidates, metrics
