from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted


class Control(RegressorMixin, BaseEstimator):
    """The paper's control baseline: predicts the mean target of the training data."""

    input_sets = ()  # feature sets it reads from the model-input table

    def __init__(self, random_state: int = 0):
        self.random_state = random_state  # unused; every model takes one

    def fit(self, X, y):
        self.mean_ = float(np.mean(np.asarray(y, dtype=float)))
        return self

    def predict(self, X):
        check_is_fitted(self, "mean_")
        return np.full(len(X), self.mean_)
