"""How far to trust a prediction: conformal intervals with measured coverage, and a novelty score.

Intervals are crepes' conformal regressors on out-of-fold residuals: plain (one width for every
electrode) or normalized by a per-electrode difficulty (`DIFFICULTIES`), measured among the k
nearest electrodes in the standardized Magpie features. For each fold of a scheme, the calibration
residuals are the out-of-fold residuals of the other folds' electrodes, and the difficulty of a
calibration electrode is measured as that of a held-out one is, from neighbours outside its own
fold: under LOCO a held-out cluster's electrodes have only other clusters as neighbours, and so do
the electrodes its intervals are calibrated on. No interval rests on its own electrode or fold. Where a new composition lies among the training
electrodes is `evaluation.novelty`'s.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from electrode_ml.evaluation.novelty import Domain
from electrode_ml.params import ParameterError, parameters

# The difficulty of an electrode, from its k nearest neighbours outside its fold: their mean
# distance, or the mean absolute out-of-fold residual of the models on them.
DIFFICULTIES = ("distance", "residual")
INTERVALS = ("plain", *DIFFICULTIES)
# Added to every difficulty, as a share of the calibration electrodes' mean: a composition equal to
# a training one (distance 0) still gets an interval.
DIFFICULTY_FLOOR = 0.01


@parameters
class TrustParams:
    level: float = 0.9  # the intervals' nominal coverage
    neighbours: int = 25  # k of the k-nearest-neighbour difficulty
    difficulty: str = "residual"  # what normalizes the intervals `predict` gives (docs/trust.md "How far to trust a prediction")
    novelty_neighbours: int = 5  # training electrodes of the same ion the novelty averages over
    domain_quantile: float = 0.95  # in domain: novelty within this quantile of the stratified CV's

    def __post_init__(self):
        if not 0 < self.level < 1 or not 0 < self.domain_quantile <= 1:
            raise ParameterError(f"trust.level and trust.domain_quantile must lie in (0, 1), "
                                 f"got {self.level} and {self.domain_quantile}")
        if self.neighbours < 1 or self.novelty_neighbours < 1:
            raise ParameterError(f"trust.neighbours and trust.novelty_neighbours must be at least 1, "
                                 f"got {self.neighbours} and {self.novelty_neighbours}")
        if self.difficulty not in DIFFICULTIES:
            raise ParameterError(f"trust.difficulty must be one of {', '.join(DIFFICULTIES)}, got {self.difficulty!r}")


def conformal_regressor(residuals: np.ndarray, sigmas: np.ndarray | None = None):
    """crepes' `ConformalRegressor` on calibration residuals (normalized when `sigmas` are given)."""
    from crepes import ConformalRegressor

    return ConformalRegressor().fit(residuals, sigmas=sigmas)


def nearest_neighbours(distances: np.ndarray, neighbours: int) -> np.ndarray:
    """Per row of `distances`, the columns of its `neighbours` nearest (in no particular order)."""
    return np.argpartition(distances, neighbours - 1, axis=1)[:, :neighbours]


@dataclass(frozen=True)
class Neighbours:
    """Each electrode's k nearest among some candidates: their positions among the candidates, and
    their mean distance (the `distance` difficulty, which no model's residuals change)."""
    nearest: np.ndarray
    distance: np.ndarray

    @classmethod
    def among(cls, distances: np.ndarray, neighbours: int, nearest: np.ndarray | None = None) -> "Neighbours":
        """Per row of `distances` (columns: the candidates, inf where one may not be a neighbour);
        `nearest`: `nearest_neighbours(distances, neighbours)`, where the caller has them already."""
        nearest = nearest_neighbours(distances, neighbours) if nearest is None else nearest
        return cls(nearest, np.take_along_axis(distances, nearest, axis=1).mean(axis=1))

    @classmethod
    def outside_own_fold(cls, distances: np.ndarray, folds: np.ndarray, neighbours: int) -> "Neighbours":
        """Among electrodes (`distances` among them, square), each one's from outside its own fold,
        as a held-out electrode's are: a calibration electrode's."""
        return cls.among(np.where(folds[:, None] == folds[None, :], np.inf, distances), neighbours)

    def difficulties(self, residuals: np.ndarray) -> dict[str, np.ndarray]:
        """Each difficulty of `DIFFICULTIES`, `residuals` being the candidates' out-of-fold residuals."""
        return {"distance": self.distance, "residual": np.abs(residuals)[self.nearest].mean(axis=1)}


def standardized_distances(X: np.ndarray) -> np.ndarray:
    """Euclidean distances between every two electrodes in the standardized features."""
    from sklearn.metrics import pairwise_distances
    from sklearn.preprocessing import StandardScaler

    return pairwise_distances(StandardScaler().fit_transform(X))


@dataclass(frozen=True)
class FoldNeighbours:
    """One fold of a scheme: its held-out electrodes, the pool that calibrates their intervals (the
    other folds), and the neighbours in the pool of each."""
    held_out: np.ndarray
    pool: np.ndarray
    calibration: Neighbours
    of_held_out: Neighbours


class SchemeNeighbours:
    """Every neighbour set one scheme's intervals are measured from. They depend on the electrodes,
    their folds and the features only, so one set serves every model and target cross-validated on
    the same folds: the trust stage finds them once per scheme, not once per cell (the argpartitions
    over every pair of electrodes are most of a cell's time)."""

    def __init__(self, battery_ids, folds: np.ndarray, X: pd.DataFrame, neighbours: int):
        self.battery_ids, self.folds, self.neighbours = pd.Index(battery_ids), np.asarray(folds), neighbours
        self.distances = standardized_distances(X.loc[self.battery_ids].to_numpy(dtype=float))
        self.by_fold = {}
        for fold in np.unique(self.folds):
            held_out, pool = self.folds == fold, self.folds != fold
            self.by_fold[fold] = FoldNeighbours(
                held_out, pool,
                Neighbours.outside_own_fold(self.distances[np.ix_(pool, pool)], self.folds[pool], neighbours),
                Neighbours.among(self.distances[np.ix_(held_out, pool)], neighbours))

    @classmethod
    def of(cls, predictions: pd.DataFrame, X: pd.DataFrame, neighbours: int) -> "SchemeNeighbours":
        """For a cv cell's `predictions` (battery_id, fold, ...)."""
        return cls(predictions["battery_id"], predictions["fold"].to_numpy(), X, neighbours)

    @functools.cached_property
    def every_electrode(self) -> Neighbours:
        """Every electrode's, outside its own fold: what `calibrate` rests `predict`'s intervals on."""
        return Neighbours.outside_own_fold(self.distances, self.folds, self.neighbours)

    def check(self, table: pd.DataFrame, neighbours: int) -> None:
        """Refuse predictions of other electrodes, folds or k than these neighbours were found for."""
        if (neighbours != self.neighbours or not table.index.equals(self.battery_ids)
                or not np.array_equal(table["fold"].to_numpy(), self.folds)):
            raise ValueError("these neighbours were found for other electrodes, folds or k than the predictions'")


def scheme_intervals(predictions: pd.DataFrame, X: pd.DataFrame, level: float, neighbours: int,
                     found: SchemeNeighbours | None = None) -> pd.DataFrame:
    """For every out-of-fold prediction of one scheme, the bounds at `level` of each interval in
    `INTERVALS` and the difficulties, each calibrated on the other folds' electrodes only.

    `predictions`: battery_id, fold, y_true, y_pred (a cv cell's predictions.csv); `X`: the
    features the difficulty is measured in, by battery_id; `found`: the scheme's neighbours, where
    the caller has them already (`SchemeNeighbours.of(predictions, X, neighbours)`).
    """
    table = predictions.set_index("battery_id")[["fold", "y_true", "y_pred"]]
    found = SchemeNeighbours.of(predictions, X, neighbours) if found is None else found
    found.check(table, neighbours)
    residuals = (table["y_true"] - table["y_pred"]).to_numpy()
    y_hat = table["y_pred"].to_numpy()
    columns = {name: np.full(len(table), np.nan) for kind in INTERVALS for name in (f"lower_{kind}", f"upper_{kind}")}
    columns.update({f"difficulty_{kind}": np.full(len(table), np.nan) for kind in DIFFICULTIES})
    for fold in found.by_fold.values():
        held_out, pool = fold.held_out, fold.pool
        bounds = {"plain": conformal_regressor(residuals[pool]).predict_int(y_hat[held_out], confidence=level)}
        calibration = fold.calibration.difficulties(residuals[pool])
        held_out_difficulty = fold.of_held_out.difficulties(residuals[pool])
        for kind in DIFFICULTIES:
            floor = DIFFICULTY_FLOOR * calibration[kind].mean()
            sigmas = held_out_difficulty[kind] + floor
            regressor = conformal_regressor(residuals[pool], calibration[kind] + floor)
            bounds[kind] = regressor.predict_int(y_hat[held_out], sigmas=sigmas, confidence=level)
            columns[f"difficulty_{kind}"][held_out] = sigmas
        for kind, values in bounds.items():
            columns[f"lower_{kind}"][held_out], columns[f"upper_{kind}"][held_out] = values[:, 0], values[:, 1]
    return table.assign(**columns).reset_index()


def coverage(intervals: pd.DataFrame, kind: str) -> tuple[float, float]:
    """The fraction of electrodes inside their `kind` interval (one of `INTERVALS`), and the mean width."""
    lower, upper = intervals[f"lower_{kind}"], intervals[f"upper_{kind}"]
    inside = (intervals["y_true"] >= lower) & (intervals["y_true"] <= upper)
    return float(inside.mean()), float((upper - lower).mean())


def calibrate(predictions: pd.DataFrame, X: pd.DataFrame, difficulty: str, neighbours: int,
              found: SchemeNeighbours | None = None) -> dict:
    """What `predict` needs for one model x target's intervals, from its out-of-fold `predictions`
    (battery_id, fold, y_true, y_pred) of every electrode: the residuals and their difficulties
    (`difficulty`) that calibrate a normalized conformal regressor, the residuals also measuring a
    new composition's difficulty. `found`: as for `scheme_intervals`."""
    table = predictions.set_index("battery_id")
    found = SchemeNeighbours.of(predictions, X, neighbours) if found is None else found
    found.check(table, neighbours)
    residuals = (table["y_true"] - table["y_pred"]).to_numpy()
    difficulties = found.every_electrode.difficulties(residuals)[difficulty]
    floor = DIFFICULTY_FLOOR * difficulties.mean()
    # The calibration scores, not a fitted crepes regressor: that one pickles its fit's wall-clock time.
    return {"difficulty": difficulty, "neighbours": neighbours, "floor": floor,
            "residuals": pd.Series(residuals, index=table.index), "sigmas": difficulties + floor}


def prediction_bounds(calibration: dict, domain: Domain, distances: np.ndarray, y_hat: np.ndarray,
                      level: float, nearest: np.ndarray | None = None) -> np.ndarray:
    """Lower and upper bounds (n x 2) of new compositions' normalized intervals at `level`;
    `distances`: `domain.distances` of the compositions, and `nearest` their
    `calibration["neighbours"]` nearest training electrodes, computed once for every model and target."""
    residuals = calibration["residuals"].loc[domain.battery_ids].to_numpy()
    difficulty = Neighbours.among(distances, calibration["neighbours"], nearest).difficulties(residuals)[
        calibration["difficulty"]]
    regressor = conformal_regressor(calibration["residuals"].to_numpy(), calibration["sigmas"])
    return regressor.predict_int(y_hat, sigmas=difficulty + calibration["floor"], confidence=level)
