"""MODNet (De Breuck et al.) on the MODNet composition features, with NMI feature selection.

The feature ranking (relevance to the target by normalized mutual information, redundancy by the
features' cross NMI) is fitted inside `fit`, on the training rows only. The cross NMI between
features holds no target: by default we take the one MODNet ships (computed on the Materials
Project, `modnet/data/Features_cross`, the library's `use_precomputed_cross_nmi` path, read
locally because modnet would download it); `cross_nmi="fold"` computes it on the training rows
instead (about 110 s per fit on 2 cores).
"""
from __future__ import annotations

import copy
import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from electrode_ml.models.modnet.selection import vectorized_ranking
from electrode_ml.models.registry import FittedInputs
from electrode_ml.params import ParameterError

MODNET_PREFIX = "modnet|"
CROSS_NMI_CHOICES = ("precomputed", "fold")
TARGET = "target"


@lru_cache(maxsize=1)
def shipped_cross_nmi() -> pd.DataFrame:
    import modnet

    return pd.read_pickle(Path(modnet.__file__).parent / "data" / "Features_cross")


@dataclass(frozen=True)
class KerasNetwork:
    """A Keras model as its architecture (JSON) and weights (numpy arrays): what predicting needs,
    in a form that pickles to the same bytes whenever the same model is saved."""

    architecture: str
    weights: tuple

    @classmethod
    def of(cls, model) -> KerasNetwork:
        return cls(model.to_json(), tuple(model.get_weights()))

    def rebuild(self):
        from tensorflow import keras

        model = keras.models.model_from_json(self.architecture)
        model.set_weights(list(self.weights))
        return model


class MODNetRegressor(RegressorMixin, BaseEstimator):
    """`modnet.models.MODNetModel` behind fit/predict. Defaults are the library's (64 selected
    features, layers 64-32-16-16, 200 epochs, batch 128, learning rate 1e-3, `loss=None`: mean
    squared error); params.yaml sets `n_feat` and `loss` (docs/reproducing.md "Models")."""

    def __init__(self, n_feat: int = 64, num_neurons=((64,), (32,), (16,), (16,)), epochs: int = 200,
                 batch_size: int = 128, lr: float = 0.001, loss: str | None = None, cross_nmi: str = "precomputed",
                 n_jobs: int = 1, random_state: int = 1):
        self.n_feat = n_feat
        self.num_neurons = num_neurons
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.loss = loss
        self.cross_nmi = cross_nmi
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _moddata(self, X: pd.DataFrame, y=None):
        from modnet.preprocessing import MODData

        features = X[self.input_columns_].set_axis(self.input_names_, axis=1)
        # Positional ids: a bootstrap sample repeats battery ids, MODData wants them unique.
        features = features.set_axis([f"row{i}" for i in range(len(features))], axis=0)
        targets = None if y is None else np.asarray(y, dtype=float).reshape(-1, 1)
        return MODData(df_featurized=features, targets=targets, target_names=None if y is None else [TARGET])

    def fit(self, X: pd.DataFrame, y):
        if self.cross_nmi not in CROSS_NMI_CHOICES:
            raise ParameterError(f"MODNetRegressor.cross_nmi must be one of {CROSS_NMI_CHOICES}, got {self.cross_nmi!r}")
        if not self.random_state:
            raise ParameterError("MODNetRegressor.random_state must be non-zero: modnet treats 0 as 'no seed'")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        os.environ["TF_DETERMINISTIC_OPS"] = "1"
        import tensorflow as tf
        from modnet.models import MODNetModel

        logging.getLogger("modnet").setLevel(logging.WARNING)
        tf.keras.utils.disable_interactive_logging()  # no Keras progress bars in the stage logs
        tf.get_logger().setLevel(logging.ERROR)  # nor retracing warnings, one per fold
        # Keras numbers layers process-wide: a second fit in the same process (a worker kept for a
        # whole run) would name its layers dense_4... and save other bytes than a first fit.
        tf.keras.backend.clear_session()
        tf.keras.utils.set_random_seed(self.random_state)
        tf.config.experimental.enable_op_determinism()

        columns = [column for column in X.columns if column.startswith(MODNET_PREFIX)]
        if not columns:
            raise ParameterError("MODNetRegressor needs the MODNet columns ('modnet|...') in X")
        names = [column[len(MODNET_PREFIX):] for column in columns]
        cross_nmi = None
        if self.cross_nmi == "precomputed":
            cross_nmi = shipped_cross_nmi()
            keep = [i for i, name in enumerate(names) if name in cross_nmi.columns]
            columns, names = [columns[i] for i in keep], [names[i] for i in keep]
        # Constant or all-NaN columns carry no information and break the NMI estimates.
        usable = X[columns].notna().any() & (X[columns].nunique() > 1)
        self.input_columns_ = [column for column, ok in zip(columns, usable) if ok]
        self.input_names_ = [name for name, ok in zip(names, usable) if ok]

        data = self._moddata(X, y)
        if cross_nmi is not None:
            cross_nmi = cross_nmi.loc[self.input_names_, self.input_names_]
        with vectorized_ranking():
            data.feature_selection(n=-1, cross_nmi=cross_nmi, n_jobs=self.n_jobs, random_state=self.random_state)
        if self.n_feat > len(data.optimal_features):
            raise ParameterError(f"MODNetRegressor.n_feat = {self.n_feat}, but only {len(data.optimal_features)} "
                                 "features are usable here (non-constant, known to the cross NMI)")
        self.selected_features_ = list(data.optimal_features[: self.n_feat])

        self.model_ = MODNetModel(
            [[[TARGET]]], {TARGET: 1}, num_neurons=[list(layer) for layer in self.num_neurons],
            n_feat=len(self.selected_features_),
        )
        data.optimal_features = self.selected_features_
        self.model_.fit(data, epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, loss=self.loss, verbose=0)
        return self

    def fitted_inputs(self) -> FittedInputs:
        """What the fitted model reads per electrode (the report's input-size table): the MODNet
        features usable here (non-constant, known to the cross NMI) and the ones NMI selection kept."""
        check_is_fitted(self, "model_")
        return FittedInputs("MODNet composition features, NMI-selected", offered=len(self.input_columns_),
                            used=len(self.selected_features_), unit="features")

    def __getstate__(self):
        """The Keras network inside the fitted `MODNetModel` is saved as its JSON architecture and
        weight arrays: Keras pickles a model as a zip file holding the time it was saved, so the same
        model would pickle to other bytes at every save."""
        state = dict(super().__getstate__())  # a copy: for this class it is the live __dict__
        if "model_" in state:
            state["model_"] = copy.copy(state["model_"])
            state["model_"].model = KerasNetwork.of(state["model_"].model)
        return state

    def __setstate__(self, state):
        if isinstance(getattr(state.get("model_"), "model", None), KerasNetwork):
            state["model_"] = copy.copy(state["model_"])
            state["model_"].model = state["model_"].model.rebuild()
        super().__setstate__(state)

    def predict(self, X: pd.DataFrame):
        check_is_fitted(self, "model_")
        predictions = self.model_.predict(self._moddata(X))
        return predictions[TARGET].to_numpy(dtype=float)
