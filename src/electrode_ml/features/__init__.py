"""Composition features, one small class per representation, as matminer organizes its featurizers.

Each class wraps matminer featurizers (it is not one itself: its unit is a table, not a row):
`name`, `feature_labels()` and `featurize(formulas)`, a table with one row per formula and the
library's column names, nothing downloaded.
`featurize_unique` applies one to the prepared data, featurizing each distinct formula once.
"""
from electrode_ml.features.representations import (
    REPRESENTATIONS,
    MagpieFeatures,
    ModnetFeatures,
    featurize_unique,
)

__all__ = ["REPRESENTATIONS", "MagpieFeatures", "ModnetFeatures", "featurize_unique"]
