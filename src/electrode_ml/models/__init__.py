"""The models behind one scikit-learn estimator interface, their registry, and what each reads.

Every model takes an `X` of the same shape: its model-input table, one row per electrode with its
`composition`, `working_ion`, `group` and the feature sets the registry says it reads, prefixed
(`magpie|...`, `modnet|...`); never a target. So cross-validation, bootstrap and training code
treat all models alike.

- `models.registry`: `MODELS`, `DISPLAY_NAMES`, `register`, `make_model`, `FittedInputs`.
- `models.input_tables`: each model's input folder (`FEATURE_SETS`, `write_model_inputs`,
  `load_model_inputs`, `load_targets`).
- `models.<key>`: one package per model, its estimator in the package's `__init__` (the class's
  import path is part of every saved model, so it stays where it is): `control`, `rf_magpie`,
  `modnet`, `crabnet` (with `crabnet.batched`, K CrabNets trained together on a GPU).

May import: `errors`, `files`, `paths`, `params`, `provenance`, `data`.
"""
