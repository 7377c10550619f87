"""The four models behind one scikit-learn estimator interface.

Every model takes the same `X`: the model-input table (`electrode_ml.inputs.load_model_inputs`), one
row per electrode with its `composition` and the Magpie (`magpie|...`) and MODNet (`modnet|...`)
features; each model reads the columns it needs. So cross-validation, bootstrap and training
code treat all four alike. Classes are imported on demand: the crabnet path must run where
TensorFlow, modnet and matminer are not installed (a CUDA machine with only torch; the Docker
image has the whole stack).
"""
from __future__ import annotations

import importlib

from electrode_ml.params import ParameterError

# The registry: key -> estimator class (or "module:Class", imported on demand) and display name.
# The display name is also the model's name in the published table. `register` is the one way
# in; these two dicts are its views.
MODEL_CLASSES: dict[str, str | type] = {}
DISPLAY_NAMES: dict[str, str] = {}


def register(key: str, estimator: str | type, display_name: str) -> None:
    """Add a model: `key` names its DVC cells and params block (`profiles.<profile>.<key>`), and its
    module is `electrode_ml/models/<key>.py` (dvc.yaml depends on that file by this name)."""
    if key in MODEL_CLASSES:
        raise ParameterError(f"model {key!r} is registered already")
    MODEL_CLASSES[key] = estimator
    DISPLAY_NAMES[key] = display_name


register("control", "electrode_ml.models.control:Control", "Control")
register("rf_magpie", "electrode_ml.models.rf_magpie:RandomForestMagpie", "RF@Magpie")
register("modnet", "electrode_ml.models.modnet:MODNetRegressor", "MODNet")
register("crabnet", "electrode_ml.models.crabnet:CrabNetRegressor", "CrabNet")


def model_class(name: str) -> type:
    if name not in MODEL_CLASSES:
        raise ParameterError(f"unknown model {name!r} (known: {', '.join(MODEL_CLASSES)})")
    estimator = MODEL_CLASSES[name]
    if isinstance(estimator, type):
        return estimator
    module, attribute = estimator.split(":")
    return getattr(importlib.import_module(module), attribute)


def make_model(name: str, **hyperparameters):
    """A fresh, unfitted model; unknown hyperparameters are refused by name."""
    cls = model_class(name)
    known = cls._get_param_names()
    if "random_state" not in known:
        # params.model_hyperparameters adds the global seed for every model; one without
        # randomness has nothing to seed.
        hyperparameters.pop("random_state", None)
    unknown = sorted(set(hyperparameters) - set(known))
    if unknown:
        raise ParameterError(f"models.{name}: unknown hyperparameter(s) {unknown} (known: {sorted(known)})")
    return cls(**hyperparameters)
