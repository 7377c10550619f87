"""The electrode rules a candidate must pass (`screening.chemistry`): both states charge-balanced,
a redox couple, the same framework in both states; each failure named by its rule."""
import numpy as np
import pandas as pd
from pymatgen.core import Composition

from electrode_ml.screening.chemistry import (
    ALLOY, balanced, beyond_anion_limit, carries_charge, highest_state, most_likely_oxidation_states, redox_couple, species_label,
    user_electrode,
)
from electrode_ml.screening.generation import CandidateParams, generate_candidates
from electrode_ml.screening.objectives import VoltageWindow, in_window, physical_bounds, product_bounds
from electrode_ml.screening.screener import electrode_rules


def _known(charged: str, discharged: str, ion: str, battery_id: str = "parent") -> pd.DataFrame:
    return pd.DataFrame({"battery_id": [battery_id], "composition": [Composition(discharged).reduced_formula],
                         "working_ion": [ion], "charged_composition": [charged], "discharged_composition": [discharged]})


def _candidate(table: pd.DataFrame, change: str) -> pd.Series:
    return table.set_index("change").loc[change]


def test_lifepo4_has_the_iron_couple_and_passes_every_rule():
    assert redox_couple(dict(most_likely_oxidation_states("FePO4", "Li", rare_states=True)),
                        dict(most_likely_oxidation_states("LiFePO4", "Li")), "Li") == "Fe2+/Fe3+"
    assert user_electrode(Composition("LiFePO4"), "Li", Composition("FePO4")) == ("", "Fe2+/Fe3+", "both formulas")
    assert user_electrode(Composition("LiFePO4"), "Li") == ("", "Fe2+/Fe3+", "the discharged formula only")


def test_a_redox_dead_substitution_is_refused_by_the_redox_rule():
    """CsCoPO4 cycles Co2+/Co3+; Co2+ -> Be2+ gives CsBePO4, balanced, but Be has no 3+: no couple."""
    candidates, metrics, rejected = generate_candidates(_known("CoPO4", "CsCoPO4", "Cs"), CandidateParams(ion_swaps=False))
    dead = _candidate(rejected, "Co2+->Be2+")
    assert (dead["composition"], dead["failed_rule"], dead["redox_couple"]) == ("CsBePO4", "redox_couple", "")
    assert balanced("CsBePO4")  # the balance alone would have let it through
    assert "Co2+->Be2+" not in set(candidates["change"]) and metrics["candidates.failed.redox_couple"] >= 1
    alive = _candidate(pd.concat([candidates, rejected]), "Co2+->Fe2+")  # Fe takes 3+ too
    assert alive["redox_couple"] == "Fe2+/Fe3+"


def test_the_anion_sets_how_high_a_couple_may_go():
    """The ICSD's states per anion (SMACT's table): chromates exist, a Cr6+ fluoride does not; Fe4+
    oxides (SrFeO3) exist, Fe4+ fluorides do not; a nitride is not judged."""
    assert (highest_state("Cr", "O", -2), highest_state("Cr", "F", -1)) == (6, 5)
    assert (highest_state("Fe", "O", -2), highest_state("Fe", "F", -1)) == (4, 3)
    assert highest_state("Mn", "O", -2) == 5  # Mn6+ and Mn7+ below 1% of Mn oxides: not a redox centre
    assert highest_state("Fe", "N", -3) is None
    charged = dict(most_likely_oxidation_states("CrF6", "Li", rare_states=True))
    discharged = dict(most_likely_oxidation_states("Li3CrF6", "Li"))
    assert redox_couple(charged, discharged, "Li") == "Cr3+/Cr6+"  # balanced, with a couple: only the anion tells
    assert beyond_anion_limit(charged, discharged) == "Cr6+ above Cr5+ with F-"
    assert beyond_anion_limit(dict(most_likely_oxidation_states("FePO4", "Li", rare_states=True)),
                              dict(most_likely_oxidation_states("LiFePO4", "Li"))) == ""


def _verdict(discharged: str, charged: str, ion: str) -> tuple[str, str, str]:
    return user_electrode(Composition(discharged), ion, Composition(charged))


def test_a_cobalt4_fluoride_host_is_refused_and_real_high_valent_hosts_are_not():
    """CoF4 is no solid (Co4+ fluorides exist only as complex salts such as Cs2CoF6), though SMACT's
    table sees Co4+ in 4.8% of Co fluorides; an ion swap of a Zn electrode into it topped a screen
    as MgCoF4 at 4.9 V against Mg. The oxides' Co4+ and Ni4+ (CoO2, NiO2: charged LiCoO2, LiNiO2),
    the simple fluorides MnF4 and VF4, and Ni4+ in the spinel LiNi0.5Mn1.5O4 stay."""
    assert highest_state("Co", "F", -1) == 4  # what the ICSD share alone allows
    assert _verdict("MgCoF4", "CoF4", "Mg") == ("anion_limit", "Co2+/Co4+", "Co4+ above Co3+ with F-")
    assert _verdict("ZnNiF4", "NiF4", "Zn")[0] == "anion_limit"  # NiF4: K2NiF6 only
    assert _verdict("LiCoO2", "CoO2", "Li")[:2] == ("", "Co3+/Co4+")
    assert _verdict("LiNiO2", "NiO2", "Li")[:2] == ("", "Ni3+/Ni4+")
    assert _verdict("LiNi0.5Mn1.5O4", "Ni0.5Mn1.5O4", "Li")[:2] == ("", "Ni2+/Ni4+")
    assert _verdict("LiCrO2", "CrO2", "Li")[:2] == ("", "Cr3+/Cr4+")
    assert _verdict("LiMnF4", "MnF4", "Li")[:2] == ("", "Mn3+/Mn4+")
    assert _verdict("LiVF4", "VF4", "Li")[0] == ""
    assert _verdict("LiCoF3", "CoF3", "Li")[:2] == ("", "Co2+/Co3+")


def test_a_polyanion_framework_allows_no_higher_state_than_a_fluoride():
    """The inductive effect makes a phosphate's couples those of an ionic host: LiFePO4, LiCoPO4,
    LiNiPO4 (M2+/M3+) and VOPO4 (V5+) are real; Co4+ and Ni4+ in a phosphate (two of an earlier
    screen's top ten) and Fe4+ in a silicate are not. An oxide without a polyanion keeps its limit."""
    for discharged, charged, couple in (("LiFePO4", "FePO4", "Fe2+/Fe3+"), ("LiCoPO4", "CoPO4", "Co2+/Co3+"),
                                        ("LiNiPO4", "NiPO4", "Ni2+/Ni3+"), ("LiVOPO4", "VOPO4", "V4+/V5+"),
                                        ("Na3V2(PO4)2F3", "NaV2(PO4)2F3", "V3+/V4+"), ("LiFeSO4F", "FeSO4F", "Fe2+/Fe3+")):
        assert _verdict(discharged, charged, "Li" if discharged.startswith("Li") else "Na")[:2] == ("", couple)
    assert _verdict("Li4CoNi3(PO4)4", "CoNi3(PO4)4", "Li") == (
        "anion_limit", "Co2+/Co4+, Ni2+/Ni2.667+", "Co4+ above Co3+ with O2- (P5+ polyanion)")
    assert _verdict("Li2CoSiO4", "CoSiO4", "Li")[0] == "anion_limit"
    assert _verdict("Li2FeSiO4", "FeSiO4", "Li")[2] == "Fe4+ above Fe3+ with O2- (Si4+ polyanion)"
    assert _verdict("Li2FeO2", "FeO2", "Li")[0] == ""  # Fe4+ in an oxide: SrFeO3-like, within its limit


def test_the_ion_swaps_of_a_cobalt4_fluoride_are_refused_and_counted():
    """ZnCoF4 charged to CoF4 (a Materials Project electrode): its Mg swap is set aside, not ranked."""
    candidates, metrics, rejected = generate_candidates(_known("CoF4", "ZnCoF4", "Zn"), CandidateParams(substitutions=False),
                                                        ions=("Zn", "Mg", "Li"))
    assert candidates.empty and set(rejected["failed_rule"]) == {"anion_limit"}
    assert "MgCoF4" in set(rejected["composition"]) and metrics["candidates.known.beyond_anion_limit"] == 1
    _, _, kept_rejected = generate_candidates(_known("MnF4", "ZnMnF4", "Zn"), CandidateParams(substitutions=False),
                                              ions=("Zn", "Mg"))
    assert kept_rejected.empty  # MnF4 is a real solid (and K2MnF6 a real salt)


def test_a_guess_that_moves_phosphorus_names_no_couple():
    """pymatgen balances Li5CrFe3(PO4)4 as Cr6+ with P3+, and its charged state as Cr3+ with P5+: a
    phosphate's P is no redox centre, so no couple (it topped an earlier screen as `Cr3+/Cr6+, P4.5+/P5+`)."""
    charged = dict(most_likely_oxidation_states("CrFe3P4O16", "Li", rare_states=True))
    discharged = dict(most_likely_oxidation_states("Li5CrFe3P4O16", "Li"))
    assert charged["P"] != discharged["P"]
    assert redox_couple(charged, discharged, "Li") == ""
    assert user_electrode(Composition("Li5CrFe3(PO4)4"), "Li", Composition("CrFe3(PO4)4"))[0] == "redox_couple"
    assert carries_charge("Fe", 2, 3) and carries_charge("O", -2, -1) and not carries_charge("P", 4.5, 5)
    assert not carries_charge("Zn", 2, 3)  # beyond its common states


def test_candidates_of_a_parent_beyond_its_anion_are_refused_by_the_anion_rule():
    """Li3CrF6 charged to CrF6 (a Materials Project electrode, Cr3+/Cr6+): its ion swaps keep the
    framework and so the Cr6+ fluoride; each is set aside under `anion_limit` and counted."""
    candidates, metrics, rejected = generate_candidates(_known("CrF6", "Li3CrF6", "Li"), CandidateParams(substitutions=False),
                                                        ions=("Li", "Na", "Mg"))
    assert candidates.empty and set(rejected["failed_rule"]) == {"anion_limit"}
    assert set(rejected["change"]) == {"Li->Na", "Li->Mg"} and metrics["candidates.failed.anion_limit"] == 2
    assert metrics["candidates.known.beyond_anion_limit"] == 1
    # The same couple in an oxide is within the limit (Li3CrO4-like chromates).
    _, oxide_metrics, _ = generate_candidates(_known("CrO3", "Li6CrO6", "Li"), CandidateParams(substitutions=False),
                                              ions=("Li", "Na"))
    assert oxide_metrics["candidates.known.beyond_anion_limit"] == 0


def test_a_users_fluoride_is_refused_above_its_anions_limit():
    rule, couple, why = user_electrode(Composition("Li3CrF6"), "Li", Composition("CrF6"))
    assert (rule, couple, why) == ("anion_limit", "Cr3+/Cr6+", "Cr6+ above Cr5+ with F-")
    # Without the charged formula, the couple offered goes no higher than the anion allows: Mn4+'s
    # next common state is 7+ (permanganates), which no fluoride holds.
    assert user_electrode(Composition("Li2MnF6"), "Li") == ("redox_couple", "", "the discharged formula only")
    assert user_electrode(Composition("LiMnF4"), "Li")[:2] == ("", "Mn3+/Mn4+")
    assert user_electrode(Composition("LiCoO2"), "Li")[:2] == ("", "Co3+/Co4+")


def test_a_substitution_that_unbalances_the_charged_state_is_refused_by_its_rule():
    """V4+ -> Hf4+ in a vanadate whose charged state holds V5+: Hf5+ does not exist."""
    assert not balanced("Hf2O5") and balanced("V2O5")
    candidates, _, rejected = generate_candidates(_known("V2O5", "MgV2O5", "Mg"), CandidateParams(ion_swaps=False))
    hafnium = _candidate(rejected, "V4+->Hf4+")
    assert hafnium["failed_rule"] == "charged_balance" and hafnium["charged_composition"] == "Hf2O5"


def test_an_unbalanced_charged_state_of_a_users_candidate_is_refused_by_name():
    rule, couple, _ = user_electrode(Composition("LiFePO4"), "Li", Composition("Fe2PO4"))
    assert rule == "charge_discharge_mismatch"
    assert user_electrode(Composition("Li2FeO2"), "Li", Composition("FeO2"))[0] == ""
    assert user_electrode(Composition("NaCsBeO2"), "Na", Composition("CsBeO2"))[0] == "charged_balance"


def test_an_ion_swap_never_moves_a_framework_cation_and_a_list_that_does_is_refused():
    """Na2Mn3O6 charged to NaMn3O6: the framework holds Na. Swapping to Al moves the inserted Na only,
    never the framework's (the old rule gave Mn6Al14O27-like formulas with no Na left)."""
    candidates, _, rejected = generate_candidates(_known("NaMn3O6", "Na2Mn3O6", "Na"), CandidateParams(substitutions=False),
                                                    ions=("Na", "Al"))
    swap = _candidate(pd.concat([candidates, rejected]), "Na->Al")
    assert Composition(swap["discharged_composition"])["Na"] > 0
    assert Composition(swap["charged_composition"]).reduced_composition == Composition("NaMn3O6")
    # A user's pair whose charged state lost the framework's Na as well: refused by name.
    table = pd.DataFrame({"row": [1, 2], "composition": ["Na3AlMn9O18", "LiFePO4"], "working_ion": ["Al", "Li"],
                          "charged_composition": ["Mn9O18", "FePO4"]})
    kept, refused = electrode_rules(table)
    assert refused["row"].tolist() == [1] and refused["reason"].tolist() == ["charge_discharge_mismatch"]
    assert kept["row"].tolist() == [2] and kept["redox_couple"].tolist() == ["Fe2+/Fe3+"]


def test_a_metallic_host_alloys_and_an_inert_host_has_no_couple():
    assert user_electrode(Composition("Al2Cu"), "Al", Composition("Cu"))[1] == ALLOY
    rule, couple, read = user_electrode(Composition("LiScO2"), "Li")  # Sc3+ has nowhere to go
    assert (rule, couple, read) == ("redox_couple", "", "the discharged formula only")


def test_species_labels():
    assert [species_label("Fe", 2), species_label("Mn", 3.5), species_label("O", -2), species_label("Li", 1),
            species_label("Sb", 0)] == ["Fe2+", "Mn3.5+", "O2-", "Li+", "Sb0"]


def test_a_voltage_outside_the_window_or_a_negative_capacity_is_out():
    inside = in_window([9.85, 3.4, 0.2, 3.0], [[120, 150, 100, -5.0]], VoltageWindow(0.5, 5.0, ()), ["Li"] * 4)
    assert inside.tolist() == [False, True, False, False]


def test_a_voltage_beyond_what_the_ions_electrolytes_hold_is_out():
    """4.7 V holds for Li (carbonates to about 5 V), not for Mg (its best electrolytes about 4 V) nor
    for Zn (aqueous: water oxidizes near 2 V against Zn); an ion without a limit has the window's."""
    window = VoltageWindow()
    ions = ["Li", "Mg", "Mg", "Zn", "Zn", "Na", "Al"]
    voltages = [4.7, 4.7, 3.2, 2.9, 1.6, 4.9, 2.0]
    assert in_window(voltages, [[100.0] * 7], window, ions).tolist() == [True, False, True, False, True, True, True]
    assert window.highs(["K"]).tolist() == [5.0]
    assert "Mg 4 V" in window.describe()


def test_energy_bounds_are_the_corner_extremes_of_the_clipped_factor_bounds():
    rng = np.random.default_rng(0)
    voltage = np.sort(rng.uniform(-2, 6, size=(200, 2)), axis=1)
    capacity = np.sort(rng.uniform(-300, 400, size=(200, 2)), axis=1)
    clipped = physical_bounds("grav_capacity", capacity)
    assert (clipped >= 0).all() and np.array_equal(physical_bounds("voltage", voltage), voltage)
    lower, upper = product_bounds(voltage[:, 0], voltage[:, 1], clipped[:, 0], clipped[:, 1])
    corners = np.stack([voltage[:, i] * clipped[:, j] for i in (0, 1) for j in (0, 1)])
    np.testing.assert_array_equal(lower, corners.min(axis=0))
    np.testing.assert_array_equal(upper, corners.max(axis=0))
    # unclipped, a negative capacity bound would have given another (wrong) interval
    raw_lower, _ = product_bounds(voltage[:, 0], voltage[:, 1], capacity[:, 0], capacity[:, 1])
    assert (raw_lower != lower).any()


def test_the_balance_test_is_smacts_own_with_the_element_cache():
    """`balanced` hands smact_validity elements built once (a speed-up); its answers must be smact's own."""
    import smact.screening
    from smact.screening import smact_validity

    from electrode_ml.screening import chemistry

    formulas = ["LiFePO4", "FePO4", "Hf2O5", "V2O5", "CsBePO4", "Li3CrF6", "NaCsBeO2", "Cu2Sb", "LiMn2O4", "KFeF3"]
    own = [smact_validity(formula, use_pauling_test=True, include_alloys=True,
                          oxidation_states_set=chemistry.OXIDATION_STATES_SET) for formula in formulas]
    chemistry.balanced.cache_clear()
    assert [chemistry.balanced(formula) for formula in formulas] == own
    assert any(own) and not all(own)
    assert smact.screening.element_dictionary is not chemistry._element_dictionary  # put back after each call
