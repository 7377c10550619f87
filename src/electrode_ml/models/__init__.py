"""The four models behind one scikit-learn estimator interface.

Every model takes the same `X`: the model-input table (`electrode_ml.inputs.load_model_inputs`), one
row per electrode with its `composition` and the Magpie (`magpie|...`) and MODNet (`modnet|...`)
features; each model reads the columns it needs. So cross-validation, bootstrap and training
code treat all four alike. Classes are imported on demand: the crabnet path must run where
TensorFlow, modnet and matminer are not installed (the GPU machine lent through the device tool;
the Docker image has the whole stack).
"""
from __future__ import annotations

import importlib

MODEL_CLASSES = {
    "control": "electrode_ml.models.control:Control",
    "rf_magpie": "electrode_ml.models.rf_magpie:RandomForestMagpie",
    "modnet": "electrode_ml.models.modnet:MODNetRegressor",
    "crabnet": "electrode_ml.models.crabnet:CrabNetRegressor",
}
# The names the paper's table uses.
DISPLAY_NAMES = {"modnet": "MODNet", "crabnet": "CrabNet", "rf_magpie": "RF@Magpie", "control": "Control"}


def model_class(name: str) -> type:
    if name not in MODEL_CLASSES:
        raise ValueError(f"unknown model {name!r} (known: {', '.join(MODEL_CLASSES)})")
    module, attribute = MODEL_CLASSES[name].split(":")
    return getattr(importlib.import_module(module), attribute)


def make_model(name: str, **hyperparameters):
    """A fresh, unfitted model; unknown hyperparameters are refused by name."""
    cls = model_class(name)
    known = cls().get_params()
    unknown = sorted(set(hyperparameters) - set(known))
    if unknown:
        raise ValueError(f"models.{name}: unknown hyperparameter(s) {unknown} (known: {sorted(known)})")
    return cls(**hyperparameters)
