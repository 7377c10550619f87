"""The model registry: every model's key, estimator class, display name and the inputs it reads.

A new model is one `register(...)` line here, its package `models/<key>/` and its params block
(docs/pipeline.md "Adding a model or a target"). Classes are imported on demand: the crabnet path must run
where TensorFlow, modnet and matminer are not installed (a CUDA machine with only torch; the
Docker image has the whole stack).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass

from electrode_ml.models.input_tables import FEATURE_SETS
from electrode_ml.params import ParameterError


@dataclass(frozen=True)
class Model:
    """One registered model.

    `key` names its DVC cells, its params block (`profiles.<profile>.<key>`) and its package
    (`electrode_ml/models/<key>/`: dvc.yaml depends on that folder by this name). `estimator` is
    the class, or "module:Class" imported on demand. `display_name` is also the model's name in
    the published table. `input_sets` are the feature sets it reads (`()`: the composition alone).
    """

    key: str
    estimator: str | type
    display_name: str
    input_sets: tuple[str, ...]


@dataclass(frozen=True)
class FittedInputs:
    """What a fitted model reads per electrode (`fitted_inputs()`; the report's input-size table)."""

    input: str  # in words: "Magpie element-property statistics"
    offered: int  # how many it was given
    used: int  # how many the fitted model uses (split on, selected)
    unit: str  # "features", "elements"


# The registry: `register` is the one way in; DISPLAY_NAMES is its view for tables and figures.
MODELS: dict[str, Model] = {}
DISPLAY_NAMES: dict[str, str] = {}


def register(key: str, estimator: str | type, display_name: str, input_sets: tuple[str, ...]) -> None:
    if key in MODELS:
        raise ParameterError(f"model {key!r} is registered already")
    unknown = sorted(set(input_sets) - set(FEATURE_SETS))
    if unknown:
        raise ParameterError(f"model {key!r}: unknown input set(s) {unknown} (known: {', '.join(FEATURE_SETS)})")
    MODELS[key] = Model(key, estimator, display_name, tuple(input_sets))
    DISPLAY_NAMES[key] = display_name


register("control", "electrode_ml.models.control:Control", "Control", input_sets=())
register("rf_magpie", "electrode_ml.models.rf_magpie:RandomForestMagpie", "RF@Magpie", input_sets=("magpie",))
register("modnet", "electrode_ml.models.modnet:MODNetRegressor", "MODNet", input_sets=("modnet",))
register("crabnet", "electrode_ml.models.crabnet:CrabNetRegressor", "CrabNet", input_sets=())


def model_entry(name: str) -> Model:
    if name not in MODELS:
        raise ParameterError(f"unknown model {name!r} (known: {', '.join(MODELS)})")
    return MODELS[name]


def model_class(name: str) -> type:
    estimator = model_entry(name).estimator
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
