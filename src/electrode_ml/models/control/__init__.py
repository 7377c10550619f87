from __future__ import annotations

from sklearn.dummy import DummyRegressor
from sklearn.utils.validation import check_is_fitted

from electrode_ml.models.registry import FittedInputs


class Control(DummyRegressor):
    """The paper's control baseline: scikit-learn's `DummyRegressor`, predicting the mean target of
    the training data (its default strategy). A subclass only to say what it reads (nothing, see
    `fitted_inputs`). It has no randomness, so `make_model` gives it no seed."""

    fits_in_process = True  # a mean: cheaper than sending it to a worker process (evaluation.validation)

    def fitted_inputs(self) -> FittedInputs:
        """What the fitted model reads per electrode (the report's input-size table)."""
        check_is_fitted(self, "constant_")
        return FittedInputs("none (the training targets' mean)", offered=0, used=0, unit="features")
