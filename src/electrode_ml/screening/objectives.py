"""What a battery engineer ranks candidates by: energy density, from the predicted voltage and capacity.

Gravimetric energy density (Wh/kg) = average voltage (V) x gravimetric capacity (mAh/g), since
1 V x 1 mAh/g = 1 mWh/g = 1 Wh/kg; volumetric (Wh/L) = voltage x volumetric capacity (mAh/cm3),
1 mWh/cm3 = 1 Wh/L. The Battery Explorer's own "Gravimetric Energy" and "Volumetric Energy" columns
are these products (tests/test_screening.py checks it on the data).

Bounds: each factor's interval is taken at `factor_level(level)` = 1 - (1 - level) / 2, clipped at
the factor's physical limit (a capacity is never below 0, `physical_bounds`), and the product's
interval is their product by interval arithmetic (the least and greatest of the four corner
products). Both factors lie in their intervals with probability at least 1 - 2 (1 - level)
/ 2 = `level` (Bonferroni), so the product interval covers at least `level`, whatever the
dependence between the two errors.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from electrode_ml.params import ParameterError


@dataclass(frozen=True)
class Objective:
    key: str  # `screen.objective`, and the column stem: `crabnet_grav_energy_Wh_kg`
    name: str  # in a sentence
    title: str  # for tables and figures, with its unit
    unit: str
    capacity: str  # the target multiplied by the voltage
    voltage: str = "voltage"

    @property
    def targets(self) -> tuple[str, str]:
        return self.voltage, self.capacity


OBJECTIVES = {objective.key: objective for objective in (
    Objective("grav_energy", "gravimetric energy density", "Grav. energy density (Wh/kg)", "Wh/kg", "grav_capacity"),
    Objective("vol_energy", "volumetric energy density", "Vol. energy density (Wh/L)", "Wh/L", "vol_capacity"),
)}
# The physical window a ranked candidate's predictions must lie in (`screen.voltage_window`): an
# average voltage against the metal that an electrolyte can hold (no common one survives beyond
# about 5 V; below 0.5 V the metal plates) and capacities that are not negative. The data hold
# voltages from -7.75 to 54.6 V, so the models can predict such values.
VOLTAGE_WINDOW = (0.5, 5.0)
# The highest average voltage against its metal at which an electrode of an ion can cycle
# (`screen.ion_voltage_limits`): the anodic limit of the most oxidation-resistant electrolytes
# reported for that ion, far below the 5 V of Li's carbonates for the multivalent ions. Mg: the
# boron-cluster and fluorinated-alkoxyborate salts in glymes, stable to about 4 V against Mg
# (Tutusaus et al., Angew. Chem. Int. Ed. 54, 7900, 2015; Zhao-Karger et al., J. Mater. Chem. A 5,
# 10815, 2017); Ca: Ca[B(hfip)4]2 in DME, about 4 V against Ca (Li et al., ACS Energy Lett. 4, 2019;
# Shyamsunder et al., ACS Energy Lett. 4, 2271, 2019); Zn: aqueous electrolytes, whose water
# oxidizes near 2 V against Zn, 2.5 V in water-in-salt ones (Wang et al., Nat. Mater. 17, 543,
# 2018); Al: the AlCl3-[EMIm]Cl ionic liquid, 2.45 V against Al (Lin et al., Nature 520, 325,
# 2015). An ion without a limit here has `VOLTAGE_WINDOW`'s.
ION_VOLTAGE_LIMITS = {"Mg": 4.0, "Ca": 4.0, "Zn": 2.5, "Al": 2.45}


@dataclass(frozen=True)
class VoltageWindow:
    """Where a predicted average voltage may lie (V against the working ion's metal): `low` to
    `high`, and no higher than an ion's own limit in `ion_limits` ((ion, V) pairs)."""
    low: float = VOLTAGE_WINDOW[0]
    high: float = VOLTAGE_WINDOW[1]
    ion_limits: tuple[tuple[str, float], ...] = tuple(ION_VOLTAGE_LIMITS.items())

    def highs(self, ions) -> np.ndarray:
        """The upper end of the window for each of `ions`."""
        limits = dict(self.ion_limits)
        return np.array([min(self.high, limits.get(ion, self.high)) for ion in ions], dtype=float)

    def describe(self) -> str:
        """`0.5 to 5 V (Mg 4 V, ...)`, for a report."""
        limits = ", ".join(f"{ion} {limit:g} V" for ion, limit in self.ion_limits)
        return f"{self.low:g} to {self.high:g} V" + (f"; at most {limits}" if limits else "")


def physical_bounds(target: str, bounds: np.ndarray) -> np.ndarray:
    """An (n, 2) array of interval bounds of `target`, clipped at its physical limit: a capacity's at 0."""
    from electrode_ml.data.targets import TARGET_REGISTRY

    return np.maximum(bounds, 0.0) if TARGET_REGISTRY[target].positive else bounds


def in_window(voltage, capacities, window: VoltageWindow, ions) -> np.ndarray:
    """Whether each predicted voltage lies in `window` for its working ion (`ions`, one per
    prediction) and every predicted capacity is not negative."""
    voltage = np.asarray(voltage, dtype=float)
    inside = (voltage >= window.low) & (voltage <= window.highs(ions))
    for capacity in capacities:
        inside &= np.asarray(capacity, dtype=float) >= 0
    return inside


# What a ranking reads of an objective: its point value, or the lower bound of its interval (a
# candidate that is good even at the pessimistic end of what the models allow).
RANK_ON = ("point", "lower")


def objective_entry(key: str) -> Objective:
    if key not in OBJECTIVES:
        raise ParameterError(f"unknown objective {key!r} (known: {', '.join(OBJECTIVES)})")
    return OBJECTIVES[key]


def factor_level(level: float) -> float:
    """The level of each factor's interval that gives the product interval coverage `level`."""
    return 1 - (1 - level) / 2


def product_bounds(first_lower, first_upper, second_lower, second_upper) -> tuple[np.ndarray, np.ndarray]:
    """The interval of x * y for x in [first_lower, first_upper] and y in [second_lower, second_upper]:
    the least and the greatest corner product (signs may differ: a voltage can be negative)."""
    corners = np.stack([np.asarray(a, dtype=float) * np.asarray(b, dtype=float)
                        for a in (first_lower, first_upper) for b in (second_lower, second_upper)])
    return corners.min(axis=0), corners.max(axis=0)
