from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin


class Control(RegressorMixin, BaseEstimator):
    """The paper's control baseline: predicts the mean target of the training data."""

    input_sets = ()  # feature sets it reads from the model-input table

    def __init__(self, random_state: int = 0):
        self.random_state = random_state  # unused; every model takes one

    def fit(self, X, y):
        self.mean_ = float(np.mean(np.asarray(y, dtype=float)))
        return self

    def predict(self, X):
        return np.full(len(X), self.mean_)
