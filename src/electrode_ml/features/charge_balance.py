"""An exact, fast drop-in for matminer's `IonProperty`: whether a neutral ionic compound is possible.

matminer answers with pymatgen's `Composition.oxi_state_guesses`, which lists, for every element,
every multiset of oxidation states over its sites (`combinations_with_replacement`), scores each,
then tries every product of the elements' sums. Its answer is only whether that list is empty:
whether some choice of one sum per element adds up to zero. For Na17(Mo15S19)4 (76 S sites,
60 Mo sites) the enumeration took 154 s, more than all other 3,172 formulas of the data set
together; the featurize stage waited on it alone.

The same question is answered here by counting the reachable sums instead of listing the
multisets: per element, the sums of `n` states drawn with replacement from its list; then the
sums over elements. Integer arithmetic throughout, over the same states pymatgen would read, so
the answer is the library's, exactly; the other two features (ionic character) are matminer's own
code, untouched.
"""
from __future__ import annotations

from matminer.featurizers.composition import IonProperty
from matminer.featurizers.utils.oxidation import has_oxidation_states
from pymatgen.core import Composition, Element


def reachable_sums(states: list[int], sites: int) -> set[int]:
    """Every total of `sites` oxidation states drawn with replacement from `states`."""
    sums = {0}
    for _ in range(sites):
        sums = {total + state for total in sums for state in states}
    return sums


def charge_balance_possible(amounts: dict[str, int], states: dict[str, list[int]], target_charge: int = 0) -> bool:
    """Whether one total per element (`reachable_sums` of its states over its sites) adds up to
    `target_charge`: pymatgen's `oxi_state_guesses` is non-empty exactly then."""
    totals = {0}
    for element, sites in amounts.items():
        totals = {total + element_sum for total in totals for element_sum in reachable_sums(states[element], sites)}
    return target_charge in totals


class _CountedComposition(Composition):
    """A composition whose `oxi_state_guesses`, as `IonProperty` calls it, only says whether a
    guess exists (a one-item list, or an empty one)."""

    def oxi_state_guesses(self, oxi_states_override=None, target_charge=0, all_oxi_states=False, max_sites=None):
        if all_oxi_states or max_sites is not None:  # not as IonProperty calls it: the library's answer
            return super().oxi_state_guesses(oxi_states_override, target_charge, all_oxi_states, max_sites)
        if len(self.elements) == 1:
            return ({self.elements[0].symbol: 0.0},)
        override = oxi_states_override or {}
        amounts = {element: int(amount) for element, amount in self.get_el_amt_dict().items()}
        # pymatgen's fallback when an element has no states given: its ICSD states, else all of them.
        states = {element: list(override.get(element) or Element(element).icsd_oxidation_states
                                or Element(element).oxidation_states) for element in amounts}
        return [{}] if charge_balance_possible(amounts, states, int(target_charge)) else []


class FastIonProperty(IonProperty):
    """matminer's `IonProperty` with the charge-balance question answered by `charge_balance_possible`.

    Compositions the counting does not cover (oxidation states given, non-integer amounts, which
    pymatgen refuses, or `fast=True`, which never enumerates) take the library's path."""

    def featurize(self, comp):
        integer_amounts = all(float(amount).is_integer() for amount in comp.get_el_amt_dict().values())
        if not self.fast and integer_amounts and not has_oxidation_states(comp):
            comp = _CountedComposition(comp)
        return super().featurize(comp)
