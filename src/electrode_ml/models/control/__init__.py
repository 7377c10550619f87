from __future__ import annotations

from sklearn.dummy import DummyRegressor


class Control(DummyRegressor):
    """The paper's control baseline: scikit-learn's `DummyRegressor`, predicting the mean target of
    the training data (its default strategy). A subclass only to say which input sets it reads:
    none. It has no randomness, so `make_model` gives it no seed."""

    input_sets = ()  # feature sets it reads from the model-input table
