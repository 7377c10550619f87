"""The properties the models predict: one registry, each target's every fact in one place.

A new target is one `Target(...)` line here and its key in params.yaml's `targets:`.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    """One property the models predict: every fact about it, in one place."""

    key: str  # cell and metric names: `cv@crabnet-voltage-loco`, `crabnet.voltage.loco.smae`
    column: str  # the prepared table's column, unit in the name
    raw_column: str  # the Battery Explorer's title
    title: str  # for tables and figures, with its unit
    unit: str
    published_name: str  # the published table's name (reference/published_table.csv)
    mae_digits: int  # decimals of an MAE in the tables (SMAE and R2 always 3)
    positive: bool  # must be > 0 (a capacity cannot be zero or negative)
    plausible: tuple[float, float]  # default closed range of plausible values (prepare.plausible_ranges)


# Plausible ranges: Li metal, the densest practical anode, holds 3,860 mAh/g and 2,062 mAh/cm3,
# so 5,000 and 10,000 leave room without admitting typos. Voltage: the Materials Project itself
# holds averages from -7.75 V to 54.6 V (8 electrodes above 10 V, which no electrolyte could
# sustain); the range admits its data and refuses what cannot be a voltage at all.
TARGET_REGISTRY = {target.key: target for target in (
    Target("grav_capacity", "capacity_grav_mAh_g", "Gravimetric Capacity", "Grav. capacity (mAh/g)", "mAh/g",
           "gravimetric_capacity", 1, True, (0.0, 5000.0)),
    Target("vol_capacity", "capacity_vol_mAh_cm3", "Volumetric Capacity", "Vol. capacity (mAh/cm3)", "mAh/cm3",
           "volumetric_capacity", 1, True, (0.0, 10000.0)),
    Target("voltage", "voltage_avg_V", "Average Voltage", "Voltage (V)", "V", "average_voltage", 3, False,
           (-60.0, 60.0)),
)}
# Views of the registry that the code reads most.
TARGETS = {target.column: target.raw_column for target in TARGET_REGISTRY.values()}  # prepared column -> raw title
TARGET_KEYS = {target.key: target.column for target in TARGET_REGISTRY.values()}  # key -> prepared column
PLAUSIBLE_RANGES = {target.key: target.plausible for target in TARGET_REGISTRY.values()}
TARGET_BY_COLUMN = {target.column: target for target in TARGET_REGISTRY.values()}
