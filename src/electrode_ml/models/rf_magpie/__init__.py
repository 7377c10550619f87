from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.ensemble import RandomForestRegressor
from sklearn.utils.validation import check_is_fitted

from electrode_ml.models.registry import FittedInputs
from electrode_ml.params import ParameterError

MAGPIE_PREFIX = "magpie|"


class RandomForestMagpie(RegressorMixin, BaseEstimator):
    """scikit-learn's random forest, with its defaults, on the 132 Magpie features.

    NaN features (elements without Magpie data) are handled by the forest itself (sklearn >= 1.4).
    """

    def __init__(self, n_estimators: int = 100, n_jobs: int = 1, random_state: int = 0):
        self.n_estimators = n_estimators
        self.n_jobs = n_jobs
        self.random_state = random_state

    def fit(self, X, y):
        self.features_ = [column for column in X.columns if column.startswith(MAGPIE_PREFIX)]
        if not self.features_:
            raise ParameterError("RandomForestMagpie needs the Magpie columns ('magpie|...') in X")
        self.forest_ = RandomForestRegressor(n_estimators=self.n_estimators, n_jobs=self.n_jobs,
                                             random_state=self.random_state)
        self.forest_.fit(X[self.features_].to_numpy(dtype=float), np.asarray(y, dtype=float))
        return self

    def fitted_inputs(self) -> FittedInputs:
        """What the fitted model reads per electrode (the report's input-size table): the Magpie
        features offered, and those that at least one tree splits on."""
        check_is_fitted(self, "forest_")
        return FittedInputs("Magpie element-property statistics", offered=len(self.features_),
                            used=int((self.forest_.feature_importances_ > 0).sum()), unit="features")

    def predict(self, X):
        # One job: with several, scikit-learn adds the trees' predictions in whatever order the
        # threads finish, and the sums differ in the last bits from run to run.
        check_is_fitted(self, "forest_")
        self.forest_.set_params(n_jobs=1)
        return self.forest_.predict(X[self.features_].to_numpy(dtype=float))
