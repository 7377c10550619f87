"""The data set: what a row of the Battery Explorer table is, and what the models predict.

- `data.electrodes`: the raw columns, the loader, the checks every row must pass, and
  `prepare_electrodes` (the prepared table and the rejected rows with their reasons).
- `data.targets`: the target registry (`TARGET_REGISTRY` and its views `TARGETS`, `TARGET_KEYS`,
  `TARGET_BY_COLUMN`, `PLAUSIBLE_RANGES`).

May import: `errors`.
"""
