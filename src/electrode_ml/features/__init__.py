"""Composition features, one small class per representation (matminer's featurizer contract).

Each class computes its table for a list of formulas, one row per formula, nothing downloaded.
`featurize_unique` applies one to the prepared data, featurizing each distinct formula once.
"""
from electrode_ml.features.representations import (
    REPRESENTATIONS,
    MagpieFeatures,
    ModnetFeatures,
    featurize_unique,
)

__all__ = ["REPRESENTATIONS", "MagpieFeatures", "ModnetFeatures", "featurize_unique"]
