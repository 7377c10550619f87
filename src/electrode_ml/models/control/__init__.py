from __future__ import annotations

from sklearn.dummy import DummyRegressor
from sklearn.utils.validation import check_is_fitted


class Control(DummyRegressor):
    """The paper's control baseline: scikit-learn's `DummyRegressor`, predicting the mean target of
    the training data (its default strategy). A subclass only to say which input sets it reads:
    none. It has no randomness, so `make_model` gives it no seed."""

    input_sets = ()  # feature sets it reads from the model-input table

    def fitted_inputs(self) -> dict:
        """What the fitted model reads per electrode (the report's input-size table)."""
        check_is_fitted(self, "constant_")
        return {"input": "none (the training targets' mean)", "offered": 0, "used": 0, "unit": "features"}
