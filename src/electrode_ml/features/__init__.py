"""Composition features, one small class per representation, as matminer organizes its featurizers.

- `features.representations`: `MagpieFeatures`, `ModnetFeatures` (each wraps matminer featurizers;
  its unit is a table, not a row: `name`, `feature_labels()` and `featurize(formulas)`, one row per
  formula with the library's column names, nothing downloaded), `REPRESENTATIONS` and
  `featurize_unique`, which featurizes each distinct formula of the prepared data once.
- `features.packing`: matminer's atomic packing efficiency, computed exactly and fast.
- `features.magpie_table`: matminer's Magpie features for many formulas at once, bit for bit
  (vectorized over an element table), for screening.

May import: `errors`, `data`.
"""
