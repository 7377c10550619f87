"""Candidate electrodes made from the known ones: working-ion swaps and element substitutions.

A candidate is an electrode, as every known one is: a charged and a discharged formula, the
working ion cycled between them, and the redox couple that carries its charge. Two ways to make
one, each applied to every known electrode (its pair of formulas, `data.electrodes.electrode_pair`):

- ion swap: the inserted ions A (discharged minus charged) replaced by another ion B of the data,
  as many B as carry the same charge (formal charges `ION_CHARGES`: two Li for one Mg); the
  charged framework, with any A it holds, unchanged, and so the redox couple;
- substitution: one host element replaced, on all its sites and in both states, by another element
  of the same oxidation state in the discharged state, where Hautier et al.'s data-mined
  substitution probability (Inorg. Chem. 50, 656, 2011; the table shipped with pymatgen) is at
  least `candidates.substitution_threshold`. Oxidation states are pymatgen's most likely guess.
  Where the replaced element is the redox centre, the new one must take its charged-state
  oxidation state too (SMACT's ICSD states), or the couple is lost.

Then the rules of `screening.chemistry`, the balance judged against the parent: both states
charge-balanced where the parent's were, a redox couple, and its upper state one the host's anion
allows (an ion swap keeps the parent's framework and so its verdict). A candidate failing one is set aside under the rule's
name (`rejected`), never silently dropped.

A candidate is identified as a known electrode is (`data.electrodes.composition_groups`): its
reduced composition and its working ion. Candidates that are known electrodes are dropped, and of
several that are the same candidate one is kept: an ion swap before a substitution, the most
probable substitution first, then by parent battery_id and change. The cap keeps the most
plausible, ion swaps and substitutions in one order: the probability of the change in the same
Hautier table (an ion swap's is that of the new ion's species replacing the old one's: Li+ -> Na+
0.095, Li+ -> Mg2+ 0.009), so that neither way fills the cap by count alone.
"""
from __future__ import annotations

import functools
import math

import pandas as pd

from electrode_ml.data.electrodes import WORKING_IONS, compact_formula, parse_composition
from electrode_ml.params import ParameterError, parameters
from electrode_ml.screening.chemistry import (
    ALLOY,
    ION_CHARGES,
    RULES as CHEMISTRY_RULES,
    balanced,
    beyond_anion_limit,
    common_states,
    guessable,
    integer_formula,
    most_likely_oxidation_states,
    redox_couple,
    state_changes,
)

RULES = ("ion_swap", "substitution")
CANDIDATE_COLUMNS = ("candidate_id", "composition", "working_ion", "charged_composition", "discharged_composition",
                     "inserted_ions", "redox_couple", "parent_battery_id", "rule", "change", "probability",
                     "oxidation_states")
REJECTED_COLUMNS = (*CANDIDATE_COLUMNS[1:], "failed_rule")
GENERATED_COLUMNS = (*CANDIDATE_COLUMNS[1:7], "parent_battery_id", *CANDIDATE_COLUMNS[8:], "failed_rule")
# The order of `generated_pool`: an ion swap before a substitution, the most probable change first.
GENERATED_ORDER = ("rule_rank", "improbability", "parent_battery_id", "change")
STATES = ("discharged", "charged")  # which formula is a candidate's `composition` (prepare.composition_column)



@parameters
class CandidateParams:
    ion_swaps: bool = True  # swap the working ion for every other ion of the data
    substitutions: bool = True  # substitute host elements by pymatgen's substitution probabilities
    substitution_threshold: float = 0.001  # least conditional probability of a substitution, in (0, 1)
    max_candidates: int = 20000  # the most plausible this many when more pass the rules: by the change's probability

    def __post_init__(self):
        if not 0 < self.substitution_threshold < 1:
            raise ParameterError(f"candidates.substitution_threshold must lie in (0, 1), got {self.substitution_threshold}")
        if self.max_candidates < 1:
            raise ParameterError(f"candidates.max_candidates must be at least 1, got {self.max_candidates}")


def amounts(composition) -> dict[str, float]:
    return {str(element): amount for element, amount in composition.items()}


def from_amounts(amounts: dict[str, float]):
    from pymatgen.core import Composition

    return Composition({element: amount for element, amount in amounts.items() if amount > 0})


def swapped_pair(charged: dict[str, float], discharged: dict[str, float], ion: str, new_ion: str
                 ) -> tuple[dict[str, float], dict[str, float]]:
    """(charged, discharged) amounts with the inserted `ion` (discharged minus charged) replaced by as
    much `new_ion` as carries the same charge: n_new = n * q / q_new; the charged framework kept,
    with any `ion` it holds. Both scaled by the new ion's charge, so integer amounts stay integers
    (LiFePO4 -> Al1/3FePO4 otherwise) and pymatgen can reduce them."""
    scale = ION_CHARGES[new_ion]
    inserted = discharged.get(ion, 0.0) - charged.get(ion, 0.0)
    new_charged = {element: amount * scale for element, amount in charged.items()}
    new_discharged = dict(new_charged)
    new_discharged[new_ion] = inserted * ION_CHARGES[ion]
    return new_charged, new_discharged


def ion_swap_candidates(charged, discharged, ion: str, ions: tuple[str, ...]) -> tuple[list[tuple], int]:
    """(charged, discharged, new working ion, change) for each ion of `ions` but `ion`, and the
    number of swaps skipped because the new ion is already a host element (which ion would then
    be the working one?)."""
    elements = set(amounts(discharged))
    swaps = [(*swapped_pair(amounts(charged), amounts(discharged), ion, new_ion), new_ion, f"{ion}->{new_ion}")
             for new_ion in ions if new_ion != ion and new_ion not in elements]
    return swaps, sum(new_ion != ion and new_ion in elements for new_ion in ions)


@functools.lru_cache(maxsize=None)
def _substitution_weights():
    """pymatgen's Hautier table, its species sorted, each pair's weight exp(lambda) and each
    species' normalization sum_u exp(lambda(s, u)).

    pymatgen sums its normalizations over a set of species, in an order that PYTHONHASHSEED sets,
    which moves the last bits of a probability (and could move one across a threshold): the same
    sum here over a sorted list, exactly rounded by fsum."""
    from pymatgen.analysis.structure_prediction.substitution_probability import SubstitutionProbability

    table = SubstitutionProbability()
    species = sorted(table.species, key=lambda one: (one.symbol, one.oxi_state))
    weights = {old: {new: math.exp(table.get_lambda(old, new)) for new in species} for old in species}
    return table, species, weights, {old: math.fsum(weights[old].values()) for old in species}


def ion_swap_probability(ion: str, new_ion: str) -> float:
    """P(new | old) of the new ion's species replacing the old one's at their formal charges
    (Li+ -> Mg2+), as `substitution_table` reads a substitution; 0 for a pair the table never
    observed (Cs+ -> Al3+)."""
    from pymatgen.core import Species

    table, _, weights, normalizations = _substitution_weights()
    old, new = Species(ion, ION_CHARGES[ion]), Species(new_ion, ION_CHARGES[new_ion])
    if old not in weights or new not in weights or table.get_lambda(old, new) == table.alpha:
        return 0.0
    return weights[old][new] / normalizations[old]


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
    table, species, weights, normalizations = _substitution_weights()
    replacements = {}
    for old in species:
        normalization = normalizations[old]
        probable = [(new.symbol, weights[old][new] / normalization) for new in species
                    if new.oxi_state == old.oxi_state and new.symbol != old.symbol
                    and table.get_lambda(old, new) != table.alpha
                    and weights[old][new] / normalization >= threshold]
        replacements[(old.symbol, int(old.oxi_state))] = tuple(sorted(probable, key=lambda pair: (-pair[1], pair[0])))
    return replacements


def species_name(element: str, state: int) -> str:
    """pymatgen's name of a species: Fe2+, O2-, Na+."""
    from pymatgen.core import Species

    return str(Species(element, state))


def substitution_candidates(charged, discharged, ion: str, threshold: float,
                            allowed_elements: frozenset[str]) -> list[tuple]:
    """(charged, discharged, change, probability, oxidation states, redox couple, the couple's
    state beyond the anion's limit or "") of every
    substitution of one host element of the pair (`discharged` reduced, holding the working ion
    `ion`) by an element of `allowed_elements` at the same oxidation state in the discharged state,
    with probability >= `threshold` (`substitution_table`). The new element is in neither formula
    nor a working ion. The oxidation states are the candidate's discharged ones
    (`most_likely_oxidation_states` of the parent, the new element in the old one's place), as
    `Fe+2 Mn+2.5 O-2`, mean states to 6 significant digits. The redox couple is the parent's, the
    new element in the old one's place; "" where the old element was the redox centre and the new
    one has no common state for the charged one (Co2+/Co3+ -> Be: no Be3+)."""
    states = most_likely_oxidation_states(integer_formula(discharged), ion)
    charged_states = (dict(most_likely_oxidation_states(integer_formula(charged), ion, rare_states=True))
                      if len(charged) and guessable(charged) else {})
    present = set(amounts(discharged)) | set(amounts(charged))
    changes = state_changes(charged_states, dict(states)) if charged_states else {}
    replacements = substitution_table(threshold)
    candidates = []
    for element, state in states:
        # A mixed-valence element (Fe3O4's 8/3) is no single species of the table.
        if element == ion or state != round(state):
            continue
        for new_element, probability in replacements.get((element, round(state)), ()):
            if new_element in present or new_element in WORKING_IONS or new_element not in allowed_elements:
                continue
            rename = {element: new_element}
            new_states = " ".join(f"{rename.get(old, old)}{old_state:+g}" for old, old_state in states)
            change = f"{species_name(element, round(state))}->{species_name(new_element, round(state))}"
            # The new element must take the old one's charged state too (both neighbours of a mean
            # state such as Fe3.4+: some Fe4+).
            lost = element in changes and not {math.floor(changes[element][1]), math.ceil(changes[element][1])} <= \
                common_states(new_element)
            new_charged_states = {rename.get(e, e): v for e, v in charged_states.items()}
            new_discharged_states = {rename.get(e, e): v for e, v in states}
            couple = "" if lost else redox_couple(new_charged_states, new_discharged_states, ion)
            candidates.append(({rename.get(e, e): v for e, v in amounts(charged).items()},
                               {rename.get(e, e): v for e, v in amounts(discharged).items()},
                               change, probability, new_states, couple,
                               beyond_anion_limit(new_charged_states, new_discharged_states) if couple else ""))
    return candidates


def parent_couple(charged, discharged, ion: str) -> tuple[str, str, str]:
    """The known electrode's own redox couple, from pymatgen's guesses of its two states; why there
    is none ("" when there is one): `KNOWN_WITHOUT_COUPLE`; and the couple's state beyond the
    anion's limit ("" when within: `chemistry.beyond_anion_limit`)."""
    if not (guessable(discharged) and guessable(charged)):
        return "", "too_many_sites", ""
    charged_states = (dict(most_likely_oxidation_states(integer_formula(charged), ion, rare_states=True))
                      if len(charged) else {})
    discharged_states = dict(most_likely_oxidation_states(integer_formula(discharged), ion))
    couple = redox_couple(charged_states, discharged_states, ion)
    if couple:
        return couple, "", beyond_anion_limit(charged_states, discharged_states)
    return "", ("no_guess_discharged" if not discharged_states else "no_guess_charged" if not charged_states
                else "no_charge_carrier" if state_changes(charged_states, discharged_states) else "no_state_change"), ""


# Why a known electrode has no redox couple found (its candidates then fail the redox rule).
KNOWN_WITHOUT_COUPLE = ("too_many_sites", "no_guess_discharged", "no_guess_charged", "no_state_change",
                        "no_charge_carrier")


def failed_rule(charged: str, discharged: str, couple: str, beyond: str, parent_balance: tuple[bool, bool]) -> str:
    """The first rule of `chemistry.RULES` the candidate fails ("" if none): a balance its parent had
    ((charged, discharged) balanced), a redox couple, and no state beyond the anion's limit."""
    if parent_balance[0] and not balanced(charged):
        return "charged_balance"
    if parent_balance[1] and not balanced(discharged):
        return "discharged_balance"
    if not couple:
        return "redox_couple"
    return "anion_limit" if beyond else ""


# Pairs of formulas derived per task: a few seconds of work each, so that two workers share the
# 4,000-odd pairs of the data evenly and a task's overhead stays small.
PAIRS_PER_TASK = 100


def derive_pairs(keys: list[tuple[str, str, str]], params: CandidateParams, ions: tuple[str, ...],
                 allowed_elements: frozenset, state: str) -> list[tuple]:
    """For each (charged, discharged, working ion) of `keys`: its candidates (`candidate_row`s), the
    parent's own verdict (couple, why none, (charged, discharged) balanced, beyond the anion's
    limit), the ion swaps skipped, and "too_large" or "without_states" where substitution could not
    start ("" where it could or is off). Module level: Dask sends it by reference."""
    derived = []
    for charged_text, discharged_text, ion in keys:
        charged, discharged = parse_composition(charged_text), parse_composition(discharged_text)
        couple, why_none, beyond = parent_couple(charged, discharged, ion)
        balance = (balanced(integer_formula(charged)), balanced(integer_formula(discharged)))
        rows, skipped, substitutable = [], 0, ""
        if params.ion_swaps:
            swaps, skipped = ion_swap_candidates(charged, discharged, ion, ions)
            rows += [(new_charged, new_discharged, new_ion, "ion_swap", change, ion_swap_probability(ion, new_ion), "",
                      couple, beyond, balance)
                     for new_charged, new_discharged, new_ion, change in swaps]
        if params.substitutions:
            if not guessable(discharged):
                substitutable = "too_large"
            elif not most_likely_oxidation_states(integer_formula(discharged), ion):
                substitutable = "without_states"
            else:
                rows += [(new_charged, new_discharged, ion, "substitution", change, probability, states, new_couple,
                          new_beyond, balance)
                         for new_charged, new_discharged, change, probability, states, new_couple, new_beyond
                         in substitution_candidates(charged, discharged, ion, params.substitution_threshold,
                                                    allowed_elements)]
        derived.append(([candidate_row(*row, state) for row in rows], (couple, why_none, balance, beyond), skipped,
                        substitutable))
    return derived


def generate_candidates(electrodes: pd.DataFrame, params: CandidateParams, ions: tuple[str, ...] | None = None,
                        state: str = "discharged") -> tuple[pd.DataFrame, dict, pd.DataFrame]:
    """New electrodes from the known `electrodes` (the prepared table joined with its pairs:
    battery_id, composition, working_ion, charged_composition, discharged_composition), by the ways
    `params` switches on; working ions are swapped for each other among `ions` (default: those
    `electrodes` hold). `state` names the formula a candidate's `composition` is (the one the
    models were trained on, prepare.composition_column).

    Returns the candidates (`CANDIDATE_COLUMNS`, one row per (reduced composition, working ion)
    that no known electrode has and that passes every rule; `probability` that of its change;
    sorted by parent, rule and change; ids cand-000001 ... in that order), flat metrics (the pool
    generated per way, dropped as known or repeated, failing each rule, left out by the cap, kept
    per way and working ion), and the candidates set aside by a rule (`REJECTED_COLUMNS`).
    The same table (in any row order) and parameters give the same candidates.
    """
    generated, metrics = generated_pool(electrodes, params, ions, state)
    return select_candidates(generated, known_keys(electrodes, state), params, metrics)


def known_keys(electrodes: pd.DataFrame, state: str = "discharged") -> set[tuple[str, str]]:
    """(reduced composition, working ion) of every known electrode: what a candidate is compared by."""
    compositions = electrodes[f"{state}_composition"].map(lambda formula: parse_composition(formula).reduced_formula)
    return set(zip(compositions, electrodes["working_ion"]))


def generated_pool(electrodes: pd.DataFrame, params: CandidateParams, ions: tuple[str, ...] | None = None,
                   state: str = "discharged", compute=None) -> tuple[pd.DataFrame, dict]:
    """Every candidate the ways make from each known electrode, before any is dropped
    (`GENERATED_COLUMNS`: the candidate's columns, its parent and the rule it fails, "" for none),
    in the order that decides which of several equal candidates is kept (`GENERATED_ORDER`), and
    the metrics of the generation (`generate_candidates`' arguments). With `compute`
    (`compute.ComputeParams`) the pairs are derived in its workers, else in this process: the same
    result either way."""
    from electrode_ml.features.representations import elements_with_data

    if state not in STATES:
        raise ParameterError(f"a candidate's composition is its discharged or charged formula, not {state!r}")
    missing = {"charged_composition", "discharged_composition"} - set(electrodes.columns)
    if missing:
        raise ParameterError(f"the known electrodes need both formulas (results/prepared/pairs.csv); missing {sorted(missing)}")
    parents = pd.DataFrame({
        "battery_id": electrodes["battery_id"].astype(str),
        "charged": electrodes["charged_composition"], "discharged": electrodes["discharged_composition"],
        "working_ion": electrodes["working_ion"],
    })
    ions = tuple(ion for ion in WORKING_IONS if ion in set(ions or parents["working_ion"]))
    allowed_elements = elements_with_data("magpie")
    metrics = {"candidates.parents": len(parents)}

    # Candidates depend on the pair and working ion only: each is derived once and given to every
    # electrode that shares it; the pairs in chunks, in the workers where `compute` says where.
    keys = sorted(set(zip(parents["charged"], parents["discharged"], parents["working_ion"])))
    chunks = [keys[start:start + PAIRS_PER_TASK] for start in range(0, len(keys), PAIRS_PER_TASK)]
    # Bound to the function, not scattered: Dask scatters a collection (the frozenset of elements)
    # element by element and would hand the task a set of futures.
    derive = functools.partial(derive_pairs, params=params, ions=ions, allowed_elements=allowed_elements, state=state)
    if compute is None:
        results = [derive(chunk) for chunk in chunks]
    else:
        from electrode_ml.compute import map_in_workers

        results = map_in_workers(derive, chunks, compute)
    derived: dict[tuple[str, str, str], list[tuple]] = {}
    skipped_swaps: dict[tuple[str, str, str], int] = {}
    judged: dict[tuple[str, str, str], tuple] = {}  # pair -> (couple, why none, (charged, discharged) balanced, beyond)
    too_large = without_states = 0
    for key, (rows, pair_judged, skipped, substitutable) in zip(keys, (pair for result in results for pair in result)):
        derived[key], judged[key], skipped_swaps[key] = rows, pair_judged, skipped
        too_large += substitutable == "too_large"
        without_states += substitutable == "without_states"
    # The rules read on the known electrodes themselves: how many a rule that demanded them outright would reject.
    known_judged = [judged[key] for key in zip(parents["charged"], parents["discharged"], parents["working_ion"])]
    metrics.update({
        "candidates.known.balanced_charged": sum(balance[0] for _, _, balance, _ in known_judged),
        "candidates.known.balanced_discharged": sum(balance[1] for _, _, balance, _ in known_judged),
        "candidates.known.balanced_both": sum(all(balance) for _, _, balance, _ in known_judged),
        "candidates.known.with_redox_couple": sum(bool(couple) for couple, _, _, _ in known_judged),
        "candidates.known.alloy": sum(couple == ALLOY for couple, _, _, _ in known_judged),
        "candidates.known.beyond_anion_limit": sum(bool(beyond) for _, _, _, beyond in known_judged),
        **{f"candidates.known.without_couple.{why}": sum(reason == why for _, reason, _, _ in known_judged)
           for why in KNOWN_WITHOUT_COUPLE},
        "candidates.ion_swap.skipped_ion_in_host": sum(skipped_swaps.get(key, 0) for key in
                                                       zip(parents["charged"], parents["discharged"], parents["working_ion"])),
        "candidates.substitution.compositions_over_max_sites": too_large,
        "candidates.substitution.compositions_without_oxidation_states": without_states,
    })

    generated = pd.DataFrame(
        [(*row[:6], parent, *row[6:]) for parent, charged, discharged, ion in
         parents[["battery_id", "charged", "discharged", "working_ion"]].itertuples(index=False)
         for row in derived[(charged, discharged, ion)]],
        columns=list(GENERATED_COLUMNS))
    for rule in RULES:
        metrics[f"candidates.{rule}.generated"] = int((generated["rule"] == rule).sum())
    # Of candidates that are the same (composition, working ion), the first in this order is kept:
    # an ion swap before a substitution (it keeps the parent's host as it is), the most probable
    # change first, then by parent and change, which together name a candidate uniquely.
    ordered = generated.assign(rule_rank=generated["rule"].map(RULES.index),
                               improbability=-generated["probability"].fillna(0.0))
    ordered = ordered.sort_values(list(GENERATED_ORDER), kind="stable").reset_index(drop=True)
    return ordered, metrics


def select_candidates(generated: pd.DataFrame, known: set[tuple[str, str]], params: CandidateParams,
                      metrics: dict) -> tuple[pd.DataFrame, dict, pd.DataFrame]:
    """`generate_candidates`' result from `generated_pool`'s: the known electrodes (`known_keys`)
    and repeats dropped, the rules' failures set aside, the cap applied."""
    metrics = dict(metrics)
    ordered = generated
    is_known = pd.Series([key in known for key in zip(ordered["composition"], ordered["working_ion"])],
                         index=ordered.index, dtype=bool)
    novel = ordered[~is_known]
    repeated = novel.duplicated(["composition", "working_ion"], keep="first")
    novel = novel[~repeated]
    metrics.update({"candidates.duplicates_of_known": int(is_known.sum()),
                    "candidates.duplicates_of_each_other": int(repeated.sum()),
                    "candidates.novel": len(novel)})
    rejected = novel[novel["failed_rule"] != ""]
    metrics.update({f"candidates.failed.{rule}": int((rejected["failed_rule"] == rule).sum()) for rule in CHEMISTRY_RULES})
    pool = novel[novel["failed_rule"] == ""]
    metrics["candidates.pool"] = len(pool)

    if len(pool) > params.max_candidates:
        pool = plausible_first(pool, params.max_candidates)
    metrics["candidates.capped"] = metrics["candidates.pool"] - len(pool)

    candidates = pool.drop(columns=["rule_rank", "improbability", "failed_rule"])
    candidates = candidates.sort_values(["parent_battery_id", "rule", "change"], kind="stable").reset_index(drop=True)
    candidates.insert(0, "candidate_id", [f"cand-{number:06d}" for number in range(1, len(candidates) + 1)])
    candidates["probability"] = candidates["probability"].astype(float)
    metrics["candidates.kept"] = len(candidates)
    metrics.update({f"candidates.kept.{rule}": int((candidates["rule"] == rule).sum()) for rule in RULES})
    metrics.update({f"candidates.kept.ion_{ion}": int((candidates["working_ion"] == ion).sum()) for ion in WORKING_IONS})
    rejected = rejected.drop(columns=["rule_rank", "improbability"]).sort_values(
        ["parent_battery_id", "rule", "change"], kind="stable").reset_index(drop=True)
    return candidates[list(CANDIDATE_COLUMNS)], metrics, rejected[list(REJECTED_COLUMNS)]


def candidate_row(charged: dict, discharged: dict, ion: str, rule: str, change: str, probability: float, states: str,
                  couple: str, beyond: str, parent_balance: tuple[bool, bool], state: str) -> tuple:
    """(composition, working ion, charged, discharged, inserted ions, couple, rule, change,
    probability, states, failed rule): the formulas per formula unit of the reduced discharged
    composition, the ions inserted per that unit."""
    from pymatgen.core import Composition

    discharged_composition = from_amounts(discharged)
    reduced = Composition(integer_formula(discharged_composition)).reduced_composition
    factor = discharged_composition.num_atoms / reduced.num_atoms
    charged_composition = from_amounts(charged) / factor
    charged_text = compact_formula(charged_composition) if len(charged_composition) else ""
    inserted = (discharged.get(ion, 0.0) - charged.get(ion, 0.0)) / factor
    composition = (reduced.reduced_formula if state == "discharged"
                   else Composition(integer_formula(charged_composition)).reduced_formula)
    failure = failed_rule(integer_formula(charged_composition), reduced.formula, couple, beyond, parent_balance)
    return (composition, ion, charged_text, reduced.reduced_formula, round(inserted, 6), couple, rule, change,
            probability, states, failure)


def plausible_first(pool: pd.DataFrame, size: int) -> pd.DataFrame:
    """The `size` most plausible candidates of `pool`, ion swaps and substitutions alike, by the
    probability of their change (ties: an ion swap first, then by parent and change)."""
    return pool.sort_values(["improbability", "rule_rank", "parent_battery_id", "change"], kind="stable").iloc[:size]


def known_electrodes(electrodes_csv, pairs_csv) -> pd.DataFrame:
    """The prepared table joined with each electrode's two formulas, as `generate_candidates` reads it."""
    electrodes, pairs = pd.read_csv(electrodes_csv), pd.read_csv(pairs_csv)
    joined = electrodes.merge(pairs, on="battery_id", how="left", validate="one_to_one")
    if joined["charged_composition"].isna().any():
        raise ParameterError(f"{pairs_csv} lacks the formulas of some prepared electrodes: run `dvc repro prepare`")
    return joined


def candidate_state(composition_column: str) -> str:
    """prepare.composition_column ("Formula Discharge") -> the state a candidate's composition is in."""
    return "charged" if composition_column == "Formula Charge" else "discharged"
