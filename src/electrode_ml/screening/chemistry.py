"""What makes a composition pair an electrode a battery chemist would accept: both states
charge-balanced, and an element whose oxidation state changes between them (the redox couple).

- Balance: SMACT's `smact_validity` (Davies et al., Chem 2016; the standard first pass of
  composition-space screening): some assignment of the elements' ICSD oxidation states
  (`OXIDATION_STATES_SET`) sums to zero with the cations less electronegative than the anions
  (Pauling); intermetallic compositions pass as alloys. It passes 87.8% of the data's discharged
  formulas, 87.1% of the charged ones, 79.4% of the electrodes in both states (Cs 61%, Na 70%,
  Li 78%, Y 96%): a rule that demanded it outright would throw away one real electrode in five.
  So a candidate is judged against its parent: it must not break a balance its parent had.
- Redox couple: pymatgen's most likely oxidation states of each state (the working ion at its
  formal charge); every host element whose mean state differs between them carries the charge
  (`Fe2+/Fe3+`), if it can (`carries_charge`: not phosphorus or another polyanion centre, and
  within its common states). A host with no balanced guess in its discharged state whose charged
  state is metallic (every element at state 0: Cu, Sn, Cu2Sb) takes the ion as an alloy (`alloy`).
- A state the anion allows: the couple's upper state may not exceed the highest state its element
  takes with the host's anion in the ICSD (`highest_state`: Cr goes to 6+ in oxides, chromates,
  but to 5+ in fluorides; Fe to 4+ in oxides, 3+ in fluorides). Without it, a charged state that
  no common states balance falls back on rare ones (`most_likely_oxidation_states`), and an
  electrode such as Li3CrF6 -> CrF6 (Cr3+/Cr6+, a fluoride no one has made) looks like a 3-electron
  cathode; its ion swaps and substitutions topped the screen. The ICSD's shares count complex
  salts too, so two narrower limits apply (`framework_ceiling`): in a fluoride, Co, Ni and Cu go no
  higher than in a simple fluoride (`FLUORIDE_CEILINGS`: CoF3, not the CoF4 of Cs2CoF6), and in a
  polyanion framework (phosphate, sulfate, silicate...) an element goes no higher than in a
  fluoride (Co3+ in CoPO4, not Co4+). Oxides keep theirs: CoO2, NiO2 (Co4+, Ni4+) are the charged
  states of LiCoO2 and LiNiO2.
"""
from __future__ import annotations

import contextlib
import functools
import json
import math
import warnings
from pathlib import Path

# The formal charge each working ion carries into the host, in elementary charges.
ION_CHARGES = {"Li": 1, "Na": 1, "K": 1, "Rb": 1, "Cs": 1, "Mg": 2, "Ca": 2, "Zn": 2, "Al": 3, "Y": 3}

# pymatgen's oxidation-state guess enumerates every combination of states over an element's sites,
# which grows steeply with the sites of the reduced formula: on the 3,173 compositions of the data,
# those of at most 48 sites take 15 s together (1.4 s the slowest), one of the 120 larger ones (4%)
# can take as long (Zn(W18O49)2, 135 sites: 20 s; Na17(Mo15S19)4, 153 sites: over a minute).
# Larger compositions give no substitutions.
OXIDATION_GUESS_MAX_SITES = 48
OXIDATION_STATES_SET = "icsd16"  # SMACT's ICSD (2016) set; its newer icsd24 filter needs pandas >= 2.2
ALLOY = "alloy"
# The rules a candidate electrode must pass, in the order they are checked; a candidate failing
# one is set aside under that rule's name (results/candidates/rejected.parquet, rejected.csv).
RULES = {
    "charged_balance": "its charged state is not charge-balanced (SMACT) where its parent's was",
    "discharged_balance": "its discharged state is not charge-balanced (SMACT) where its parent's was",
    "redox_couple": "no element changes its oxidation state between the charged and discharged states",
    "anion_limit": "its redox couple goes above the highest state its element takes with the host's anion (ICSD; "
                   "in a fluoride or polyanion framework, a simple fluoride's)",
}
# A state counts as one the element takes with an anion when at least this share of the ICSD's
# compounds of the element with that anion hold it (SMACT's species-anion table, below). 1% keeps
# Fe4+ oxides (1.5%: SrFeO3), Ni4+ oxides (2.6%) and Cu3+ oxides (3.4%), and rules out Mn7+ and
# Mn6+ as redox centres of an oxide framework (0.9%, 0.7%: permanganates and manganates, made
# in solution, never cycled), and every state the ICSD never saw with the anion (Cr6+ and Fe4+
# fluorides, Ni4+ and Cu3+ sulfides).
STATE_SHARE_SEEN = 0.01
# The highest state of Co, Ni and Cu in a simple fluoride, one that holds no cation but the metal
# (and so can be the charged host of an electrode, emptied of its working ion): CoF3, NiF3 (itself
# metastable, losing F2 on warming), CuF2. SMACT's table sees Co4+ (4.8% of Co fluorides), Ni4+
# (13.6%) and Cu3+ (5.1%) with F- only in complex salts of large alkali or alkaline-earth cations
# that stabilize them (Cs2CoF6, K2NiF6, K3CuF6; Greenwood & Earnshaw, Chemistry of the Elements,
# 2nd ed., 1997, ch. 26 and 28; Hoppe, Angew. Chem. Int. Ed. 5, 1966); CoF4 and NiF4 are not
# isolable solids, and Co4+ fluorides oxidize almost anything. A share cut cannot say so: Ni4+ is
# rarer with O2- (2.6%) than with F-, yet NiO2 is the charged state of LiNiO2. The other metals'
# highest fluorides are simple ones (MnF4, VF5, CrF5, TiF4, FeF3), so SMACT's limit stands.
FLUORIDE_CEILINGS = {"Co": 3, "Ni": 3, "Cu": 2}


@functools.lru_cache(maxsize=None)
def _element(symbol: str):
    import smact

    return smact.Element(symbol)


def _element_dictionary(symbols) -> dict:
    return {symbol: _element(symbol) for symbol in symbols}


@contextlib.contextmanager
def _elements_built_once():
    """`smact_validity` builds every element's `smact.Element` (its data tables read again) on each
    call, 1.3 ms of its 1.4: hand it the ones already built, for the duration of the call. A speed-up
    only, resting on smact 4.0's module layout (the lock's version): where a release has no
    `element_dictionary` to replace, the call runs as smact wrote it."""
    import smact.screening

    original = getattr(smact.screening, "element_dictionary", None)
    if original is None:
        yield
        return
    smact.screening.element_dictionary = _element_dictionary
    try:
        yield
    finally:
        smact.screening.element_dictionary = original


@functools.lru_cache(maxsize=None)
def balanced(formula: str) -> bool:
    """SMACT's charge-neutrality and Pauling electronegativity test over ICSD oxidation states."""
    from smact.screening import smact_validity

    with warnings.catch_warnings(), _elements_built_once():
        warnings.simplefilter("ignore")
        return bool(smact_validity(formula, use_pauling_test=True, include_alloys=True,
                                   oxidation_states_set=OXIDATION_STATES_SET))


def species_label(element: str, state: float) -> str:
    """Fe2+, Mn3.5+, O2-, Sb0: a mean oxidation state to three decimals."""
    state = round(state, 3)
    if state == 0:
        return f"{element}0"
    magnitude = f"{abs(state):g}"
    return f"{element}{'' if magnitude == '1' else magnitude}{'+' if state > 0 else '-'}"


# Elements whose positive states never carry an insertion electrode's charge: hydrogen and the
# centres of the polyanions a framework is built of (borate, carbonate, nitrate, silicate,
# phosphate, sulfate, selenate, arsenate). A guess in which one of them changes its state between
# the two formulas (P4.5+/P5+ beside Cr3+/Cr6+ in a phosphate) balances the charge on paper only.
NOT_REDOX_CENTRES = frozenset({"H", "B", "C", "N", "Si", "P", "S", "Se", "As"})
# The centres of the oxoanions (PO4 3-, SO4 2-, SiO4 4-, ...) whose framework is as ionic as a
# fluoride's: the strong X-O bond takes up the oxygen's electrons, which lowers the metal-oxygen
# covalency and raises the metal's couple (the inductive effect: Fe2+/Fe3+ at 3.45 V vs Li in
# LiFePO4; Padhi, Nanjundaswamy, Masquelier, Okada, Goodenough, J. Electrochem. Soc. 144, 2581,
# 1997). The known polyanion cathodes cycle no higher than the metal goes in a fluoride: Fe2+/Fe3+,
# Mn2+/Mn3+, Co2+/Co3+ (LiCoPO4, 4.8 V), Ni2+/Ni3+ (LiNiPO4, 5.1 V), V3+/V5+ (VOPO4); Co4+ or Ni4+
# in a phosphate would sit beyond any electrolyte (Masquelier & Croguennec, Chem. Rev. 113, 6552,
# 2013). So in a host that holds one of them with O2-, oxygen allows no more than fluorine does.
# Germanates (GeO4 4-) are the silicates' analogues.
POLYANION_CENTRES = (NOT_REDOX_CENTRES - {"H"}) | {"Ge"}


def carries_charge(element: str, low: float, high: float) -> bool:
    """Whether an element going from state `low` to `high` can be a redox centre: an anion (both
    states negative: O2-/O-), or a cation outside `NOT_REDOX_CENTRES` that starts no lower than its
    lowest common (ICSD) positive state and ends no higher than the highest state it is known in
    (pymatgen's `oxidation_states`: Fe4+ yes, Zn3+ no; how high an anion lets it go is
    `beyond_anion_limit`'s question)."""
    from pymatgen.core import Element

    if high <= 0:
        return True
    positive = [state for state in common_states(element) if state > 0]
    return (element not in NOT_REDOX_CENTRES and bool(positive) and low >= min(positive) - 1e-6
            and high <= max(Element(element).oxidation_states) + 1e-6)


def redox_couple(charged_states: dict[str, float], discharged_states: dict[str, float], ion: str) -> str:
    """The couples of the host elements whose mean state differs between the two states
    (`Fe2+/Fe3+`, several joined by `, `), `alloy` for a metallic host that takes the ion as an
    alloy, or "" (none found: no element changes, a state has no guess, or the guess moves an
    element that cannot carry the charge: `carries_charge`)."""
    if not discharged_states:
        metallic = charged_states and all(state == 0 for element, state in charged_states.items() if element != ion)
        return ALLOY if metallic else ""
    if not charged_states:
        return ""
    couples = []
    for element in sorted(set(charged_states) & set(discharged_states) - {ion}):
        low, high = sorted((discharged_states[element], charged_states[element]))
        if not math.isclose(low, high, abs_tol=1e-6):
            if not carries_charge(element, low, high):
                return ""
            couples.append(f"{species_label(element, low)}/{species_label(element, high)}")
    return ", ".join(couples)


@functools.lru_cache(maxsize=None)
def _species_anion_shares() -> dict[tuple[str, str], float]:
    """(anion, cation) species labels ("F-1", "Cr6") -> the share of the ICSD's compounds of that
    cation's element with that anion in which the cation holds that state: SMACT's
    oxidation_state_probability_table (Walsh et al., Faraday Discuss. 208, 2018; anions O, S, Se,
    Te, F, Cl, Br, I)."""
    from smact import data_directory

    with (Path(data_directory) / "oxidation_state_probability_table.json").open() as table:
        return {(anion, cation): share for anion, cation, share in json.load(table)}


def _species_key(element: str, state: int) -> str:
    return f"{element}{state}"


@functools.lru_cache(maxsize=None)
def highest_state(element: str, anion: str, anion_state: int) -> int | None:
    """The highest oxidation state `element` takes with the anion (`anion` at `anion_state`) in at
    least `STATE_SHARE_SEEN` of the ICSD's compounds of the two; None where the table has neither
    the anion nor the element with it (a nitride, a hydride: not judged)."""
    shares = _species_anion_shares()
    anion_key = _species_key(anion, anion_state)
    seen = [int(cation[len(element):]) for (anion_, cation), share in shares.items()
            if anion_ == anion_key and cation[:len(element)] == element and cation[len(element):].isdigit()
            and share >= STATE_SHARE_SEEN]
    return max(seen) if seen else None


def framework_ceiling(element: str, anion: str, anion_state: int, polyanion: bool = False) -> int | None:
    """The highest state `element` may take with the anion in an electrode's host: `highest_state`,
    no higher in a fluoride than a simple fluoride holds (`FLUORIDE_CEILINGS`: Co3+, not the Co4+
    of Cs2CoF6), and with O2- in a `polyanion` framework (`POLYANION_CENTRES`) no higher than with
    F- (Co3+ in CoPO4; Ni2+/Ni3+ in LiNiPO4). None where the anion is not judged."""
    limit = highest_state(element, anion, anion_state)
    if limit is None:
        return None
    if (anion, anion_state) == ("O", -2) and polyanion:
        fluoride = framework_ceiling(element, "F", -1)
        return limit if fluoride is None else min(limit, fluoride)
    if (anion, anion_state) == ("F", -1) and element in FLUORIDE_CEILINGS:
        return min(limit, FLUORIDE_CEILINGS[element])
    return limit


def polyanion_centres(states: dict[str, float]) -> list[str]:
    """The `POLYANION_CENTRES` of a host at a positive state beside O2- (P5+ of a phosphate), sorted."""
    if not any(math.isclose(state, -2) for element, state in states.items() if element == "O"):
        return []
    return sorted(element for element, state in states.items() if element in POLYANION_CENTRES and state > 0)


def state_limit(element: str, discharged_states: dict[str, float]) -> int | None:
    """The highest state `element` may take in a host whose anions are the negative states of
    `discharged_states` (`framework_ceiling`): the most any of them allows (an oxyfluoride allows
    what its oxide does); None where no anion of the host is judged."""
    polyanion = bool(polyanion_centres(discharged_states))
    limits = [framework_ceiling(element, anion, round(state), polyanion) for anion, state in discharged_states.items()
              if state < 0 and math.isclose(state, round(state))]
    limits = [limit for limit in limits if limit is not None]
    return max(limits) if limits else None


def beyond_anion_limit(charged_states: dict[str, float], discharged_states: dict[str, float]) -> str:
    """The first element whose state rises between the two states above its `state_limit`, as
    `Cr6+ above Cr5+ with F-`, or in a polyanion framework `Co4+ above Co3+ with O2- (P5+
    polyanion)` ("" for none): the `anion_limit` rule."""
    anions = " ".join(species_label(element, state) for element, state in sorted(discharged_states.items()) if state < 0)
    if centres := polyanion_centres(discharged_states):
        anions += f" ({' '.join(species_label(element, discharged_states[element]) for element in centres)} polyanion)"
    for element, (low, high) in sorted(state_changes(charged_states, discharged_states).items()):
        limit = state_limit(element, discharged_states) if high > low and high > 0 else None
        if limit is not None and high > limit + 1e-6:
            return f"{species_label(element, high)} above {species_label(element, limit)} with {anions}"
    return ""


def state_changes(charged_states: dict[str, float], discharged_states: dict[str, float]) -> dict[str, tuple[float, float]]:
    """element -> (discharged state, charged state) for the elements whose mean state changes."""
    return {element: (discharged_states[element], charged_states[element])
            for element in set(charged_states) & set(discharged_states)
            if not math.isclose(charged_states[element], discharged_states[element], abs_tol=1e-6)}


@functools.lru_cache(maxsize=None)
def common_states(element: str) -> frozenset[int]:
    """The element's oxidation states seen in the ICSD (pymatgen's `icsd_oxidation_states`): the
    states a redox centre may take. Narrower than SMACT's set for the balance test (which allows
    Fe up to 6+ and P6+), so that a couple names a state real compounds hold."""
    from pymatgen.core import Element

    return frozenset(int(state) for state in Element(element).icsd_oxidation_states)


@functools.lru_cache(maxsize=None)
def most_likely_oxidation_states(formula: str, ion: str, rare_states: bool = False) -> tuple[tuple[str, float], ...]:
    """(element, oxidation state) of pymatgen's most likely charge-balanced guess for `formula`, the
    working ion `ion` at its formal charge; a state is the element's mean over its sites. Empty
    when no combination of the elements' common (ICSD) states balances, or with `rare_states` of
    every state pymatgen knows, tried when the common ones fail: a charged state emptied of its
    ions often needs one (FeSiO4, Li2FeSiO4 charged: Fe4+)."""
    from pymatgen.core import Composition

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pymatgen's deprecation notices, once per call
        override = {ion: [ION_CHARGES[ion]]}
        guesses = Composition(formula).oxi_state_guesses(oxi_states_override=override)
        if not guesses and rare_states:
            guesses = Composition(formula).oxi_state_guesses(oxi_states_override=override, all_oxi_states=True)
    return tuple(guesses[0].items()) if guesses else ()


def integer_formula(composition) -> str:
    """The smallest integer formula of a composition that may hold fractions (Li0.5Mn2O4 -> LiMn4O8)."""
    return composition.get_integer_formula_and_factor()[0] if len(composition) else ""


def guessable(composition) -> bool:
    """Whether pymatgen's oxidation-state guess is affordable (`OXIDATION_GUESS_MAX_SITES`)."""
    from pymatgen.core import Composition

    return Composition(integer_formula(composition)).num_atoms <= OXIDATION_GUESS_MAX_SITES


# The rules a candidate of a user's own list must pass (`electrode-ml screen --candidates`), which
# has no parent to be judged against: each state it gives must be balanced, and some element must
# be able to change its state (from both formulas when the list gives the charged one as
# `charged_composition`; from the discharged alone otherwise: a host element whose guessed state
# has a higher common state, so that taking the ion out could oxidize it).
USER_RULES = {
    "charge_discharge_mismatch": "the charged formula is not the discharged one with working ions taken out",
    "charged_balance": "the charged formula is not charge-balanced (SMACT)",
    "discharged_balance": "the discharged formula is not charge-balanced (SMACT)",
    "redox_couple": "no element can change its oxidation state as the working ion leaves",
    "anion_limit": "its redox couple goes above the highest state its element takes with the host's anion (ICSD)",
}
CHARGED_COLUMN = "charged_composition"


def oxidizable(discharged_states: dict[str, float], ion: str) -> str:
    """Couples a discharged state could cycle through (`Fe2+/Fe3+`): each host element whose state
    has the next higher state among its common ones; "" if none."""
    couples = []
    for element, state in sorted(discharged_states.items()):
        if element == ion or state <= 0 or element in NOT_REDOX_CENTRES:  # a cation gives up electrons; anion
            continue  # redox needs the charged state to tell
        limit = state_limit(element, discharged_states)
        higher = sorted(state_ for state_ in common_states(element)
                        if state_ > state + 1e-6 and (limit is None or state_ <= limit))
        if higher:
            couples.append(f"{species_label(element, state)}/{species_label(element, higher[0])}")
    return ", ".join(couples)


def user_electrode(discharged, ion: str, charged=None) -> tuple[str, str, str]:
    """(failed rule or "", redox couple, what the redox test read or why it failed) of a user's
    candidate: parsed compositions, `charged` None when the list gives no charged formula. With the
    discharged formula only, a couple goes no higher than the host's anion allows (`state_limit`)."""
    from electrode_ml.data.electrodes import charge_discharge_mismatch

    if charged is not None and (mismatch := charge_discharge_mismatch(charged, discharged, ion)) is not None:
        return "charge_discharge_mismatch", "", mismatch
    if charged is not None and not balanced(integer_formula(charged)):
        return "charged_balance", "", "both formulas"
    if not balanced(integer_formula(discharged)):
        return "discharged_balance", "", "both formulas" if charged is not None else "the discharged formula only"
    discharged_states = dict(most_likely_oxidation_states(integer_formula(discharged), ion)) if guessable(discharged) else {}
    if charged is not None:
        charged_states = (dict(most_likely_oxidation_states(integer_formula(charged), ion, rare_states=True))
                          if guessable(charged) else {})
        couple, read = redox_couple(charged_states, discharged_states, ion), "both formulas"
        if couple and (beyond := beyond_anion_limit(charged_states, discharged_states)):
            return "anion_limit", couple, beyond
    else:
        host_metallic = not discharged_states and all(element.is_metal for element in discharged if str(element) != ion)
        couple, read = (ALLOY if host_metallic else oxidizable(discharged_states, ion)), "the discharged formula only"
    return ("" if couple else "redox_couple"), couple, read
